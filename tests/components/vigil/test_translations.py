"""Translations, icons and action descriptions are complete and agree with the code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

import custom_components.vigil as integration
from custom_components.vigil.const import STORAGE_WARNING_CODES

ROOT = Path(integration.__file__).parent


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
    used = set(re.findall(r'translation_key="([a-z_]+)"', code))
    entity = strings["entity"]
    assert isinstance(entity, dict)
    entity_keys = {key for platform in entity.values() for key in platform}
    issues = strings["issues"]
    assert isinstance(issues, dict)
    selectors = strings["selector"]
    assert isinstance(selectors, dict)
    for key in used:
        assert key in exceptions or key in entity_keys or key in issues or key in selectors, key
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
