"""The messages around commands, results, errors and events, and :data:`ENVELOPES`, the table of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

from .commands import ServerInfo
from .model import Model, describe
from .objects import Error


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthMessage(Model):
    """The client's first message."""

    type: Literal["auth"] = field(default="auth", metadata=describe('`"auth"`'))
    # The API token: never in a repr.
    token: str = field(repr=False, metadata=describe("the engine's API token"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerInfoMessage(ServerInfo):
    """The server's first message: the fields of ``ServerInfo`` and its ``type``."""

    type: Literal["server_info"] = field(default="server_info", metadata=describe('`"server_info"`'))


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandMessage(Model):
    """A command, from the client."""

    message_id: str = field(metadata=describe("chosen by the client, 1 to 64 characters; echoed in the answer"))
    command: str = field(metadata=describe("one of the commands below"))
    # A command's arguments may hold a secret (add_camera's password): never in a repr.
    args: dict[str, Any] = field(
        default_factory=dict,
        repr=False,
        metadata=describe("the command's arguments; may be left out when it takes none"),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ResultMessage(Model):
    """A command's result."""

    type: Literal["result"] = field(default="result", metadata=describe('`"result"`'))
    message_id: str = field(metadata=describe("the command's `message_id`"))
    # get_stream_url's result holds the camera's credentials: never in a repr.
    result: dict[str, Any] = field(repr=False, metadata=describe("the command's result (always an object)"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorMessage(Model):
    """A command that failed, or a message that could not be understood."""

    type: Literal["error"] = field(default="error", metadata=describe('`"error"`'))
    message_id: str | None = field(
        metadata=describe("the command's `message_id`; `null` when the message had none that could be read")
    )
    error: Error = field(metadata=describe("what went wrong"))


@dataclass(frozen=True, slots=True, kw_only=True)
class EventMessage(Model):
    """An event, to a subscriber."""

    type: Literal["event"] = field(default="event", metadata=describe('`"event"`'))
    event: str = field(metadata=describe("the event's name (see *Events*)"))
    data: dict[str, Any] = field(metadata=describe("the event's data"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorBody(Model):
    """The body of every HTTP error answer."""

    error: Error = field(metadata=describe("what went wrong"))


ENVELOPES: Final[dict[str, type[Model]]] = {
    "auth": AuthMessage,
    "server_info": ServerInfoMessage,
    "command": CommandMessage,
    "result": ResultMessage,
    "error": ErrorMessage,
    "event": EventMessage,
}
