"""The objects the engine sends (cameras, events, storage, day summaries, ...), as docs/api/websocket.md lists them.

Defaults are what a client assumes when an older engine leaves a field out; the engine always
sends every field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from .model import Model, describe


class RecordMode(StrEnum):
    """How a camera records."""

    CONTINUOUS = "continuous"
    EVENTS = "events"
    OFF = "off"


class EventKind(StrEnum):
    """What starts an event today. ``Event.kind`` stays a string: a newer engine may add kinds."""

    MOTION = "motion"
    MANUAL = "manual"
    CAMERA = "camera"


def ms_to_datetime(value: int | None) -> datetime | None:
    """UTC milliseconds (the protocol's times) to an aware datetime; ``None`` stays ``None``."""
    return None if value is None else datetime.fromtimestamp(value / 1000, UTC)


def datetime_to_ms(value: datetime) -> int:
    """An aware datetime to UTC milliseconds."""
    return round(value.timestamp() * 1000)


@dataclass(frozen=True, slots=True, kw_only=True)
class Device(Model):
    """What an ONVIF camera reports about itself (``GetDeviceInformation``)."""

    manufacturer: str | None = field(default=None, metadata=describe("e.g. `Reolink`"))
    model: str | None = field(default=None, metadata=describe("the model name"))
    firmware_version: str | None = field(default=None, metadata=describe("the firmware version"))
    serial_number: str | None = field(default=None, metadata=describe("the serial number"))
    hardware_id: str | None = field(default=None, metadata=describe("the hardware id"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectDetection(Model):
    """A camera's object detection: whether it runs, and how it keeps up."""

    enabled: bool = field(default=False, metadata=describe("object detection is on for the camera"))
    available: bool = field(
        default=False, metadata=describe("the detector works (`false`: off, not started, or its model is unusable)")
    )
    error: str | None = field(
        default=None, metadata=describe("why the detector cannot be used, e.g. the model file is missing")
    )
    frames_detected: int = field(default=0, metadata=describe("frames looked at since the engine started"))
    frames_skipped: int = field(
        default=0,
        metadata=describe(
            "frames the detector, busy with other cameras' motion, dropped for newer ones since the engine started"
        ),
    )
    objects_tracked: int = field(default=0, metadata=describe("objects being tracked now (stationary ones too)"))
    latency_p50_ms: int | None = field(
        default=None, metadata=describe("median delay from a frame's decoding to its objects (the last 200 frames)")
    )
    latency_p95_ms: int | None = field(default=None, metadata=describe("95th percentile of that delay"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Camera(Model):
    """A camera's configuration summary and live status. Never holds a credential or a URL."""

    camera_id: str = field(metadata=describe("the camera's id (slug)"))
    name: str = field(metadata=describe("display name"))
    enabled: bool = field(default=True, metadata=describe("`false`: configured but not recorded or analysed"))
    online: bool = field(default=False, metadata=describe("the stream is connected and delivering"))
    since_ms: int | None = field(default=None, metadata=describe("when `online` last changed"))
    last_error: str | None = field(
        default=None, metadata=describe("why the camera is offline (redacted: no credentials)")
    )
    recording: bool = field(default=False, metadata=describe("footage is being written right now"))
    record_mode: RecordMode = field(default=RecordMode.CONTINUOUS, metadata=describe("`continuous`, `events` or `off`"))
    motion_enabled: bool = field(default=False, metadata=describe("motion detection is on"))
    motion_active: bool = field(
        default=False, metadata=describe("motion is being seen right now (anywhere in the frame)")
    )
    zones: tuple[str, ...] = field(default=(), metadata=describe("the names of the camera's motion zones"))
    zones_active: tuple[str, ...] = field(default=(), metadata=describe("the zones with motion right now"))
    has_substream: bool = field(
        default=False, metadata=describe("a substream is configured (used for motion detection)")
    )
    fps: float = field(default=0.0, metadata=describe("frames per second of the recorded stream, over the last second"))
    bitrate: int = field(default=0, metadata=describe("bits per second of the recorded stream"))
    video_codec: str | None = field(default=None, metadata=describe("e.g. `h264`, `hevc`"))
    width: int | None = field(default=None, metadata=describe("video width in pixels"))
    height: int | None = field(default=None, metadata=describe("video height in pixels"))
    audio_codec: str | None = field(default=None, metadata=describe("e.g. `aac`; `null` without (recorded) audio"))
    last_segment_end_ms: int | None = field(default=None, metadata=describe("end of the newest indexed segment"))
    segments_written: int = field(default=0, metadata=describe("segments written since the engine started"))
    reconnects: int = field(default=0, metadata=describe("reconnections since the engine started"))
    retention_days: float = field(default=0.0, metadata=describe("days continuous footage is kept"))
    event_retention_days: float = field(default=0.0, metadata=describe("days event footage is kept"))
    pre_capture: float = field(default=0.0, metadata=describe("seconds of footage kept before an event"))
    post_capture: float = field(default=0.0, metadata=describe("seconds of footage kept after an event"))
    motion_source: str = field(
        default="own",
        metadata=describe(
            "what starts motion events: `own` (Vigil's detector), `camera` (the camera's ONVIF events) or `both`"
        ),
    )
    onvif: bool = field(default=False, metadata=describe("the camera was added by its ONVIF address"))
    device: Device | None = field(
        default=None, metadata=describe("what the camera says it is (ONVIF cameras, once connected)")
    )
    ptz: bool = field(default=False, metadata=describe("the camera can pan, tilt or zoom (the `ptz_*` commands)"))
    origin: str = field(
        default="config",
        metadata=describe(
            "`config`: from the configuration file (the add-on's options); `api`: added at run time with "
            "`add_camera` (and removable with `remove_camera`)"
        ),
    )
    objects_enabled: bool = field(
        default=False, metadata=describe("object detection is on (where there is motion; `set_object_detection`)")
    )
    objects: tuple[str, ...] = field(
        default=(), metadata=describe("the labels the camera tracks, e.g. `person`, `car`, `dog`, `cat`")
    )
    events_from: str = field(
        default="motion",
        metadata=describe(
            "what makes an event: `motion` (every confirmed motion, labelled by the objects seen in it) or "
            "`objects` (a tracked object that moves)"
        ),
    )
    detection: ObjectDetection | None = field(
        default=None, metadata=describe("the camera's object detection (`null` from an engine without it)")
    )

    @property
    def removable(self) -> bool:
        """Added at run time (``add_camera``): ``remove_camera`` can remove it."""
        return self.origin == "api"


@dataclass(frozen=True, slots=True, kw_only=True)
class DiscoveredDevice(Model):
    """An ONVIF device that answered a WS-Discovery probe."""

    endpoint: str = field(metadata=describe("the device's stable id (usually `urn:uuid:...`)"))
    address: str = field(default="", metadata=describe("its ONVIF device service URL"))
    host: str = field(metadata=describe("the host to put in the camera's `onvif.host`"))
    port: int = field(metadata=describe("the port to put in `onvif.port`"))
    name: str | None = field(default=None, metadata=describe("the name the device announces (its `name` scope)"))
    hardware: str | None = field(default=None, metadata=describe("the hardware it announces (its `hardware` scope)"))
    scopes: tuple[str, ...] = field(default=(), metadata=describe("every scope it announced"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Preset(Model):
    """A PTZ preset of a camera."""

    token: str = field(metadata=describe("the preset's token (for `ptz_goto_preset`)"))
    name: str | None = field(default=None, metadata=describe("its name"))


@dataclass(frozen=True, slots=True, kw_only=True)
class EventObject(Model):
    """A tracked object as an event keeps it: its track while the event lasted."""

    id: str = field(metadata=describe("the tracked object's id (as in the `object_*` events)"))
    label: str = field(metadata=describe("what it is: `person`, `car`, `dog`, ... (the model's COCO labels)"))
    score: float = field(default=0.0, metadata=describe("its best score, 0 to 1"))
    start_ms: int = field(metadata=describe("the frame it was first seen in"))
    end_ms: int = field(metadata=describe("the frame it was last seen in (so far, while the event runs)"))
    zones: tuple[str, ...] = field(default=(), metadata=describe("the zones it entered (where it stood)"))
    box: tuple[float, ...] = field(
        default=(),
        metadata=describe(
            "where it was when it scored best: `[x1, y1, x2, y2]`, fractions of the frame's width and height"
        ),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackedObject(Model):
    """An object the engine tracks on a camera, as it is now."""

    id: str = field(metadata=describe("its id, the same for as long as it is tracked"))
    label: str = field(metadata=describe("what it is: `person`, `car`, `dog`, ... (the model's COCO labels)"))
    score: float = field(default=0.0, metadata=describe("its recent score (the median of its last detections), 0 to 1"))
    best_score: float = field(default=0.0, metadata=describe("its best score so far"))
    box: tuple[float, ...] = field(
        default=(), metadata=describe("where it is: `[x1, y1, x2, y2]`, fractions of the frame's width and height")
    )
    first_ms: int = field(metadata=describe("the frame it was first seen in"))
    last_ms: int = field(metadata=describe("the frame it was last seen in"))
    zones: tuple[str, ...] = field(default=(), metadata=describe("the zones it has entered"))
    current_zones: tuple[str, ...] = field(default=(), metadata=describe("the zones it stands in now"))
    stationary: bool = field(
        default=False,
        metadata=describe("it has not moved for 10 seconds: it neither starts nor holds events until it moves"),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Event(Model):
    """A motion event, a manual event or a camera event, with the footage it protects."""

    id: str = field(metadata=describe("the event id (32 hex characters)"))
    camera_id: str = field(metadata=describe("the camera"))
    kind: str = field(metadata=describe("`motion`, `manual` or `camera`"))
    start_ms: int = field(metadata=describe("the first frame that moved (or the manual start)"))
    end_ms: int | None = field(default=None, metadata=describe("`null` while the event runs"))
    pre_ms: int = field(default=0, metadata=describe("pre-capture: the event's footage starts at `start_ms - pre_ms`"))
    post_ms: int = field(default=0, metadata=describe("post-capture: the footage ends at `end_ms + post_ms`"))
    zones: tuple[str, ...] = field(default=(), metadata=describe("the zones in which the event saw motion"))
    peak_score: float = field(default=0.0, metadata=describe("the largest share of the frame that changed (0 to 1)"))
    has_snapshot: bool = field(default=False, metadata=describe("a snapshot (and thumbnail) can be fetched over HTTP"))
    label: str | None = field(
        default=None,
        metadata=describe(
            "free text of a manual event (e.g. `doorbell`); for a `camera` event, what the camera reported "
            "(e.g. `person`)"
        ),
    )
    labels: tuple[str, ...] = field(
        default=(),
        metadata=describe(
            "what the event saw, sorted: its tracked objects' labels (`person`, `car`, ...) and what an ONVIF "
            "camera reported itself (`person`, `vehicle`, `animal`)"
        ),
    )
    top_score: float = field(default=0.0, metadata=describe("the best score of its objects, 0 to 1 (0: none)"))
    objects: tuple[EventObject, ...] = field(
        default=(), metadata=describe("its tracked objects, in the order they were first seen")
    )

    @property
    def running(self) -> bool:
        return self.end_ms is None

    @property
    def start(self) -> datetime:
        return datetime.fromtimestamp(self.start_ms / 1000, UTC)

    @property
    def end(self) -> datetime | None:
        return ms_to_datetime(self.end_ms)


@dataclass(frozen=True, slots=True, kw_only=True)
class StorageWarning(Model):
    """A storage condition in force that needs the user's attention."""

    code: str = field(
        metadata=describe(
            "`retention_not_met` (space, not age, limits the footage kept) or `storage_full` (over the limits "
            "with nothing left to delete)"
        )
    )
    message: str = field(default="", metadata=describe("a sentence for the user"))


@dataclass(frozen=True, slots=True, kw_only=True)
class RestoreStatus(Model):
    """A restore from the off-site archive (``restore_archive``): what it restores and how far it got.

    Never a credential or the encryption key (its error may name the object it is about)."""

    state: str = field(
        metadata=describe("`running`, `done` or `failed` (`error` says why); clients should accept other values")
    )
    download: bool = field(
        default=False,
        metadata=describe(
            "`true`: the footage is downloaded and verified; `false`: it is indexed as kept only in the archive "
            "(it plays on demand, fetched from the archive)"
        ),
    )
    camera_ids: tuple[str, ...] = field(default=(), metadata=describe("the cameras restored; empty: all of them"))
    from_ms: int | None = field(default=None, metadata=describe("footage from this time; `null`: from the first"))
    to_ms: int | None = field(default=None, metadata=describe("footage until this time; `null`: until the last"))
    selected: int = field(default=0, metadata=describe("segments of the archive selected so far"))
    restored: int = field(default=0, metadata=describe("segments restored (downloaded, or indexed) so far"))
    present: int = field(default=0, metadata=describe("selected segments that were here already (skipped)"))
    errors: int = field(
        default=0,
        metadata=describe("objects that could not be restored (damaged, wrong checksum); the engine's log names them"),
    )
    bytes: int = field(default=0, metadata=describe("bytes restored (downloaded, or kept in the archive)"))
    gaps: int = field(default=0, metadata=describe("gaps indexed where the restored footage does not continue"))
    started_ms: int = field(metadata=describe("when it started"))
    finished_ms: int | None = field(default=None, metadata=describe("when it ended; `null` while it runs"))
    error: str | None = field(
        default=None,
        metadata=describe(
            "why it failed (the store, the key, the engine stopping), one sentence without credentials that may name "
            "the object it is about; what it restored until then stays, and running it again resumes"
        ),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchiveStatus(Model):
    """The off-site archive: what waits to be copied, what was copied, and whether the store works.

    Never a credential, the encryption key or an object's key."""

    enabled: bool = field(default=True, metadata=describe("an archive is configured"))
    backlog_items: int = field(default=0, metadata=describe("segments waiting to be copied"))
    backlog_bytes: int = field(default=0, metadata=describe("bytes waiting to be copied"))
    uploaded: int = field(default=0, metadata=describe("segments copied since the engine started"))
    lost: int = field(
        default=0, metadata=describe("segments deleted locally before they could be copied, since the engine started")
    )
    reachable: bool = field(default=True, metadata=describe("the store works (`false` while it fails as a whole)"))
    failing_since_ms: int | None = field(
        default=None, metadata=describe("when the store's current failure began; `null` while it works")
    )
    last_success_ms: int | None = field(
        default=None, metadata=describe("when the last segment was copied (since the engine started)")
    )
    last_error: str | None = field(
        default=None,
        metadata=describe(
            "the last error (the store's, or that of a segment it gave up on), as a sentence without credentials; "
            "`null` once the store works again"
        ),
    )
    error_kind: str | None = field(
        default=None,
        metadata=describe(
            "why the store fails: `unreachable` (no connection, timeouts, server errors), `credentials` (it refuses "
            "the keys) or `bucket` (the bucket does not exist); `null` while it works or when the engine does not "
            "say; clients should accept other values"
        ),
    )
    restore: RestoreStatus | None = field(
        default=None,
        metadata=describe(
            "the restore running now, or the last one since the engine started (`restore_archive`); `null`: none "
            "(and from engines before version 5)"
        ),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Storage(Model):
    """The storage volume and the retention status."""

    bytes_used: int = field(default=0, metadata=describe("bytes of footage in the index"))
    bytes_free: int = field(default=0, metadata=describe("free bytes on the storage volume"))
    bytes_total: int = field(default=0, metadata=describe("size of the storage volume"))
    disk_cap_bytes: int | None = field(default=None, metadata=describe("the configured cap, resolved to bytes"))
    oldest_footage_ms: int | None = field(
        default=None, metadata=describe("start of the oldest footage kept (the retention horizon)")
    )
    segments_deleted: int = field(
        default=0, metadata=describe("segments deleted by retention since the engine started")
    )
    last_cleanup_ms: int | None = field(default=None, metadata=describe("when retention last ran"))
    warnings: tuple[StorageWarning, ...] = field(
        default=(),
        metadata=describe(
            "storage warnings in force now (the same as the last `storage_warning` events with `active` true)"
        ),
    )
    archive: ArchiveStatus | None = field(
        default=None,
        metadata=describe("the off-site archive; `null` when none is configured (and from engines before version 4)"),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Range(Model):
    """A stretch of continuous footage."""

    start_ms: int = field(metadata=describe("the first instant of footage"))
    end_ms: int = field(metadata=describe("the end of the footage (exclusive)"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Gap(Model):
    """An outage the engine recorded: no footage, and why."""

    start_ms: int = field(metadata=describe("where the footage stops"))
    end_ms: int = field(metadata=describe("where it resumes"))
    reason: str = field(
        default="",
        metadata=describe(
            "why, e.g. the camera's error (redacted), `engine was not running`, `recording was turned off`, "
            "`cannot write footage: No space left on device`"
        ),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Hour(Model):
    """One local hour of a day."""

    start_ms: int = field(metadata=describe("the hour's first instant (UTC ms)"))
    end_ms: int = field(metadata=describe("the next hour's first instant (UTC ms)"))
    label: str = field(metadata=describe("local time at the start, `HH:MM`"))
    utc_offset: str = field(metadata=describe("the local offset during the hour, `+HH:MM` or `-HH:MM`"))
    recorded_ms: int = field(
        default=0,
        metadata=describe(
            "milliseconds of footage within the hour (the segment being written included, as in `recorded`)"
        ),
    )
    events: int = field(default=0, metadata=describe("events starting within the hour"))


@dataclass(frozen=True, slots=True, kw_only=True)
class DaySummary(Model):
    """What was recorded on one calendar day of a camera, in a given IANA time zone."""

    camera_id: str = field(metadata=describe("the camera"))
    date: str = field(metadata=describe("the local date, `YYYY-MM-DD`"))
    time_zone: str = field(metadata=describe("the IANA time zone the day is taken in"))
    start_ms: int = field(metadata=describe("the day's first instant (UTC ms)"))
    end_ms: int = field(metadata=describe("the next day's first instant (UTC ms)"))
    recorded: tuple[Range, ...] = field(
        default=(),
        metadata=describe(
            "footage, merged into continuous ranges, clipped to the day, oldest first: the indexed segments and, "
            "while the camera records, the segment being written up to its newest complete fragment (so the end "
            "of today is no hole)"
        ),
    )
    recorded_ms: int = field(default=0, metadata=describe("total milliseconds of footage in the day"))
    live: bool = field(
        default=False,
        metadata=describe(
            "the camera is recording now and the last range of `recorded` is the footage being written: it grows "
            "(its end is at most a keyframe interval behind now)"
        ),
    )
    gaps: tuple[Gap, ...] = field(
        default=(),
        metadata=describe(
            "the outages the engine recorded (the camera's error, the engine not running, recording turned off, "
            "footage that could not be written), clipped to the day and to the time after the camera's first "
            "footage, oldest first; never the time before the first footage, nor the segment being written"
        ),
    )
    events: tuple[Event, ...] = field(
        default=(), metadata=describe("events overlapping the day, oldest first (at most 1000)")
    )
    events_truncated: bool = field(default=False, metadata=describe("more than 1000 events overlapped the day"))
    hours: tuple[Hour, ...] = field(
        default=(), metadata=describe("the day's local hours, in order (23, 24 or 25 of them)")
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Error(Model):
    """What went wrong."""

    code: str = field(metadata=describe("a stable code from *Error codes*"))
    message: str = field(
        default="", metadata=describe("a human-readable explanation (never a stack trace, path or credential)")
    )


# The objects docs/api/websocket.md documents, in its order (the OpenAPI document's schemas too).
OBJECTS: Final[dict[str, type[Model]]] = {
    model.__name__: model
    for model in (
        Camera,
        ObjectDetection,
        Device,
        DiscoveredDevice,
        Preset,
        Event,
        EventObject,
        TrackedObject,
        Storage,
        StorageWarning,
        ArchiveStatus,
        RestoreStatus,
        DaySummary,
        Range,
        Gap,
        Hour,
        Error,
    )
}
