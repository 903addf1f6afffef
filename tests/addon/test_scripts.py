"""The image and its scripts: shellcheck, hadolint, the s6-overlay v3 service layout, the
Dockerfile's base image and its dependency pins."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import requires, version
from pathlib import Path

from packaging.requirements import Requirement

from tests.addon.conftest import ADDON, ROOT

S6 = ADDON / "rootfs" / "etc" / "s6-overlay" / "s6-rc.d"
BACKUP_SCRIPT = ADDON / "rootfs" / "usr" / "bin" / "vigil-backup"
SCRIPTS = [S6 / "vigil" / "run", S6 / "vigil" / "finish", Path(__file__).with_name("fake_bashio.sh"), BACKUP_SCRIPT]
DOCKERFILE = ADDON / "Dockerfile"


def _tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    assert path, f"{name} is not installed (scripts/setup installs it)"
    return path


def test_shellcheck() -> None:
    # The bashio shebang (with-contenv bashio) is bash with bashio's functions: -s bash, and
    # the scripts say so themselves (# shellcheck shell=bash).
    result = subprocess.run(
        [_tool("shellcheck"), "--shell=bash", "--severity=style", *map(str, SCRIPTS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint() -> None:
    result = subprocess.run([_tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_s6_overlay_service_layout() -> None:
    assert (S6 / "vigil" / "type").read_text(encoding="utf-8").strip() == "longrun"
    assert (S6 / "vigil" / "dependencies.d" / "base").is_file()
    assert (S6 / "user" / "contents.d" / "vigil").is_file()
    for script in ("run", "finish"):
        path = S6 / "vigil" / script
        assert os.access(path, os.X_OK), f"{script} must be executable"
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first in {"#!/usr/bin/with-contenv bashio", "#!/usr/bin/env bashio"}
        assert "\r" not in path.read_text(encoding="utf-8")
    files = subprocess.run(
        ["git", "ls-files", "--stage", "--", "addon/rootfs"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    for line in files.splitlines():
        mode, _, _, name = line.split(maxsplit=3)
        if name.endswith(("/run", "/finish", "/vigil-backup")):
            assert mode == "100755", f"{name} is not executable in git"


def test_the_run_script_execs_the_engine_on_the_options_file() -> None:
    run = (S6 / "vigil" / "run").read_text(encoding="utf-8")
    assert 'options="${VIGIL_OPTIONS:-/data/options.json}"' in run
    assert re.search(r'^exec python3 -m vigil_engine --config "\$\{options\}"$', run, re.MULTILINE)
    assert 'bashio::discovery "vigil"' in run


def test_the_backup_command_runs_the_engines_backup_module() -> None:
    """config.yaml's backup_pre/backup_post run this script inside the container."""
    assert os.access(BACKUP_SCRIPT, os.X_OK)
    text = BACKUP_SCRIPT.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "#!/bin/sh"
    assert re.search(r'^exec python3 -m vigil_engine\.backup "\$@"$', text, re.MULTILINE)


def test_the_health_check_asks_the_engines_api() -> None:
    """The Supervisor's watchdog follows the container's health (config.yaml has no watchdog URL)."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    (healthcheck,) = re.findall(r"^HEALTHCHECK (.+)$", text, re.MULTILINE)
    options = dict(re.findall(r"--([a-z-]+)=(\S+)", healthcheck))
    assert set(options) == {"interval", "timeout", "start-period", "retries"}
    command = json.loads(healthcheck.split(" CMD ", 1)[1])
    assert command[0] == "curl"
    assert "--fail" in command
    assert command[-1] == "http://127.0.0.1:8750/api/health"


# Debian trixie's C library (the base image's): no wheel may need a newer one.
BASE_GLIBC = (2, 41)
# The image's platforms: Docker's names, the Supervisor's, the wheels' machine names.
PLATFORMS = {"amd64": "x86_64", "arm64": "aarch64"}
# `if [ "${TARGETARCH}" = "amd64" ]; then ... fi`: what only the amd64 image installs.
AMD64_ONLY = re.compile(r'if \[ "\$\{TARGETARCH\}" = "amd64" \]; then(.*?)\bfi\b', re.DOTALL)
PIN = re.compile(r"^\s+([A-Za-z0-9_.-]+)==([^\s\\]+)", re.MULTILINE)


def test_the_base_image_is_home_assistants_multi_arch_debian() -> None:
    """glibc, because ONNX Runtime and OpenVINO publish no musllinux wheels (the Dockerfile's
    header says why); Home Assistant's Debian base brings s6-overlay v3 and bashio."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    (base,) = re.findall(r"^ARG BUILD_FROM=(\S+)$", text, re.MULTILINE)
    assert re.fullmatch(r"ghcr\.io/home-assistant/base-debian:trixie(-\d{4}\.\d{2}\.\d+)?", base)
    assert re.findall(r"^FROM (.+)$", text, re.MULTILINE) == ["${BUILD_FROM}"]
    assert "COPY rootfs /" in text
    assert re.search(r"^COPY vigil_engine ", text, re.MULTILINE)
    assert re.search(r"^COPY pyproject.toml ", text, re.MULTILINE)


