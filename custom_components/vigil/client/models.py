"""Typed objects of the Vigil engine API (schema version 1, docs/api/websocket.md).

Parsing follows the protocol's rules: unknown fields are ignored, so an engine that adds
fields keeps working; a missing or mistyped *required* field raises
:class:`~.errors.InvalidMessage`. Times stay in the protocol's unit (UTC milliseconds);
``datetime`` helpers are provided where a consumer needs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Self

from .errors import InvalidMessage


class RecordMode(StrEnum):
    """How a camera records."""

    CONTINUOUS = "continuous"
    EVENTS = "events"
    OFF = "off"


class EventKind(StrEnum):
    """What started an event."""

    MOTION = "motion"
    MANUAL = "manual"
    CAMERA = "camera"


def ms_to_datetime(value: int | None) -> datetime | None:
    """UTC milliseconds to an aware datetime (``None`` stays ``None``)."""
    return None if value is None else datetime.fromtimestamp(value / 1000, UTC)


def datetime_to_ms(value: datetime) -> int:
    """An aware datetime to UTC milliseconds."""
    return round(value.timestamp() * 1000)


# --- field readers: each names the field it rejects --------------------------------------


def _get(data: Mapping[str, Any], key: str) -> Any:
    try:
        return data[key]
    except KeyError:
        raise InvalidMessage(f"missing field {key!r}") from None


def _str(data: Mapping[str, Any], key: str) -> str:
    value = _get(data, key)
    if not isinstance(value, str):
        raise InvalidMessage(f"field {key!r} must be a string")
    return value


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidMessage(f"field {key!r} must be a string or null")
    return value


def _bool(data: Mapping[str, Any], key: str, default: bool | None = None) -> bool:
    value = data.get(key, default) if default is not None else _get(data, key)
    if not isinstance(value, bool):
        raise InvalidMessage(f"field {key!r} must be a boolean")
    return value


def _int(data: Mapping[str, Any], key: str, default: int | None = None) -> int:
    value = data.get(key, default) if default is not None else _get(data, key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidMessage(f"field {key!r} must be an integer")
    return value


def _opt_int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidMessage(f"field {key!r} must be an integer or null")
    return value


def _float(data: Mapping[str, Any], key: str, default: float | None = None) -> float:
    value = data.get(key, default) if default is not None else _get(data, key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidMessage(f"field {key!r} must be a number")
    return float(value)


def _opt_float(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidMessage(f"field {key!r} must be a number or null")
    return float(value)


def _str_list(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidMessage(f"field {key!r} must be a list of strings")
    return tuple(value)


def _object(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = _get(data, key)
    if not isinstance(value, Mapping):
        raise InvalidMessage(f"field {key!r} must be an object")
    return value


def _objects(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise InvalidMessage(f"field {key!r} must be a list of objects")
    return value


def _record_mode(data: Mapping[str, Any], key: str) -> RecordMode:
    value = _str(data, key)
    try:
        return RecordMode(value)
    except ValueError:
        raise InvalidMessage(f"field {key!r} has an unknown record mode {value!r}") from None


# --- objects -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceInfo:
    """What an ONVIF camera reports about itself."""

    manufacturer: str | None = None
    model: str | None = None
    firmware_version: str | None = None
    serial_number: str | None = None
    hardware_id: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            manufacturer=_opt_str(data, "manufacturer"),
            model=_opt_str(data, "model"),
            firmware_version=_opt_str(data, "firmware_version"),
            serial_number=_opt_str(data, "serial_number"),
            hardware_id=_opt_str(data, "hardware_id"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Preset:
    """A PTZ preset of a camera."""

    token: str
    name: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(token=_str(data, "token"), name=_opt_str(data, "name"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Camera:
    """A camera's configuration summary and live status (never a credential or URL)."""

    camera_id: str
    name: str
    enabled: bool = True
    online: bool = False
    since_ms: int | None = None
    last_error: str | None = None
    recording: bool = False
    record_mode: RecordMode = RecordMode.CONTINUOUS
    motion_enabled: bool = False
    motion_active: bool = False
    zones: tuple[str, ...] = ()
    zones_active: tuple[str, ...] = ()
    has_substream: bool = False
    fps: float = 0.0
    bitrate: int = 0
    video_codec: str | None = None
    width: int | None = None
    height: int | None = None
    audio_codec: str | None = None
    last_segment_end_ms: int | None = None
    segments_written: int = 0
    reconnects: int = 0
    retention_days: float = 0.0
    event_retention_days: float = 0.0
    pre_capture: float = 0.0
    post_capture: float = 0.0
    # ONVIF cameras: what the camera is, and whether it can pan, tilt or zoom.
    onvif: bool = False
    device: DeviceInfo | None = None
    ptz: bool = False
    # "config" (the engine's configuration file) or "api" (added at run time; removable).
    origin: str = "config"

    @property
    def removable(self) -> bool:
        """Added at run time (``add_camera``): ``remove_camera`` can remove it."""
        return self.origin == "api"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        device = data.get("device")
        return cls(
            camera_id=_str(data, "camera_id"),
            name=_str(data, "name"),
            enabled=_bool(data, "enabled", True),
            online=_bool(data, "online", False),
            since_ms=_opt_int(data, "since_ms"),
            last_error=_opt_str(data, "last_error"),
            recording=_bool(data, "recording", False),
            record_mode=_record_mode(data, "record_mode"),
            motion_enabled=_bool(data, "motion_enabled", False),
            motion_active=_bool(data, "motion_active", False),
            zones=_str_list(data, "zones"),
            zones_active=_str_list(data, "zones_active"),
            has_substream=_bool(data, "has_substream", False),
            fps=_float(data, "fps", 0.0),
            bitrate=_int(data, "bitrate", 0),
            video_codec=_opt_str(data, "video_codec"),
            width=_opt_int(data, "width"),
            height=_opt_int(data, "height"),
            audio_codec=_opt_str(data, "audio_codec"),
            last_segment_end_ms=_opt_int(data, "last_segment_end_ms"),
            segments_written=_int(data, "segments_written", 0),
            reconnects=_int(data, "reconnects", 0),
            retention_days=_float(data, "retention_days", 0.0),
            event_retention_days=_float(data, "event_retention_days", 0.0),
            pre_capture=_float(data, "pre_capture", 0.0),
            post_capture=_float(data, "post_capture", 0.0),
            onvif=_bool(data, "onvif", False),
            device=DeviceInfo.from_dict(_object(data, "device")) if device is not None else None,
            ptz=_bool(data, "ptz", False),
            origin=_opt_str(data, "origin") or "config",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DiscoveredDevice:
    """An ONVIF device that answered a WS-Discovery probe (``discover``)."""

    endpoint: str
    host: str
    port: int
    address: str = ""
    name: str | None = None
    hardware: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            endpoint=_str(data, "endpoint"),
            host=_str(data, "host"),
            port=_int(data, "port"),
            address=_opt_str(data, "address") or "",
            name=_opt_str(data, "name"),
            hardware=_opt_str(data, "hardware"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """A motion, manual or camera event and the footage it protects."""

    id: str
    camera_id: str
    kind: str
    start_ms: int
    end_ms: int | None = None
    pre_ms: int = 0
    post_ms: int = 0
    zones: tuple[str, ...] = ()
    peak_score: float = 0.0
    has_snapshot: bool = False
    label: str | None = None

    @property
    def running(self) -> bool:
        return self.end_ms is None

    @property
    def start(self) -> datetime:
        start = ms_to_datetime(self.start_ms)
        assert start is not None
        return start

    @property
    def end(self) -> datetime | None:
        return ms_to_datetime(self.end_ms)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            id=_str(data, "id"),
            camera_id=_str(data, "camera_id"),
            kind=_str(data, "kind"),
            start_ms=_int(data, "start_ms"),
            end_ms=_opt_int(data, "end_ms"),
            pre_ms=_int(data, "pre_ms", 0),
            post_ms=_int(data, "post_ms", 0),
            zones=_str_list(data, "zones"),
            peak_score=_float(data, "peak_score", 0.0),
            has_snapshot=_bool(data, "has_snapshot", False),
            label=_opt_str(data, "label"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Storage:
    """The storage volume and the retention status."""

    bytes_used: int = 0
    bytes_free: int = 0
    bytes_total: int = 0
    disk_cap_bytes: int | None = None
    oldest_footage_ms: int | None = None
    segments_deleted: int = 0
    last_cleanup_ms: int | None = None
    # The warnings in force when this was read (raised before we connected, too).
    warnings: tuple[StorageWarning, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            warnings=tuple(
                StorageWarning(code=str(item.get("code") or ""), message=str(item.get("message") or ""))
                for item in _objects(data, "warnings")
            ),
            bytes_used=_int(data, "bytes_used", 0),
            bytes_free=_int(data, "bytes_free", 0),
            bytes_total=_int(data, "bytes_total", 0),
            disk_cap_bytes=_opt_int(data, "disk_cap_bytes"),
            oldest_footage_ms=_opt_int(data, "oldest_footage_ms"),
            segments_deleted=_int(data, "segments_deleted", 0),
            last_cleanup_ms=_opt_int(data, "last_cleanup_ms"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerInfo:
    """The engine's ``server_info`` message (and ``get_server_info`` result)."""

    server_version: str
    schema_version: int
    min_schema_version: int
    instance_id: str
    time_zone: str = "UTC"
    cameras: tuple[Camera, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        schema_version = _int(data, "schema_version")
        return cls(
            server_version=_str(data, "server_version"),
            schema_version=schema_version,
            min_schema_version=_int(data, "min_schema_version", schema_version),
            instance_id=_str(data, "instance_id"),
            time_zone=_opt_str(data, "time_zone") or "UTC",
            cameras=tuple(Camera.from_dict(item) for item in _objects(data, "cameras")),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscription:
    """The result of ``subscribe``: the filters in force and the state when it started."""

    events: tuple[str, ...]
    camera_ids: tuple[str, ...] | None
    cameras: tuple[Camera, ...]
    storage: Storage

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        camera_ids = data.get("camera_ids")
        return cls(
            events=_str_list(data, "events"),
            camera_ids=None if camera_ids is None else _str_list(data, "camera_ids"),
            cameras=tuple(Camera.from_dict(item) for item in _objects(data, "cameras")),
            storage=Storage.from_dict(_object(data, "storage")),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class EventPage:
    """One page of ``list_events``, newest first."""

    events: tuple[Event, ...]
    next_cursor: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            events=tuple(Event.from_dict(item) for item in _objects(data, "events")),
            next_cursor=_opt_str(data, "next_cursor"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedPath:
    """A path that carries its own short-lived signature (``sign_path``)."""

    path: str
    expires_ms: int

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(path=_str(data, "path"), expires_ms=_int(data, "expires_ms"))


# --- events pushed after ``subscribe`` -----------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraOnline:
    camera_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraOffline:
    camera_id: str
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingChanged:
    camera_id: str
    recording: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SegmentWritten:
    camera_id: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MotionChanged:
    camera_id: str
    zone: str | None
    active: bool
    score: float = 0.0
    at_ms: int = 0
    # Not part of the documented schema: the engine's time.monotonic() of the run's first
    # moving frame and of the confirming frame, when it sends them (for latency metrics).
    first_seen_mono: float | None = None
    detected_mono: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EventChanged:
    """``event_started``, ``event_updated`` or ``event_ended``."""

    name: str
    event: Event

    @property
    def camera_id(self) -> str:
        return self.event.camera_id


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraSettingsChanged:
    camera_id: str
    record_mode: RecordMode
    motion_enabled: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class StorageWarning:
    code: str
    message: str = ""
    # Not in schema 1's table: the engine sends active=False when the condition clears.
    active: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class CamerasChanged:
    """A camera was added or removed at run time; ``cameras`` is the whole list now."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    cameras: tuple[Camera, ...] = ()


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
    | EventChanged
    | CameraSettingsChanged
    | StorageWarning
    | CamerasChanged
    | UnknownEvent
)

EVENT_NAMES = (
    "camera_online",
    "camera_offline",
    "recording",
    "segment",
    "motion",
    "event_started",
    "event_updated",
    "event_ended",
    "camera_settings",
    "storage_warning",
    "cameras_changed",
)


def parse_event(name: str, data: Mapping[str, Any]) -> EngineEvent:
    """Turn an ``event`` message's name and data into its typed object."""
    match name:
        case "camera_online":
            return CameraOnline(camera_id=_str(data, "camera_id"))
        case "camera_offline":
            return CameraOffline(camera_id=_str(data, "camera_id"), error=_opt_str(data, "error"))
        case "recording":
            return RecordingChanged(camera_id=_str(data, "camera_id"), recording=_bool(data, "recording"))
        case "segment":
            return SegmentWritten(
                camera_id=_str(data, "camera_id"), start_ms=_int(data, "start_ms"), end_ms=_int(data, "end_ms")
            )
        case "motion":
            return MotionChanged(
                camera_id=_str(data, "camera_id"),
                zone=_opt_str(data, "zone"),
                active=_bool(data, "active"),
                score=_float(data, "score", 0.0),
                at_ms=_int(data, "at_ms", 0),
                first_seen_mono=_opt_float(data, "first_seen_mono"),
                detected_mono=_opt_float(data, "detected_mono"),
            )
        case "event_started" | "event_updated" | "event_ended":
            return EventChanged(name=name, event=Event.from_dict(_object(data, "event")))
        case "camera_settings":
            return CameraSettingsChanged(
                camera_id=_str(data, "camera_id"),
                record_mode=_record_mode(data, "record_mode"),
                motion_enabled=_bool(data, "motion_enabled"),
            )
        case "storage_warning":
            return StorageWarning(
                code=_str(data, "code"), message=_opt_str(data, "message") or "", active=_bool(data, "active", True)
            )
        case "cameras_changed":
            return CamerasChanged(
                added=_str_list(data, "added"),
                removed=_str_list(data, "removed"),
                cameras=tuple(Camera.from_dict(item) for item in _objects(data, "cameras")),
            )
    return UnknownEvent(name=name, data=data)
