"""The engine client on its own: commands and media against the real engine, protocol faults
against scripted stand-ins (``fake_engine``), since the real engine never misbehaves on cue."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from aiohttp import WSCloseCode, web
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from custom_components.vigil.client import (
    Camera,
    CannotConnect,
    ConnectionClosed,
    EngineEvent,
    Event,
    EventStarted,
    InvalidAuth,
    InvalidMessage,
    InvalidServer,
    NotFoundError,
    ProtocolError,
    RecordMode,
    SchemaVersionMismatch,
    ServerInfo,
    Subscription,
    UnknownEvent,
    VigilClient,
    VigilError,
    normalize_url,
    parse_event,
)
from custom_components.vigil.client.errors import CommandError
from tests.components.vigil.conftest import FRONT, EngineRig, free_port
from tests.components.vigil.servers import fake_engine, serve, server_info


class Recorder:
    """A ClientListener that keeps what it is told."""

    def __init__(self) -> None:
        self.connected: list[Subscription] = []
        self.events: list[EngineEvent] = []
        self.errors: list[VigilError] = []
        self.changed = asyncio.Event()

    def on_connected(self, info: ServerInfo, subscription: Subscription) -> None:
        self.connected.append(subscription)
        self.changed.set()

    def on_event(self, event: EngineEvent) -> None:
        self.events.append(event)
        self.changed.set()

    def on_disconnected(self, error: VigilError) -> None:
        self.errors.append(error)
        self.changed.set()

    async def wait(self, predicate: Any, seconds: float = 10) -> None:
        async with asyncio.timeout(seconds):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()


def test_normalize_url() -> None:
    assert normalize_url("192.168.1.5") == "http://192.168.1.5:8750"
    assert normalize_url(" 192.168.1.5:9000/ ") == "http://192.168.1.5:9000"
    assert normalize_url("ws://host:8750/api/ws") == "http://host:8750"
    assert normalize_url("wss://host/api/ws") == "https://host"
    assert normalize_url("https://user:pw@host:8443/vigil/") == "https://host:8443/vigil"
    assert normalize_url("http://[::1]:8750") == "http://[::1]:8750"
    for bad in ("http://", "ftp://host", "http://host:99999"):
        with pytest.raises(ValueError, match="not an engine URL"):
            normalize_url(bad)


async def test_commands_and_media(hass: HomeAssistant, engine: EngineRig) -> None:
    client = VigilClient(async_get_clientsession(hass), engine.url, engine.token)
    assert client.ws_url == f"ws://127.0.0.1:{engine.port}/api/ws"
    with pytest.raises(ConnectionClosed):
        await client.list_cameras()  # not connected yet
    info = await client.connect()
    assert await client.connect() is info  # already connected: the same answer
    try:
        assert (await client.get_server_info()).instance_id == info.instance_id
        cameras = await client.list_cameras()
        assert [camera.camera_id for camera in cameras] == [FRONT, "yard"]
        front = await client.get_camera(FRONT)
        assert front.online
        assert front.record_mode is RecordMode.CONTINUOUS
        assert front.zones == ("path",)
        with pytest.raises(NotFoundError) as missing:
            await client.get_camera("nope")
        assert missing.value.code == "camera_not_found"
        with pytest.raises(CommandError) as invalid:
            await client.get_camera("Not A Slug!")
        assert invalid.value.code == "invalid_argument"
        assert await client.get_stream_url(FRONT) == engine.camera.url("h264")
        assert await client.set_motion_detection(FRONT, True) is True
        assert await client.set_record_mode(FRONT, "continuous") is RecordMode.CONTINUOUS
        storage = await client.get_storage()
        assert storage.bytes_used > 0
        signed = await client.sign_path("/api/storage", 60)
        assert "sig=" in signed.path
        page = await client.list_events(camera_id=FRONT, limit=1)
        if page.events:
            event = await client.get_event(page.events[0].id)
            assert event.id == page.events[0].id
            if event.has_snapshot:
                thumbnail = await client.event_snapshot(event.id, thumbnail=True)
                assert thumbnail.startswith(b"\xff\xd8\xff")
        with pytest.raises(NotFoundError):
            await client.get_event("0" * 32)
        assert (await client.camera_snapshot(FRONT)).startswith(b"\xff\xd8\xff")
        with pytest.raises(NotFoundError) as no_picture:
            await client.camera_snapshot("yard")  # disabled: no picture
        assert no_picture.value.code == "no_snapshot"
    finally:
        await client.disconnect()
    assert not client.connected


async def test_http_errors(hass: HomeAssistant, engine: EngineRig) -> None:
    session = async_get_clientsession(hass)
    with pytest.raises(InvalidAuth):
        await VigilClient(session, engine.url, "wrong-token-0000000000").camera_snapshot(FRONT)
    with pytest.raises(CannotConnect):
        await VigilClient(session, f"http://127.0.0.1:{free_port()}", engine.token).camera_snapshot(FRONT)
    with pytest.raises(CannotConnect):
        async for _chunk in VigilClient(session, f"http://127.0.0.1:{free_port()}", engine.token).event_clip("0" * 32):
            pass
    client = VigilClient(session, engine.url, engine.token)
    with pytest.raises(NotFoundError):
        async for _chunk in client.event_clip("0" * 32):
            pass


async def _handshake_error(hass: HomeAssistant, handler: Any, **kwargs: Any) -> VigilError:
    async with fake_engine(handler) as url:
        client = VigilClient(async_get_clientsession(hass), url, "t" * 20, **kwargs)
        with pytest.raises(VigilError) as err:
            await client.connect()
        assert not client.connected
    return err.value


async def test_handshake_faults(hass: HomeAssistant) -> None:
    """Fault injection: stand-ins that answer the authentication in every wrong way."""

    async def send(ws: web.WebSocketResponse, payload: Any) -> None:
        await (ws.send_str(payload) if isinstance(payload, str) else ws.send_json(payload))

    cases: list[tuple[Any, type[VigilError]]] = [
        ("not json", InvalidServer),
        ("[1, 2]", InvalidServer),
        ({"type": "error", "message_id": None, "error": {"code": "unauthorized", "message": "no"}}, InvalidAuth),
        ({"type": "error", "message_id": None, "error": {"code": "internal_error", "message": "x"}}, InvalidServer),
        ({"type": "hello"}, InvalidServer),
        ({**server_info(), "schema_version": "one"}, InvalidMessage),
    ]
    for payload, expected in cases:

        async def handler(ws: web.WebSocketResponse, auth: dict[str, Any], payload: Any = payload) -> None:
            assert auth == {"type": "auth", "token": "t" * 20}
            await send(ws, payload)
            await ws.receive()

        assert isinstance(await _handshake_error(hass, handler), expected), payload

    async def binary(ws: web.WebSocketResponse, auth: dict[str, Any]) -> None:
        await ws.send_bytes(b"\x00")
        await ws.receive()

    assert isinstance(await _handshake_error(hass, binary), InvalidServer)

    async def close_4001(ws: web.WebSocketResponse, auth: dict[str, Any]) -> None:
        await ws.close(code=4001)

    assert isinstance(await _handshake_error(hass, close_4001), InvalidAuth)

    async def close_normal(ws: web.WebSocketResponse, auth: dict[str, Any]) -> None:
        await ws.close(code=WSCloseCode.GOING_AWAY)

    assert isinstance(await _handshake_error(hass, close_normal), CannotConnect)

    async def silent(ws: web.WebSocketResponse, auth: dict[str, Any]) -> None:
        await asyncio.sleep(2)

    assert isinstance(await _handshake_error(hass, silent, connect_timeout=0.3), CannotConnect)

    for schema, minimum, update_engine in ((2, 2, False), (0, 0, True)):

        async def foreign(ws: web.WebSocketResponse, auth: dict[str, Any], s: int = schema, m: int = minimum) -> None:
            await ws.send_json(server_info(schema_version=s, min_schema_version=m))
            await ws.receive()

        error = await _handshake_error(hass, foreign)
        assert isinstance(error, SchemaVersionMismatch)
        assert error.update_engine is update_engine


async def test_proxy_errors(hass: HomeAssistant) -> None:
    """A reverse proxy in front of a stopped engine answers 502/503; a wrong path 404."""

    async def unavailable(request: web.Request) -> web.Response:
        return web.Response(status=503)

    app = web.Application()
    app.router.add_get("/api/ws", unavailable)
    async with serve(app) as url:
        with pytest.raises(CannotConnect, match="HTTP 503"):
            await VigilClient(async_get_clientsession(hass), url, "t" * 20).connect()


async def test_messages_after_the_handshake(hass: HomeAssistant) -> None:
    """Fault injection: a stand-in engine that sends what a client must survive, then drops."""
    commands: list[dict[str, Any]] = []

    async def handler(ws: web.WebSocketResponse, auth: dict[str, Any]) -> None:
        await ws.send_json(server_info())
        async for msg in ws:
            command = json.loads(msg.data)
            commands.append(command)
            message_id = command["message_id"]
            if command["command"] == "subscribe":
                await ws.send_str("garbage")  # ignored
                await ws.send_json([1])  # ignored
                await ws.send_json(
                    {
                        "type": "result",
                        "message_id": message_id,
                        "result": {
                            "events": [],
                            "camera_ids": None,
                            "cameras": [],
                            "storage": {},
                        },
                    }
                )
                await ws.send_json({"type": "event", "event": "motion", "data": {"camera_id": FRONT}})  # malformed
                await ws.send_json({"type": "event", "event": "future_thing", "data": {"x": 1}})
                await ws.send_json({"type": "event", "event": "camera_online", "data": {"camera_id": FRONT}})
                await ws.send_json({"type": "error", "message_id": None, "error": {"code": "invalid_message"}})
                await ws.send_json({"type": "result", "message_id": "999", "result": {}})
            elif command["command"] == "list_cameras":
                await ws.send_json({"type": "result", "message_id": message_id, "result": "not an object"})
            elif command["command"] == "get_storage":
                pass  # never answered
            elif command["command"] == "unsubscribe":
                await ws.close(code=4002)  # "you fell behind"
                return

    async with fake_engine(handler) as url:
        client = VigilClient(async_get_clientsession(hass), url, "t" * 20, command_timeout=0.5)
        recorder = Recorder()
        task = asyncio.create_task(client.run(recorder, initial_backoff=0.05, max_backoff=0.1))
        try:
            await recorder.wait(lambda: recorder.connected and len(recorder.events) >= 2)
            assert isinstance(recorder.events[0], UnknownEvent)
            assert recorder.events[0].name == "future_thing"
            assert recorder.events[1] == parse_event("camera_online", {"camera_id": FRONT})
            with pytest.raises(InvalidMessage):
                await client.list_cameras()
            # No answer: the engine is taken for dead, the socket dropped, and run() reconnects.
            with pytest.raises(CannotConnect, match="did not answer"):
                await client.get_storage()
            await recorder.wait(lambda: len(recorder.connected) >= 2)
            assert isinstance(recorder.errors[0], ConnectionClosed)
            # Close code 4002: reconnect too.
            with pytest.raises(ConnectionClosed):
                await client.command("unsubscribe")
            await recorder.wait(lambda: len(recorder.connected) >= 3)
            assert "fell too far behind" in str(recorder.errors[1])
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    assert not client.connected


async def test_run_ends_when_the_token_is_refused(hass: HomeAssistant) -> None:
    """Fault injection: the engine accepts the first connection, then refuses the token."""
    connections = 0

    async def handler(ws: web.WebSocketResponse, auth: dict[str, Any]) -> None:
        nonlocal connections
        connections += 1
        if connections > 1:
            await ws.close(code=4001)
            return
        await ws.send_json(server_info())
        msg = await ws.receive()
        command = json.loads(msg.data)
        await ws.send_json(
            {
                "type": "result",
                "message_id": command["message_id"],
                "result": {
                    "events": [],
                    "camera_ids": None,
                    "cameras": [],
                    "storage": {},
                },
            }
        )
        await ws.close(code=1001)  # the engine is stopping

    async with fake_engine(handler) as url:
        client = VigilClient(async_get_clientsession(hass), url, "t" * 20)
        recorder = Recorder()
        with pytest.raises(InvalidAuth):
            await client.run(recorder, initial_backoff=0.01)
    assert len(recorder.connected) == 1
    assert "the engine is stopping" in str(recorder.errors[0])
    assert isinstance(recorder.errors[-1], InvalidAuth)


async def test_a_listener_bug_does_not_end_the_connection(hass: HomeAssistant, engine: EngineRig) -> None:
    class Broken(Recorder):
        def on_connected(self, info: ServerInfo, subscription: Subscription) -> None:
            super().on_connected(info, subscription)
            if len(self.connected) == 1:
                raise RuntimeError("listener bug")

        def on_event(self, event: EngineEvent) -> None:
            super().on_event(event)
            raise RuntimeError("listener bug")

    client = VigilClient(async_get_clientsession(hass), engine.url, engine.token)
    recorder = Broken()
    task = asyncio.create_task(client.run(recorder, initial_backoff=0.01))
    try:
        # The broken snapshot handler fails that subscription: run() tries again.
        await recorder.wait(lambda: len(recorder.connected) >= 2 and recorder.events, seconds=20)
        assert isinstance(recorder.errors[0], InvalidMessage)
        assert client.connected
    finally:
        await client.disconnect()
        await task


def test_models() -> None:
    """The protocol's rules as the client reads answers (tests/protocol has the rest)."""
    camera = Camera.parse({"camera_id": "a", "name": "A", "record_mode": "events", "unknown": 1})
    assert camera.record_mode is RecordMode.EVENTS
    assert not camera.online
    for data in (
        {"name": "A", "record_mode": "off"},
        {"camera_id": 1, "name": "A", "record_mode": "off"},
        {"camera_id": "a", "name": "A", "record_mode": "sometimes"},
        {"camera_id": "a", "name": "A", "record_mode": "off", "online": "yes"},
        {"camera_id": "a", "name": "A", "record_mode": "off", "bitrate": 1.5},
        {"camera_id": "a", "name": "A", "record_mode": "off", "width": "wide"},
        {"camera_id": "a", "name": "A", "record_mode": "off", "fps": "fast"},
        {"camera_id": "a", "name": "A", "record_mode": "off", "zones": "path"},
        {"camera_id": "a", "name": "A", "record_mode": "off", "last_error": 5},
    ):
        with pytest.raises(ProtocolError):
            Camera.parse(data)
    event = Event.parse({"id": "e" * 32, "camera_id": "a", "kind": "motion", "start_ms": 1_700_000_000_000})
    assert event.running
    assert event.end is None
    assert event.start.year == 2023
    with pytest.raises(ProtocolError):
        ServerInfo.parse({"server_version": "1", "schema_version": 1, "instance_id": "x", "cameras": {}})
    with pytest.raises(ProtocolError):
        Subscription.parse({"events": [], "cameras": [], "storage": []})
    with pytest.raises(InvalidMessage):
        parse_event("motion", {"camera_id": "a", "zone": None, "active": True, "score": "x"})
    motion = parse_event("motion", {"camera_id": "a", "zone": None, "active": True, "score": 1})
    assert motion == parse_event("motion", {"camera_id": "a", "zone": None, "active": True, "score": 1.0})
    warning = parse_event("storage_warning", {"code": "storage_full", "message": None})
    assert warning == parse_event("storage_warning", {"code": "storage_full", "message": "", "active": True})


