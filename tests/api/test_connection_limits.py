"""The API's connection limits, one at a time, over real sockets against the real server in process.

Request-head deadline, keep-alive only for authenticated connections, caps per address and in
total with room made for newcomers from other addresses, refusal near the open-file limit,
accept errors (EMFILE, caused for real by filling the descriptor table), malformed requests,
and a bound on what strangers can make the engine log. The engine behind the API records
nothing here (``inprocess_api``), except for the slow download, so that descriptor games touch
no recording thread; ``test_abuse`` runs the whole flood against a recording engine process.
Timeouts and caps are shortened with ``monkeypatch`` so that the tests run in seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.api.inprocess_api import TOKEN, api_server
from tests.support.media import make_clip
from vigil_engine.api import admission, fdbudget, guarded_handler, listener, lograte
from vigil_engine.api.server import ApiServer

HEAD_TIMEOUT_S = 0.6
AUTH = f"Authorization: Bearer {TOKEN}\r\n"


@pytest.fixture(autouse=True)
def _short_head_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guarded_handler, "HEAD_TIMEOUT_S", HEAD_TIMEOUT_S)


@pytest.fixture(autouse=True)
def _fresh_log_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with empty rate-limit windows (they are per process)."""
    monkeypatch.setattr(admission, "_refused_log", lograte.RateLimitedLog(admission._LOGGER, logging.WARNING))
    monkeypatch.setattr(admission, "_dropped_log", lograte.RateLimitedLog(admission._LOGGER, logging.INFO))
    monkeypatch.setattr(
        guarded_handler, "_bad_request_log", lograte.RateLimitedLog(guarded_handler._LOGGER, logging.DEBUG)
    )
    monkeypatch.setattr(
        guarded_handler, "_slow_head_log", lograte.RateLimitedLog(guarded_handler._LOGGER, logging.DEBUG)
    )
    monkeypatch.setattr(listener, "_accept_error_log", lograte.RateLimitedLog(listener._LOGGER, logging.ERROR))


class Conn:
    """A raw TCP connection to the API from a chosen loopback address."""

    def __init__(self, reader: asyncio.StreamReader | None, writer: asyncio.StreamWriter | None) -> None:
        self._reader = reader
        self._writer = writer
        self.opened = time.monotonic()

    @classmethod
    async def open(cls, port: int, source: str = "127.0.0.1") -> Conn:
        """A connection; one the server resets before the client saw it made is a closed ``Conn``."""
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
        except ConnectionResetError:
            return cls(None, None)
        return cls(reader, writer)

    @property
    def reader(self) -> asyncio.StreamReader:
        assert self._reader is not None, "the server refused the connection"
        return self._reader

    @property
    def writer(self) -> asyncio.StreamWriter:
        assert self._writer is not None, "the server refused the connection"
        return self._writer

    async def closed_within(self, seconds: float) -> float | None:
        """Seconds since opening when the server closed the connection, or None if it did not in time."""
        if self._reader is None:
            return 0.0
        try:
            async with asyncio.timeout(seconds):
                while await self.reader.read(65536):
                    pass
        except TimeoutError:
            return None
        except ConnectionResetError:
            pass
        return time.monotonic() - self.opened

    async def request(self, path: str, headers: str = "") -> tuple[int, dict[str, str], bytes]:
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: vigil\r\n{headers}\r\n".encode())
        head = (await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 10)).decode()
        status = int(head.split()[1])
        fields = dict(line.split(": ", 1) for line in head.split("\r\n")[1:] if ": " in line)
        fields = {name.lower(): value for name, value in fields.items()}
        body = await asyncio.wait_for(self.reader.readexactly(int(fields.get("content-length", "0"))), 10)
        return status, fields, body

    def close(self) -> None:
        if self._writer is not None:
            self._writer.transport.abort()


@contextlib.asynccontextmanager
async def connections() -> AsyncIterator[list[Conn]]:
    opened: list[Conn] = []
    try:
        yield opened
    finally:
        for conn in opened:
            conn.close()


