"""What the engine sends is what its models say: the index's events, its state and its bus messages."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from vigil_engine.api import wire
from vigil_engine.events.model import EventRecord
from vigil_engine.protocol import EVENTS, Camera, Event, ProtocolError, Storage, StorageWarning


def _record(**changes: Any) -> EventRecord:
    record = EventRecord(
        id="a" * 32,
        camera_id="front",
        kind="manual",
        start_ms=1_767_261_600_000,
        end_ms=1_767_261_612_000,
        pre_ms=2000,
        post_ms=1000,
        zones=("path", "porch"),
        peak_score=0.123456,
        snapshot="events/a.jpg",
        label="doorbell",
    )
    return dataclasses.replace(record, **changes)


@pytest.mark.parametrize("changes", [{}, {"end_ms": None, "snapshot": None, "label": None, "zones": ()}])
def test_an_index_event_is_what_its_bus_messages_say(changes: dict[str, Any]) -> None:
    """The day summary and list_events build events field by field; the bus sends ``as_dict()``: the same event."""
    record = _record(**changes)
    assert wire.event(record) == Event.parse(record.as_dict())
    assert (
        wire.event(record).to_dict()
        == EVENTS["event_ended"].parse({"camera_id": "front", "event": record.as_dict()}).to_dict()["event"]
    )


def test_what_the_engine_keeps_to_itself_stays_off_the_wire() -> None:
    state = {**Camera(camera_id="front", name="Front").to_dict(), "url": "rtsp://u:secret@cam/1", "password": "x"}
    assert set(wire.camera(state).to_dict()) == {field.name for field in dataclasses.fields(Camera)}
    assert wire.event_message("internal_kind", {"camera_id": "front"}) is None
    motion = {"camera_id": "front", "zone": None, "active": True, "score": 0.2, "at_ms": 1, "first_seen_mono": 3.5}
    message = wire.event_message("motion", motion)
    assert message is not None
    assert "first_seen_mono" not in message["data"]
    storage = wire.storage({"bytes_used": 1, "warnings": [{"code": "storage_full", "message": "full"}], "x": 1})
    assert storage == Storage(bytes_used=1, warnings=(StorageWarning(code="storage_full", message="full"),))


def test_an_engine_bug_fails_in_the_engine() -> None:
    with pytest.raises(ProtocolError, match=r"Camera\.online"):
        wire.camera({"camera_id": "front", "name": "Front", "online": "yes"})
    with pytest.raises(ProtocolError, match=r"MotionChanged\.active"):
        wire.event_message("motion", {"camera_id": "front", "zone": None, "active": None})
