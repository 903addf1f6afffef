"""The events pushed to subscribers: one model per event name, and :data:`EVENTS`, the table of them.

Each model's ``NAME`` is the event's name on the wire (the ``event`` of the event message); the
model is its ``data``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Final

from .model import Model, describe
from .objects import Camera, Event, RecordMode, RestoreStatus, TrackedObject

_THE_CAMERA: Final = describe("the camera")
_THE_EVENTS_CAMERA: Final = describe("the event's camera")


class EventData(Model):
    """The data of one event; ``NAME`` is the event's name."""

    __slots__ = ()
    NAME: ClassVar[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraOnline(EventData):
    NAME: ClassVar[str] = "camera_online"

    camera_id: str = field(metadata=_THE_CAMERA)


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraOffline(EventData):
    NAME: ClassVar[str] = "camera_offline"

    camera_id: str = field(metadata=_THE_CAMERA)
    error: str | None = field(default=None, metadata=describe("why (redacted: never a credential)"))


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingChanged(EventData):
    NAME: ClassVar[str] = "recording"

    camera_id: str = field(metadata=_THE_CAMERA)
    recording: bool = field(metadata=describe("footage is being written"))


@dataclass(frozen=True, slots=True, kw_only=True)
class SegmentWritten(EventData):
    NAME: ClassVar[str] = "segment"

    camera_id: str = field(metadata=_THE_CAMERA)
    start_ms: int = field(metadata=describe("the segment's start"))
    end_ms: int = field(metadata=describe("the segment's end"))


@dataclass(frozen=True, slots=True, kw_only=True)
class MotionChanged(EventData):
    NAME: ClassVar[str] = "motion"

    camera_id: str = field(metadata=_THE_CAMERA)
    zone: str | None = field(metadata=describe("the zone, or `null` for the whole camera"))
    active: bool = field(metadata=describe("motion is being seen"))
    score: float = field(default=0.0, metadata=describe("share of the frame (or zone) that changed, 0 to 1"))
    at_ms: int = field(default=0, metadata=describe("time of the frame that changed the state"))


@dataclass(frozen=True, slots=True, kw_only=True)
class EventChanged(EventData):
    """``event_started``, ``event_updated`` or ``event_ended`` (the subclasses)."""

    camera_id: str = field(metadata=_THE_EVENTS_CAMERA)
    event: Event = field(metadata=describe("the event as it is now"))


@dataclass(frozen=True, slots=True, kw_only=True)
class EventStarted(EventChanged):
    NAME: ClassVar[str] = "event_started"


@dataclass(frozen=True, slots=True, kw_only=True)
class EventUpdated(EventChanged):
    NAME: ClassVar[str] = "event_updated"


@dataclass(frozen=True, slots=True, kw_only=True)
class EventEnded(EventChanged):
    NAME: ClassVar[str] = "event_ended"


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraSettingsChanged(EventData):
    NAME: ClassVar[str] = "camera_settings"

    camera_id: str = field(metadata=_THE_CAMERA)
    record_mode: RecordMode = field(metadata=describe("`continuous`, `events` or `off`"))
    motion_enabled: bool = field(metadata=describe("motion detection is on"))
    objects_enabled: bool = field(default=False, metadata=describe("object detection is on"))


@dataclass(frozen=True, slots=True, kw_only=True)
class StorageWarningChanged(EventData):
    NAME: ClassVar[str] = "storage_warning"

    code: str = field(
        metadata=describe(
            "`retention_not_met` (space, not age, limits how far back footage goes) or `storage_full` (over the "
            "limits with nothing left to delete); clients should accept other codes"
        )
    )
    message: str = field(
        default="", metadata=describe("a human-readable explanation (empty when the condition cleared)")
    )
    active: bool = field(default=True, metadata=describe("`true`: the condition started; `false`: it cleared"))


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraDetection(EventData):
    NAME: ClassVar[str] = "camera_event"

    camera_id: str = field(metadata=_THE_CAMERA)
    detection: str = field(
        metadata=describe(
            "`motion`, `person`, `vehicle`, `animal`, `face`, `intrusion` or `tamper`; clients should accept others"
        )
    )
    topic: str = field(metadata=describe("the ONVIF topic, e.g. `RuleEngine/CellMotionDetector/Motion`"))
    active: bool = field(metadata=describe("the camera reports it now"))
    at_ms: int = field(metadata=describe("when the engine received the change"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectChanged(EventData):
    """``object_appeared``, ``object_updated`` or ``object_ended`` (the subclasses)."""

    camera_id: str = field(metadata=_THE_CAMERA)
    object: TrackedObject = field(metadata=describe("the tracked object as it is now"))
    at_ms: int = field(default=0, metadata=describe("the time of the frame that changed it"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectAppeared(ObjectChanged):
    NAME: ClassVar[str] = "object_appeared"


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectUpdated(ObjectChanged):
    NAME: ClassVar[str] = "object_updated"

    zones_entered: tuple[str, ...] = field(default=(), metadata=describe("zones it stands in now and did not before"))
    zones_left: tuple[str, ...] = field(default=(), metadata=describe("zones it stood in and left"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectEnded(ObjectChanged):
    NAME: ClassVar[str] = "object_ended"


@dataclass(frozen=True, slots=True, kw_only=True)
class CamerasChanged(EventData):
    NAME: ClassVar[str] = "cameras_changed"

    added: tuple[str, ...] = field(default=(), metadata=describe("ids of the cameras added"))
    removed: tuple[str, ...] = field(default=(), metadata=describe("ids of the cameras removed"))
    cameras: tuple[Camera, ...] = field(
        default=(), metadata=describe("every camera now, as `list_cameras` returns them")
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchiveRestoreChanged(EventData):
    """A restore from the archive started, progressed (at most once a second) or ended."""

    NAME: ClassVar[str] = "archive_restore"

    restore: RestoreStatus = field(metadata=describe("the restore as it is now (as in `ArchiveStatus.restore`)"))


EVENTS: Final[dict[str, type[EventData]]] = {
    data.NAME: data
    for data in (
        CameraOnline,
        CameraOffline,
        RecordingChanged,
        SegmentWritten,
        MotionChanged,
        EventStarted,
        EventUpdated,
        EventEnded,
        CameraSettingsChanged,
        StorageWarningChanged,
        CameraDetection,
        CamerasChanged,
        ObjectAppeared,
        ObjectUpdated,
        ObjectEnded,
        ArchiveRestoreChanged,
    )
}