async def _held(conns: list[Conn], seconds: float = 0.3) -> list[bool]:
    """Which connections the server still holds after ``seconds``."""
    closed = await asyncio.gather(*(c.closed_within(seconds) for c in conns))
    return [when is None for when in closed]


# --- deadlines and keep-alive ------------------------------------------------------------------


async def test_heads_not_finished_in_time_are_dropped(tmp_path: Path) -> None:
    async with api_server(tmp_path) as server, connections() as conns:
        idle, half, drip = [await Conn.open(server.port) for _ in range(3)]
        conns += [idle, half, drip]
        half.writer.write(b"GET /api/info HTTP/1.1\r\nHost: vigil\r\n")
        drip.writer.write(b"GET /api/info HTTP/1.1\r\n")

        async def dripping() -> None:
            for n in range(40):
                await asyncio.sleep(HEAD_TIMEOUT_S / 4)
                with contextlib.suppress(ConnectionError):
                    drip.writer.write(f"X-Drip-{n}: {n}\r\n".encode())

        dripper = asyncio.create_task(dripping())
        try:
            closed = await asyncio.gather(*(c.closed_within(HEAD_TIMEOUT_S + 3) for c in conns))
        finally:
            dripper.cancel()
        for when in closed:
            assert when is not None, "a connection without a complete request head was kept"
            assert HEAD_TIMEOUT_S * 0.9 <= when < HEAD_TIMEOUT_S + 2


async def test_strangers_get_one_request_per_connection_and_token_holders_keep_alive(tmp_path: Path) -> None:
    async with api_server(tmp_path) as server, connections() as conns:
        stranger = await Conn.open(server.port)
        conns.append(stranger)
        status, fields, body = await stranger.request("/api/health")
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        assert fields["connection"] == "close"
        assert await stranger.closed_within(2) is not None

        refused = await Conn.open(server.port)
        conns.append(refused)
        status, fields, _body = await refused.request("/api/info")
        assert (status, fields["connection"]) == (401, "close")

        member = await Conn.open(server.port)
        conns.append(member)
        for _ in range(2):
            status, fields, _body = await member.request("/api/openapi.json", AUTH)
            assert status == 200
            assert fields.get("connection", "keep-alive") != "close"
        # Idle well past the head deadline: an authenticated connection stays (keep-alive: 60 s).
        assert await member.closed_within(HEAD_TIMEOUT_S * 3) is None
        assert (await member.request("/api/openapi.json", AUTH))[0] == 200


async def test_an_idle_authenticated_connection_is_closed_after_the_keepalive_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(guarded_handler, "KEEPALIVE_TIMEOUT_S", 1.5)
    async with api_server(tmp_path) as server, connections() as conns:
        member = await Conn.open(server.port)
        conns.append(member)
        assert (await member.request("/api/openapi.json", AUTH))[0] == 200
        asked = time.monotonic()
        assert await member.closed_within(10) is not None
        assert 1.5 * 0.9 <= time.monotonic() - asked < 1.5 + 5


async def test_a_slow_download_and_an_idle_websocket_outlive_the_head_deadline(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "clip.mkv", 6, fps=15, keyframe_seconds=1)
    async with api_server(tmp_path / "engine", clip) as server:
        index = server.engine.index
        assert index is not None
        for _ in range(150):  # the file is recorded faster than real time: a few seconds
            if segments := index.segments("file", 0, 2**62):
                break
            await asyncio.sleep(0.2)
        start, end = segments[0].start_ms, segments[-1].end_ms
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
        download = Conn(reader, writer)
        try:
            path = f"/api/cameras/file/clip.mp4?start_ms={start}&end_ms={end}"
            writer.write(f"GET {path} HTTP/1.1\r\nHost: vigil\r\n{AUTH}\r\n".encode())
            head = (await reader.readuntil(b"\r\n\r\n")).decode().lower()
            size = int(head.split("content-length: ")[1].split("\r\n")[0])
            began, received = time.monotonic(), 0
            while received < size:  # a reader slower than the deadline, for longer than it
                received += len(await asyncio.wait_for(reader.read(min(1024, size - received)), 10))
                if time.monotonic() - began < HEAD_TIMEOUT_S * 3:
                    await asyncio.sleep(0.05)
            assert received == size
            assert time.monotonic() - began >= HEAD_TIMEOUT_S * 3
        finally:
            download.close()

        async with aiohttp.ClientSession() as session, session.ws_connect(f"ws://127.0.0.1:{server.port}/api/ws") as ws:
            await ws.send_json({"type": "auth", "token": TOKEN})
            assert (await ws.receive_json(timeout=10))["type"] == "server_info"
            await asyncio.sleep(HEAD_TIMEOUT_S * 4)
            await ws.send_json({"message_id": "1", "command": "get_server_info"})
            assert (await ws.receive_json(timeout=10))["type"] == "result"


