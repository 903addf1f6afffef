"""The WebSocket protocol's shapes: schema version, objects, commands, events, envelopes.

This module is the machine-readable twin of ``docs/api/websocket.md``; the test suite
checks that the two list the same commands, events, fields, types and error codes, and
that what the server really sends has exactly these shapes. Outgoing objects are built by
:func:`project`, which keeps only documented fields: a field the engine adds reaches
clients only once it is documented here.

Types are written as in the document: ``string``, ``integer``, ``number``, ``boolean``,
``object``, an object name (``Camera``), ``X or null`` and ``array of X``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from .errors import ApiError

# Grows with every change of the protocol; MIN_SCHEMA_VERSION only with one that breaks clients.
# 2: live HLS, stills of any instant, DaySummary.live (the segment being written counts as footage).
SCHEMA_VERSION: Final = 2
MIN_SCHEMA_VERSION: Final = 1
MAX_MESSAGE_BYTES: Final = 64 * 1024
MAX_PENDING_COMMANDS: Final = 32
SUBSCRIBER_QUEUE: Final = 1000
AUTH_TIMEOUT_S: Final = 10.0
CLOSE_UNAUTHORIZED: Final = 4001
CLOSE_TOO_SLOW: Final = 4002
CLOSE_PROTOCOL: Final = 4003

Fields = tuple[tuple[str, str], ...]

OBJECTS: Final[dict[str, Fields]] = {
    "Camera": (
        ("camera_id", "string"),
        ("name", "string"),
        ("enabled", "boolean"),
        ("online", "boolean"),
        ("since_ms", "integer or null"),
        ("last_error", "string or null"),
        ("recording", "boolean"),
        ("record_mode", "string"),
        ("motion_enabled", "boolean"),
        ("motion_active", "boolean"),
        ("zones", "array of string"),
        ("zones_active", "array of string"),
        ("has_substream", "boolean"),
        ("fps", "number"),
        ("bitrate", "integer"),
        ("video_codec", "string or null"),
        ("width", "integer or null"),
        ("height", "integer or null"),
        ("audio_codec", "string or null"),
        ("last_segment_end_ms", "integer or null"),
        ("segments_written", "integer"),
        ("reconnects", "integer"),
        ("retention_days", "number"),
        ("event_retention_days", "number"),
        ("pre_capture", "number"),
        ("post_capture", "number"),
        ("motion_source", "string"),
        ("onvif", "boolean"),
        ("device", "Device or null"),
        ("ptz", "boolean"),
        ("origin", "string"),
    ),
    "Device": (
        ("manufacturer", "string or null"),
        ("model", "string or null"),
        ("firmware_version", "string or null"),
        ("serial_number", "string or null"),
        ("hardware_id", "string or null"),
    ),
    "DiscoveredDevice": (
        ("endpoint", "string"),
        ("address", "string"),
        ("host", "string"),
        ("port", "integer"),
        ("name", "string or null"),
        ("hardware", "string or null"),
        ("scopes", "array of string"),
    ),
    "Preset": (("token", "string"), ("name", "string or null")),
    "Event": (
        ("id", "string"),
        ("camera_id", "string"),
        ("kind", "string"),
        ("start_ms", "integer"),
        ("end_ms", "integer or null"),
        ("pre_ms", "integer"),
        ("post_ms", "integer"),
        ("zones", "array of string"),
        ("peak_score", "number"),
        ("has_snapshot", "boolean"),
        ("label", "string or null"),
    ),
    "Storage": (
        ("bytes_used", "integer"),
        ("bytes_free", "integer"),
        ("bytes_total", "integer"),
        ("disk_cap_bytes", "integer or null"),
        ("oldest_footage_ms", "integer or null"),
        ("segments_deleted", "integer"),
        ("last_cleanup_ms", "integer or null"),
        ("warnings", "array of StorageWarning"),
    ),
    "StorageWarning": (("code", "string"), ("message", "string")),
    "DaySummary": (
        ("camera_id", "string"),
        ("date", "string"),
        ("time_zone", "string"),
        ("start_ms", "integer"),
        ("end_ms", "integer"),
        ("recorded", "array of Range"),
        ("recorded_ms", "integer"),
        ("live", "boolean"),
        ("gaps", "array of Gap"),
        ("events", "array of Event"),
        ("events_truncated", "boolean"),
        ("hours", "array of Hour"),
    ),
    "Range": (("start_ms", "integer"), ("end_ms", "integer")),
    "Gap": (("start_ms", "integer"), ("end_ms", "integer"), ("reason", "string")),
    "Hour": (
        ("start_ms", "integer"),
        ("end_ms", "integer"),
        ("label", "string"),
        ("utc_offset", "string"),
        ("recorded_ms", "integer"),
        ("events", "integer"),
    ),
    "Error": (("code", "string"), ("message", "string")),
}

SERVER_INFO: Final[Fields] = (
    ("server_version", "string"),
    ("schema_version", "integer"),
    ("min_schema_version", "integer"),
    ("instance_id", "string"),
    ("time_zone", "string"),
    ("cameras", "array of Camera"),
)

ENVELOPES: Final[dict[str, Fields]] = {
    "server_info": (("type", "string"), *SERVER_INFO),
    "command": (("message_id", "string"), ("command", "string"), ("args", "object")),
    "result": (("type", "string"), ("message_id", "string"), ("result", "object")),
    "error": (("type", "string"), ("message_id", "string or null"), ("error", "Error")),
    "event": (("type", "string"), ("event", "string"), ("data", "object")),
}


@dataclass(frozen=True, slots=True)
class Arg:
    name: str
    type: str
    required: bool = True


@dataclass(frozen=True, slots=True)
class Command:
    args: tuple[Arg, ...]
    result: Fields


_CAMERA = Arg("camera_id", "string")

COMMANDS: Final[dict[str, Command]] = {
    "get_server_info": Command((), SERVER_INFO),
    "list_cameras": Command((), (("cameras", "array of Camera"),)),
    "get_camera": Command((_CAMERA,), (("camera", "Camera"),)),
    "get_stream_url": Command(
        (_CAMERA, Arg("substream", "boolean", required=False)), (("camera_id", "string"), ("url", "string"))
    ),
    "get_record_mode": Command((_CAMERA,), (("camera_id", "string"), ("record_mode", "string"))),
    "set_record_mode": Command(
        (_CAMERA, Arg("record_mode", "string")), (("camera_id", "string"), ("record_mode", "string"))
    ),
    "get_motion_detection": Command((_CAMERA,), (("camera_id", "string"), ("enabled", "boolean"))),
    "set_motion_detection": Command(
        (_CAMERA, Arg("enabled", "boolean")), (("camera_id", "string"), ("enabled", "boolean"))
    ),
    "start_manual_event": Command((_CAMERA, Arg("label", "string", required=False)), (("event", "Event"),)),
    "end_manual_event": Command((_CAMERA,), (("event", "Event"),)),
    "list_events": Command(
        (
            Arg("camera_id", "string", required=False),
            Arg("start_ms", "integer", required=False),
            Arg("end_ms", "integer", required=False),
            Arg("zone", "string", required=False),
            Arg("kind", "string", required=False),
            Arg("limit", "integer", required=False),
            Arg("cursor", "string", required=False),
        ),
        (("events", "array of Event"), ("next_cursor", "string or null")),
    ),
    "get_event": Command((Arg("event_id", "string"),), (("event", "Event"),)),
    "get_storage": Command((), (("storage", "Storage"),)),
    "get_day_summary": Command(
        (_CAMERA, Arg("date", "string"), Arg("time_zone", "string", required=False)), (("summary", "DaySummary"),)
    ),
    "sign_path": Command(
        (Arg("path", "string"), Arg("expires_in", "integer", required=False)),
        (("path", "string"), ("expires_ms", "integer")),
    ),
    "subscribe": Command(
        (Arg("events", "array of string", required=False), Arg("camera_ids", "array of string", required=False)),
        (
            ("events", "array of string"),
            ("camera_ids", "array of string or null"),
            ("cameras", "array of Camera"),
            ("storage", "Storage"),
        ),
    ),
    "unsubscribe": Command((), (("subscribed", "boolean"),)),
    "discover": Command(
        (Arg("seconds", "number", required=False), Arg("address", "string", required=False)),
        (("devices", "array of DiscoveredDevice"),),
    ),
    "ptz_move": Command(
        (
            _CAMERA,
            Arg("pan", "number", required=False),
            Arg("tilt", "number", required=False),
            Arg("zoom", "number", required=False),
            Arg("seconds", "number", required=False),
        ),
        (("camera_id", "string"),),
    ),
    "ptz_stop": Command((_CAMERA,), (("camera_id", "string"),)),
    "ptz_zoom": Command((_CAMERA, Arg("zoom", "number")), (("camera_id", "string"),)),
    "ptz_goto_preset": Command((_CAMERA, Arg("preset", "string")), (("camera_id", "string"), ("preset", "string"))),
    "ptz_presets": Command((_CAMERA,), (("camera_id", "string"), ("presets", "array of Preset"))),
    "add_camera": Command((Arg("camera", "object"),), (("camera", "Camera"),)),
    "remove_camera": Command((_CAMERA,), (("camera_id", "string"),)),
}

EVENTS: Final[dict[str, Fields]] = {
    "camera_online": (("camera_id", "string"),),
    "camera_offline": (("camera_id", "string"), ("error", "string or null")),
    "recording": (("camera_id", "string"), ("recording", "boolean")),
    "segment": (("camera_id", "string"), ("start_ms", "integer"), ("end_ms", "integer")),
    "motion": (
        ("camera_id", "string"),
        ("zone", "string or null"),
        ("active", "boolean"),
        ("score", "number"),
        ("at_ms", "integer"),
    ),
    "event_started": (("camera_id", "string"), ("event", "Event")),
    "event_updated": (("camera_id", "string"), ("event", "Event")),
    "event_ended": (("camera_id", "string"), ("event", "Event")),
    "camera_settings": (("camera_id", "string"), ("record_mode", "string"), ("motion_enabled", "boolean")),
    "storage_warning": (("code", "string"), ("message", "string"), ("active", "boolean")),
    "camera_event": (
        ("camera_id", "string"),
        ("detection", "string"),
        ("topic", "string"),
        ("active", "boolean"),
        ("at_ms", "integer"),
    ),
    "cameras_changed": (("added", "array of string"), ("removed", "array of string"), ("cameras", "array of Camera")),
}


def project(value: Any, type_: str) -> Any:
    """``value`` reduced to the documented shape of ``type_`` (unknown fields dropped)."""
    if value is None:
        return None
    if type_.endswith(" or null"):
        return project(value, type_.removesuffix(" or null"))
    if type_.startswith("array of "):
        inner = type_.removeprefix("array of ")
        return [project(item, inner) for item in value]
    fields = OBJECTS.get(type_)
    if fields is None:
        return value
    return project_fields(value, fields)


def project_fields(value: dict[str, Any], fields: Fields) -> dict[str, Any]:
    return {name: project(value.get(name), type_) for name, type_ in fields}


def event_message(kind: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """The WebSocket event for a bus message, or None for a kind clients do not get."""
    fields = EVENTS.get(kind)
    if fields is None:
        return None
    return {"type": "event", "event": kind, "data": project_fields(data, fields)}


def result_message(message_id: str, result: dict[str, Any]) -> dict[str, Any]:
    return {"type": "result", "message_id": message_id, "result": result}


def error_message(message_id: str | None, error: ApiError) -> dict[str, Any]:
    return {"type": "error", "message_id": message_id, "error": error.as_dict()}
