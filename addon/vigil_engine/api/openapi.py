"""The OpenAPI 3.1 description of the HTTP endpoints, built from the same tables the server uses.

Its component schemas are the protocol's models (``vigil_engine.protocol``, as ``json_schema`` makes them):
the objects and the answers of the JSON endpoints. ``python -m vigil_engine.api.openapi`` prints
it; ``docs/api/openapi.json`` is that output (``scripts/sync-protocol`` writes it; the test suite
checks it is current, that it lists exactly the server's routes, and fuzzes the server from it
with schemathesis).
"""

from __future__ import annotations

import json
from typing import Any

from vigil_engine import __version__
from vigil_engine.detection.labels import COCO_LABELS, GROUPS
from vigil_engine.protocol import (
    ERROR_CODES,
    OBJECTS,
    CameraList,
    CameraResult,
    DaySummaryResult,
    ErrorBody,
    EventPage,
    EventResult,
    Model,
    ServerInfo,
    StorageResult,
)

from . import hls, live, still
from .admission import MAX_UNTRUSTED_PER_ADDRESS
from .fdbudget import MAX_CONNECTIONS
from .guarded_handler import HEAD_TIMEOUT_S, KEEPALIVE_TIMEOUT_S
from .json_schema import COMPONENTS, json_schemas
from .params import EVENT_KINDS, MAX_TIME_MS, MAX_WIDTH, MIN_WIDTH, TIME_ZONE
from .queries import MAX_PAGE

# The answers of the JSON endpoints, besides the objects they hold.
ANSWERS: tuple[type[Model], ...] = (
    ServerInfo,
    CameraList,
    CameraResult,
    EventPage,
    EventResult,
    StorageResult,
    DaySummaryResult,
    ErrorBody,
)


def component_schemas() -> dict[str, Any]:
    """The protocol's objects and the JSON answers, as component schemas (error codes listed)."""
    schemas = json_schemas([*OBJECTS.values(), *ANSWERS])
    error = schemas["Error"]
    code = {**error["properties"]["code"], "enum": sorted(ERROR_CODES)}
    schemas["Error"] = {**error, "properties": {**error["properties"], "code": code}}
    return schemas


def _ref(model: type[Model]) -> dict[str, str]:
    return {"$ref": f"{COMPONENTS}/{model.__name__}"}


# What events can be filtered by: the detector's labels and the groups (person is both).
_LABELS = (*COCO_LABELS, *(group for group in GROUPS if group not in COCO_LABELS))
_CAMERA_ID = {
    "name": "camera_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_]{0,63}$"},
    "description": "The camera's id (a slug).",
}
_EVENT_ID = {
    "name": "event_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
    "description": "The event's id: 32 hexadecimal characters.",
}
_SEGMENT = {
    "name": "segment",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[0-9]{1,15}-[0-9]{1,15}$"},
    "description": "A recording as listed in a playlist: `<start_ms>-<id>`.",
}


_WIDTH = {
    "name": "width",
    "in": "query",
    "required": False,
    "schema": {"type": "integer", "minimum": MIN_WIDTH, "maximum": MAX_WIDTH},
    "description": "Scale the picture to this width (the height keeps the aspect ratio; never enlarged).",
}
_LIVE_SEGMENT = {
    "name": "start_ms",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[0-9]{1,15}$"},
    "description": "A segment being written or just written, by its start (UTC ms), as the live playlist lists it.",
}
_LIVE_PART = {
    "name": "part",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
    "description": "A part's media sequence number, as the live playlist lists it.",
}
_LIVE_DESCRIPTION = (
    "A live HLS playlist (fMP4) of the footage being written, for every camera (RTSP, the demo scene, "
    f"replayed files): a sliding window of at least {live.WINDOW_PARTS} parts and three target durations, a "
    "part being one GOP (from a keyframe to the next; keyframes less than half a second apart share a part), "
    "listed as soon as it is complete in the file. `EXT-X-MEDIA-SEQUENCE` numbers only grow (across segments, "
    "reconnections and restarts), every part has `EXT-X-PROGRAM-DATE-TIME`, decode times are the footage's UTC "
    "time since the epoch (they never go back), and a new session or lost footage is an `EXT-X-DISCONTINUITY` "
    "counted by `EXT-X-DISCONTINUITY-SEQUENCE` (a new `EXT-X-MAP` where the codec parameters change). Fetched "
    "with a signed path (`sign_path`), it lists signed parts with the same expiry, so one signed URL plays for "
    "as long as its signature lasts. `no_footage` (404) when the camera has recorded nothing for "
    f"{live.STALE_MS // 1000} s (offline, or its record mode is `off`: live view comes from the footage being "
    "written)."
)


