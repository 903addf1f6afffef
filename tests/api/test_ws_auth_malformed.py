"""Every malformed first WebSocket message gets the documented answer: one ``unauthorized`` error, close 4001.

``docs/api/websocket.md``: if the token "is wrong or missing, or the first message is anything
else [...], the server sends one error message with code unauthorized (and message_id null)
and closes the connection with close code 4001". Before, a token holding a lone surrogate
(JSON ``"\\ud800"``) raised ``UnicodeEncodeError`` (an unauthenticated traceback, and a bare
close), and invalid UTF-8 got aiohttp's bare close 1007. A real engine (on a file source) and
its API server, in process.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import aiohttp
import pytest

from tests.api.inprocess_api import TOKEN, api_server
from tests.support.media import make_clip
from vigil_engine.protocol import CLOSE_UNAUTHORIZED, MAX_MESSAGE_BYTES

TEXT = aiohttp.WSMsgType.TEXT
BINARY = aiohttp.WSMsgType.BINARY

MALFORMED: dict[str, tuple[aiohttp.WSMsgType, bytes]] = {
    "lone high surrogate": (TEXT, b'{"type": "auth", "token": "\\ud800"}'),
    "lone low surrogate": (TEXT, b'{"type": "auth", "token": "\\udc80"}'),
    "surrogate pair halves reversed": (TEXT, b'{"type": "auth", "token": "\\udc00\\ud800"}'),
    "token with the real one and a surrogate": (TEXT, json.dumps({"type": "auth", "token": TOKEN + "\ud800"}).encode()),
    "huge token": (TEXT, json.dumps({"type": "auth", "token": "x" * (MAX_MESSAGE_BYTES - 100)}).encode()),
    "number token": (TEXT, b'{"type": "auth", "token": 12345678901234567890}'),
    "null token": (TEXT, b'{"type": "auth", "token": null}'),
    "list token": (TEXT, json.dumps({"type": "auth", "token": [TOKEN]}).encode()),
    "nested object token": (TEXT, json.dumps({"type": "auth", "token": {"token": TOKEN, "a": [{"b": {}}]}}).encode()),
    "no token": (TEXT, b'{"type": "auth"}'),
    "right token, wrong type": (TEXT, json.dumps({"type": "hello", "token": TOKEN}).encode()),
    "not an object": (TEXT, json.dumps(["auth", TOKEN]).encode()),
    "nested too deep to parse": (TEXT, b"[" * 50_000),
    "not JSON": (TEXT, b"auth " + TOKEN.encode()),
    "empty text": (TEXT, b""),
    "invalid UTF-8": (TEXT, b'{"type": "auth", "token": "\xff\xfe"}'),
    "truncated UTF-8": (TEXT, b'{"type": "auth", "token": "\xe2\x82'),
    "binary frame": (BINARY, json.dumps({"type": "auth", "token": TOKEN}).encode()),
}


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.mkv", 3, fps=15, keyframe_seconds=1)


async def _first_message(port: int, kind: aiohttp.WSMsgType, payload: bytes) -> tuple[list[object], int | None]:
    """What the server sends after ``payload`` as the first frame, and the close code."""
    received: list[object] = []
    async with aiohttp.ClientSession() as session, session.ws_connect(f"ws://127.0.0.1:{port}/api/ws") as ws:
        await ws.send_frame(payload, kind)
        while True:
            message = await ws.receive(timeout=10)
            if message.type == TEXT:
                received.append(json.loads(message.data))
                continue
            break
        return received, ws.close_code


def _assert_rejected(received: list[object], close_code: int | None) -> None:
    assert close_code == CLOSE_UNAUTHORIZED
    assert len(received) == 1, received
    error = received[0]
    assert isinstance(error, dict)
    assert error["type"] == "error"
    assert error["message_id"] is None
    assert error["error"]["code"] == "unauthorized"
    assert TOKEN not in json.dumps(error)


def _assert_quiet(caplog: pytest.LogCaptureFixture) -> None:
    """No traceback and nothing above INFO: a stranger's mistakes are not the engine's errors.

    (asyncio's DEBUG records, with tracebacks in its debug mode, may come from the client side.)
    """
    for record in caplog.records:
        if record.name.startswith("vigil_engine.ingest"):
            continue  # the file source ending
        assert record.levelno <= logging.INFO, record.getMessage()
        if record.name.startswith(("vigil_engine", "aiohttp")):
            assert record.exc_info is None, record.getMessage()
    assert TOKEN not in caplog.text


@pytest.mark.parametrize(("kind", "payload"), MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_auth_is_unauthorized_4001(
    tmp_path: Path, clip: Path, caplog: pytest.LogCaptureFixture, kind: aiohttp.WSMsgType, payload: bytes
) -> None:
    async with api_server(tmp_path, clip) as server:
        with caplog.at_level(logging.DEBUG):
            received, close_code = await _first_message(server.port, kind, payload)
        _assert_rejected(received, close_code)
        _assert_quiet(caplog)


async def test_every_malformed_auth_in_a_row_logs_one_line_and_the_token_still_works(
    tmp_path: Path, clip: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with api_server(tmp_path, clip) as server:
        with caplog.at_level(logging.DEBUG):
            for _round in range(5):
                for kind, payload in MALFORMED.values():
                    _assert_rejected(*await _first_message(server.port, kind, payload))
        _assert_quiet(caplog)
        rejections = [r for r in caplog.records if "not authenticated" in r.getMessage()]
        assert len(rejections) <= 1, [r.getMessage() for r in rejections]
        # Home Assistant, with the token, is served as before.
        async with aiohttp.ClientSession() as session, session.ws_connect(f"ws://127.0.0.1:{server.port}/api/ws") as ws:
            await ws.send_json({"type": "auth", "token": TOKEN})
            assert (await ws.receive_json(timeout=10))["type"] == "server_info"
            await ws.send_json({"message_id": "1", "command": "get_server_info"})
            assert (await ws.receive_json(timeout=10))["type"] == "result"
            # After authenticating, text that is not UTF-8 is a protocol error (close 4003), as binary is.
            await ws.send_frame(b"\xff\xfe", TEXT)
            while (await ws.receive(timeout=10)).type not in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                pass
            assert ws.close_code == 4003


async def test_oversized_first_frame_closes_with_1009(
    tmp_path: Path, clip: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with api_server(tmp_path, clip) as server:
        with caplog.at_level(logging.DEBUG):
            payload = json.dumps({"type": "auth", "token": "x" * MAX_MESSAGE_BYTES}).encode()
            received, close_code = await _first_message(server.port, TEXT, payload)
        assert close_code == 1009  # documented: a frame larger than 64 KiB
        assert received == []
        _assert_quiet(caplog)
