"""hacs.json and the integration's manifest against HACS's rules (HACS's own voluptuous schemas,
custom_components/hacs/utils/validate.py), for the repository that HACS installs the integration from."""

from __future__ import annotations

import json
from importlib.metadata import version
from typing import Any

import voluptuous as vol
from awesomeversion import AwesomeVersion

from tests.addon.conftest import ROOT


def _version(value: Any) -> AwesomeVersion:
    parsed = AwesomeVersion(str(value))
    if not parsed.valid:
        raise vol.Invalid(f"{value!r} is not a version")
    return parsed


HACS_MANIFEST = vol.Schema(
    {
        vol.Optional("content_in_root"): bool,
        vol.Optional("country"): vol.Any(str, [str]),
        vol.Optional("filename"): str,
        vol.Optional("hacs"): _version,
        vol.Optional("hide_default_branch"): bool,
        vol.Optional("homeassistant"): _version,
        vol.Optional("persistent_directory"): str,
        vol.Optional("render_readme"): bool,
        vol.Optional("zip_release"): bool,
        vol.Required("name"): str,
    },
    extra=vol.PREVENT_EXTRA,
)

INTEGRATION_MANIFEST = vol.Schema(
    {
        vol.Required("codeowners"): [str],
        vol.Required("documentation"): vol.Url(),
        vol.Required("domain"): str,
        vol.Required("issue_tracker"): vol.Url(),
        vol.Required("name"): str,
        vol.Required("version"): _version,
    },
    extra=vol.ALLOW_EXTRA,
)


def test_hacs_json() -> None:
    hacs = HACS_MANIFEST(json.loads((ROOT / "hacs.json").read_text(encoding="utf-8")))
    assert hacs["name"] == "Vigil NVR"
    assert not hacs.get("content_in_root", False)  # the integration is in custom_components/vigil
    assert not hacs.get("zip_release", False) or hacs.get("filename")
    # The minimum is no newer than the Home Assistant the integration's tests run against.
    assert hacs["homeassistant"] <= AwesomeVersion(version("homeassistant"))
    assert (ROOT / "README.md").is_file()


def test_one_integration_with_a_complete_manifest() -> None:
    integrations = [path for path in (ROOT / "custom_components").iterdir() if (path / "manifest.json").is_file()]
    assert [path.name for path in integrations] == ["vigil"]
    manifest = INTEGRATION_MANIFEST(json.loads((integrations[0] / "manifest.json").read_text(encoding="utf-8")))
    assert manifest["domain"] == "vigil"
    assert manifest["name"] == "Vigil NVR"
