"""The engine started exactly as the add-on starts it: the s6 ``run`` script, under a stand-in
for bashio, on an options.json made by the Supervisor's rules from config.yaml's defaults
plus a camera. It must record, and its API must accept the token the script announces to
Home Assistant through Supervisor discovery."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.addon import supervisor
from tests.addon.conftest import ADDON, ROOT, load_yaml
from tests.support.engine_process import EngineProcess

RUN_SCRIPT = ADDON / "rootfs" / "etc" / "s6-overlay" / "s6-rc.d" / "vigil" / "run"
FAKE_BASHIO = Path(__file__).with_name("fake_bashio.sh")
DEMO_CAMERA = {"id": "demo", "name": "Demo camera", "url": "demo://", "motion": {"zones": []}, "events": {}}


class AddonProcess(EngineProcess):
    """The engine as the add-on runs it: ``run`` (bashio) execs ``python3 -m vigil_engine``.

    ``config`` is the options file's content; ``/data`` and ``/media`` are remapped into
    ``workdir`` by the test through ``storage_path`` and ``database_path``.
    """

    def __init__(self, workdir: Path, options: dict[str, Any]) -> None:
        super().__init__(workdir, options)
        self.options_path = workdir / "data" / "options.json"
        self.discovery_path = workdir / "discovery.jsonl"
        self.process_group: int | None = None

    def start(self) -> None:
        self.options_path.parent.mkdir(parents=True, exist_ok=True)
        self.options_path.write_text(json.dumps(self.config), encoding="utf-8")
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(ROOT / "addon"),
            "PYTHONUNBUFFERED": "1",
            "VIGIL_OPTIONS": str(self.options_path),
            "FAKE_BASHIO_OPTIONS": str(self.options_path),
            "FAKE_BASHIO_DISCOVERY": str(self.discovery_path),
        }
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                ["bash", str(FAKE_BASHIO), str(RUN_SCRIPT)],
                stdout=log,
                stderr=log,
                env=env,
                cwd=self.workdir,
                start_new_session=True,  # the run script's background announcer too
            )
        self.process_group = self.proc.pid
        self.starts += 1

    def announcements(self) -> list[dict[str, Any]]:
        if not self.discovery_path.exists():
            return []
        return [json.loads(line) for line in self.discovery_path.read_text(encoding="utf-8").splitlines()]

    def kill_leftovers(self) -> None:
        if self.process_group is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process_group, signal.SIGKILL)
            self.process_group = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _addon_options(tmp_path: Path, **user: Any) -> dict[str, Any]:
    """What the Supervisor writes to /data/options.json, with /data and /media moved to tmp_path."""
    options = supervisor.merged_options(supervisor.validate_addon_config(_config()), user)
    options["storage_path"] = str(tmp_path / "media" / "vigil")
    options["database_path"] = str(tmp_path / "data" / "vigil.db")
    # Not add-on options (the Supervisor would drop them); the engine honours them, and so
    # does the announcement. A free loopback port: 8750 may belong to a real installation.
    options["api_host"] = "127.0.0.1"
    options["api_port"] = _free_port()
    return options


def _config() -> dict[str, Any]:
    config: dict[str, Any] = load_yaml(ADDON / "config.yaml")
    return config


def _get(port: int, token: str, path: str = "/api/cameras") -> tuple[int, Any]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, None


def _healthcheck_command(port: int) -> list[str]:
    """The Dockerfile's HEALTHCHECK CMD (exec form), aimed at ``port`` instead of 8750."""
    text = (ADDON / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    (command,) = re.findall(r"^HEALTHCHECK .*? CMD (\[.*\])\s*$", text, re.MULTILINE)
    argv: list[str] = json.loads(command)
    return [arg.replace("127.0.0.1:8750/", f"127.0.0.1:{port}/") for arg in argv]


@pytest.fixture
def addon_factory(tmp_path: Path) -> Iterator[Any]:
    started: list[AddonProcess] = []

    def make(options: dict[str, Any]) -> AddonProcess:
        process = AddonProcess(tmp_path / "addon", options)
        started.append(process)
        process.start()
        return process

    yield make
    for process in started:
        process.stop()
        process.kill_leftovers()


def test_the_add_on_records_and_announces_the_token_its_api_accepts(tmp_path: Path, addon_factory: Any) -> None:
    # Defaults from config.yaml plus a camera; short segments and a small free-space floor
    # (both ordinary options) so that a segment is indexed within seconds on any disk.
    options = _addon_options(tmp_path, cameras=[DEMO_CAMERA], segment_seconds=1, min_free="10MB")
    addon: AddonProcess = addon_factory(options)

    (announcement,) = addon.wait_for(addon.announcements, 30, "the discovery announcement")
    assert announcement["service"] == "vigil"
    payload = announcement["config"]
    assert set(payload) == {"host", "port", "token"}
    assert payload["host"] == subprocess.run(["hostname"], capture_output=True, text=True, check=True).stdout.strip()
    assert payload["port"] == options["api_port"]
    # No api_token option: the engine generated one and keeps it next to its index (/data).
    assert payload["token"] == (tmp_path / "data" / "api_token").read_text(encoding="utf-8").strip()

    status, cameras = _get(payload["port"], payload["token"])
    assert status == 200
    assert [(camera["camera_id"], camera["name"]) for camera in cameras["cameras"]] == [("demo", "Demo camera")]
    assert _get(payload["port"], payload["token"] + "x")[0] == 401

    segments = addon.wait_for(lambda: addon.segments("demo"), 30, "a recorded segment")
    assert (tmp_path / "media" / "vigil" / "recordings" / segments[0]["path"]).is_file()
    assert (tmp_path / "data" / "vigil.db").is_file()

    # The image's HEALTHCHECK command (on this test's port) passes while the engine serves,
    # and fails once it has stopped: what the Supervisor's watchdog follows.
    healthcheck = _healthcheck_command(payload["port"])
    assert subprocess.run(healthcheck, capture_output=True, check=False).returncode == 0

    assert addon.stop() == 0
    log = addon.log()
    assert "Starting the Vigil engine" in log
    assert "Home Assistant has been told where Vigil's API is" in log
    assert payload["token"] not in log
    assert subprocess.run(healthcheck, capture_output=True, check=False).returncode != 0


def test_a_configured_token_is_the_one_announced(tmp_path: Path, addon_factory: Any) -> None:
    token = "a-token-chosen-by-the-user-0123456789"
    options = _addon_options(tmp_path, api_token=token, log_level="debug")
    assert options["cameras"] == []
    addon: AddonProcess = addon_factory(options)

    (announcement,) = addon.wait_for(addon.announcements, 30, "the discovery announcement")
    assert announcement["config"]["token"] == token
    assert _get(options["api_port"], token)[0] == 200
    assert not (tmp_path / "data" / "api_token").exists()
    assert not (tmp_path / "media" / "vigil" / "api_token").exists()
    assert addon.stop() == 0
    assert token not in addon.log()
