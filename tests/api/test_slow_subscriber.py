"""A subscriber that never reads is cut off; recording and the other subscribers never wait for it."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

from tests.api.client import WsClient
from tests.api.conftest import SEGMENT_SECONDS, TOKEN, Live


def _frame(payload: dict[str, object]) -> bytes:
    """A masked client text frame."""
    data = json.dumps(payload).encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    if len(data) < 126:
        header = struct.pack(">BB", 0x81, 0x80 | len(data))
    else:
        header = struct.pack(">BBH", 0x81, 0x80 | 126, len(data))
    return header + mask + masked


def _motion_is(enabled: bool) -> Callable[[dict[str, Any]], bool]:
    return lambda data: data["motion_enabled"] is enabled


def _connect_never_reading(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /api/ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    assert response.startswith(b"HTTP/1.1 101"), response
    sock.sendall(_frame({"type": "auth", "token": TOKEN}))
    sock.sendall(_frame({"message_id": "s", "command": "subscribe"}))
    return sock


def test_a_subscriber_that_never_reads_is_cut_off_and_stalls_nothing(live: Live, ws: WsClient) -> None:
    segments_before = len(ws.events("segment"))
    slow = _connect_never_reading(live.port)
    other = live.client()
    try:
        other.result("subscribe", {"events": ["segment", "camera_settings"]})
        # The slow client asks for big answers and reads none of them (nor its events).
        today = time.strftime("%Y-%m-%d", time.gmtime())
        burst = b"".join(
            _frame({"message_id": str(n), "command": "get_day_summary", "args": {"camera_id": "front", "date": today}})
            for n in range(6000)
        )
        started = time.monotonic()
        slow.settimeout(20)
        slow.sendall(burst)
        # Meanwhile the others are served promptly.
        for enabled in (False, True) * 5:
            sent = time.monotonic()
            other.result("set_motion_detection", {"camera_id": "front", "enabled": enabled})
            other.wait_event("camera_settings", _motion_is(enabled), timeout=5)
            assert time.monotonic() - sent < 2.0
        # The server cut the slow client off: reading now finds the end of the connection.
        slow.settimeout(15)
        received = 0
        closed = False
        while time.monotonic() - started < 30:
            try:
                chunk = slow.recv(65536)
            except ConnectionResetError, TimeoutError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            received += len(chunk)
        assert closed, "the server kept the connection of a client that never reads"
        assert "cut off" in live.engine.log()
        # Recording went on: new segments kept coming, to both subscribers.
        deadline = time.monotonic() + 2 * SEGMENT_SECONDS + 5
        while len(ws.events("segment")) < segments_before + 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(ws.events("segment")) >= segments_before + 2
        other.wait_event("segment", timeout=2 * SEGMENT_SECONDS + 5)
        assert ws.closed_with is None  # the reading subscriber was never cut off
    finally:
        slow.close()
        other.close()
