"""Every command's arguments and result, and :data:`COMMANDS`, the table that names them.

Arguments with a default are optional: a client leaves them out (or sends ``null``). The
engine rejects arguments that are not fields of the command's arguments model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from .model import Model, describe
from .objects import Camera, DaySummary, DiscoveredDevice, Event, Preset, RecordMode, RestoreStatus, Storage

_THE_CAMERA: Final = describe("the camera")


@dataclass(frozen=True, slots=True, kw_only=True)
class NoArgs(Model):
    """A command that takes no arguments."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraArgs(Model):
    camera_id: str = field(metadata=_THE_CAMERA)


@dataclass(frozen=True, slots=True, kw_only=True)
class GetStreamUrlArgs(Model):
    camera_id: str = field(metadata=_THE_CAMERA)
    substream: bool | None = field(
        default=None,
        metadata=describe("`true` for the substream's URL (the main stream's if there is none); default `false`"),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SetRecordModeArgs(Model):
    camera_id: str = field(metadata=_THE_CAMERA)
    record_mode: RecordMode = field(metadata=describe("`continuous`, `events` or `off`"))


@dataclass(frozen=True, slots=True, kw_only=True)
class SetMotionDetectionArgs(Model):
    camera_id: str = field(metadata=_THE_CAMERA)
    enabled: bool = field(metadata=describe("`true` to detect motion"))


@dataclass(frozen=True, slots=True, kw_only=True)
class SetObjectDetectionArgs(Model):
    camera_id: str = field(metadata=_THE_CAMERA)
    enabled: bool = field(metadata=describe("`true` to detect objects where there is motion"))


@dataclass(frozen=True, slots=True, kw_only=True)
class StartManualEventArgs(Model):
    camera_id: str = field(metadata=_THE_CAMERA)
    label: str | None = field(default=None, metadata=describe("free text, at most 100 characters"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ListEventsArgs(Model):
    camera_id: str | None = field(default=None, metadata=describe("only this camera's events"))
    start_ms: int | None = field(default=None, metadata=describe("only events still running at or after this time"))
    end_ms: int | None = field(default=None, metadata=describe("only events that started before this time"))
    zone: str | None = field(default=None, metadata=describe("only events that saw motion in this zone"))
    kind: str | None = field(default=None, metadata=describe("`motion`, `manual` or `camera`"))
    label: str | None = field(
        default=None,
        metadata=describe(
            "only events that saw this: a label (`person`, `car`, ...) or a group (`vehicle`, `animal`: any of its "
            "labels, and what a camera reported as such)"
        ),
    )
    min_score: float | None = field(
        default=None, metadata=describe("only events whose best object scored at least this, 0 to 1")
    )
    limit: int | None = field(default=None, metadata=describe("events per page, 1 to 500 (default 50)"))
    cursor: str | None = field(
        default=None, metadata=describe("`next_cursor` of the previous page (with the same filters)")
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class GetEventArgs(Model):
    event_id: str = field(metadata=describe("the event id"))


@dataclass(frozen=True, slots=True, kw_only=True)
class GetDaySummaryArgs(Model):
    camera_id: str = field(metadata=_THE_CAMERA)
    date: str = field(metadata=describe("the local date, `YYYY-MM-DD`"))
    time_zone: str | None = field(
        default=None,
        metadata=describe("an IANA time zone such as `America/New_York`; default: the engine's `time_zone`"),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SignPathArgs(Model):
    path: str = field(
        metadata=describe("an API path with optional query, e.g. `/api/events/<id>/clip.mp4`; not `/api/ws`")
    )
    expires_in: int | None = field(
        default=None, metadata=describe("seconds the signature is valid, 1 to 86400 (default 300)")
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscribeArgs(Model):
    events: tuple[str, ...] | None = field(default=None, metadata=describe("the events wanted (default: all)"))
    camera_ids: tuple[str, ...] | None = field(
        default=None,
        metadata=describe(
            "only events of these cameras (events without a camera, such as `storage_warning`, always pass)"
        ),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class DiscoverArgs(Model):
    seconds: float | None = field(
        default=None, metadata=describe("how long to wait for answers, 0.5 to 15 (default 3)")
    )
    address: str | None = field(
        default=None,
        metadata=describe(
            "probe this IP address (`host` or `host:port`, port 3702 by default) instead of the multicast group, "
            "e.g. a camera on another subnet"
        ),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class PtzMoveArgs(Model):
    camera_id: str = field(metadata=_THE_CAMERA)
    pan: float | None = field(default=None, metadata=describe("-1 (left) to 1 (right)"))
    tilt: float | None = field(default=None, metadata=describe("-1 (down) to 1 (up)"))
    zoom: float | None = field(default=None, metadata=describe("-1 (out) to 1 (in)"))
    seconds: float | None = field(default=None, metadata=describe("stop after this long (0.1 to 30)"))


@dataclass(frozen=True, slots=True, kw_only=True)
class PtzZoomArgs(Model):
    camera_id: str = field(metadata=_THE_CAMERA)
    zoom: float = field(metadata=describe("-1 (all the way out) to 1 (all the way in)"))


@dataclass(frozen=True, slots=True, kw_only=True)
class PtzGotoPresetArgs(Model):
    camera_id: str = field(metadata=_THE_CAMERA)
    preset: str = field(metadata=describe("the preset's token (from `ptz_presets`)"))


@dataclass(frozen=True, slots=True, kw_only=True)
class AddCameraArgs(Model):
    # Holds the camera's password: never in a repr (nor in a log line made from one).
    camera: dict[str, Any] = field(
        repr=False,
        metadata=describe(
            'the camera, as in the configuration file, e.g. `{"id": "porch", "name": "Porch", "onvif": {"host": '
            '"192.168.1.30", "port": 80, "username": "admin", "password": "..."}}`'
        ),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class RestoreArchiveArgs(Model):
    camera_ids: tuple[str, ...] | None = field(
        default=None, metadata=describe("restore these cameras' footage (default: every camera in the archive)")
    )
    from_ms: int | None = field(default=None, metadata=describe("footage from this time (default: the first)"))
    to_ms: int | None = field(default=None, metadata=describe("footage until this time (default: the last)"))
    download: bool | None = field(
        default=None,
        metadata=describe(
            "`true`: download and verify the footage (needs the disk space); default `false`: index it as kept "
            "only in the archive, on the timeline at once and fetched when played"
        ),
    )


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerInfo(Model):
    """Who the server is: the ``server_info`` message (with its ``type``) and ``get_server_info``'s result."""

    server_version: str = field(metadata=describe("the engine's version"))
    schema_version: int = field(metadata=describe("the version of this protocol the server speaks (see *Versioning*)"))
    min_schema_version: int = field(metadata=describe("the oldest schema version the server still answers correctly"))
    instance_id: str = field(
        metadata=describe("random id made once per engine (per index): the integration's unique id")
    )
    time_zone: str = field(
        default="UTC",
        metadata=describe("the engine's configured IANA time zone (for display; all times are UTC)"),
    )
    cameras: tuple[Camera, ...] = field(
        default=(), metadata=describe("every configured camera, as `list_cameras` returns them")
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraList(Model):
    cameras: tuple[Camera, ...] = field(
        default=(),
        metadata=describe(
            "every camera, in configuration order (cameras added with `add_camera` last, in the order they were added)"
        ),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraResult(Model):
    camera: Camera = field(metadata=_THE_CAMERA)


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamUrl(Model):
    camera_id: str = field(metadata=_THE_CAMERA)
    # The camera's credentials are in it: never in a repr.
    url: str = field(repr=False, metadata=describe("e.g. `rtsp://user:password@192.168.1.20:554/stream1`"))


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordModeResult(Model):
    camera_id: str = field(metadata=_THE_CAMERA)
    record_mode: RecordMode = field(metadata=describe("the mode in force: `continuous`, `events` or `off`"))


@dataclass(frozen=True, slots=True, kw_only=True)
class MotionDetectionResult(Model):
    camera_id: str = field(metadata=_THE_CAMERA)
    enabled: bool = field(metadata=describe("motion detection is on"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectDetectionResult(Model):
    camera_id: str = field(metadata=_THE_CAMERA)
    enabled: bool = field(metadata=describe("object detection is on"))


@dataclass(frozen=True, slots=True, kw_only=True)
class EventResult(Model):
    event: Event = field(metadata=describe("the event"))


@dataclass(frozen=True, slots=True, kw_only=True)
class EventPage(Model):
    """One page of ``list_events``, newest first."""

    events: tuple[Event, ...] = field(default=(), metadata=describe("at most `limit` events, newest first"))
    next_cursor: str | None = field(
        default=None, metadata=describe("pass it as `cursor` for the next page; `null` on the last page")
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class StorageResult(Model):
    storage: Storage = field(metadata=describe("the storage volume and retention status"))


@dataclass(frozen=True, slots=True, kw_only=True)
class DaySummaryResult(Model):
    summary: DaySummary = field(metadata=describe("the day"))


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedPath(Model):
    """A path that carries its own short-lived signature."""

    path: str = field(metadata=describe("the path with its signature (`sig` query parameter) added"))
    expires_ms: int = field(metadata=describe("when the signature stops being accepted"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscription(Model):
    """The filters in force and the state when the subscription started."""

    events: tuple[str, ...] = field(default=(), metadata=describe("the events this connection now receives"))
    camera_ids: tuple[str, ...] | None = field(
        default=None, metadata=describe("the camera filter, `null` for all cameras")
    )
    cameras: tuple[Camera, ...] = field(default=(), metadata=describe("every camera's current state"))
    storage: Storage = field(metadata=describe("the current storage status"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Unsubscribed(Model):
    subscribed: bool = field(default=False, metadata=describe("always `false`"))


@dataclass(frozen=True, slots=True, kw_only=True)
class DiscoveredDevices(Model):
    devices: tuple[DiscoveredDevice, ...] = field(default=(), metadata=describe("the devices that answered, by host"))


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraIdResult(Model):
    camera_id: str = field(metadata=_THE_CAMERA)


@dataclass(frozen=True, slots=True, kw_only=True)
class PresetResult(Model):
    camera_id: str = field(metadata=_THE_CAMERA)
    preset: str = field(metadata=describe("the preset's token"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Presets(Model):
    camera_id: str = field(metadata=_THE_CAMERA)
    presets: tuple[Preset, ...] = field(default=(), metadata=describe("the camera's presets"))


@dataclass(frozen=True, slots=True, kw_only=True)
class AddedCamera(Model):
    camera: Camera = field(
        metadata=describe("the new camera (an ONVIF camera is offline until its streams are found, a second or so)")
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class RestoreArchiveResult(Model):
    restore: RestoreStatus = field(
        metadata=describe("the restore just started (`running`); the `archive_restore` event says how it goes")
    )


# --- the table -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Command:
    """A command's shapes: what it takes and what it answers."""

    args: type[Model]
    result: type[Model]


COMMANDS: Final[dict[str, Command]] = {
    "get_server_info": Command(NoArgs, ServerInfo),
    "list_cameras": Command(NoArgs, CameraList),
    "get_camera": Command(CameraArgs, CameraResult),
    "get_stream_url": Command(GetStreamUrlArgs, StreamUrl),
    "get_record_mode": Command(CameraArgs, RecordModeResult),
    "set_record_mode": Command(SetRecordModeArgs, RecordModeResult),
    "get_motion_detection": Command(CameraArgs, MotionDetectionResult),
    "set_motion_detection": Command(SetMotionDetectionArgs, MotionDetectionResult),
    "get_object_detection": Command(CameraArgs, ObjectDetectionResult),
    "set_object_detection": Command(SetObjectDetectionArgs, ObjectDetectionResult),
    "start_manual_event": Command(StartManualEventArgs, EventResult),
    "end_manual_event": Command(CameraArgs, EventResult),
    "list_events": Command(ListEventsArgs, EventPage),
    "get_event": Command(GetEventArgs, EventResult),
    "get_storage": Command(NoArgs, StorageResult),
    "get_day_summary": Command(GetDaySummaryArgs, DaySummaryResult),
    "sign_path": Command(SignPathArgs, SignedPath),
    "subscribe": Command(SubscribeArgs, Subscription),
    "unsubscribe": Command(NoArgs, Unsubscribed),
    "discover": Command(DiscoverArgs, DiscoveredDevices),
    "ptz_move": Command(PtzMoveArgs, CameraIdResult),
    "ptz_stop": Command(CameraArgs, CameraIdResult),
    "ptz_zoom": Command(PtzZoomArgs, CameraIdResult),
    "ptz_goto_preset": Command(PtzGotoPresetArgs, PresetResult),
    "ptz_presets": Command(CameraArgs, Presets),
    "add_camera": Command(AddCameraArgs, AddedCamera),
    "remove_camera": Command(CameraArgs, CameraIdResult),
    "restore_archive": Command(RestoreArchiveArgs, RestoreArchiveResult),
}
