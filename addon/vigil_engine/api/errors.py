"""Typed API errors: a stable code (``vigil_engine.protocol.ERROR_CODES``), its HTTP status and a message fit
to show a user.

Every failure a client can see is one of these; anything else is logged in full and
answered as ``internal_error`` with no details (no stack trace, path or credential).
"""

from __future__ import annotations

from vigil_engine.protocol import ERROR_CODES, Error


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
        return ERROR_CODES[self.code].status

    def as_model(self) -> Error:
        return Error(code=self.code, message=self.message)


def invalid(message: str) -> ApiError:
    return ApiError("invalid_argument", message)


def camera_not_found(camera_id: str) -> ApiError:
    return ApiError("camera_not_found", f"no camera with id {camera_id!r}")


def event_not_found(event_id: str) -> ApiError:
    return ApiError("event_not_found", f"no event with id {event_id!r}")


INTERNAL = ApiError("internal_error", "the server failed to answer; the engine's log has the details")
