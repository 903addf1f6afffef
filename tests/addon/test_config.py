"""addon/config.yaml, the translations, the images, the AppArmor profile and repository.yaml
against the Supervisor's rules (tests/addon/supervisor.py)."""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path, PurePath
from typing import Any

import pytest
import voluptuous as vol

from tests.addon import supervisor
from tests.addon.conftest import ADDON, ROOT, load_yaml
from vigil_engine import __version__ as engine_version


def test_config_yaml_passes_the_supervisor_schema(addon_config: dict[str, Any]) -> None:
    config = supervisor.validate_addon_config(addon_config)
    assert config["name"] == "Vigil NVR"
    assert config["slug"] == "vigil"
    assert config["startup"] == "services"
    assert config["init"] is False  # s6-overlay v3 of the base image is PID 1
    assert config["discovery"] == ["vigil"]
    assert "image" not in config  # built on the device from addon/Dockerfile
    # Defaults are not restated, and the health is the image's HEALTHCHECK, not a watchdog URL.
    assert not {"boot", "watchdog", "hassio_api"} & set(addon_config)


def test_version_is_the_engines(addon_config: dict[str, Any]) -> None:
    assert isinstance(addon_config["version"], str)
    assert addon_config["version"] == engine_version
    pyproject = (ADDON / "pyproject.toml").read_text(encoding="utf-8")
    assert f'version = "{engine_version}"' in pyproject


def test_architectures_are_the_ones_with_wheels(addon_config: dict[str, Any]) -> None:
    # PyAV, numpy, aiohttp and ONNX Runtime publish (manylinux) wheels for CPython 3.14 on
    # these only, and Home Assistant's Debian base image exists for these only.
    assert sorted(addon_config["arch"]) == ["aarch64", "amd64"]


def test_storage_and_api_port(addon_config: dict[str, Any]) -> None:
    config = supervisor.validate_addon_config(addon_config)
    assert config["map"] == [{"type": "media", "read_only": False}]
    assert config["ports"] == {"8750/tcp": None}  # reached by Home Assistant on the internal network
    assert set(config["ports_description"]) == set(config["ports"])
    assert config["timeout"] >= 30  # the engine finishes its open segments when stopped


def test_minimum_home_assistant_is_the_integrations(addon_config: dict[str, Any]) -> None:
    hacs = load_yaml(ROOT / "hacs.json")
    assert str(addon_config["homeassistant"]) == hacs["homeassistant"]


def test_default_options_pass_their_schema(addon_config: dict[str, Any]) -> None:
    options = supervisor.validate_options(addon_config["schema"], addon_config["options"])
    assert options == addon_config["options"]


def _optional_keys(schema: dict[str, Any]) -> set[str]:
    optional = set()
    for key, typ in schema.items():
        element = typ[0] if isinstance(typ, list) else typ
        if isinstance(element, str) and element.endswith("?"):
            optional.add(key)
    return optional


def test_optional_options_have_no_default(addon_config: dict[str, Any]) -> None:
    """The Supervisor overlays the user's options on the defaults: an optional option with a
    default could never be cleared again."""
    assert not _optional_keys(addon_config["schema"]) & set(addon_config["options"])


def test_the_supervisor_refuses_what_the_engine_would(addon_config: dict[str, Any]) -> None:
    schema = addon_config["schema"]
    camera = {"id": "front_door", "url": "rtsp://cam/stream1", "motion": {"zones": []}, "events": {}}
    supervisor.merged_options(addon_config, {"cameras": [camera]})
    bad_cameras: list[dict[str, Any]] = [
        {**camera, "id": "Front Door"},
        {**camera, "url": "ftp://cam/stream1"},
        {**camera, "record": "sometimes"},
        {**camera, "retention_days": 0},
        {**camera, "motion": {"zones": [], "masks": ["0,0 1,0"]}},  # two points
        {**camera, "motion": {"zones": [], "masks": ["0,0 1.5,0 1,1"]}},  # outside the frame
        {**camera, "motion": {"zones": [{"name": "drive way", "polygon": "0,0 1,0 1,1"}]}},
        {**camera, "motion": {"zones": [{"name": "drive", "polygon": "0, 0 1, 0 1, 1"}]}},
        {key: value for key, value in camera.items() if key != "events"},
    ]
    for bad in bad_cameras:
        with pytest.raises(vol.Invalid):
            supervisor.merged_options(addon_config, {"cameras": [bad]})
    for key, value in [("min_free", "0%"), ("min_free", "150%"), ("disk_cap", "lots"), ("log_level", "trace")]:
        with pytest.raises(vol.Invalid):
            supervisor.merged_options(addon_config, {key: value})
    with pytest.raises(vol.Invalid):
        supervisor.merged_options(addon_config, {"storage_path": "/share/vigil"})
    assert supervisor.merged_options(addon_config, {"disk_cap": "50%", "min_free": "10 GiB"})["disk_cap"] == "50%"
    assert schema["api_token"] == "password?"


