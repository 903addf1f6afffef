"""Errors of the Vigil engine client."""

from __future__ import annotations

from custom_components.vigil.protocol import NOT_FOUND_CODES


class VigilError(Exception):
    """Base class of every error this client raises."""


class CannotConnect(VigilError):
    """The engine could not be reached (refused, timed out, TLS or network error)."""


class ConnectionClosed(VigilError):
    """The connection closed (or was never open) while a command needed it."""


class InvalidAuth(VigilError):
    """The engine refused the API token (WebSocket close code 4001, HTTP 401)."""


class InvalidServer(VigilError):
    """Something answered, but it does not speak the Vigil engine protocol."""


class InvalidMessage(InvalidServer):
    """A message from the engine does not match the protocol (missing or mistyped field)."""


class SchemaVersionMismatch(VigilError):
    """The engine speaks no schema version this client can use.

    ``update_engine`` says which side is too old: ``True`` when the engine (the add-on) is
    older than this client, ``False`` when this client is too old for the engine.
    """

    def __init__(self, server_schema: int, server_min_schema: int, client_schema: int) -> None:
        self.server_schema = server_schema
        self.server_min_schema = server_min_schema
        self.client_schema = client_schema
        self.update_engine = server_schema < client_schema
        super().__init__(
            f"the engine speaks schema versions {server_min_schema} to {server_schema}, "
            f"this client speaks {client_schema}"
        )


class CommandError(VigilError):
    """The engine answered a command or request with an error (see the protocol's codes)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


class NotFoundError(CommandError):
    """No such camera, event, snapshot, footage or endpoint."""


def command_error(code: str, message: str) -> CommandError:
    """The most specific error class for an error code."""
    if code in NOT_FOUND_CODES:
        return NotFoundError(code, message)
    return CommandError(code, message)
