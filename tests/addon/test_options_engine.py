"""The engine reads the add-on's options unchanged: whatever the Supervisor accepts and writes to
/data/options.json, the engine's configuration schema (vigil_engine/config.py) accepts too."""

from __future__ import annotations

import re
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.addon import supervisor
from tests.addon.conftest import ADDON, load_yaml
from vigil_engine.config import DiskLimit, parse_config
from vigil_engine.detection.labels import resolve_labels
from vigil_engine.redact import SECRETS

_CONFIG: dict[str, Any] = load_yaml(ADDON / "config.yaml")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")
_TIME_ZONES = sorted(zoneinfo.available_timezones())


@pytest.fixture(autouse=True)
def _keep_secret_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """parse_config registers camera passwords with the process-wide log redactor; random
    ones would scrub unrelated text from the logs of later tests in this process."""
    monkeypatch.setattr(SECRETS, "_secrets", SECRETS.snapshot())


def test_default_options_plus_a_camera_make_the_add_on_engine_config() -> None:
    camera = {"id": "front_door", "url": "rtsp://192.168.1.20:554/stream1", "motion": {"zones": []}, "events": {}}
    options = supervisor.merged_options(_CONFIG, {"cameras": [camera]})
    config = parse_config(options, base_dir=Path("/data"))
    assert config.storage_path == Path("/media/vigil")
    assert config.db_path == Path("/data/vigil.db")
    assert config.min_free == DiskLimit(bytes=5_000_000_000)
    assert config.disk_cap is None
    assert (config.api_host, config.api_port, config.api_token) == ("0.0.0.0", 8750, None)
    assert config.segment_seconds == 10
    assert config.log_level == "info"
    assert config.time_zone == "UTC"
    (cam,) = config.cameras
    assert (cam.id, cam.name, cam.record, cam.retention_days) == ("front_door", "Front Door", "continuous", 7)
    assert cam.motion.enabled
    assert cam.motion.zones == ()
    assert cam.motion.masks == ()


def _docs_example() -> dict[str, Any]:
    """The complete example in DOCS.md (the YAML block after the ``example: options`` marker)."""
    docs = (ADDON / "DOCS.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- example: options -->\s*```yaml\n(.*?)```", docs, re.DOTALL)
    assert match, "DOCS.md lost its complete example"
    example: dict[str, Any] = yaml.safe_load(match.group(1))
    return example


def test_the_documented_example_is_valid_for_both() -> None:
    options = supervisor.merged_options(_CONFIG, _docs_example())
    config = parse_config(options, base_dir=Path("/data"))
    cameras = {cam.id: cam for cam in config.cameras}
    assert set(cameras) == {"front_door", "garden"}
    front = cameras["front_door"]
    assert front.substream_url is not None
    assert front.password == "correct-horse-battery"
    assert [zone.name for zone in front.motion.zones] == ["driveway"]
    assert front.motion.zones[0].polygon == ((0.1, 0.5), (0.6, 0.5), (0.6, 1.0), (0.1, 1.0))
    assert front.motion.masks == (((0.0, 0.0), (1.0, 0.0), (1.0, 0.08), (0.0, 0.08)),)
    assert cameras["garden"].record == "events"
    assert config.disk_cap == DiskLimit(percent=50)
    # Object detection as the documentation shows it.
    assert front.objects.labels == {"person", "car", "dog", "cat"}
    assert front.objects.filter_for("person").min_score == 0.6
    assert front.motion.zones[0].objects == frozenset({"bicycle", "car", "motorcycle", "bus", "truck"})
    assert cameras["garden"].events.events_from == "objects"
    assert cameras["garden"].objects.labels == {"person", "dog", "cat"}


# --- Anything the Supervisor accepts, the engine accepts ---------------------------------


