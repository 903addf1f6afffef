"""Actions against the real engine: clips and snapshots land under the media folder."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import av
import pytest
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util

from custom_components.vigil.const import DOMAIN
from tests.components.vigil.conftest import FRONT, EngineRig, SetupEntry, read_file, state_of, wait_for

CAMERA = {ATTR_ENTITY_ID: "camera.front"}
YARD_CAMERA = {ATTR_ENTITY_ID: "camera.yard"}  # disabled in the engine's config


async def _call(
    hass: HomeAssistant, service: str, data: dict[str, object] | None = None, target: dict[str, str] = CAMERA
) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, service, data or {}, target=target, blocking=True, return_response=True
    )
    assert response is not None
    result = response[target[ATTR_ENTITY_ID]]
    assert isinstance(result, dict)
    return result


async def test_export_clip_of_a_time_range(
    hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry, media_dir: Path
) -> None:
    entry = await setup_entry()

    def recorded() -> tuple[int, int]:
        # The latest stretch of footage without a gap (other tests switch recording off and on).
        today = dt_util.utcnow().date().isoformat()
        ranges = engine.get(f"/api/cameras/{FRONT}/summary?date={today}&time_zone=UTC")["summary"]["recorded"]
        return (ranges[-1]["start_ms"], ranges[-1]["end_ms"]) if ranges else (0, 0)

    await wait_for(lambda: (span := recorded())[1] - span[0] >= 7000, 20, "7 s of unbroken footage", interval=0.5)
    end = dt_util.utc_from_timestamp(recorded()[1] / 1000)
    result = await _call(hass, "export_clip", {"start": end - timedelta(seconds=6), "end": end})
    path = Path(str(result["path"]))
    assert path.parent == media_dir / "vigil" / "clips"
    assert path.name.startswith("front_")
    assert path.suffix == ".mp4"
    data = await read_file(hass, path)
    assert data[4:8] == b"ftyp"
    assert result["size"] == len(data)
    with av.open(str(path)) as container:
        assert container.duration is not None
        assert 4.5 <= container.duration / 1_000_000 <= 7.5  # 6 s, cut at keyframes (1 s apart)
    assert result["media_content_id"] == f"media-source://vigil/{entry.entry_id}/clips/{path.name}"
    assert result["local_media_content_id"] == f"media-source://media_source/local/vigil/clips/{path.name}"
    assert not list(path.parent.glob(".*.part"))
    # What the media browser shows of it, kept beside it: the camera, the UTC instants, a picture of its start.
    sidecar = json.loads(await read_file(hass, path.parent / ".vigil" / f"{path.name}.json"))
    assert sidecar == {
        "camera_id": FRONT,
        "camera_name": "Front",
        "start_ms": round((end - timedelta(seconds=6)).timestamp() * 1000),
        "end_ms": round(end.timestamp() * 1000),
        "event_id": None,
    }
    assert (await read_file(hass, path.parent / ".vigil" / f"{path.name}.jpg")).startswith(b"\xff\xd8\xff")


async def test_manual_event_and_its_clip(
    hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry, media_dir: Path
) -> None:
    await setup_entry()
    started = await _call(hass, "start_event", {"label": "doorbell"})
    assert started["kind"] == "manual"
    assert started["label"] == "doorbell"
    assert started["end"] is None
    await wait_for(lambda: state_of(hass, "event.front_events").attributes.get("event_type") == "manual", 5, "manual")
    assert state_of(hass, "event.front_events").attributes["event_id"] == started["event_id"]

    ended = await _call(hass, "end_event")
    assert ended["event_id"] == started["event_id"]
    assert ended["end"] is not None
    await wait_for(
        lambda: state_of(hass, "event.front_events").attributes.get("event_type") == "manual_ended", 5, "ended"
    )
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "end_event")  # none running any more
    assert err.value.translation_key == "no_manual_event"

    # The event's footage (pre-capture included) is ready once its last segment is indexed.
    async def export() -> dict[str, Any] | None:
        try:
            return await _call(hass, "export_clip", {"event_id": str(started["event_id"])})
        except ServiceValidationError:
            return None

    # Post-capture (1 s), then the segment that holds it must close: wait for the engine to say so.
    ended_at = dt_util.parse_datetime(str(ended["end"]))
    assert ended_at is not None
    clip_end_ms = ended_at.timestamp() * 1000 + 1000
    await wait_for(
        lambda: (engine.camera_state(FRONT)["last_segment_end_ms"] or 0) >= clip_end_ms, 30, "the post-capture indexed"
    )
    result = await export()
    assert result is not None, "the event's clip is not available although its footage is indexed"
    path = Path(str(result["path"]))
    assert path.name.startswith("front_")
    assert str(started["event_id"])[:8] in path.name
    assert (await read_file(hass, path))[4:8] == b"ftyp"


async def test_export_clip_errors(
    hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry, media_dir: Path
) -> None:
    await setup_entry()
    now = dt_util.utcnow()
    cases: list[tuple[dict[str, object], str]] = [
        ({}, "event_or_range"),
        ({"start": now - timedelta(seconds=5)}, "event_or_range"),
        ({"event_id": "0" * 32, "start": now}, "event_or_range"),
        ({"start": now, "end": now - timedelta(seconds=5)}, "end_before_start"),
        ({"start": now - timedelta(hours=7), "end": now}, "clip_too_long"),
        ({"event_id": "0" * 32}, "event_not_found"),
        ({"start": now - timedelta(days=400), "end": now - timedelta(days=400) + timedelta(seconds=5)}, "no_footage"),
    ]
    for data, key in cases:
        with pytest.raises(ServiceValidationError) as err:
            await _call(hass, "export_clip", data)
        assert err.value.translation_key == key, data
    assert not list((media_dir / "vigil" / "clips").glob("*")) if (media_dir / "vigil" / "clips").exists() else True


async def test_export_clip_of_another_cameras_event(
    hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry, media_dir: Path
) -> None:
    await setup_entry()
    started = await _call(hass, "start_event")
    try:
        with pytest.raises(ServiceValidationError) as err:
            await _call(hass, "export_clip", {"event_id": str(started["event_id"])}, target=YARD_CAMERA)
        assert err.value.translation_key == "event_of_other_camera"
    finally:
        await _call(hass, "end_event")


async def test_manual_event_on_a_disabled_camera_is_refused(
    hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry
) -> None:
    # The engine keeps nothing for a disabled camera, so an event there would be an empty promise.
    await setup_entry()
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "start_event", target=YARD_CAMERA)
    assert "disabled" in str(err.value)


async def test_snapshot(hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry, media_dir: Path) -> None:
    entry = await setup_entry()
    first = await _call(hass, "snapshot")
    second = await _call(hass, "snapshot")  # same second: a second file, not an overwrite
    for result in (first, second):
        path = Path(str(result["path"]))
        assert path.parent == media_dir / "vigil" / "snapshots"
        assert (await read_file(hass, path))[:3] == b"\xff\xd8\xff"
        assert result["media_content_id"] == f"media-source://vigil/{entry.entry_id}/snapshots/{path.name}"
        sidecar = json.loads(await read_file(hass, path.parent / ".vigil" / f"{path.name}.json"))
        assert (sidecar["camera_id"], sidecar["camera_name"], sidecar["end_ms"]) == (FRONT, "Front", None)
        assert abs(sidecar["start_ms"] / 1000 - dt_util.utcnow().timestamp()) < 30
    assert first["path"] != second["path"]

    # A description that cannot be written (here: a file where its folder would be) costs the
    # snapshot nothing: it is listed by its name.
    await hass.async_add_executor_job(shutil.rmtree, media_dir / "vigil" / "snapshots" / ".vigil")
    await hass.async_add_executor_job((media_dir / "vigil" / "snapshots" / ".vigil").write_text, "in the way")
    third = await _call(hass, "snapshot")
    assert (await read_file(hass, Path(str(third["path"]))))[:3] == b"\xff\xd8\xff"

    # The disabled camera has no picture: the user's to fix.
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "snapshot", target={ATTR_ENTITY_ID: "camera.yard"})
    assert err.value.translation_key == "camera_disabled"


async def test_a_clip_from_before_the_footage_has_no_picture_of_its_start(
    hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry, media_dir: Path
) -> None:
    """The engine has no still where there is no footage (its 404): the clip is exported all the same."""
    await setup_entry()
    oldest_ms = int(engine.get("/api/storage")["storage"]["oldest_footage_ms"])
    start = dt_util.utc_from_timestamp((oldest_ms - 30_000) / 1000)
    result = await _call(hass, "export_clip", {"start": start, "end": start + timedelta(seconds=36)})
    path = Path(str(result["path"]))
    assert (await read_file(hass, path))[4:8] == b"ftyp"
    sidecar = json.loads(await read_file(hass, path.parent / ".vigil" / f"{path.name}.json"))
    assert sidecar["start_ms"] == oldest_ms - 30_000
    assert not await hass.async_add_executor_job((path.parent / ".vigil" / f"{path.name}.jpg").exists)
