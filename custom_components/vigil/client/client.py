"""Async client of the Vigil engine API: one WebSocket for commands and events, HTTP for media.

The client takes its ``aiohttp.ClientSession`` from the caller (Home Assistant's shared
session) and never closes it. Use it in one of two ways:

* ``await client.connect()`` then commands, for a short conversation (a config flow);
* ``await client.run(listener)`` to keep one connection open for as long as the task runs:
  it subscribes to events, hands the subscription's state snapshot and every event to the
  listener *in protocol order* (the snapshot is delivered from the reader itself, so no
  event can overtake it), and reconnects with exponential backoff and jitter when the
  connection drops. Only a refused token ends ``run`` (with :class:`InvalidAuth`); every
  other failure (engine down, schema mismatch after an update, garbage) is reported to
  the listener and retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import AsyncIterator, Callable, Mapping
from functools import partial
from typing import Any, Final, Protocol
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp

from custom_components.vigil.protocol import (
    CLOSE_TOO_SLOW,
    CLOSE_UNAUTHORIZED,
    AddCameraArgs,
    AddedCamera,
    AuthMessage,
    Camera,
    CameraArgs,
    CameraIdResult,
    CameraList,
    CameraResult,
    CommandMessage,
    DaySummary,
    DaySummaryResult,
    DiscoverArgs,
    DiscoveredDevice,
    DiscoveredDevices,
    Error,
    ErrorBody,
    Event,
    EventPage,
    EventResult,
    GetDaySummaryArgs,
    GetEventArgs,
    GetStreamUrlArgs,
    ListEventsArgs,
    Model,
    MotionDetectionResult,
    ObjectDetectionResult,
    Preset,
    PresetResult,
    Presets,
    ProtocolError,
    PtzGotoPresetArgs,
    PtzMoveArgs,
    PtzZoomArgs,
    RecordMode,
    RecordModeResult,
    RestoreArchiveArgs,
    RestoreArchiveResult,
    RestoreStatus,
    ServerInfo,
    SetMotionDetectionArgs,
    SetObjectDetectionArgs,
    SetRecordModeArgs,
    SignedPath,
    SignPathArgs,
    StartManualEventArgs,
    Storage,
    StorageResult,
    StreamUrl,
    SubscribeArgs,
    Subscription,
)

from .errors import (
    CannotConnect,
    ConnectionClosed,
    InvalidAuth,
    InvalidMessage,
    InvalidServer,
    SchemaVersionMismatch,
    VigilError,
    command_error,
)
from .events import EngineEvent, parse_event

_LOGGER = logging.getLogger(__name__)

# The schema version this client needs, not the newest it knows (the protocol's SCHEMA_VERSION):
# it works with every engine that still speaks 1, and reads what newer engines add (DaySummary.live,
# stills and live HLS, by the engine's schema_version) where they send it.
SCHEMA_VERSION: Final = 1
DEFAULT_PORT: Final = 8750
WS_PATH: Final = "/api/ws"
MAX_MESSAGE_SIZE: Final = 16 * 1024 * 1024
CHUNK_SIZE: Final = 256 * 1024
CLOSE_TIMEOUT: Final = 2.0
# How long a media answer may stall before the engine counts as gone (a player that stops
# reading stalls it too, through back pressure).
MEDIA_READ_TIMEOUT: Final = 300.0


def still_path(camera_id: str) -> str:
    """``/api/cameras/<id>/still.jpg``: the footage at an instant (``at_ms``, optional ``width``)."""
    return f"/api/cameras/{quote(camera_id, safe='')}/still.jpg"


def live_playlist_path(camera_id: str) -> str:
    """``/api/cameras/<id>/live.m3u8``: the live HLS playlist of the fragments being written."""
    return f"/api/cameras/{quote(camera_id, safe='')}/live.m3u8"


class ClientListener(Protocol):
    """What :meth:`VigilClient.run` reports to. Called on the event loop; must not block."""

    def on_connected(self, info: ServerInfo, subscription: Subscription) -> None:
        """A connection is up and subscribed: the subscription holds the current state."""

    def on_event(self, event: EngineEvent) -> None:
        """An event pushed by the engine."""

    def on_disconnected(self, error: VigilError) -> None:
        """The connection dropped, or a connection attempt failed (called once per attempt)."""


def normalize_url(url: str) -> str:
    """The engine's base HTTP URL from what a user types.

    ``192.168.1.5``, ``192.168.1.5:8750``, ``http://host:8750/``, ``ws://host:8750/api/ws``
    all become ``http://host:8750``; ``https``/``wss`` become ``https``. Raises
    ``ValueError`` for anything without a host.
    """
    text = url.strip()
    if "://" not in text:
        text = f"http://{text}"
    parts = urlsplit(text)
    scheme = {"http": "http", "ws": "http", "https": "https", "wss": "https"}.get(parts.scheme.lower())
    if scheme is None or not parts.hostname:
        raise ValueError(f"not an engine URL: {url!r}")
    try:
        port = parts.port
    except ValueError as err:
        raise ValueError(f"not an engine URL: {url!r}") from err
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if port is None and scheme == "http":
        port = DEFAULT_PORT
    netloc = host if port is None else f"{host}:{port}"  # userinfo dropped: the token authenticates
    path = parts.path.rstrip("/")
    path = path.removesuffix(WS_PATH)
    return urlunsplit((scheme, netloc, path, "", ""))


def _parse[M: Model](model: type[M], data: object, what: str) -> M:
    """``data`` read as ``model``; :class:`InvalidMessage` (naming the field, never its value) if it does not fit."""
    try:
        return model.parse(data)
    except ProtocolError as err:
        raise InvalidMessage(f"{what}: {err}") from None


def _error(message: Mapping[str, Any]) -> Error:
    """The error of an ``error`` message; one that cannot be read is ``unknown``."""
    try:
        return Error.parse(message.get("error"))
    except ProtocolError:
        return Error(code="unknown", message="")


def _is_compatible(info: ServerInfo) -> bool:
    return info.min_schema_version <= SCHEMA_VERSION <= info.schema_version


class VigilClient:
    """One engine: its WebSocket (commands and events) and its HTTP endpoints."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        token: str,
        *,
        connect_timeout: float = 10.0,
        command_timeout: float = 10.0,
    ) -> None:
        self._session = session
        self.base_url = normalize_url(url)
        scheme = "wss" if self.base_url.startswith("https") else "ws"
        self.ws_url = f"{scheme}{self.base_url.removeprefix('https').removeprefix('http')}{WS_PATH}"
        self._token = token
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[Mapping[str, Any]]] = {}
        self._inline: dict[str, Callable[[Mapping[str, Any]], None]] = {}
        self._event_handler: Callable[[EngineEvent], None] | None = None
        # Other parts that want the events too (an entity of one kind of event), after the listener.
        self._event_listeners: list[Callable[[EngineEvent], None]] = []
        self._next_id = 0
        self.server_info: ServerInfo | None = None
        self._stopping = False

    # --- connection ------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def connect(self) -> ServerInfo:
        """Open the WebSocket, authenticate and check the schema version.

        Raises :class:`CannotConnect`, :class:`InvalidAuth`, :class:`InvalidServer` or
        :class:`SchemaVersionMismatch` (the socket is closed again in every case).
        """
        if self.connected:
            assert self.server_info is not None
            return self.server_info
        try:
            async with asyncio.timeout(self._connect_timeout):
                ws = await self._session.ws_connect(
                    self.ws_url,
                    max_msg_size=MAX_MESSAGE_SIZE,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=CLOSE_TIMEOUT),
                )
        except aiohttp.WSServerHandshakeError as err:
            if err.status in (502, 503, 504):
                raise CannotConnect(f"{self.base_url}: HTTP {err.status} from a proxy") from err
            raise InvalidServer(f"{self.base_url}: no Vigil engine WebSocket (HTTP {err.status})") from err
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            raise CannotConnect(f"{self.base_url}: {err or type(err).__name__}") from err
        try:
            async with asyncio.timeout(self._connect_timeout):
                info = await self._handshake(ws)
        except TimeoutError as err:
            await ws.close()
            raise CannotConnect(f"{self.base_url}: no answer to the authentication") from err
        except BaseException:
            await ws.close()
            raise
        self._ws = ws
        self.server_info = info
        return info

    async def _handshake(self, ws: aiohttp.ClientWebSocketResponse) -> ServerInfo:
        try:
            await ws.send_str(json.dumps(AuthMessage(token=self._token).to_dict()))
            msg = await ws.receive()
        except (aiohttp.ClientError, OSError) as err:
            raise CannotConnect(f"{self.base_url}: {err}") from err
        if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
            if CLOSE_UNAUTHORIZED in (ws.close_code, msg.data):
                raise InvalidAuth("the engine refused the API token")
            raise CannotConnect(f"{self.base_url}: the connection closed during authentication")
        if msg.type is aiohttp.WSMsgType.ERROR:
            raise CannotConnect(f"{self.base_url}: {ws.exception()}")
        if msg.type is not aiohttp.WSMsgType.TEXT:
            raise InvalidServer(f"{self.base_url}: a binary answer to the authentication")
        try:
            data = json.loads(msg.data)
        except ValueError as err:
            raise InvalidServer(f"{self.base_url}: the answer is not JSON") from err
        if not isinstance(data, dict):
            raise InvalidServer(f"{self.base_url}: the answer is not a JSON object")
        if data.get("type") == "error":
            error = _error(data)
            if error.code == "unauthorized":
                raise InvalidAuth("the engine refused the API token")
            raise InvalidServer(f"{self.base_url}: unexpected error {error.code}: {error.message}")
        if data.get("type") != "server_info":
            raise InvalidServer(f"{self.base_url}: the first message is not server_info")
        info = _parse(ServerInfo, data, "server_info")
        if not _is_compatible(info):
            raise SchemaVersionMismatch(info.schema_version, info.min_schema_version, SCHEMA_VERSION)
        return info

    async def disconnect(self) -> None:
        """Close the WebSocket (a running :meth:`run` stops too)."""
        self._stopping = True
        await self._close()

    async def _close(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None and not ws.closed:
            await ws.close()
        reader, self._reader = self._reader, None
        if reader is not None and reader is not asyncio.current_task() and not reader.done():
            # The closed socket ends the reader by itself; cancel it only if it hangs.
            await asyncio.wait({reader}, timeout=CLOSE_TIMEOUT)
            if not reader.done():
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
        self._fail_pending(ConnectionClosed("the connection to the engine closed"))

    def _fail_pending(self, error: VigilError) -> None:
        pending, self._pending = self._pending, {}
        self._inline.clear()
        for future in pending.values():
            if not future.done():
                future.set_exception(error)

    # --- the reader --------------------------------------------------------------------------

    def _ensure_reader(self) -> asyncio.Task[None]:
        """The task reading the open socket (started on first use)."""
        assert self._ws is not None
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(self._read_loop(self._ws), name="vigil-client-reader")
            # Outside run() nobody awaits the reader: fetch its exception so none goes unretrieved.
            self._reader.add_done_callback(lambda task: task.cancelled() or task.exception())
        return self._reader

    async def _read_loop(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Read until the socket closes; then raise why (ConnectionClosed or InvalidAuth)."""
        try:
            async for msg in ws:
                if msg.type is aiohttp.WSMsgType.TEXT:
                    self._dispatch(msg.data)
                elif msg.type is aiohttp.WSMsgType.ERROR:
                    break
        finally:
            if self._ws is ws:
                self._ws = None
            self._fail_pending(ConnectionClosed("the connection to the engine closed"))
        code = ws.close_code
        if code == CLOSE_UNAUTHORIZED:
            raise InvalidAuth("the engine refused the API token")
        reason = {CLOSE_TOO_SLOW: "the client fell too far behind", 1001: "the engine is stopping"}.get(
            code or 0, f"close code {code}"
        )
        raise ConnectionClosed(f"the connection to the engine closed ({reason})")

    def _dispatch(self, text: str) -> None:
        try:
            data = json.loads(text)
        except ValueError:
            _LOGGER.warning("Ignoring a message from the engine that is not JSON")
            return
        if not isinstance(data, dict):
            _LOGGER.warning("Ignoring a message from the engine that is not an object")
            return
        kind = data.get("type")
        if kind == "event":
            handler = self._event_handler
            if handler is None:
                return
            try:
                event = parse_event(str(data.get("event")), data.get("data") or {})
            except InvalidMessage as err:
                _LOGGER.warning("Ignoring a malformed %s event from the engine: %s", data.get("event"), err)
                return
            for listener in (handler, *self._event_listeners):
                try:
                    listener(event)
                except Exception:  # a listener's bug must not end the connection
                    _LOGGER.exception("Error handling the engine's %s event", data.get("event"))
        elif kind in ("result", "error"):
            message_id = data.get("message_id")
            future = self._pending.pop(message_id, None) if isinstance(message_id, str) else None
            inline = self._inline.pop(message_id, None) if isinstance(message_id, str) else None
            if kind == "error":
                error = _error(data)
                exc = command_error(error.code, error.message)
                if future is not None and not future.done():
                    future.set_exception(exc)
                elif future is None:
                    _LOGGER.debug("Engine error for no command: %s", exc)
                return
            result = data.get("result")
            if not isinstance(result, dict):
                if future is not None and not future.done():
                    future.set_exception(InvalidMessage("a result that is not an object"))
                return
            if inline is not None:
                # Run before the next message is read: nothing may overtake this result.
                try:
                    inline(result)
                except Exception as err:  # a bad snapshot or a listener's bug: fail the command
                    if not isinstance(err, VigilError):
                        _LOGGER.exception("Error handling the engine's answer")
                        err = InvalidMessage(f"cannot handle the answer: {err}")
                    if future is not None and not future.done():
                        future.set_exception(err)
                    return
            if future is not None and not future.done():
                future.set_result(result)

    def add_event_listener(self, listener: Callable[[EngineEvent], None]) -> Callable[[], None]:
        """Also hand every event to ``listener`` (after ``run``'s listener); returns its removal."""
        self._event_listeners.append(listener)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._event_listeners.remove(listener)

        return remove

    # --- commands ----------------------------------------------------------------------------

    async def command(
        self,
        command: str,
        args: Mapping[str, Any] | None = None,
        *,
        inline: Callable[[Mapping[str, Any]], None] | None = None,
    ) -> Mapping[str, Any]:
        """Send a command and return its result object; raises :class:`CommandError`."""
        ws = self._ws
        if ws is None or ws.closed:
            raise ConnectionClosed("not connected to the engine")
        self._ensure_reader()
        self._next_id += 1
        message_id = str(self._next_id)
        future: asyncio.Future[Mapping[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        if inline is not None:
            self._inline[message_id] = inline
        # Arguments left out are not sent as null: an older engine refuses arguments it does not know.
        sent = {key: value for key, value in (args or {}).items() if value is not None}
        message = CommandMessage(message_id=message_id, command=command, args=sent).to_dict()
        if not sent:
            del message["args"]
        try:
            await ws.send_str(json.dumps(message))
            async with asyncio.timeout(self._command_timeout):
                return await future
        except TimeoutError as err:
            # An engine that does not answer is taken for dead (this is the keepalive: without
            # it a vanished host would look connected until TCP gives up): drop the socket so
            # that run() reconnects.
            if not ws.closed:
                await ws.close()
            raise CannotConnect(f"the engine did not answer {command} within {self._command_timeout:g} s") from err
        except (aiohttp.ClientError, ConnectionResetError, RuntimeError) as err:
            raise ConnectionClosed(f"cannot send {command}: {err}") from err
        finally:
            self._pending.pop(message_id, None)
            self._inline.pop(message_id, None)

    async def _ask[R: Model](self, result: type[R], command: str, args: Model | None = None) -> R:
        """Send a command with its arguments model and read its result with the result model."""
        answer = await self.command(command, args.to_dict() if args is not None else None)
        return _parse(result, answer, command)

    async def get_server_info(self) -> ServerInfo:
        return await self._ask(ServerInfo, "get_server_info")

    # --- ONVIF PTZ (velocities and steps from -1 to 1) ---

    async def ptz_move(
        self,
        camera_id: str,
        *,
        pan: float | None = None,
        tilt: float | None = None,
        zoom: float | None = None,
        seconds: float | None = None,
    ) -> None:
        args = PtzMoveArgs(camera_id=camera_id, pan=pan, tilt=tilt, zoom=zoom, seconds=seconds)
        await self._ask(CameraIdResult, "ptz_move", args)

    async def ptz_stop(self, camera_id: str) -> None:
        await self._ask(CameraIdResult, "ptz_stop", CameraArgs(camera_id=camera_id))

    async def ptz_zoom(self, camera_id: str, zoom: float) -> None:
        await self._ask(CameraIdResult, "ptz_zoom", PtzZoomArgs(camera_id=camera_id, zoom=zoom))

    async def ptz_goto_preset(self, camera_id: str, preset: str) -> None:
        await self._ask(PresetResult, "ptz_goto_preset", PtzGotoPresetArgs(camera_id=camera_id, preset=preset))

    async def ptz_presets(self, camera_id: str) -> list[Preset]:
        return list((await self._ask(Presets, "ptz_presets", CameraArgs(camera_id=camera_id))).presets)

    # --- cameras added at run time ---

    async def discover(self, *, address: str | None = None, seconds: float | None = None) -> list[DiscoveredDevice]:
        """ONVIF devices answering one WS-Discovery probe (multicast, or to ``address`` only)."""
        devices = await self._ask(DiscoveredDevices, "discover", DiscoverArgs(address=address, seconds=seconds))
        return list(devices.devices)

    async def add_camera(self, camera: Mapping[str, Any]) -> Camera:
        """Add a camera (as in the engine's config file); the engine connects to an ONVIF camera first."""
        return (await self._ask(AddedCamera, "add_camera", AddCameraArgs(camera=dict(camera)))).camera

    async def remove_camera(self, camera_id: str) -> None:
        """Remove a camera added at run time (its footage stays until retention deletes it)."""
        await self._ask(CameraIdResult, "remove_camera", CameraArgs(camera_id=camera_id))

    async def list_cameras(self) -> list[Camera]:
        return list((await self._ask(CameraList, "list_cameras")).cameras)

    async def get_camera(self, camera_id: str) -> Camera:
        return (await self._ask(CameraResult, "get_camera", CameraArgs(camera_id=camera_id))).camera

    async def get_stream_url(self, camera_id: str, *, substream: bool = False) -> str:
        """The camera's stream URL *with its credentials*: treat it as a secret."""
        args = GetStreamUrlArgs(camera_id=camera_id, substream=substream)
        return (await self._ask(StreamUrl, "get_stream_url", args)).url

    async def set_record_mode(self, camera_id: str, mode: RecordMode | str) -> RecordMode:
        """Change the record mode (``ValueError`` for a string that names none); the mode now in force."""
        args = SetRecordModeArgs(camera_id=camera_id, record_mode=RecordMode(mode))
        return (await self._ask(RecordModeResult, "set_record_mode", args)).record_mode

    async def set_motion_detection(self, camera_id: str, enabled: bool) -> bool:
        args = SetMotionDetectionArgs(camera_id=camera_id, enabled=enabled)
        return (await self._ask(MotionDetectionResult, "set_motion_detection", args)).enabled

    async def get_object_detection(self, camera_id: str) -> bool:
        args = CameraArgs(camera_id=camera_id)
        return (await self._ask(ObjectDetectionResult, "get_object_detection", args)).enabled

    async def set_object_detection(self, camera_id: str, enabled: bool) -> bool:
        """Turn object detection on or off (kept by the engine across restarts); the state now in force."""
        args = SetObjectDetectionArgs(camera_id=camera_id, enabled=enabled)
        return (await self._ask(ObjectDetectionResult, "set_object_detection", args)).enabled

    async def start_manual_event(self, camera_id: str, label: str | None = None) -> Event:
        args = StartManualEventArgs(camera_id=camera_id, label=label)
        return (await self._ask(EventResult, "start_manual_event", args)).event

    async def end_manual_event(self, camera_id: str) -> Event:
        return (await self._ask(EventResult, "end_manual_event", CameraArgs(camera_id=camera_id))).event

    async def list_events(
        self,
        *,
        camera_id: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        zone: str | None = None,
        kind: str | None = None,
        label: str | None = None,
        min_score: float | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> EventPage:
        """One page of events, newest first; ``label`` is a label (``person``) or a group (``vehicle``)."""
        args = ListEventsArgs(
            camera_id=camera_id,
            start_ms=start_ms,
            end_ms=end_ms,
            zone=zone,
            kind=kind,
            label=label,
            min_score=min_score,
            limit=limit,
            cursor=cursor,
        )
        return await self._ask(EventPage, "list_events", args)

    async def get_event(self, event_id: str) -> Event:
        return (await self._ask(EventResult, "get_event", GetEventArgs(event_id=event_id))).event

    async def restore_archive(
        self,
        *,
        camera_ids: list[str] | None = None,
        from_ms: int | None = None,
        to_ms: int | None = None,
        download: bool = False,
    ) -> RestoreStatus:
        """Start restoring from the engine's archive (schema version 5); the restore as it starts."""
        args = RestoreArchiveArgs(
            camera_ids=tuple(camera_ids) if camera_ids else None, from_ms=from_ms, to_ms=to_ms, download=download
        )
        return (await self._ask(RestoreArchiveResult, "restore_archive", args)).restore

    async def get_storage(self) -> Storage:
        return (await self._ask(StorageResult, "get_storage")).storage

    async def get_day_summary(self, camera_id: str, day: str, time_zone: str | None = None) -> DaySummary:
        """What was recorded on a local day (``YYYY-MM-DD`` in the IANA ``time_zone``)."""
        args = GetDaySummaryArgs(camera_id=camera_id, date=day, time_zone=time_zone)
        return (await self._ask(DaySummaryResult, "get_day_summary", args)).summary

    async def sign_path(self, path: str, expires_in: int | None = None) -> SignedPath:
        return await self._ask(SignedPath, "sign_path", SignPathArgs(path=path, expires_in=expires_in))

    async def subscribe(
        self,
        events: list[str] | None = None,
        camera_ids: list[str] | None = None,
        *,
        on_result: Callable[[Subscription], None] | None = None,
    ) -> Subscription:
        """Start the event stream; ``on_result`` runs before any event is handed on."""
        parsed: list[Subscription] = []

        def inline(result: Mapping[str, Any]) -> None:
            subscription = _parse(Subscription, result, "subscribe")
            parsed.append(subscription)
            if on_result is not None:
                on_result(subscription)

        args = SubscribeArgs(
            events=tuple(events) if events is not None else None,
            camera_ids=tuple(camera_ids) if camera_ids is not None else None,
        )
        await self.command("subscribe", args.to_dict(), inline=inline)
        return parsed[0]

    # --- keeping one connection open ---------------------------------------------------------

    async def run(
        self,
        listener: ClientListener,
        *,
        events: list[str] | None = None,
        initial_backoff: float = 0.5,
        max_backoff: float = 30.0,
    ) -> None:
        """Stay connected and subscribed until cancelled (or the token is refused).

        Uses the connection :meth:`connect` opened, if there is one. Raises
        :class:`InvalidAuth` when the engine refuses the token; everything else is handed
        to ``listener.on_disconnected`` and retried after ``initial_backoff`` seconds,
        doubling to ``max_backoff`` (with +-20 % jitter). The backoff starts over after a
        connection that got as far as subscribing.
        """
        self._stopping = False
        self._event_handler = listener.on_event
        delay = initial_backoff
        try:
            while not self._stopping:
                try:
                    info = await self.connect()
                    reader = self._ensure_reader()
                    await self.subscribe(events, on_result=partial(listener.on_connected, info))
                    delay = initial_backoff
                    try:
                        await reader
                    except asyncio.CancelledError:
                        task = asyncio.current_task()
                        if task is not None and task.cancelling():
                            raise  # run() itself is being cancelled
                        raise ConnectionClosed("the connection to the engine closed") from None
                except InvalidAuth as err:
                    await self._close()
                    listener.on_disconnected(err)
                    raise
                except (VigilError, aiohttp.ClientError, OSError) as err:
                    await self._close()
                    if self._stopping:
                        return
                    error = err if isinstance(err, VigilError) else ConnectionClosed(str(err))
                    listener.on_disconnected(error)
                    _LOGGER.debug("Reconnecting to %s in %.1f s after: %s", self.base_url, delay, error)
                    await asyncio.sleep(delay * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not crypto
                    delay = min(delay * 2, max_backoff)
        finally:
            self._event_handler = None
            await self._close()

    # --- HTTP --------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    async def _raise_for_status(self, response: aiohttp.ClientResponse) -> None:
        if response.status < 400:
            return
        code, message = f"http_{response.status}", response.reason or ""
        with contextlib.suppress(ValueError, aiohttp.ClientError, UnicodeDecodeError):
            # ValueError: not JSON, or not an error body (ProtocolError): the status says enough.
            error = ErrorBody.parse(await response.json(content_type=None)).error
            code, message = error.code, error.message
        if response.status == 401:
            raise InvalidAuth(message or "the engine refused the API token")
        raise command_error(code, message)

    async def http_get(self, path: str, params: Mapping[str, str | int] | None = None) -> bytes:
        """GET an API path (with the token in the ``Authorization`` header); the body."""
        try:
            async with self._session.get(
                self.base_url + path,
                params=params,
                headers=self._headers(),
                timeout=aiohttp.ClientTimeout(total=self._command_timeout * 3),
            ) as response:
                await self._raise_for_status(response)
                return await response.read()
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            raise CannotConnect(f"{self.base_url}{path}: {err or type(err).__name__}") from err

    async def http_stream(
        self, path: str, params: Mapping[str, str | int] | None = None, *, total_seconds: float = 600.0
    ) -> AsyncIterator[bytes]:
        """GET an API path and yield its body in chunks (clips can be large)."""
        try:
            async with self._session.get(
                self.base_url + path,
                params=params,
                headers=self._headers(),
                timeout=aiohttp.ClientTimeout(total=total_seconds, sock_read=self._command_timeout * 3),
            ) as response:
                await self._raise_for_status(response)
                async for chunk in response.content.iter_chunked(CHUNK_SIZE):
                    yield chunk
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            raise CannotConnect(f"{self.base_url}{path}: {err or type(err).__name__}") from err

    @contextlib.asynccontextmanager
    async def open_media(
        self,
        path: str,
        params: Mapping[str, str | int] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """GET an API path and hand over the open response, for passing it on as it arrives.

        ``headers`` are sent along (e.g. ``Range``). An error answer raises like
        :meth:`http_get`, except ``416`` (a range beyond the end): that is an answer to pass
        on. There is no total timeout (a slow player may take long over a large clip), only
        one for connecting and one for the engine falling silent.
        """
        try:
            response = await self._session.get(
                self.base_url + path,
                params=params,
                headers={**(headers or {}), **self._headers()},
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=self._connect_timeout, sock_read=MEDIA_READ_TIMEOUT
                ),
            )
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            raise CannotConnect(f"{self.base_url}{path}: {err or type(err).__name__}") from err
        try:
            if response.status != 416:
                await self._raise_for_status(response)
            yield response
        finally:
            # A body not read to its end cannot be reused on a kept-alive connection.
            response.close()

    async def camera_snapshot(self, camera_id: str, *, width: int | None = None) -> bytes:
        """JPEG of the camera's latest frame."""
        params = {"width": width} if width else None
        return await self.http_get(f"/api/cameras/{quote(camera_id, safe='')}/snapshot.jpg", params)

    async def camera_still(self, camera_id: str, at_ms: int, *, width: int | None = None) -> bytes:
        """JPEG of the camera's recorded footage at ``at_ms`` (``NotFoundError`` where there is none)."""
        params: dict[str, str | int] = {"at_ms": at_ms}
        if width:
            params["width"] = width
        return await self.http_get(still_path(camera_id), params)

    async def signed_live_url(self, camera_id: str, expires_in: int) -> tuple[str, int]:
        """A URL of the camera's live HLS playlist that works without the token, and when it stops working (UTC ms).

        For players that cannot send the token (FFmpeg in Home Assistant's stream component):
        the engine signs the path for ``expires_in`` seconds, and the segments its playlist
        lists carry the same signature.
        """
        signed = await self.sign_path(live_playlist_path(camera_id), expires_in)
        return self.base_url + signed.path, signed.expires_ms

    async def event_snapshot(self, event_id: str, *, thumbnail: bool = False) -> bytes:
        """JPEG snapshot (or thumbnail) of an event."""
        name = "thumbnail.jpg" if thumbnail else "snapshot.jpg"
        return await self.http_get(f"/api/events/{quote(event_id, safe='')}/{name}")

    def event_clip(self, event_id: str) -> AsyncIterator[bytes]:
        """The event's footage as one MP4 (pre- to post-capture), in chunks."""
        return self.http_stream(f"/api/events/{quote(event_id, safe='')}/clip.mp4")

    def clip(self, camera_id: str, start_ms: int, end_ms: int) -> AsyncIterator[bytes]:
        """A camera's footage between two times as one MP4, in chunks."""
        return self.http_stream(
            f"/api/cameras/{quote(camera_id, safe='')}/clip.mp4", {"start_ms": start_ms, "end_ms": end_ms}
        )
