"""What the engine sends, built from the protocol's models (``vigil_engine.protocol``).

The engine's own state (camera status, storage status, bus messages) is read into a model with
``Model.parse``: what the protocol does not define is dropped (a field reaches clients only once its
model has it), and a value of the wrong type fails here, as an engine error, instead of reaching a
client. Event records, the many objects of a day, are built into their model directly. Messages are
the models' ``to_dict()``, ready for ``json.dumps``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vigil_engine.events.model import EventRecord
from vigil_engine.protocol import (
    EVENTS,
    ArchiveStatus,
    Camera,
    ErrorMessage,
    Event,
    EventMessage,
    EventObject,
    Model,
    RestoreStatus,
    ResultMessage,
    Storage,
)
from vigil_engine.redact import redact

from .errors import ApiError


def camera(state: Mapping[str, Any]) -> Camera:
    """A camera from the engine's ``camera_state``."""
    return Camera.parse(state)


def event(record: EventRecord) -> Event:
    """An event from the index's record: built field by field, as a day summary holds up to 1000 (about
    five times faster than parsing ``record.as_dict()``, which is what its bus messages carry; a test
    checks that the two agree)."""
    return Event(
        id=record.id,
        camera_id=record.camera_id,
        kind=record.kind,
        start_ms=record.start_ms,
        end_ms=record.end_ms,
        pre_ms=record.pre_ms,
        post_ms=record.post_ms,
        zones=tuple(record.zones),
        peak_score=round(record.peak_score, 4),
        has_snapshot=record.snapshot is not None,
        label=record.label,
        labels=tuple(record.labels),
        top_score=round(record.top_score, 4),
        objects=tuple(
            EventObject(
                id=obj.id,
                label=obj.label,
                score=round(obj.score, 4),
                start_ms=obj.start_ms,
                end_ms=obj.end_ms,
                zones=tuple(obj.zones),
                box=tuple(round(value, 4) for value in obj.box),
            )
            for obj in record.objects
        ),
    )


def storage(status: Mapping[str, Any], archive_state: Mapping[str, Any] | None = None) -> Storage:
    """The storage status from the engine's ``status()["storage"]``, with its ``status()["archive"]``."""
    return Storage.parse({**status, "archive": archive(archive_state)})


def archive(state: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The archive's status from the uploader's ``state()``; None when no archive is configured.

    Picked field by field, by the protocol's names: the uploader's state also holds the bucket and
    the key of the object being uploaded, which stay in the engine (the bucket's name can tell
    whose footage it is, a key which camera and when)."""
    if not state or not state.get("enabled"):
        return None
    return ArchiveStatus(
        enabled=True,
        backlog_items=state.get("backlog_items", 0),
        backlog_bytes=state.get("backlog_bytes", 0),
        uploaded=state.get("uploaded_items", 0),
        lost=state.get("lost_items", 0),
        reachable=state.get("store_reachable", True),
        failing_since_ms=state.get("failing_since_ms"),
        last_success_ms=state.get("last_success_ms"),
        last_error=_redacted(state.get("last_error")),
        error_kind=state.get("error_kind"),
        restore=None if (restore := state.get("restore")) is None else RestoreStatus.parse(restore),
    ).to_dict()


def _redacted(text: str | None) -> str | None:
    # The store's messages are redacted where they are made; once more here, as this one leaves the engine.
    return None if text is None else redact(text)


def result_message(message_id: str, result: Model) -> dict[str, Any]:
    return ResultMessage(message_id=message_id, result=result.to_dict()).to_dict()


def error_message(message_id: str | None, error: ApiError) -> dict[str, Any]:
    return ErrorMessage(message_id=message_id, error=error.as_model()).to_dict()


def event_message(kind: str, data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The WebSocket event for a bus message, or None for a kind clients do not get."""
    model = EVENTS.get(kind)
    if model is None:
        return None
    return EventMessage(event=kind, data=model.parse(data).to_dict()).to_dict()
