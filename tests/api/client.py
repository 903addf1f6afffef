"""Test clients for the engine API: a WebSocket client on its own thread (for plain, synchronous tests
and module-scoped fixtures) and a checker of message shapes against the protocol models' JSON Schema."""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp

from vigil_engine.api.json_schema import COMPONENTS, json_schemas
from vigil_engine.protocol import COMMANDS, ENVELOPES, EVENTS, OBJECTS, Model

Message = dict[str, Any]


class WsClient:
    """Connects, authenticates, and then records every message; ``call`` sends a command and waits."""

    def __init__(self, base_url: str, token: str) -> None:
        self.url = base_url.replace("http://", "ws://") + "/api/ws"
        self.token = token
        self.messages: list[Message] = []
        self.server_info: Message = {}
        self.closed_with: int | None = None
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ws-client", daemon=True)
        self._thread.start()
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Future[None] | None = None

    def _run[T](self, coro: Coroutine[Any, Any, T], timeout: float = 20) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def connect(self) -> Message:
        self.server_info = self._run(self._connect())
        return self.server_info

    async def _connect(self) -> Message:
        self._session = aiohttp.ClientSession()
        self._ws = await self._session.ws_connect(self.url, max_msg_size=16 * 1024 * 1024)
        await self._ws.send_json({"type": "auth", "token": self.token})
        first = await self._ws.receive_json(timeout=10)
        self._reader = asyncio.ensure_future(self._read())
        result: Message = first
        return result

    async def _read(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                with self._cond:
                    self.messages.append(json.loads(message.data))
                    self._cond.notify_all()
        with self._cond:
            self.closed_with = self._ws.close_code
            self._cond.notify_all()

    def send(self, payload: Message) -> None:
        assert self._ws is not None
        self._run(self._ws.send_json(payload))

    def call(self, command: str, args: Message | None = None, timeout: float = 20) -> Message:
        """The server's answer (a ``result`` or an ``error`` message) to one command."""
        message_id = f"m{next(self._ids)}"
        payload: Message = {"message_id": message_id, "command": command}
        if args is not None:
            payload["args"] = args
        self.send(payload)
        return self.wait(lambda m: m.get("message_id") == message_id and m["type"] in ("result", "error"), timeout)

    def result(self, command: str, args: Message | None = None) -> Message:
        answer = self.call(command, args)
        assert answer["type"] == "result", answer
        result: Message = answer["result"]
        return result

    def error(self, command: str, args: Message | None = None) -> Message:
        answer = self.call(command, args)
        assert answer["type"] == "error", answer
        error: Message = answer["error"]
        return error

    def wait(self, predicate: Callable[[Message], bool], timeout: float) -> Message:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for message in self.messages:
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    tail = [m.get("event") or m.get("type") for m in self.messages[-15:]]
                    raise AssertionError(f"no matching message within {timeout} s; last: {tail}")
                self._cond.wait(remaining)

    def events(self, name: str | None = None) -> list[Message]:
        with self._cond:
            return [m for m in self.messages if m["type"] == "event" and (name is None or m["event"] == name)]

    def wait_event(
        self, name: str, predicate: Callable[[Message], bool] = lambda d: True, timeout: float = 30
    ) -> Message:
        return self.wait(lambda m: m.get("type") == "event" and m["event"] == name and predicate(m["data"]), timeout)

    def close(self) -> None:
        async def _close() -> None:
            if self._ws is not None:
                await self._ws.close()
            if self._reader is not None:
                await asyncio.wait([self._reader], timeout=5)
            if self._session is not None:
                await self._session.close()

        try:
            self._run(_close(), timeout=10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)


@functools.cache
def _schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema of every shape the engine sends (every field required), by model name."""
    sent = [*OBJECTS.values(), *(c.result for c in COMMANDS.values()), *EVENTS.values(), *ENVELOPES.values()]
    return json_schemas(sent)


def _schema_of(type_: str | type[Model]) -> dict[str, Any]:
    """A model's schema, or that of a type as the protocol document writes it (``array of Event``)."""
    if not isinstance(type_, str):
        return {"$ref": f"{COMPONENTS}/{type_.__name__}"}
    if type_.endswith(" or null"):
        return {"anyOf": [_schema_of(type_.removesuffix(" or null")), {"type": "null"}]}
    if type_.startswith("array of "):
        return {"type": "array", "items": _schema_of(type_.removeprefix("array of "))}
    if type_ in _schemas():
        return {"$ref": f"{COMPONENTS}/{type_}"}
    return {"type": type_}


_SCALARS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}


def _errors(value: Any, schema: dict[str, Any], where: str) -> list[str]:
    """What in ``value`` does not match ``schema`` (the subset the models' schemas use), strictly:
    an object has exactly its properties, each present."""
    if "$ref" in schema:
        return _errors(value, _schemas()[schema["$ref"].rsplit("/", 1)[1]], where)
    if "anyOf" in schema:
        found = [_errors(value, option, where) for option in schema["anyOf"]]
        return [] if [] in found else min(found, key=len)
    if "const" in schema:
        return [] if value == schema["const"] else [f"{where}: expected {schema['const']!r}, got {value!r}"]
    kind = schema["type"]
    if not _SCALARS[kind](value):
        return [f"{where}: expected {kind}, got {value!r}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: expected one of {schema['enum']}, got {value!r}"]
    if kind == "array":
        return [e for i, item in enumerate(value) for e in _errors(item, schema["items"], f"{where}[{i}]")]
    if kind == "object" and "properties" in schema:
        names = schema["properties"]
        errors = [f"{where}: unexpected field {k!r}" for k in value if k not in names]
        errors += [f"{where}: missing field {k!r}" for k in schema.get("required", ()) if k not in value]
        for name, prop in names.items():
            if name in value:
                errors += _errors(value[name], prop, f"{where}.{name}")
        return errors
    return []


def shape_errors(value: Any, type_: str | type[Model], where: str = "") -> list[str]:
    """What in ``value`` does not match ``type_`` (a model, or a type as the protocol document writes it,
    e.g. ``array of Camera``); [] if all does. Checked against the models' JSON Schema, by this module's
    own reading of it (not by the models' parser)."""
    return _errors(value, _schema_of(type_), where)


def fields_errors(value: Any, model: type[Model], where: str = "") -> list[str]:
    """What in ``value`` does not match the model's fields: none missing, none more, each of its type."""
    return shape_errors(value, model, where)