# --- caps ----------------------------------------------------------------------------------------


async def test_unauthenticated_connections_from_one_address_are_capped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(guarded_handler, "HEAD_TIMEOUT_S", 30.0)
    monkeypatch.setattr(admission, "MAX_UNTRUSTED_PER_ADDRESS", 4)
    async with api_server(tmp_path) as server, connections() as conns:
        conns += [await Conn.open(server.port, "127.0.0.2") for _ in range(4)]
        assert await _held(conns) == [True] * 4
        fifth = await Conn.open(server.port, "127.0.0.2")
        conns.append(fifth)
        assert await fifth.closed_within(1) is not None, "a fifth idle connection from one address was kept"
        other = await Conn.open(server.port, "127.0.0.3")
        conns.append(other)
        assert await _held([other, *conns[:4]]) == [True] * 5
        assert server.admission is not None
        assert server.admission.refused == 1


async def test_a_flood_makes_room_for_others_but_never_for_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(guarded_handler, "HEAD_TIMEOUT_S", 30.0)
    monkeypatch.setattr(fdbudget, "MAX_CONNECTIONS", 16)  # 8 unauthenticated, 8 per address
    async with api_server(tmp_path) as server, connections() as conns:
        flood = [await Conn.open(server.port, "127.0.0.2") for _ in range(8)]
        conns.extend(flood)
        assert await _held(flood) == [True] * 8
        again = await Conn.open(server.port, "127.0.0.2")
        conns.append(again)
        assert await again.closed_within(1) is not None, "the flooding address got a ninth connection"
        # Another address gets in: the flood's oldest connection makes room.
        newcomer = await Conn.open(server.port, "127.0.0.3")
        conns.append(newcomer)
        assert await _held([newcomer]) == [True]
        assert await flood[0].closed_within(1) is not None
        # So does Home Assistant, and it is answered.
        home = await Conn.open(server.port, "127.0.0.1")
        conns.append(home)
        assert (await home.request("/api/openapi.json", AUTH))[0] == 200
        assert await _held(flood[2:]) == [True] * 6
        assert server.admission is not None
        assert server.admission.dropped == 2


async def test_authenticated_connections_are_never_dropped_to_make_room(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fdbudget, "MAX_CONNECTIONS", 8)  # 4 per address
    async with api_server(tmp_path) as server, connections() as conns:
        members: list[Conn] = []
        for source in ("127.0.0.1", "127.0.0.4"):
            for _ in range(4):
                member = await Conn.open(server.port, source)
                conns.append(member)
                members.append(member)
                assert (await member.request("/api/openapi.json", AUTH))[0] == 200
        stranger = await Conn.open(server.port, "127.0.0.2")
        conns.append(stranger)
        assert await stranger.closed_within(1) is not None
        for member in members:
            assert (await member.request("/api/openapi.json", AUTH))[0] == 200