def test_python_314_comes_from_the_uv_the_tests_run() -> None:
    """uv copies its Python into /usr/local (where the AppArmor profile expects python3): the
    uv image's version is the one pinned for the tests, and that uv has the pinned Python for
    both platforms (``uv python list`` reads the downloads built into uv: no network)."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    (uv_version,) = re.findall(r"^COPY --from=ghcr\.io/astral-sh/uv:(\S+) /uv /usr/local/bin/uv$", text, re.MULTILINE)
    assert uv_version == version("uv")
    (python,) = re.findall(r"^ARG PYTHON_VERSION=(3\.14\.\d+)$", text, re.MULTILINE)
    assert 'cp -a /tmp/python/cpython-"${PYTHON_VERSION}"-linux-*-gnu/. /usr/local/' in text
    listed = subprocess.run(
        [_tool("uv"), "python", "list", python, "--all-platforms", "--all-arches", "--only-downloads", "--no-config"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for machine in PLATFORMS.values():
        assert f"cpython-{python}-linux-{machine}-gnu" in listed


def _engine_dependencies(extra: str = "") -> dict[str, str]:
    """The engine's dependencies (with ``extra``'s), transitively, with the versions installed for the tests."""
    found: dict[str, str] = {}
    todo = [("vigil-engine", extra)]
    while todo:
        package, wanted = todo.pop()
        for line in requires(package) or []:
            requirement = Requirement(line)
            if requirement.marker and not requirement.marker.evaluate({"extra": wanted}):
                continue
            name = requirement.name.lower().replace("_", "-")
            if name not in found:
                found[name] = version(requirement.name)
                todo.append((requirement.name, ""))
    return found


def _pins() -> tuple[dict[str, str], dict[str, str]]:
    """The image's pins: (on every platform, on amd64 only)."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    amd64_only = "".join(AMD64_ONLY.findall(text))

    def pins(part: str) -> dict[str, str]:
        return {name.lower().replace("_", "-"): pinned for name, pinned in PIN.findall(part)}

    return pins(AMD64_ONLY.sub("", text)), pins(amd64_only)


def test_the_image_pins_what_the_tests_run() -> None:
    everywhere, amd64_only = _pins()
    constraints = dict(
        line.split("==", 1)
        for line in (ROOT / "requirements" / "constraints.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.startswith("#")
    )
    constraints = {name.lower().replace("_", "-"): pinned.strip() for name, pinned in constraints.items()}
    assert everywhere == _engine_dependencies()
    # OpenVINO, the `openvino` extra, on amd64 only (the Dockerfile says why).
    with_openvino = _engine_dependencies("openvino")
    assert amd64_only == {name: pinned for name, pinned in with_openvino.items() if name not in everywhere}
    assert "openvino" in amd64_only
    pins = everywhere | amd64_only
    assert {name: constraints.get(name) for name in pins} == pins


def _wheels(platform: str, pins: dict[str, str]) -> list[str]:
    """The wheel pip would install for each pin on ``platform`` (machine name) with the base
    image's glibc and CPython 3.14, from PyPI's metadata (pip downloads no wheel for a dry run)."""
    tags = [f"manylinux_2_{minor}_{platform}" for minor in range(BASE_GLIBC[1], 16, -1)]
    tags += [f"manylinux2014_{platform}"]
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed", "--no-deps",
             "--only-binary=:all:", *(f"--platform={tag}" for tag in tags), "--python-version=3.14",
             "--implementation=cp", "--abi=cp314", "--abi=abi3", "--abi=none", f"--target={folder}/target",
             f"--report={report}", *(f"{name}=={pinned}" for name, pinned in sorted(pins.items()))],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        installs = json.loads(report.read_text(encoding="utf-8"))["install"]
    return [install["download_info"]["url"].rsplit("/", 1)[1] for install in installs]


def test_every_pinned_wheel_exists_for_both_platforms() -> None:
    """What `pip install --only-binary=:all:` in the image will find, asked of PyPI for each
    platform: every pin has a wheel for CPython 3.14 and glibc 2.41 or older (OpenVINO on amd64)."""
    everywhere, amd64_only = _pins()
    for docker, machine in PLATFORMS.items():
        pins = everywhere | (amd64_only if docker == "amd64" else {})
        wheels = _wheels(machine, pins)
        assert len(wheels) == len(pins)
        for wheel in wheels:
            assert wheel.endswith(".whl"), wheel
            assert wheel.endswith("-any.whl") or machine in wheel, wheel
        assert any(wheel.startswith("onnxruntime-") for wheel in wheels)


def test_finish_stops_the_container_unless_the_engine_was_asked_to_stop(tmp_path: Path) -> None:
    """s6-overlay's convention: finish gets the exit code (256: killed by the signal in $2);
    a failure writes the container's exit code and halts, so the Supervisor's watchdog sees
    the add-on fail. (The script's two s6 paths are moved into tmp_path.)"""
    exit_code_file, halt = tmp_path / "exitcode", tmp_path / "halt"
    halt.write_text("#!/bin/sh\necho HALTED\n", encoding="utf-8")
    halt.chmod(0o755)
    finish = tmp_path / "finish"
    finish.write_text(
        (S6 / "vigil" / "finish")
        .read_text(encoding="utf-8")
        .replace("/run/s6-linux-init-container-results/exitcode", str(exit_code_file))
        .replace("/run/s6/basedir/bin/halt", str(halt)),
        encoding="utf-8",
    )
    options = tmp_path / "options.json"
    options.write_text("{}", encoding="utf-8")
    expected = {("0", "0"): None, ("256", "15"): None, ("2", "0"): "2", ("1", "0"): "1", ("256", "9"): "137"}
    for (code, sig), container_code in expected.items():
        exit_code_file.write_text("0\n", encoding="utf-8")
        result = subprocess.run(
            ["bash", str(SCRIPTS[2]), str(finish), code, sig],
            env={**os.environ, "FAKE_BASHIO_OPTIONS": str(options)},
            capture_output=True,
            text=True,
            check=True,
        )
        assert ("HALTED" in result.stdout) == (container_code is not None), (code, sig, result.stderr)
        assert exit_code_file.read_text(encoding="utf-8").strip() == (container_code or "0")
