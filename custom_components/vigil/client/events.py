"""The events the engine pushes, as the client hands them on: the protocol's models, or :class:`UnknownEvent`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from custom_components.vigil.protocol import (
    EVENTS,
    ArchiveRestoreChanged,
    CameraDetection,
    CameraOffline,
    CameraOnline,
    CamerasChanged,
    CameraSettingsChanged,
    EventEnded,
    EventStarted,
    EventUpdated,
    MotionChanged,
    ObjectAppeared,
    ObjectEnded,
    ObjectUpdated,
    ProtocolError,
    RecordingChanged,
    SegmentWritten,
    StorageWarningChanged,
)

from .errors import InvalidMessage


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownEvent:
    """An event this client does not know (the protocol says: ignore it)."""

    name: str
    data: Mapping[str, Any] = field(default_factory=dict)


type EngineEvent = (
    CameraOnline
    | CameraOffline
    | RecordingChanged
    | SegmentWritten
    | MotionChanged
    | EventStarted
    | EventUpdated
    | EventEnded
    | CameraSettingsChanged
    | StorageWarningChanged
    | CameraDetection
    | CamerasChanged
    | ObjectAppeared
    | ObjectUpdated
    | ObjectEnded
    | ArchiveRestoreChanged
    | UnknownEvent
)


def parse_event(name: str, data: object) -> EngineEvent:
    """An ``event`` message's name and data as its model; :class:`InvalidMessage` if the data does not fit."""
    model = EVENTS.get(name)
    if model is None:
        return UnknownEvent(name=name, data=data if isinstance(data, Mapping) else {})
    try:
        # EVENTS holds exactly the models of EngineEvent (tests/protocol checks it).
        return cast("EngineEvent", model.parse(data))
    except ProtocolError as err:
        raise InvalidMessage(f"{name} event: {err}") from None