async def test_near_the_open_file_limit_connections_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(guarded_handler, "HEAD_TIMEOUT_S", 30.0)
    async with api_server(tmp_path) as server, connections() as conns:
        # Leave the API room for the next descriptor number and three more; then take them.
        probe = os.dup(0)
        os.close(probe)
        limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        monkeypatch.setattr(fdbudget, "RESERVE_BASE", limit - fdbudget.RESERVE_PER_CAMERA - (probe + 4))
        assert server.budget().ceiling == probe + 4
        taken = [os.dup(0) for _ in range(8)]
        try:
            late = await Conn.open(server.port)
            conns.append(late)
            assert await late.closed_within(1) is not None, "a connection was let in beyond the descriptor budget"
        finally:
            for fd in taken:
                os.close(fd)
        member = await Conn.open(server.port)
        conns.append(member)
        assert (await member.request("/api/openapi.json", AUTH))[0] == 200


@contextlib.contextmanager
def _descriptors_exhausted(keep: int = 0) -> Iterator[None]:
    """Fill the process's descriptor table (soft limit lowered for the occasion), then give it back."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    probe = os.dup(0)
    os.close(probe)
    resource.setrlimit(resource.RLIMIT_NOFILE, (probe + 64, hard))
    taken: list[int] = []
    try:
        with contextlib.suppress(OSError):
            while True:
                taken.append(os.dup(0))
        for fd in taken[len(taken) - keep :] if keep else ():
            os.close(fd)
        yield
    finally:
        for fd in taken:
            with contextlib.suppress(OSError):
                os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_accept_errors_pause_accepting_and_are_logged_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(listener, "ACCEPT_PAUSE_S", 0.2)
    monkeypatch.setattr(guarded_handler, "HEAD_TIMEOUT_S", 30.0)
    async with api_server(tmp_path) as server:
        clients = [socket.socket() for _ in range(20)]  # made before the table is full
        try:
            with caplog.at_level(logging.DEBUG), _descriptors_exhausted():
                for client in clients:
                    client.connect(("127.0.0.1", server.port))  # the kernel completes it; accept() cannot
                await asyncio.sleep(1.5)  # seven pauses and retries, all failing
            errors = [
                r
                for r in caplog.records
                if r.levelno >= logging.WARNING
                and (r.name.startswith(("vigil_engine", "aiohttp")) or "accept" in r.getMessage())
            ]
            assert [r.getMessage().split(";")[0] for r in errors] == [
                "API cannot accept connections (Too many open files)"
            ]
            assert all(r.exc_info is None for r in caplog.records if r.name.startswith(("vigil_engine", "aiohttp")))
            # Descriptors free again: the waiting connections are accepted and answered.
            for client in clients[:3]:
                client.setblocking(False)
                reader, writer = await asyncio.open_connection(sock=client)
                conn = Conn(reader, writer)
                assert (await conn.request("/api/openapi.json", AUTH))[0] == 200
        finally:
            for client in clients:
                client.close()


# --- what strangers can make the engine log -----------------------------------------------------

MALFORMED = (
    b"GET /api/info HTTP/1.1\r\nHost: x\r\nbad header line\r\n\r\n",
    b"GET /api/info HTTP/9.9\r\nHost: x\r\n\r\n",
    b"GET /api/info HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    b"GET /api/info HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /api/info HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode() + b"\x00\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(64),  # a TLS hello
    b"GET /api/info HTTP/1.1\r\nHost: x\r\nGET /api/info HTTP/1.1\r\n\r\n",
)


async def _answer(port: int, data: bytes) -> bytes:
    conn = await Conn.open(port)
    try:
        conn.writer.write(data)
        return await asyncio.wait_for(conn.reader.read(), 10)
    except ConnectionResetError:
        return b""
    finally:
        conn.close()


async def test_malformed_requests_get_400_and_one_debug_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with api_server(tmp_path) as server:
        with caplog.at_level(logging.DEBUG):
            for _round in range(5):
                for data in MALFORMED:
                    answer = await _answer(server.port, data)
                    assert answer.split(b" ", 2)[1:2] == [b"400"], (data[:40], answer[:200])
                    assert answer.endswith(guarded_handler.BAD_REQUEST_BODY.encode())
                    assert TOKEN.encode() not in answer
        records = [r for r in caplog.records if r.name.startswith(("vigil_engine.api", "aiohttp"))]
        assert [r.levelname for r in records if "malformed" in r.getMessage()] == ["DEBUG"]
        assert all(r.levelno < logging.WARNING and r.exc_info is None for r in records), records
        assert TOKEN not in caplog.text


async def _stranger_round(port: int) -> None:
    """One of everything a stranger can do, many times over."""
    async with connections() as conns:
        conns += [await Conn.open(port, f"127.0.0.{2 + n % 4}") for n in range(40)]  # idle: dropped, some refused
        for data in MALFORMED:
            await _answer(port, data)
        async with aiohttp.ClientSession() as session:
            for n in range(10):
                protocols = ("chat",) if n % 2 else ()
                async with session.ws_connect(f"ws://127.0.0.1:{port}/api/ws", protocols=protocols) as ws:
                    await ws.send_json({"type": "auth", "token": f"wrong-{n}"})
                    while (await ws.receive(timeout=10)).type not in (
                        aiohttp.WSMsgType.CLOSE,
                        aiohttp.WSMsgType.CLOSED,
                    ):
                        pass
        await asyncio.gather(*(c.closed_within(HEAD_TIMEOUT_S + 3) for c in conns))


async def test_what_strangers_can_make_the_engine_log_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(admission, "MAX_UNTRUSTED_PER_ADDRESS", 8)
    async with api_server(tmp_path) as server:
        with caplog.at_level(logging.DEBUG):
            for _round in range(3):
                await _stranger_round(server.port)
        records = [r for r in caplog.records if r.name.startswith(("vigil_engine.api", "aiohttp"))]
        lines = [f"{r.levelname} {r.name}: {r.getMessage()}" for r in records if "API limits" not in r.getMessage()]
        lines = [line for line in lines if "API listening" not in line]
        # One line per kind (malformed request, slow head, refusal, failed WebSocket authentication,
        # aiohttp's sub-protocol warning) per minute, however many times each happened.
        assert len(lines) <= 5, lines
        assert all(r.exc_info is None for r in records)
        assert server.admission is not None
        assert server.admission.refused > 0


# --- the pieces on their own ---------------------------------------------------------------------


def test_rate_limited_log_counts_what_it_held_back(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    log = lograte.RateLimitedLog(logging.getLogger("test.lograte"), logging.WARNING, 60, clock=lambda: now[0])
    with caplog.at_level(logging.DEBUG, "test.lograte"):
        for n in range(1000):
            log("refused %s", n)
            now[0] += 0.05  # 50 s in all
        now[0] = 61.0
        log("refused %s", "late")
    assert [r.getMessage() for r in caplog.records] == [
        "refused 0",
        "refused late (and 999 more like it in the last 60 s)",
    ]


def test_budget_keeps_the_reserve_for_recording() -> None:
    assert fdbudget.FdBudget(256, 2).connections == 80  # the abuse test's engine
    assert fdbudget.FdBudget(1024, 2).connections == fdbudget.MAX_CONNECTIONS
    assert fdbudget.FdBudget(1024, 32).connections == (1024 - 64 - 32 * 16) // 2
    assert fdbudget.FdBudget(200, 10).connections == 0  # too few descriptors: recording comes first


def test_the_open_file_limit_is_raised_to_the_hard_limit() -> None:
    """In a child process, whose soft limit is set low first (the test process keeps its own)."""
    code = (
        "import resource\n"
        "from vigil_engine.api.fdbudget import raise_open_file_limit\n"
        "hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))\n"
        "print(raise_open_file_limit() == hard == resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "True", result.stderr


async def test_api_server_logs_its_budget_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        async with api_server(tmp_path) as server:
            assert isinstance(server, ApiServer)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("API limits")]
    assert len(lines) == 1
    assert "kept for the engine and its 1 camera" in lines[0]