def _time(name: str, description: str, required: bool = True) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_TIME_MS},
        "description": description,
    }


_START = _time("start_ms", "Start of the range: UTC milliseconds since the Unix epoch.")
_END = _time("end_ms", "End of the range (exclusive): UTC milliseconds since the Unix epoch.")


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref(ErrorBody)}},
    }


_COMMON_ERRORS = {
    "400": _error("A parameter is missing, malformed or out of range (`invalid_argument`, `range_too_long`)."),
    "401": _error("No token, a wrong token, a token in the wrong place, or a bad signature (`unauthorized`)."),
    "403": _error("A signed path that has expired (`forbidden`)."),
}


def _json(description: str, schema: dict[str, Any], *not_found: str) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {"description": description, "content": {"application/json": {"schema": schema}}},
        **_COMMON_ERRORS,
    }
    if not_found:
        responses["404"] = _error(f"Not found ({', '.join(f'`{code}`' for code in not_found)}).")
    return responses


_CLIP_HEADERS = {
    "X-Vigil-Start-Ms": {
        "description": "UTC ms of the clip's first frame (the keyframe at or before the start asked for).",
        "schema": {"type": "integer"},
    },
    "X-Vigil-End-Ms": {"description": "UTC ms of the end of the clip's last frame.", "schema": {"type": "integer"}},
}


def _binary(
    description: str, content_type: str, *not_found: str, ranges: bool = False, clip: bool = False
) -> dict[str, Any]:
    body = {content_type: {"schema": {"type": "string", "format": "binary"}}}
    ok: dict[str, Any] = {"description": description, "content": body}
    if clip:
        ok["headers"] = _CLIP_HEADERS
    responses: dict[str, Any] = {"200": ok, **_COMMON_ERRORS}
    if ranges:
        responses["206"] = {"description": "The bytes asked for by the `Range` header.", "content": body}
        if clip:
            responses["206"]["headers"] = _CLIP_HEADERS
        responses["416"] = _error("The `Range` header asks for bytes beyond the end (`range_not_satisfiable`).")
    responses["404"] = _error(f"Not found ({', '.join(f'`{code}`' for code in not_found)}).")
    return responses


def _get(summary: str, parameters: list[dict[str, Any]], responses: dict[str, Any], tag: str) -> dict[str, Any]:
    operation_id = summary.lower().replace("'", "").replace(" ", "_").replace("-", "_")
    return {
        "get": {
            "summary": summary,
            "operationId": operation_id,
            "tags": [tag],
            "parameters": parameters,
            "responses": responses,
        }
    }


_HEALTH = {
    "get": {
        "summary": "Health",
        "operationId": "health",
        "tags": ["engine"],
        "description": "The engine is up and its API serves (the add-on's Docker `HEALTHCHECK`). The one endpoint "
        "without the token; it says nothing else.",
        "security": [],
        "parameters": [],
        "responses": {
            "200": {
                "description": 'Always `{"status": "ok"}`.',
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"status": {"type": "string", "enum": ["ok"]}},
                            "required": ["status"],
                        }
                    }
                },
            }
        },
    }
}

_CONNECTIONS = (
    f"Connections: a request head must be complete {HEAD_TIMEOUT_S:g} s after the connection opens (or after "
    "the first byte of a later request); only a connection whose request carried the token (or a valid signature) "
    f"is kept alive, for {KEEPALIVE_TIMEOUT_S:g} s idle: any other answer closes its connection. The engine holds "
    f"at most {MAX_CONNECTIONS} connections (fewer when its open-file limit is low: recording keeps a reserve), at "
    f"most half of them without the token and {MAX_UNTRUSTED_PER_ADDRESS} of those per address; beyond that a new "
    "connection is reset at once, or an old unauthenticated one of the address that holds the most is closed to "
    "make room for it. A malformed request is answered 400 (`invalid_argument`) and its connection closed."
)


