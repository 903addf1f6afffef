"""Translations, icons and action descriptions are complete and agree with the code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import hass_frontend
import yaml

import custom_components.vigil as integration
from custom_components.vigil.const import STORAGE_WARNING_CODES

ROOT = Path(integration.__file__).parent
REPOSITORY = ROOT.parents[1]
# An icon the frontend does not know renders as a blank space, with no error anywhere.
MDI_ICON = re.compile(r"mdi:([a-z0-9]+(?:-[a-z0-9]+)*)")
ICON_SOURCES = (".py", ".json", ".yaml", ".yml")


def _load(name: str) -> dict[str, Any]:
    data = json.loads((ROOT / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _code() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in ROOT.glob("*.py"))


def test_english_translation_is_strings_json() -> None:
    assert _load("translations/en.json") == _load("strings.json")
    assert "[%key:" not in (ROOT / "translations" / "en.json").read_text(encoding="utf-8")


def test_every_key_the_code_uses_is_translated() -> None:
    strings = _load("strings.json")
    code = _code()
    exceptions = strings["exceptions"]
    assert isinstance(exceptions, dict)
    # Keys given to Home Assistant's exceptions directly, or through errors.py's helpers.
    used = set(re.findall(r'(?:translation_key=|user_error\(|engine_failure\()"([a-z_]+)"', code))
    assert {"event_or_range", "no_ptz", "write_failed"} <= used
    entity = strings["entity"]
    assert isinstance(entity, dict)
    entity_keys = {key for platform in entity.values() for key in platform}
    issues = strings["issues"]
    assert isinstance(issues, dict)
    selectors = strings["selector"]
    assert isinstance(selectors, dict)
    devices = strings["device"]
    assert isinstance(devices, dict)
    for key in used:
        assert key in exceptions or key in entity_keys or key in issues or key in selectors or key in devices, key
    # Issue keys chosen at run time.
    for key in {"camera_offline", "update_addon", "update_integration", "storage_warning", *STORAGE_WARNING_CODES}:
        assert key in issues, key
    # Errors raised from engine error codes (entity.translate_error).
    for key in ("not_found", "command_failed", "not_connected", "engine_error", "event_state", "invalid_argument"):
        assert key in exceptions, key
    config = strings["config"]
    assert isinstance(config, dict)
    # The options flow's errors and aborts (camera_flow) are in "options".
    errors = {**config["error"], **strings["options"]["error"]}
    aborts = {**config["abort"], **strings["options"]["abort"]}
    for key in re.findall(r'errors\[[^]]+\] = "([a-z_]+)"', code):
        assert key in errors, key
    for key in ("update_addon", "update_integration", "unknown"):
        assert key in errors, key
    for key in re.findall(r'reason="([a-z_]+)"', code):
        assert key in aborts, key


def test_icons_and_actions_match() -> None:
    icons = _load("icons.json")
    strings = _load("strings.json")
    services = yaml.safe_load((ROOT / "services.yaml").read_text(encoding="utf-8"))
    assert set(services) == set(strings["services"]) == set(icons["services"])
    for name, service in services.items():
        fields = set(service.get("fields", {}))
        assert fields == set(strings["services"][name].get("fields", {})), name
    entity_icons = icons["entity"]
    entity_strings = strings["entity"]
    assert isinstance(entity_icons, dict)
    assert isinstance(entity_strings, dict)
    for platform, keys in entity_strings.items():
        assert set(keys) == set(entity_icons[platform]), platform


def test_manifest() -> None:
    manifest = _load("manifest.json")
    assert manifest["domain"] == "vigil"
    assert manifest["iot_class"] == "local_push"
    assert manifest["integration_type"] == "hub"
    assert manifest["config_flow"] is True
    assert manifest["requirements"] == []
    for key in ("version", "codeowners", "documentation", "issue_tracker"):
        assert manifest[key], key


def _icon_sources() -> list[Path]:
    """The integration's code, icons, translations and action descriptions (not its brand), and the blueprints."""
    files = [path for path in ROOT.rglob("*") if path.suffix in ICON_SOURCES and "brand" not in path.parts]
    return files + sorted((REPOSITORY / "blueprints").rglob("*.yaml"))


def test_every_icon_exists_in_the_frontend() -> None:
    listed = json.loads((hass_frontend.where() / "static" / "mdi" / "iconList.json").read_text(encoding="utf-8"))
    known = {icon["name"] for icon in listed}
    used = {
        (str(path.relative_to(REPOSITORY)), name)
        for path in _icon_sources()
        for name in MDI_ICON.findall(path.read_text(encoding="utf-8"))
    }
    assert {file for file, _ in used} >= {"custom_components/vigil/icons.json"}
    unknown = sorted(f"{file}: mdi:{name}" for file, name in used if name not in known)
    assert not unknown, unknown
