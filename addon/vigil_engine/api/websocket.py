"""The WebSocket endpoint ``/api/ws``: authentication, command dispatch, event delivery.

Each connection has one bounded outbox drained by one writer task, so a client that
stops reading fills its own outbox and nothing else: when the outbox or its bus
subscription overflows, the connection is closed (4002) and the engine never waits for
it. Commands run as their own tasks (at most ``MAX_PENDING_COMMANDS`` at once), so a slow
query never holds up events or other commands. The protocol is documented in
``docs/api/websocket.md``; its shapes are the models of ``vigil_engine.protocol``: each handler
returns its command's result model (``COMMANDS``), and an argument that is no field of the
command's arguments model is refused.

Until it authenticates, a connection belongs to a stranger: whatever its first message is
(a wrong token, a binary frame, text that is not UTF-8 or not JSON, JSON nested too deep to
read, a token that is no string or holds a lone surrogate), it gets the documented
``unauthorized`` error and close code 4001, and the line this logs is rate-limited
(``lograte``). Text frames are decoded here, not by aiohttp, so that invalid UTF-8 gets that
answer too instead of aiohttp's bare close. Once authenticated, its connection is trusted
(``protocol.trust``): never dropped to make room for others.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web
from yarl import URL

from vigil_engine.bus import Subscription, SubscriptionOverflow
from vigil_engine.engine import CameraUnavailableError, EventStateError, UnknownCameraError
from vigil_engine.protocol import (
    AUTH_TIMEOUT_S,
    CLOSE_PROTOCOL,
    CLOSE_TOO_SLOW,
    CLOSE_UNAUTHORIZED,
    COMMANDS,
    EVENTS,
    MAX_MESSAGE_BYTES,
    MAX_PENDING_COMMANDS,
    SUBSCRIBER_QUEUE,
    CameraList,
    CameraResult,
    DaySummaryResult,
    EventResult,
    Model,
    MotionDetectionResult,
    ObjectDetectionResult,
    ProtocolError,
    RecordMode,
    RecordModeResult,
    ServerInfo,
    ServerInfoMessage,
    SignedPath,
    StorageResult,
    StreamUrl,
    Unsubscribed,
)
from vigil_engine.protocol import (
    Subscription as SubscriptionResult,
)

from . import params, queries, wire
from .archive_commands import ARCHIVE_HANDLERS
from .auth import MAX_SIGNATURE_SECONDS, SIGNATURE_PARAM, token_matches
from .camera_commands import CAMERA_HANDLERS
from .context import CONTEXT, ApiContext
from .errors import INTERNAL, ApiError, camera_not_found, invalid
from .guarded_handler import trust
from .lograte import RateLimitedLog
from .onvif_commands import ONVIF_HANDLERS

_LOGGER = logging.getLogger(__name__)

OUTBOX = 512  # messages waiting for the socket
SEND_BUFFER = 256 * 1024
CLOSE_TIMEOUT_S = 2.0
DEFAULT_SIGNATURE_SECONDS = 300
Handler = Callable[["Connection", dict[str, Any]], Awaitable[Model]]
_ENDED = frozenset({WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR})

_unauthenticated_log = RateLimitedLog(_LOGGER, logging.INFO)
_bad_event_log = RateLimitedLog(_LOGGER, logging.ERROR)


def _parse(text: str) -> Any:
    """The JSON value of a message, or None if it is not JSON.

    Nesting deeper than the C stack allows raises RecursionError, not ValueError: a 64 KiB
    frame of ``[`` stays within the main thread's 8 MB stack, not within a smaller one.
    """
    try:
        return json.loads(text)
    except ValueError, RecursionError:
        return None


def _text(data: bytes) -> str | None:
    """A text frame's payload, or None if it is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


class Connection:
    def __init__(self, ctx: ApiContext, request: web.Request, ws: web.WebSocketResponse) -> None:
        self.ctx = ctx
        self.request = request
        self.ws = ws
        self.outbox: asyncio.Queue[str] = asyncio.Queue(OUTBOX)
        self.subscription: Subscription | None = None
        self.events: frozenset[str] = frozenset()
        self.camera_ids: frozenset[str] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._forwarder: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None
        self._closing = False
        self.peer = request.remote or "?"

    # --- lifecycle ---
    async def run(self) -> None:
        if not await self._authenticate():
            return
        self._writer = asyncio.create_task(self._write_loop(), name="ws-writer")
        self.send(json.dumps(queries.server_info(self.ctx, ServerInfoMessage).to_dict()))
        try:
            async for message in self.ws:
                if message.type == WSMsgType.TEXT:
                    text = _text(message.data)
                    if text is None:
                        await self.close(CLOSE_PROTOCOL, "text frames must be UTF-8")
                        break
                    self._receive(text)
                elif message.type == WSMsgType.BINARY:
                    await self.close(CLOSE_PROTOCOL, "binary frames are not part of the protocol")
                    break
                elif message.type == WSMsgType.ERROR:
                    break
        finally:
            await self._teardown()

    async def _authenticate(self) -> bool:
        try:
            message = await self.ws.receive(timeout=AUTH_TIMEOUT_S)
        except TimeoutError:
            await self._reject("no auth message within 10 seconds")
            return False
        if message.type in _ENDED:
            await self._reject("the connection ended before the auth message")
            return False
        text = _text(message.data) if message.type == WSMsgType.TEXT else None
        if text is None:
            await self._reject("the first message must be the auth message, as UTF-8 text")
            return False
        data = _parse(text)
        token = data.get("token") if isinstance(data, dict) and data.get("type") == "auth" else None
        if not isinstance(token, str) or not token_matches(token, self.ctx.token):
            await self._reject('authentication failed: send {"type": "auth", "token": ...} with the API token')
            return False
        trust(self.request)
        return True

    async def _reject(self, reason: str) -> None:
        _unauthenticated_log("WebSocket client %s not authenticated: %s", self.peer, reason)
        error = ApiError("unauthorized", reason)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.send_str(json.dumps(wire.error_message(None, error)))
        await self.close(CLOSE_UNAUTHORIZED, "unauthorized")

    async def _teardown(self) -> None:
        self._closing = True
        if self._closer is not None:
            with contextlib.suppress(Exception):
                await self._closer
        if self.subscription is not None:
            self.subscription.close()
        tasks = [*self._tasks, *(t for t in (self._forwarder, self._writer) if t is not None)]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if not self.ws.closed:
            await self.close(1000, "")

    async def close(self, code: int, reason: str) -> None:
        """Close, without waiting long for a client that does not read."""
        self._closing = True
        try:
            await asyncio.wait_for(self.ws.close(code=code, message=reason.encode()), CLOSE_TIMEOUT_S)
        except TimeoutError, ConnectionError, RuntimeError:
            transport = self.request.transport
            if transport is not None:
                transport.abort()

    def _too_slow(self, why: str) -> None:
        if self._closing:
            return
        self._closing = True
        _LOGGER.warning("WebSocket client %s cut off: %s", self.peer, why)
        if self._writer is not None:
            self._writer.cancel()
        self._closer = asyncio.create_task(self.close(CLOSE_TOO_SLOW, "too slow: fell too far behind"))

    # --- sending ---
    def send(self, text: str) -> None:
        if self._closing:
            return
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:
            self._too_slow(f"more than {OUTBOX} messages waiting to be sent")

    async def _write_loop(self) -> None:
        while True:
            text = await self.outbox.get()
            try:
                await self.ws.send_str(text)
            except ConnectionError, RuntimeError:
                return

    # --- receiving ---
    def _receive(self, text: str) -> None:
        data = _parse(text)
        message_id = data.get("message_id") if isinstance(data, dict) else None
        if not isinstance(message_id, str) or not 1 <= len(message_id) <= 64:
            self._send_error(None, ApiError("invalid_message", "expected an object with a string message_id (1-64)"))
            return
        assert isinstance(data, dict)
        command = data.get("command")
        args = data.get("args")
        if not isinstance(command, str):
            self._send_error(message_id, ApiError("invalid_message", "expected a string command"))
            return
        if args is None:
            args = {}
        if not isinstance(args, dict):
            self._send_error(message_id, ApiError("invalid_message", "args must be an object"))
            return
        handler = HANDLERS.get(command)
        if handler is None:
            self._send_error(message_id, ApiError("unknown_command", f"no command {command[:64]!r}"))
            return
        if len(self._tasks) >= MAX_PENDING_COMMANDS:
            self._send_error(
                message_id, ApiError("too_many_requests", f"at most {MAX_PENDING_COMMANDS} commands may be pending")
            )
            return
        task = asyncio.create_task(self._run_command(message_id, command, handler, args))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_command(self, message_id: str, command: str, handler: Handler, args: dict[str, Any]) -> None:
        try:
            _check_args(command, args)
            result = await handler(self, args)
        except ApiError as err:
            self._send_error(message_id, err)
            return
        except UnknownCameraError as err:
            self._send_error(message_id, camera_not_found(str(err.args[0]) if err.args else ""))
            return
        except EventStateError as err:
            self._send_error(message_id, ApiError("event_state", str(err)))
            return
        except CameraUnavailableError as err:
            self._send_error(message_id, ApiError("camera_unavailable", str(err)))
            return
        except Exception:
            _LOGGER.exception("WebSocket command %s failed", command)
            self._send_error(message_id, INTERNAL)
            return
        self.send(json.dumps(wire.result_message(message_id, result)))

    def _send_error(self, message_id: str | None, error: ApiError) -> None:
        self.send(json.dumps(wire.error_message(message_id, error)))

    # --- events ---
    async def _forward(self, subscription: Subscription) -> None:
        while True:
            try:
                message = await subscription.get()
            except SubscriptionOverflow as err:
                self._too_slow(str(err))
                return
            if message.kind not in self.events:
                continue
            camera = message.camera_id
            if self.camera_ids is not None and camera is not None and camera not in self.camera_ids:
                continue
            try:
                event = wire.event_message(message.kind, message.data)
            except ProtocolError as err:
                # An engine bug: the event is dropped, the connection and the others go on.
                _bad_event_log("Not sending a %s event that does not fit the protocol: %s", message.kind, err)
                continue
            if event is not None:
                self.send(json.dumps(event))


def _check_args(command: str, args: dict[str, Any]) -> None:
    """Names only: each handler checks its values (with messages that say what is allowed)."""
    known, required = _ARGS[command]
    unknown = sorted(set(args) - known)
    if unknown:
        raise invalid(f"unknown argument {unknown[0][:64]!r} for {command}")
    for name in required:
        if args.get(name) is None:
            raise invalid(f"{name} is required")


def _arg_names(args: type[Model]) -> tuple[frozenset[str], tuple[str, ...]]:
    """The argument names of a command (its arguments model's fields) and those without a default."""
    found = dataclasses.fields(args)
    required = tuple(
        f.name for f in found if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )
    return frozenset(f.name for f in found), required


_ARGS = {name: _arg_names(command.args) for name, command in COMMANDS.items()}


# --- one handler per command ---
async def _get_server_info(conn: Connection, args: dict[str, Any]) -> ServerInfo:
    return queries.server_info(conn.ctx, ServerInfo)


async def _list_cameras(conn: Connection, args: dict[str, Any]) -> CameraList:
    return CameraList(cameras=queries.cameras(conn.ctx))


def _camera_arg(conn: Connection, args: dict[str, Any]) -> str:
    return conn.ctx.require_camera(params.camera_id(args.get("camera_id")))


async def _get_camera(conn: Connection, args: dict[str, Any]) -> CameraResult:
    return CameraResult(camera=queries.camera(conn.ctx, _camera_arg(conn, args)))


async def _get_stream_url(conn: Connection, args: dict[str, Any]) -> StreamUrl:
    camera_id = _camera_arg(conn, args)
    substream = args.get("substream")
    wanted = params.boolean(substream, "substream") if substream is not None else False
    return StreamUrl(camera_id=camera_id, url=conn.ctx.engine.stream_url(camera_id, wanted))


def _record_mode(conn: Connection, camera_id: str) -> RecordModeResult:
    return RecordModeResult(camera_id=camera_id, record_mode=RecordMode(conn.ctx.engine.record_mode(camera_id)))


async def _get_record_mode(conn: Connection, args: dict[str, Any]) -> RecordModeResult:
    return _record_mode(conn, _camera_arg(conn, args))


async def _set_record_mode(conn: Connection, args: dict[str, Any]) -> RecordModeResult:
    camera_id = _camera_arg(conn, args)
    mode = params.record_mode(args.get("record_mode"))
    await conn.ctx.engine.set_record_mode(camera_id, mode)
    return _record_mode(conn, camera_id)


async def _get_motion_detection(conn: Connection, args: dict[str, Any]) -> MotionDetectionResult:
    camera_id = _camera_arg(conn, args)
    return MotionDetectionResult(camera_id=camera_id, enabled=conn.ctx.engine.motion_enabled(camera_id))


async def _set_motion_detection(conn: Connection, args: dict[str, Any]) -> MotionDetectionResult:
    camera_id = _camera_arg(conn, args)
    enabled = args.get("enabled")
    if not isinstance(enabled, bool):
        raise invalid("enabled: expected true or false")
    await conn.ctx.engine.set_motion_enabled(camera_id, enabled)
    return MotionDetectionResult(camera_id=camera_id, enabled=conn.ctx.engine.motion_enabled(camera_id))


async def _get_object_detection(conn: Connection, args: dict[str, Any]) -> ObjectDetectionResult:
    camera_id = _camera_arg(conn, args)
    return ObjectDetectionResult(camera_id=camera_id, enabled=conn.ctx.engine.objects_enabled(camera_id))


async def _set_object_detection(conn: Connection, args: dict[str, Any]) -> ObjectDetectionResult:
    camera_id = _camera_arg(conn, args)
    enabled = args.get("enabled")
    if not isinstance(enabled, bool):
        raise invalid("enabled: expected true or false")
    await conn.ctx.engine.set_objects_enabled(camera_id, enabled)
    return ObjectDetectionResult(camera_id=camera_id, enabled=conn.ctx.engine.objects_enabled(camera_id))


async def _start_manual_event(conn: Connection, args: dict[str, Any]) -> EventResult:
    camera_id = _camera_arg(conn, args)
    label = args.get("label")
    event = await conn.ctx.engine.start_manual_event(camera_id, params.label(label) if label is not None else None)
    return EventResult(event=wire.event(event))


async def _end_manual_event(conn: Connection, args: dict[str, Any]) -> EventResult:
    camera_id = _camera_arg(conn, args)
    return EventResult(event=wire.event(await conn.ctx.engine.end_manual_event(camera_id)))


async def _list_events(conn: Connection, args: dict[str, Any]) -> Model:
    return await queries.list_events(conn.ctx, args)


async def _get_event(conn: Connection, args: dict[str, Any]) -> EventResult:
    return EventResult(event=await queries.get_event(conn.ctx, args.get("event_id")))


async def _get_storage(conn: Connection, args: dict[str, Any]) -> StorageResult:
    return StorageResult(storage=await queries.storage(conn.ctx))


async def _get_day_summary(conn: Connection, args: dict[str, Any]) -> DaySummaryResult:
    day = await queries.summary(conn.ctx, args.get("camera_id"), args.get("date"), args.get("time_zone"))
    return DaySummaryResult(summary=day)


async def _sign_path(conn: Connection, args: dict[str, Any]) -> SignedPath:
    path = args.get("path")
    if not isinstance(path, str) or not path.startswith("/api/") or len(path) > 2048 or not path.isprintable():
        raise invalid("path: expected an API path such as /api/events/<id>/clip.mp4")
    try:
        url = URL(path)
    except ValueError:
        raise invalid("path: not a valid URL path") from None
    if url.is_absolute() or url.raw_path.rstrip("/") == "/api/ws" or not url.raw_path.startswith("/api/"):
        raise invalid("path: expected an API path other than /api/ws")
    expires_arg = args.get("expires_in")
    seconds = (
        params.integer(expires_arg, "expires_in", 1, MAX_SIGNATURE_SECONDS)
        if expires_arg is not None
        else DEFAULT_SIGNATURE_SECONDS
    )
    expires_ms = int(time.time() * 1000) + seconds * 1000
    unsigned = url.without_query_params(SIGNATURE_PARAM)
    return SignedPath(path=str(conn.ctx.signer.sign(unsigned, expires_ms)), expires_ms=expires_ms)


async def _subscribe(conn: Connection, args: dict[str, Any]) -> SubscriptionResult:
    wanted = args.get("events")
    if wanted is None:
        events = frozenset(EVENTS)
    else:
        if not isinstance(wanted, list) or not all(isinstance(name, str) for name in wanted):
            raise invalid("events: expected a list of event names")
        unknown = sorted(set(wanted) - set(EVENTS))
        if unknown:
            raise invalid(f"events: no event {unknown[0][:64]!r}")
        events = frozenset(wanted)
    camera_arg = args.get("camera_ids")
    camera_ids: frozenset[str] | None = None
    if camera_arg is not None:
        if not isinstance(camera_arg, list):
            raise invalid("camera_ids: expected a list of camera ids")
        camera_ids = frozenset(conn.ctx.require_camera(params.camera_id(c, "camera_ids")) for c in camera_arg)
    conn.events, conn.camera_ids = events, camera_ids
    if conn.subscription is None:
        conn.subscription = conn.ctx.engine.bus.subscribe(SUBSCRIBER_QUEUE)
        conn._forwarder = asyncio.create_task(conn._forward(conn.subscription), name="ws-events")
    return SubscriptionResult(
        events=tuple(sorted(events)),
        camera_ids=tuple(sorted(camera_ids)) if camera_ids is not None else None,
        cameras=queries.cameras(conn.ctx),
        storage=await queries.storage(conn.ctx),
    )


async def _unsubscribe(conn: Connection, args: dict[str, Any]) -> Unsubscribed:
    if conn.subscription is not None:
        conn.subscription.close()
        conn.subscription = None
    if conn._forwarder is not None:
        conn._forwarder.cancel()
        conn._forwarder = None
    conn.events = frozenset()
    return Unsubscribed(subscribed=False)


HANDLERS: dict[str, Handler] = {
    "get_server_info": _get_server_info,
    "list_cameras": _list_cameras,
    "get_camera": _get_camera,
    "get_stream_url": _get_stream_url,
    "get_record_mode": _get_record_mode,
    "set_record_mode": _set_record_mode,
    "get_motion_detection": _get_motion_detection,
    "set_motion_detection": _set_motion_detection,
    "get_object_detection": _get_object_detection,
    "set_object_detection": _set_object_detection,
    "start_manual_event": _start_manual_event,
    "end_manual_event": _end_manual_event,
    "list_events": _list_events,
    "get_event": _get_event,
    "get_storage": _get_storage,
    "get_day_summary": _get_day_summary,
    "sign_path": _sign_path,
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
    **ONVIF_HANDLERS,
    **CAMERA_HANDLERS,
    **ARCHIVE_HANDLERS,
}


def _bound_send_buffer(request: web.Request) -> None:
    """A fixed kernel send buffer: a client that stops reading backs up into its outbox within
    about ``SEND_BUFFER`` bytes (instead of megabytes of autotuned buffer), and is cut off."""
    transport = request.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)


async def handle(request: web.Request) -> web.StreamResponse:
    """``GET /api/ws``: upgrade, then run the connection until either side closes."""
    ctx: ApiContext = request.app[CONTEXT]
    ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE_BYTES, heartbeat=30.0, autoping=True, decode_text=False)
    await ws.prepare(request)
    _bound_send_buffer(request)
    connection = Connection(ctx, request, ws)
    ctx.connections.add(connection)
    try:
        await connection.run()
    finally:
        ctx.connections.discard(connection)
    return ws