def _translation_problems(schema: dict[str, Any], translations: dict[str, Any], where: str) -> list[str]:
    problems = []
    for key in sorted(set(translations) - set(schema)):
        problems.append(f"{where}{key}: translated but not an option")
    for key, typ in schema.items():
        entry = translations.get(key)
        if not entry or not entry.get("name") or not entry.get("description"):
            problems.append(f"{where}{key}: needs a name and a description")
            continue
        element = typ[0] if isinstance(typ, list) else typ
        if isinstance(element, dict):
            problems += _translation_problems(element, entry.get("fields", {}), f"{where}{key}.")
        elif "fields" in entry:
            problems.append(f"{where}{key}: has fields but is not a nested option")
    return problems


def test_every_option_is_translated(addon_config: dict[str, Any]) -> None:
    translations = supervisor.TRANSLATIONS(load_yaml(ADDON / "translations" / "en.yaml"))
    assert _translation_problems(addon_config["schema"], translations["configuration"], "") == []
    assert set(translations["network"]) == set(addon_config["ports"])
    assert sorted(path.name for path in (ADDON / "translations").iterdir()) == ["en.yaml"]


def test_no_build_yaml() -> None:
    """build.yaml is deprecated (the Supervisor warns); the Dockerfile names its base image.
    A Dockerfile.<arch> would be built instead of the Dockerfile."""
    assert not [path.name for path in ADDON.glob("build.*")]
    assert not [path.name for path in ADDON.glob("Dockerfile.*")]


def test_the_repository_holds_one_addon() -> None:
    """The Supervisor reads every config.{json,yaml,yml} in the repository as an add-on."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    configs = [name for name in files if Path(name).name in {"config.json", "config.yaml", "config.yml"}]
    assert configs == ["addon/config.yaml"]
    supervisor.REPOSITORY_CONFIG(load_yaml(ROOT / "repository.yaml"))


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_icon_and_logo() -> None:
    assert _png_size(ADDON / "icon.png") == (128, 128)
    width, height = _png_size(ADDON / "logo.png")
    assert 200 <= width <= 300
    assert 80 <= height <= 120


# supervisor/api/middleware/security.py: what any add-on may call without hassio_api.
ADDONS_API_BYPASS = re.compile(
    r"^(?:|/addons/self/(?!security|update)[^/]+|/addons/self/options/config|/info|/services.*|/discovery.*|/auth)$"
)
# bashio functions that work on local files only (options.json, the log, the shell).
BASHIO_LOCAL = re.compile(r"^(?:config|config\.has_value|log\.\w+|exit\.nok|var\.has_value)$")
# bashio functions that call the Supervisor's API, with the path they call.
BASHIO_API = {"discovery": "/discovery"}


def test_the_scripts_call_only_what_any_add_on_may_call(addon_config: dict[str, Any]) -> None:
    """Every bashio call of the add-on's scripts is local or a Supervisor path that needs no
    hassio_api; a new call shows up here so that the need for hassio_api is decided."""
    scripts = [path for path in (ADDON / "rootfs").rglob("*") if path.is_file()]
    called = {name for path in scripts for name in re.findall(r"bashio::([\w.]+)", path.read_text(encoding="utf-8"))}
    unknown = sorted(name for name in called if not BASHIO_LOCAL.match(name) and name not in BASHIO_API)
    assert unknown == [], "decide whether these need hassio_api (and list them here)"
    for name in called & set(BASHIO_API):
        assert ADDONS_API_BYPASS.match(BASHIO_API[name]), f"bashio::{name} needs hassio_api"
    assert "discovery" in called
    assert not supervisor.validate_addon_config(addon_config)["hassio_api"]


def _excluded(addon_config: dict[str, Any], data_file: str) -> bool:
    """supervisor/apps/app.py ``_is_excluded_by_filter``: each pattern is matched with
    PurePath.match against the file's full path as the Supervisor sees it."""
    full_path = PurePath("/data/apps/data/a0d7b954_vigil") / PurePath(data_file).relative_to("/data")
    return any(full_path.match(pattern) for pattern in addon_config["backup_exclude"])


@pytest.mark.parametrize("database", ["/data/vigil.db", "/data/index/nvr.db"])
def test_backups_leave_out_the_live_index_and_keep_its_snapshot(addon_config: dict[str, Any], database: str) -> None:
    supervisor.validate_options(addon_config["schema"], {**addon_config["options"], "database_path": database})
    for live in (database, f"{database}-wal", f"{database}-shm", f"{database}-journal"):
        assert _excluded(addon_config, live), live
    # Half-written files of the snapshot and of a restore, and corrupt copies set aside.
    for scratch in (f"{database}.backup.partial", f"{database}.restoring", f"{database}.corrupt-20261203T101010-wal"):
        assert _excluded(addon_config, scratch), scratch
    for kept in (f"{database}.backup", "/data/options.json", "/data/api_token", "/data/cameras.json"):
        assert not _excluded(addon_config, kept), kept
    assert addon_config["backup_pre"] == "/usr/bin/vigil-backup snapshot"
    assert addon_config["backup_post"] == "/usr/bin/vigil-backup cleanup"
    assert supervisor.validate_addon_config(addon_config)["backup"] == "hot"


def test_the_index_must_be_a_db_file_under_data(addon_config: dict[str, Any]) -> None:
    """backup_exclude's patterns know the live index by its .db suffix."""
    for bad in ("/data/vigil.sqlite", "/data/vigil", "/data/.db", "/media/vigil.db", "/data/../etc/x.db"):
        with pytest.raises(vol.Invalid):
            supervisor.merged_options(addon_config, {"database_path": bad})