def _strategy(typ: Any, key: str) -> st.SearchStrategy[Any]:
    if isinstance(typ, list):
        return st.lists(_strategy(typ[0], key), max_size=2)
    if isinstance(typ, dict):
        return _dict_strategy(typ)
    match = supervisor.RE_SCHEMA_ELEMENT.match(typ)
    assert match, typ
    # Not expressible in the Supervisor's schema language: left to the engine, which says
    # which key is wrong (and tested with valid values here).
    if key == "time_zone":
        return st.sampled_from(_TIME_ZONES)
    if key == "api_token":
        return st.text(min_size=16, max_size=80)
    if key == "secret_access_key":
        return st.text(min_size=1, max_size=40).filter(str.strip)
    if key == "encryption_key":  # 32 bytes, as hex or base64 (or none)
        return st.sampled_from(["", "ab" * 32, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="])
    if typ.startswith(("str", "password")):
        return st.text(max_size=20)
    if typ.startswith(("int", "float")):
        low, high = (match.group(g) for g in (("i_min", "i_max") if typ.startswith("int") else ("f_min", "f_max")))
        if typ.startswith("int"):
            return st.integers(int(low), int(high))
        return st.floats(float(low), float(high), allow_nan=False)
    if typ.startswith("bool"):
        return st.booleans() | st.sampled_from(["true", "false", "on", "off", 1, 0])
    if typ.startswith("match"):
        return st.from_regex(match.group("match"))
    if typ.startswith("list"):
        return st.sampled_from(match.group("list").split("|"))
    raise AssertionError(f"no strategy for {typ}")


def _dict_strategy(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for key, typ in schema.items():
        element = typ[0] if isinstance(typ, list) else typ
        target = optional if isinstance(element, str) and element.endswith("?") else required
        target[key] = _strategy(typ, key)
    return st.fixed_dictionaries(required, optional=optional)


def _unique_ids(options: dict[str, Any]) -> bool:
    """Ids, zone names and the labels of object filters must be unique, which the Supervisor
    cannot check (the engine does)."""
    ids = [camera["id"] for camera in options.get("cameras", [])]
    zones_unique = all(
        len({zone["name"] for zone in camera["motion"]["zones"]}) == len(camera["motion"]["zones"])
        for camera in options.get("cameras", [])
    )
    filters = [
        [entry.split()[0] for entry in camera.get("object_filters", [])] for camera in options.get("cameras", [])
    ]
    filters_unique = all(len(set(labels)) == len(labels) for labels in filters)
    return len(set(ids)) == len(ids) and zones_unique and filters_unique and _archive_complete(options)


def _archive_complete(options: dict[str, Any]) -> bool:
    """An archive with a bucket needs the store's URL and both keys, which the Supervisor cannot
    tie together (the engine names the missing one)."""
    archive = options.get("archive", {})
    if not archive.get("bucket") or archive.get("enabled") in (False, "false", "off", 0):
        return True
    return all(archive.get(key) for key in ("endpoint", "access_key_id", "secret_access_key"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(user=_dict_strategy(_CONFIG["schema"]).filter(_unique_ids))
def test_whatever_the_supervisor_accepts_the_engine_accepts(user: dict[str, Any]) -> None:
    options = supervisor.merged_options(_CONFIG, user)
    config = parse_config(options, base_dir=Path("/data"))
    assert len(config.cameras) == len(options["cameras"])
    assert str(config.storage_path).startswith("/media/")
    archive = options["archive"]
    enabled = bool(archive.get("bucket")) and archive.get("enabled", True) not in (False, "false", "off", 0)
    assert (config.archive is not None) == enabled
    for camera, raw in zip(config.cameras, options["cameras"], strict=True):
        assert _SLUG.match(camera.id)
        assert len(camera.motion.zones) == len(raw["motion"]["zones"])
        # What the form says about objects is what the engine does.
        assert camera.objects.enabled == raw.get("object_detection", True)
        assert camera.events.events_from == raw.get("events_from", "motion")
        assert len(camera.objects.masks) == len(raw.get("object_masks", []))
        if "objects" in raw:
            assert camera.objects.labels == resolve_labels(raw["objects"])