async def test_session_errors_while_sending(hass: HomeAssistant, engine: EngineRig) -> None:
    """Fault injection: the session is closed under a connected client."""
    session = aiohttp.ClientSession()
    client = VigilClient(session, engine.url, engine.token)
    await client.connect()
    await session.close()
    with pytest.raises(ConnectionClosed):
        await client.list_cameras()
    await client.disconnect()


async def test_a_newer_engine_s_additions_are_ignored(hass: HomeAssistant) -> None:
    """Fault injection (a stand-in for an engine of a later schema version): fields, objects and events this
    client does not know are skipped; what it knows is read as ever."""
    newer = {"added_in_schema_9": {"nested": [1, 2]}}
    camera = {"camera_id": FRONT, "name": "Front", "record_mode": "events", "detector": {"model": "x"}, **newer}
    event = {"id": "e" * 32, "camera_id": FRONT, "kind": "object", "start_ms": 1, "faces": [{"name": "Alice"}]}

    async def handler(ws: web.WebSocketResponse, auth: dict[str, Any]) -> None:
        await ws.send_json({**server_info(schema_version=9), "cameras": [camera], **newer})
        async for msg in ws:
            command = json.loads(msg.data)
            answer: dict[str, Any] = {"type": "result", "message_id": command["message_id"], **newer}
            if command["command"] == "subscribe":
                storage = {"bytes_used": 5, "warnings": [{"code": "disk_on_fire", "message": "", **newer}], **newer}
                result = {"events": [], "camera_ids": None, "cameras": [camera], "storage": storage, **newer}
                await ws.send_json({**answer, "result": result})
                await ws.send_json(
                    {"type": "event", "event": "event_started", "data": {"camera_id": FRONT, "event": event}}
                )
            elif command["command"] == "get_event":
                await ws.send_json({**answer, "result": {"event": event, **newer}})

    async with fake_engine(handler) as url:
        client = VigilClient(async_get_clientsession(hass), url, "t" * 20)
        recorder = Recorder()
        task = asyncio.create_task(client.run(recorder))
        try:
            await recorder.wait(lambda: recorder.connected and recorder.events)
            (subscription,) = recorder.connected
            assert subscription.cameras == (Camera(camera_id=FRONT, name="Front", record_mode=RecordMode.EVENTS),)
            assert subscription.storage.bytes_used == 5
            assert subscription.storage.warnings[0].code == "disk_on_fire"
            started = recorder.events[0]
            assert isinstance(started, EventStarted)
            assert started.event == Event(id="e" * 32, camera_id=FRONT, kind="object", start_ms=1)
            assert await client.get_event("e" * 32) == started.event
            assert client.server_info is not None
            assert client.server_info.schema_version == 9
        finally:
            await client.disconnect()
            await task


async def test_an_error_that_cannot_be_read_is_unknown(hass: HomeAssistant) -> None:
    """Fault injection: an error message whose error is no object still fails its command, as ``unknown``."""

    async def handler(ws: web.WebSocketResponse, auth: dict[str, Any]) -> None:
        await ws.send_json(server_info())
        async for msg in ws:
            command = json.loads(msg.data)
            await ws.send_json({"type": "error", "message_id": command["message_id"], "error": ["not", "an object"]})

    async with fake_engine(handler) as url:
        client = VigilClient(async_get_clientsession(hass), url, "t" * 20)
        await client.connect()
        try:
            with pytest.raises(CommandError) as failed:
                await client.get_storage()
            assert (failed.value.code, failed.value.message) == ("unknown", "")
        finally:
            await client.disconnect()
