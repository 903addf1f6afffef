"""Test clients for the engine API: a WebSocket client on its own thread (for plain, synchronous tests
and module-scoped fixtures) and a checker of message shapes against the protocol's tables."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp

from vigil_engine.api.messages import OBJECTS

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


def shape_errors(value: Any, type_: str, where: str = "") -> list[str]:
    """What in ``value`` does not match ``type_`` (as written in the protocol tables); [] if all does."""
    if type_.endswith(" or null"):
        if value is None:
            return []
        return shape_errors(value, type_.removesuffix(" or null"), where)
    if type_.startswith("array of "):
        if not isinstance(value, list):
            return [f"{where}: expected an array, got {value!r}"]
        inner = type_.removeprefix("array of ")
        return [e for i, item in enumerate(value) for e in shape_errors(item, inner, f"{where}[{i}]")]
    if type_ in OBJECTS:
        return fields_errors(value, OBJECTS[type_], where)
    checks: dict[str, Callable[[Any], bool]] = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "object": lambda v: isinstance(v, dict),
    }
    return [] if checks[type_](value) else [f"{where}: expected {type_}, got {value!r}"]


def fields_errors(value: Any, fields: tuple[tuple[str, str], ...], where: str = "") -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: expected an object, got {value!r}"]
    names = [name for name, _type in fields]
    errors = [f"{where}: unexpected field {k!r}" for k in value if k not in names]
    errors += [f"{where}: missing field {k!r}" for k in names if k not in value]
    for name, type_ in fields:
        if name in value:
            errors += shape_errors(value[name], type_, f"{where}.{name}")
    return errors
