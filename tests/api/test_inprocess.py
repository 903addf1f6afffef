"""The API server in-process next to a real engine on a file source: storage warnings, overflow, port, token."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.api.client import fields_errors
from tests.support.media import make_clip
from vigil_engine.api import server as api_server
from vigil_engine.api import websocket as api_websocket
from vigil_engine.api.auth import TOKEN_FILE, load_or_create_token
from vigil_engine.api.server import ApiServer
from vigil_engine.config import parse_config
from vigil_engine.engine import Engine
from vigil_engine.protocol import CLOSE_TOO_SLOW, EVENTS


def _config(tmp_path: Path, clip: Path, **extra: Any) -> Any:
    return parse_config(
        {
            "storage_path": str(tmp_path / "storage"),
            "segment_seconds": 2,
            "retention_interval": 0.5,
            "api_host": "127.0.0.1",
            "api_port": 0,
            "cameras": [{"id": "file", "url": f"file://{clip}", "realtime": False, "loop": False}],
            **extra,
        }
    )


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.mkv", 6, fps=15, keyframe_seconds=1)


@contextlib.asynccontextmanager
async def _session(server: ApiServer, token: str) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"ws://127.0.0.1:{server.port}/api/ws") as ws,
    ):
        await ws.send_json({"type": "auth", "token": token})
        assert (await ws.receive_json(timeout=10))["type"] == "server_info"
        yield ws


async def test_storage_warning_reaches_subscribers(tmp_path: Path, clip: Path) -> None:
    # Keeping 100 % of the volume free cannot be met: retention warns that storage is full.
    engine = Engine(_config(tmp_path, clip, min_free="100%"))
    await engine.start()
    server = ApiServer(engine)
    try:
        await server.start()
        assert server.ctx is not None
        async with _session(server, server.ctx.token) as ws:
            await ws.send_json({"message_id": "1", "command": "subscribe", "args": {"events": ["storage_warning"]}})
            while True:
                message = await ws.receive_json(timeout=30)
                if message["type"] == "event":
                    break
            assert message["event"] == "storage_warning"
            assert fields_errors(message["data"], EVENTS["storage_warning"]) == []
            assert message["data"]["active"] is True
            assert message["data"]["code"] in ("storage_full", "retention_not_met")
    finally:
        await server.stop()
        await engine.stop()


async def test_bus_overflow_closes_with_4002(tmp_path: Path, clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_websocket, "SUBSCRIBER_QUEUE", 5)
    engine = Engine(_config(tmp_path, clip))
    await engine.start()
    server = ApiServer(engine)
    try:
        await server.start()
        assert server.ctx is not None
        async with _session(server, server.ctx.token) as ws:
            await ws.send_json({"message_id": "1", "command": "subscribe"})
            while (await ws.receive_json(timeout=10)).get("message_id") != "1":
                pass
            for number in range(50):  # on the loop: delivered at once, faster than anyone reads
                engine.bus.publish("segment", {"camera_id": "file", "start_ms": number, "end_ms": number + 1})
            while True:
                message = await ws.receive(timeout=10)
                if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                    break
            assert ws.close_code == CLOSE_TOO_SLOW
    finally:
        await server.stop()
        await engine.stop()


async def test_busy_port_does_not_stop_the_engine(
    tmp_path: Path, clip: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(api_server, "BIND_RETRY_S", 0.2)
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    engine = Engine(_config(tmp_path, clip, api_port=port))
    await engine.start()
    server = ApiServer(engine)
    try:
        with caplog.at_level(logging.ERROR):
            await server.start()
        assert not server.listening.is_set()
        assert "API cannot listen" in caplog.text
        blocker.close()
        await asyncio.wait_for(server.listening.wait(), 10)
        assert server.port == port
    finally:
        blocker.close()
        await server.stop()
        await engine.stop()


def test_token_is_generated_once_with_0600_and_never_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        token = load_or_create_token(tmp_path, None)
    path = tmp_path / TOKEN_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(token) >= 32
    assert path.read_text().strip() == token
    assert token not in caplog.text
    assert str(path) in caplog.text
    assert load_or_create_token(tmp_path, None) == token
    path.chmod(0o644)
    assert load_or_create_token(tmp_path, None) == token
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_token(tmp_path, "configured-token-0123456789") == "configured-token-0123456789"
    path.write_text("short\n")
    assert load_or_create_token(tmp_path, None) != "short"


async def test_engine_stop_closes_websockets_with_1001(tmp_path: Path, clip: Path) -> None:
    engine = Engine(_config(tmp_path, clip))
    await engine.start()
    server = ApiServer(engine)
    try:
        await server.start()
        assert server.ctx is not None
        async with _session(server, server.ctx.token) as ws:
            await ws.send_json({"message_id": "1", "command": "subscribe"})
            while (await ws.receive_json(timeout=10)).get("message_id") != "1":
                pass
            stopping = asyncio.create_task(server.stop())
            while (await ws.receive(timeout=10)).type not in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                pass
            assert ws.close_code == 1001
            await stopping
    finally:
        await server.stop()
        await engine.stop()