def build_spec() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/api/health": _HEALTH,
        "/api/info": _get(
            "Server info",
            [],
            _json("The same as the WebSocket's `server_info` message (without `type`).", _ref(ServerInfo)),
            "engine",
        ),
        "/api/cameras": _get("List cameras", [], _json("Every camera.", _ref(CameraList)), "cameras"),
        "/api/cameras/{camera_id}": _get(
            "Get camera",
            [_CAMERA_ID],
            _json("The camera.", _ref(CameraResult), "camera_not_found"),
            "cameras",
        ),
        "/api/cameras/{camera_id}/snapshot.jpg": _get(
            "Latest snapshot",
            [_CAMERA_ID, _WIDTH],
            _binary("The camera's most recent frame as JPEG.", "image/jpeg", "camera_not_found", "no_snapshot"),
            "media",
        ),
        "/api/cameras/{camera_id}/still.jpg": _get(
            "Still at an instant",
            [_CAMERA_ID, _time("at_ms", "The instant: UTC milliseconds since the Unix epoch."), _WIDTH],
            _binary(
                "The recorded frame shown at `at_ms` (the last frame that starts at or before it), as JPEG, from "
                "an indexed segment or from the one being written (its complete fragments). Decoded from the "
                f"keyframe before it, {still.STILL_WORKERS} at a time at most (more wait their turn): a burst of "
                "stills never takes the cores from recording. Cacheable (`ETag`). `no_footage` (404) where nothing "
                "was recorded at that instant (the message says why when the engine recorded an outage).",
                "image/jpeg",
                "camera_not_found",
                "no_footage",
            ),
            "media",
        ),
        "/api/cameras/{camera_id}/clip.mp4": _get(
            "Camera clip",
            [_CAMERA_ID, _START, _END],
            _binary(
                "An MP4 (faststart) of the range, at most 2 hours: from the last keyframe at or before `start_ms` "
                "to the last frame before `end_ms`. Supports `Range` requests.",
                "video/mp4",
                "camera_not_found",
                "no_footage",
                ranges=True,
                clip=True,
            ),
            "media",
        ),
        "/api/cameras/{camera_id}/vod.m3u8": _get(
            "HLS playlist",
            [_CAMERA_ID, _START, _END],
            _binary(
                "An HLS VOD playlist (fMP4) of the recordings overlapping the range (at most 24 hours), with "
                "`EXT-X-PROGRAM-DATE-TIME` on each segment and `EXT-X-DISCONTINUITY` at gaps.",
                hls.PLAYLIST_TYPE,
                "camera_not_found",
                "no_footage",
            ),
            "hls",
        ),
        "/api/cameras/{camera_id}/recordings/{segment}/init.mp4": _get(
            "HLS init section",
            [_CAMERA_ID, _SEGMENT],
            _binary("The recording's `ftyp` + `moov`.", "video/mp4", "camera_not_found", "no_footage"),
            "hls",
        ),
        "/api/cameras/{camera_id}/recordings/{segment}/media.m4s": _get(
            "HLS media segment",
            [
                _CAMERA_ID,
                _SEGMENT,
                _time("base_ms", "The playlist's start (as the playlist gives it): decode times count from it."),
            ],
            _binary(
                "The recording's fragments, decode times counted from `base_ms`.",
                "video/mp4",
                "camera_not_found",
                "no_footage",
                ranges=True,
            ),
            "hls",
        ),
        "/api/cameras/{camera_id}/live.m3u8": _get(
            "Live playlist",
            [_CAMERA_ID],
            _binary(_LIVE_DESCRIPTION, hls.PLAYLIST_TYPE, "camera_not_found", "no_footage"),
            "hls",
        ),
        "/api/cameras/{camera_id}/live/{start_ms}/init.mp4": _get(
            "Live init section",
            [_CAMERA_ID, _LIVE_SEGMENT],
            _binary(
                "The segment's `ftyp` + `moov` (while it is live: it is no longer kept a few parts after the "
                "playlist stops listing it).",
                "video/mp4",
                "camera_not_found",
                "no_footage",
            ),
            "hls",
        ),
        "/api/cameras/{camera_id}/live/{part}.m4s": _get(
            "Live part",
            [_CAMERA_ID, _LIVE_PART],
            _binary(
                "The part's fragments, decode times on the UTC timeline (media data as recorded). Kept for a while "
                "after the playlist stops listing it. Supports `Range` requests.",
                "video/mp4",
                "camera_not_found",
                "no_footage",
                ranges=True,
            ),
            "hls",
        ),
        "/api/cameras/{camera_id}/summary": _get(
            "Day summary",
            [
                _CAMERA_ID,
                {
                    "name": "date",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
                    "description": "The local date, YYYY-MM-DD.",
                },
                {
                    "name": "time_zone",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "pattern": TIME_ZONE.pattern},
                    "description": "An IANA time zone such as `Europe/Berlin` (an unknown one is `invalid_argument`); "
                    "default: the engine's.",
                },
            ],
            _json("What was recorded that day.", _ref(DaySummaryResult), "camera_not_found"),
            "recordings",
        ),
        "/api/events": _get(
            "List events",
            [
                {
                    "name": "camera_id",
                    "in": "query",
                    "required": False,
                    "schema": _CAMERA_ID["schema"],
                    "description": "Only this camera's events.",
                },
                _time("start_ms", "Only events still running at or after this time.", required=False),
                _time("end_ms", "Only events that started before this time.", required=False),
                {
                    "name": "zone",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_]{0,63}$"},
                    "description": "Only events that saw motion in this zone.",
                },
                {
                    "name": "kind",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": list(EVENT_KINDS)},
                },
                {
                    "name": "label",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": list(_LABELS)},
                    "description": "Only events that saw this: a label, or a group (`vehicle`, `animal`: any of "
                    "its labels, and what a camera reported as such).",
                },
                {
                    "name": "min_score",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "number", "minimum": 0, "maximum": 1},
                    "description": "Only events whose best object scored at least this.",
                },
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 50},
                },
                {
                    "name": "cursor",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "pattern": "^[0-9]{1,15}[.][0-9a-f]{32}$"},
                    "description": "`next_cursor` of the previous page.",
                },
            ],
            _json("Events, newest first.", _ref(EventPage), "camera_not_found"),
            "events",
        ),
        "/api/events/{event_id}": _get(
            "Get event", [_EVENT_ID], _json("The event.", _ref(EventResult), "event_not_found"), "events"
        ),
        "/api/events/{event_id}/snapshot.jpg": _get(
            "Event snapshot",
            [_EVENT_ID],
            _binary("The event's snapshot (JPEG).", "image/jpeg", "event_not_found", "no_snapshot"),
            "media",
        ),
        "/api/events/{event_id}/thumbnail.jpg": _get(
            "Event thumbnail",
            [_EVENT_ID],
            _binary("The event's thumbnail (JPEG).", "image/jpeg", "event_not_found", "no_snapshot"),
            "media",
        ),
        "/api/events/{event_id}/clip.mp4": _get(
            "Event clip",
            [_EVENT_ID],
            _binary(
                "An MP4 of the event's footage with its pre- and post-capture (up to now while it runs). "
                "Supports `Range` requests.",
                "video/mp4",
                "event_not_found",
                "no_footage",
                ranges=True,
                clip=True,
            ),
            "media",
        ),
        "/api/storage": _get(
            "Storage status",
            [],
            _json("The storage volume and retention status.", _ref(StorageResult)),
            "engine",
        ),
        "/api/openapi.json": _get(
            "OpenAPI description",
            [],
            _json("This document.", {"type": "object"}),
            "engine",
        ),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Vigil engine API",
            "version": __version__,
            "description": (
                "HTTP endpoints of the Vigil NVR engine. Every endpoint but `/api/health` needs `Authorization: "
                "Bearer <token>` (or a path signed with the WebSocket command `sign_path`). Commands, live state and "
                "events are on the WebSocket `/api/ws`, described in `websocket.md`. Times are UTC milliseconds since "
                f"the epoch. {_CONNECTIONS}"
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"signedPath": []}],
        "paths": paths,
        "components": {
            "schemas": component_schemas(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "The engine's API token."},
                "signedPath": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "sig",
                    "description": "A signature made by the WebSocket command `sign_path` (GET only, short-lived).",
                },
            },
        },
    }


def main() -> None:
    print(json.dumps(build_spec(), indent=2, sort_keys=False))


if __name__ == "__main__":
    main()
