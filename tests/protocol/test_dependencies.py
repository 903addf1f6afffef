"""mashumaro, which the models need, is where each distribution runs them.

* The engine declares it (``addon/pyproject.toml``) and its image installs it (a pinned wheel in
  the Dockerfile; ``tests/addon`` checks the pins against the tests' versions).
* The integration does not list it in its manifest: Home Assistant itself requires it (through
  ``webrtc-models``, which its camera component imports; its constraints ask for 3.17 or later).
  If Home Assistant ever stops requiring it, this fails and the manifest must list it.
"""

from __future__ import annotations

import json
import tomllib
from importlib.metadata import requires, version
from importlib.resources import files
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
HOME_ASSISTANT_FLOOR = Version("3.17")


def _requirements(package: str) -> set[str]:
    """Every package ``package`` requires, transitively (extras left out)."""
    found: set[str] = set()
    todo = [package]
    while todo:
        for line in requires(todo.pop()) or []:
            requirement = Requirement(line)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            name = requirement.name.lower().replace("_", "-")
            if name not in found:
                found.add(name)
                todo.append(requirement.name)
    return found


def test_the_engine_declares_mashumaro() -> None:
    project = tomllib.loads((ROOT / "addon" / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [Requirement(line) for line in project["dependencies"] if Requirement(line).name == "mashumaro"]
    assert len(declared) == 1
    assert declared[0].specifier.contains(version("mashumaro"))
    assert declared[0].specifier.contains(HOME_ASSISTANT_FLOOR)  # the engine asks no more than HA's floor


def test_home_assistant_brings_mashumaro_for_the_integration() -> None:
    manifest = json.loads((ROOT / "custom_components" / "vigil" / "manifest.json").read_text(encoding="utf-8"))
    if any(Requirement(line).name == "mashumaro" for line in manifest["requirements"]):
        return  # listed: Home Assistant installs it either way
    assert "mashumaro" in _requirements("homeassistant"), "Home Assistant no longer requires mashumaro: list it"
    constraints = (files("homeassistant") / "package_constraints.txt").read_text(encoding="utf-8")
    floors = [Requirement(line) for line in constraints.splitlines() if line.startswith("mashumaro")]
    assert floors, "Home Assistant's constraints no longer pin mashumaro"
    assert all(not floor.specifier.contains("3.16") for floor in floors)  # 3.17 or later: Python 3.14
    assert Version(version("mashumaro")) >= HOME_ASSISTANT_FLOOR
