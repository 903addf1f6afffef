"""The error codes of the WebSocket and the HTTP API: each with its HTTP status and what it means.

A client must accept codes it does not know (a newer engine may add some): ``Error.code`` is a
string, not an enum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class ErrorCode:
    status: int  # the HTTP status that carries it
    meaning: str  # for docs/api/websocket.md


ERROR_CODES: Final[dict[str, ErrorCode]] = {
    "unauthorized": ErrorCode(401, "no token, a wrong token, a token in the wrong place, or a bad signature"),
    "forbidden": ErrorCode(403, "a signed path that has expired, or was used for another method than `GET`"),
    "invalid_message": ErrorCode(
        400, "(WebSocket) the message is not a JSON object with a string `message_id` and `command`"
    ),
    "unknown_command": ErrorCode(400, "(WebSocket) no such command"),
    "invalid_argument": ErrorCode(
        400, "an argument or parameter is missing, of the wrong type, malformed or out of range"
    ),
    "too_many_requests": ErrorCode(429, "(WebSocket) more than 32 commands outstanding on the connection"),
    "range_too_long": ErrorCode(400, "the requested time range is longer than the endpoint allows"),
    "camera_not_found": ErrorCode(404, "no camera with that id"),
    "event_not_found": ErrorCode(404, "no event with that id"),
    "no_snapshot": ErrorCode(404, "no picture is available (yet) for that camera or event"),
    "no_footage": ErrorCode(404, "no footage is stored in the requested range"),
    "not_found": ErrorCode(404, "no such endpoint"),
    "method_not_allowed": ErrorCode(405, "the endpoint does not take that HTTP method"),
    "event_state": ErrorCode(
        409, "the command does not fit the event's state (e.g. ending a manual event that is not running)"
    ),
    "camera_unavailable": ErrorCode(
        409,
        "the camera cannot do that now or at all (an ONVIF camera not connected yet, a camera without PTZ or "
        "without ONVIF)",
    ),
    "camera_exists": ErrorCode(409, "`add_camera`: a camera with that id exists already"),
    "camera_in_config": ErrorCode(
        409, "`remove_camera`: the camera comes from the configuration file (remove it there)"
    ),
    "no_archive": ErrorCode(409, "`restore_archive`: the engine has no off-site archive configured"),
    "restore_running": ErrorCode(409, "`restore_archive`: a restore is running already (one at a time)"),
    "camera_error": ErrorCode(
        502, "the camera refused or failed the request (the message says why, e.g. authentication failed)"
    ),
    "camera_auth_failed": ErrorCode(502, "`add_camera`: the camera refused the username or password"),
    "camera_unreachable": ErrorCode(502, "`add_camera`: the camera's address does not answer (in time)"),
    "range_not_satisfiable": ErrorCode(416, "the `Range` header asks for bytes beyond the end"),
    "internal_error": ErrorCode(500, "the server failed; the details are in the engine's log, not in the answer"),
}

# The codes that say "no such thing" (a client may treat them alike).
NOT_FOUND_CODES: Final = frozenset(code for code, error in ERROR_CODES.items() if error.status == 404)
