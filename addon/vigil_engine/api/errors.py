"""Typed API errors: a stable code, an HTTP status and a message fit to show a user.

Every failure a client can see is one of these; anything else is logged in full and
answered as ``internal_error`` with no details (no stack trace, path or credential).
"""

from __future__ import annotations

from typing import Any

# code -> HTTP status. The WebSocket uses the same codes (docs/api/websocket.md).
ERROR_CODES: dict[str, int] = {
    "unauthorized": 401,
    "forbidden": 403,
    "invalid_message": 400,
    "unknown_command": 400,
    "invalid_argument": 400,
    "too_many_requests": 429,
    "range_too_long": 400,
    "camera_not_found": 404,
    "event_not_found": 404,
    "no_snapshot": 404,
    "no_footage": 404,
    "not_found": 404,
    "method_not_allowed": 405,
    "event_state": 409,
    "camera_unavailable": 409,
    "camera_exists": 409,
    "camera_in_config": 409,
    "camera_error": 502,
    "camera_auth_failed": 502,
    "camera_unreachable": 502,
    "range_not_satisfiable": 416,
    "internal_error": 500,
}


class ApiError(Exception):
    """An error answer: ``{"error": {"code": ..., "message": ...}}`` with the code's HTTP status."""

    def __init__(self, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = headers or {}

    @property
    def status(self) -> int:
        return ERROR_CODES[self.code]

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


def invalid(message: str) -> ApiError:
    return ApiError("invalid_argument", message)


def camera_not_found(camera_id: str) -> ApiError:
    return ApiError("camera_not_found", f"no camera with id {camera_id!r}")


def event_not_found(event_id: str) -> ApiError:
    return ApiError("event_not_found", f"no event with id {event_id!r}")


INTERNAL = ApiError("internal_error", "the server failed to answer; the engine's log has the details")
