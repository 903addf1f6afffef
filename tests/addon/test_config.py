"""addon/config.yaml, the translations, the images, the AppArmor profile and repository.yaml
against the Supervisor's rules (tests/addon/supervisor.py)."""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path
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
    assert config["hassio_api"] is True
    assert "image" not in config  # built on the device from addon/Dockerfile


def test_version_is_the_engines(addon_config: dict[str, Any]) -> None:
    assert isinstance(addon_config["version"], str)
    assert addon_config["version"] == engine_version
    pyproject = (ADDON / "pyproject.toml").read_text(encoding="utf-8")
    assert f'version = "{engine_version}"' in pyproject


def test_architectures_are_the_ones_with_wheels(addon_config: dict[str, Any]) -> None:
    # PyAV, numpy and aiohttp publish musllinux wheels for CPython 3.14 on these only.
    assert sorted(addon_config["arch"]) == ["aarch64", "amd64"]


def test_storage_and_api_port(addon_config: dict[str, Any]) -> None:
    config = supervisor.validate_addon_config(addon_config)
    assert config["map"] == [{"type": "media", "read_only": False}]
    assert config["ports"] == {"8750/tcp": None}  # reached by Home Assistant on the internal network
    assert set(config["ports_description"]) == set(config["ports"])
    assert config["watchdog"] == "tcp://[HOST]:[PORT:8750]"
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


def test_apparmor_profile_is_one_profile_named_after_the_slug() -> None:
    """The Supervisor takes the one line starting with ``profile`` as the profile's name."""
    text = (ADDON / "apparmor.txt").read_text(encoding="utf-8")
    names = re.findall(r"^profile ([^ ]+).*$", text, re.MULTILINE)
    assert names == ["vigil"]
    assert text.count("{") == text.count("}")
    for needed in ("/data/** rwk", "/media/** rwk", "network inet stream", "cx -> engine"):
        assert needed in text
