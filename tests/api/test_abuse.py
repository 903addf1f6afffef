"""Abuse of the API never costs footage (issue #13): a half-minute flood against a real engine.

A real engine process (``python -m vigil_engine``) records two RTSP test cameras while, for
``FLOOD_SECONDS``, unauthenticated clients from eight other loopback addresses (127.0.0.2-9:
"anyone on the LAN") do what costs a server the most for the least effort: a thousand hold
connections idle, with request heads never finished or dripped a line a second (slowloris),
and 350 more send malformed requests, open WebSockets that never authenticate, authenticate
with a wrong token, or send junk frames as fast as they can. Each client reconnects half a
second after the engine drops it. Meanwhile an authenticated client on 127.0.0.1 (Home
Assistant) keeps using the API over HTTP and over a WebSocket opened before the flood.

The engine's open-file limit is lowered to 256, soft *and* hard, before it starts. With the
usual limits the flood would not come near the limit on this machine and the test would prove
nothing about the descriptor budget: 256 is well below the thousand connections the flood
tries to hold, so the engine must refuse connections to keep its cameras recording. The hard
limit is lowered too, or the engine would simply raise its soft limit to it (as it does).

Checked: not one frame lost and no gap (segments abut, frames match their durations, the
``gaps`` table stays empty, every segment decodes), the engine's log stays under
``MAX_LOG_LINES``, its peak resident memory (VmHWM) within ``MAX_RSS_GROWTH_MB`` of what it was
before the flood, the authenticated client is answered throughout, and the engine is healthy
afterwards. The figures are printed (``pytest -s``). About 50 s on two cores.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import resource
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import yaml

from tests.api.client import WsClient
from tests.api.conftest import TOKEN, free_port, request
from tests.support.engine_process import ROOT, EngineProcess
from tests.support.fixtures import CameraFactory

ENGINE_NOFILE = 256
FLOOD_SECONDS = 30.0  # ~75,000 connection attempts: enough for the budget, a leak, the log (was 60 s)
FPS = 15
SEGMENT_SECONDS = 3
SOURCES = tuple(f"127.0.0.{n}" for n in range(2, 10))
RECONNECT_S = 0.5
CONNECT_TIMEOUT_S = 5.0
REFUSED_WITHIN_S = 0.5  # closed this soon, before any answer: refused at the door
CHECK_EVERY_S = 2.0
MAX_ANSWER_S = 5.0  # the authenticated client's worst wait for an answer during the flood
MAX_LOG_LINES = 100
# Above the resident memory before the flood (about 80 MB with two cameras). The engine holds at
# most 80 connections here (its descriptor budget), a few MB at tens of KB each; the flood makes
# over 70,000, so a leak of a KB per connection would show.
MAX_RSS_GROWTH_MB = 50
# Who attacks, and how many of each: a thousand holding connections, and 350 more.
ATTACKERS = {
    "idle": 400,
    "half_sent": 300,
    "slowloris": 300,
    "malformed": 50,
    "ws_silent": 150,
    "ws_wrong_token": 50,
    "ws_junk": 100,
}
MALFORMED = (
    b"GET /api/info HTTP/1.1\r\nHost: x\r\nbad header line\r\n\r\n",
    b"GET /api/info HTTP/9.9\r\nHost: x\r\n\r\n",
    b"GET /api/info HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    b"GET /api/info HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /api/info HTTP/1.1\r\nHost: x\r\nX: \x00\x01\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64),  # a TLS hello
)


def _lower_open_file_limit() -> None:
    """Runs in the engine's process before it starts (see the module docstring)."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (ENGINE_NOFILE, ENGINE_NOFILE))


class LimitedEngine(EngineProcess):
    """The engine process of ``EngineProcess`` with its open-file limit lowered."""

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(yaml.safe_dump(self.config), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(ROOT / "addon"), "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "vigil_engine", "--config", str(self.config_path)],
                stdout=log,
                stderr=log,
                env=env,
                cwd=self.workdir,
                preexec_fn=_lower_open_file_limit,  # noqa: PLW1509 - only setrlimit, before exec
            )
        self.starts += 1

    def status(self, field_name: str) -> int:
        """A ``/proc/<pid>/status`` figure in kB (VmRSS, VmHWM)."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(f"{field_name}:"):
                return int(line.split()[1])
        raise AssertionError(f"no {field_name} in /proc status")

    def cpu_seconds(self) -> float:
        """User and system CPU time so far."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def open_files(self) -> int:
        assert self.proc is not None
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))


# --- the flood -------------------------------------------------------------------------------


def _ws_frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame."""
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    if len(payload) < 126:
        header = struct.pack(">BB", 0x80 | opcode, 0x80 | len(payload))
    else:
        header = struct.pack(">BBH", 0x80 | opcode, 0x80 | 126, len(payload))
    return header + mask + masked


def _upgrade(port: int, protocol: bool = False) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    extra = "Sec-WebSocket-Protocol: chat, superchat\r\n" if protocol else ""
    return (
        f"GET /api/ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    ).encode()


JUNK = (
    _ws_frame(0x2, os.urandom(64)),  # binary
    _ws_frame(0x1, b"\xff\xfe not utf-8"),
    _ws_frame(0x1, b"{not json"),
    _ws_frame(0x1, b'{"type": "auth", "token": "\\ud800"}'),
    _ws_frame(0x1, b'{"type": "auth", "token": {"nested": [1, 2, {"deep": null}]}}'),
    _ws_frame(0x9, b"ping"),
    _ws_frame(0x3, b"reserved opcode"),
)


@dataclass
class FloodStats:
    attempts: int = 0
    connect_failures: int = 0
    refused: int = 0  # closed by the engine at once, before it answered anything
    dropped: int = 0  # closed by the engine later: a timeout, a rejection, room made for another
    held_at_end: int = 0
    open_now: int = 0
    peak_open: int = 0
    upgraded: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    connect_errors: dict[str, int] = field(default_factory=dict)


class Flood:
    """The attackers, on their own event loop in a thread, until ``stop_at`` (monotonic)."""

    def __init__(self, port: int, seconds: float) -> None:
        self.port = port
        self.seconds = seconds
        self.stats = FloodStats()
        self.started = threading.Event()
        self.stop_at = 0.0
        self._thread = threading.Thread(target=self._run, name="flood", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()
        assert self.started.wait(30), "the flood did not start"

    def join(self) -> None:
        self._thread.join(self.seconds + 60)
        assert not self._thread.is_alive(), "the flood did not end"
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as err:
            self.error = err

    async def _main(self) -> None:
        self.stop_at = time.monotonic() + self.seconds
        attacks: dict[str, Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]]] = {
            "idle": self._idle,
            "half_sent": self._half_sent,
            "slowloris": self._slowloris,
            "malformed": self._malformed,
            "ws_silent": self._ws_silent,
            "ws_wrong_token": self._ws_wrong_token,
            "ws_junk": self._ws_junk,
        }
        sources = itertools.cycle(SOURCES)
        tasks = [
            asyncio.create_task(self._attacker(kind, attacks[kind], next(sources), n))
            for kind, count in ATTACKERS.items()
            for n in range(count)
        ]
        self.started.set()
        await asyncio.gather(*tasks)

    async def _attacker(
        self,
        kind: str,
        attack: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]],
        source: str,
        n: int,
    ) -> None:
        stats = self.stats
        await asyncio.sleep(n * 0.002)  # a thousand connects spread over the first seconds
        while time.monotonic() < self.stop_at:
            stats.attempts += 1
            stats.kinds[kind] = stats.kinds.get(kind, 0) + 1
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", self.port, local_addr=(source, 0)), CONNECT_TIMEOUT_S
                )
            except ConnectionResetError:  # accepted and reset before the client saw its connect complete
                stats.refused += 1
                await asyncio.sleep(RECONNECT_S)
                continue
            except (OSError, TimeoutError) as err:
                stats.connect_failures += 1
                name = type(err).__name__
                stats.connect_errors[name] = stats.connect_errors.get(name, 0) + 1
                await asyncio.sleep(RECONNECT_S)
                continue
            opened = time.monotonic()
            stats.open_now += 1
            stats.peak_open = max(stats.peak_open, stats.open_now)
            answered = False
            try:
                answered = await attack(reader, writer)
            except OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError:
                pass
            finally:
                stats.open_now -= 1
                writer.transport.abort()
            now = time.monotonic()
            if now >= self.stop_at:
                stats.held_at_end += 1
            elif now - opened < REFUSED_WITHIN_S and not answered:
                stats.refused += 1
            else:
                stats.dropped += 1
            await asyncio.sleep(RECONNECT_S)

    async def _until_closed(self, reader: asyncio.StreamReader) -> bool:
        """Read (and drop) until the engine closes the connection or the flood ends; True if it sent anything."""
        got = False
        while True:
            remaining = self.stop_at - time.monotonic()
            if remaining <= 0:
                return got
            try:
                chunk = await asyncio.wait_for(reader.read(65536), remaining)
            except TimeoutError:
                return got
            if not chunk:
                return got
            got = True

    async def _idle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        return await self._until_closed(reader)

    async def _half_sent(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"GET /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        return await self._until_closed(reader)

    async def _slowloris(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"GET /api/info HTTP/1.1\r\n")
        for n in itertools.count():
            try:
                chunk = await asyncio.wait_for(reader.read(65536), 1.0)
            except TimeoutError:
                if time.monotonic() >= self.stop_at:
                    return False
                writer.write(f"X-Drip-{n}: {n}\r\n".encode())
                continue
            return bool(chunk) or await self._until_closed(reader)
        return False

    async def _malformed(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(MALFORMED[self.stats.attempts % len(MALFORMED)])
        return await self._until_closed(reader)

    async def _upgraded(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, protocol: bool) -> bool:
        writer.write(_upgrade(self.port, protocol))
        remaining = max(0.1, self.stop_at - time.monotonic())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), remaining)
        if head.startswith(b"HTTP/1.1 101"):
            self.stats.upgraded += 1
            return True
        return False

    async def _ws_silent(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        with contextlib.suppress(TimeoutError):
            await self._upgraded(reader, writer, protocol=self.stats.attempts % 2 == 0)
        await self._until_closed(reader)
        return True

    async def _ws_wrong_token(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        with contextlib.suppress(TimeoutError):
            if await self._upgraded(reader, writer, protocol=False):
                writer.write(_ws_frame(0x1, json.dumps({"type": "auth", "token": "wrong-" + TOKEN}).encode()))
        await self._until_closed(reader)
        return True

    async def _ws_junk(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        with contextlib.suppress(TimeoutError):
            if await self._upgraded(reader, writer, protocol=False):
                for n in range(300):  # as fast as the socket takes them
                    writer.write(JUNK[n % len(JUNK)])
                    await writer.drain()
        await self._until_closed(reader)
        return True


# --- the test --------------------------------------------------------------------------------


def _segments_in(engine: EngineProcess, camera_id: str, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
    return [
        dict(row)
        for row in engine.query(
            "SELECT * FROM segments WHERE camera_id = ? AND end_ms > ? AND start_ms < ? ORDER BY start_ms",
            (camera_id, start_ms, end_ms),
        )
    ]


def _decoded_frames(path: Path) -> int:
    """Frames that decode (0 for a file missing or unreadable)."""
    try:
        with av.open(str(path)) as container:
            return sum(1 for _frame in container.decode(video=0))
    except OSError, av.FFmpegError:
        return 0


@dataclass
class AuthenticatedClient:
    """Home Assistant during the flood: HTTP requests on fresh connections and a WebSocket."""

    port: int
    ws: WsClient
    failures: list[str] = field(default_factory=list)
    worst_s: float = 0.0
    checks: int = 0

    def check(self) -> None:
        self.checks += 1
        started = time.monotonic()
        try:
            response = request(self.port, "/api/info", {"Authorization": f"Bearer {TOKEN}"}, timeout=MAX_ANSWER_S)
            if response.status != 200:
                self.failures.append(f"GET /api/info: {response.status}")
        except OSError as err:
            self.failures.append(f"GET /api/info: {err!r}")
        try:
            answer = self.ws.call("get_server_info", timeout=MAX_ANSWER_S)
            if answer["type"] != "result":
                self.failures.append(f"get_server_info: {answer}")
        except AssertionError as err:
            self.failures.append(f"get_server_info: {err}")
        self.worst_s = max(self.worst_s, time.monotonic() - started)


def test_a_minute_of_abuse_costs_no_footage(tmp_path: Path, rtsp_camera_factory: CameraFactory) -> None:
    camera = rtsp_camera_factory(width=640, height=360, fps=FPS, keyint=1.0, bitrate=800)
    port = free_port()
    engine = LimitedEngine(
        tmp_path / "engine",
        {
            "segment_seconds": SEGMENT_SECONDS,
            "read_timeout": 5,
            "open_timeout": 5,
            "min_free": "1MB",
            "api_host": "127.0.0.1",
            "api_port": port,
            "api_token": TOKEN,
            "cameras": [
                {"id": "front", "name": "Front", "url": camera.url("h264"), "motion": {"enabled": False}},
                {"id": "back", "name": "Back", "url": camera.url("h264"), "motion": {"enabled": False}},
            ],
        },
    )
    engine.start()
    ws: WsClient | None = None
    try:

        def api_answers() -> bool:
            try:
                return request(port, "/api/info", {"Authorization": f"Bearer {TOKEN}"}, timeout=2).status == 200
            except OSError:
                return False

        engine.wait_for(api_answers, 30, "the API to answer")
        engine.wait_for(
            lambda: all(len(engine.segments(c)) >= 2 for c in ("front", "back")), 30, "two segments per camera"
        )
        ws = WsClient(f"http://127.0.0.1:{port}", TOKEN)
        ws.connect()
        client = AuthenticatedClient(port, ws)
        rss_before_kb = engine.status("VmRSS")
        files_before = engine.open_files()
        peak_files = files_before

        cpu_before = engine.cpu_seconds()
        flood = Flood(port, FLOOD_SECONDS)
        flood_start_ms = int(time.time() * 1000)
        flood.start()
        while time.monotonic() < flood.stop_at:
            client.check()
            peak_files = max(peak_files, engine.open_files())
            time.sleep(max(0.0, min(CHECK_EVERY_S, flood.stop_at - time.monotonic())))
        flood.join()
        flood_end_ms = int(time.time() * 1000)
        cpu_flood = engine.cpu_seconds() - cpu_before
        log_lines_flood = len(engine.log().splitlines())

        # After the flood: answered at once, and recording went on through it.
        client.check()
        health = request(port, "/api/health", timeout=5)
        cameras = request(port, "/api/cameras", {"Authorization": f"Bearer {TOKEN}"}, timeout=5).json()["cameras"]
        window = (flood_start_ms - SEGMENT_SECONDS * 1000, flood_end_ms + SEGMENT_SECONDS * 1000)
        engine.wait_for(
            lambda: all(
                engine.query("SELECT 1 FROM segments WHERE camera_id = ? AND start_ms >= ?", (c, window[1]))
                for c in ("front", "back")
            ),
            4 * SEGMENT_SECONDS + 10,
            "segments after the flood",
        )
        peak_rss_kb = engine.status("VmHWM")
        ws_closed_with = ws.closed_with
        ws.close()
        ws = None
        exit_code = engine.stop()
        log = engine.log()

        lost: dict[str, int] = {}
        problems: list[str] = []
        for camera_id in ("front", "back"):
            segments = _segments_in(engine, camera_id, *window)
            lost[camera_id] = 0
            if not segments or segments[0]["start_ms"] > window[0] or segments[-1]["end_ms"] < window[1]:
                problems.append(f"{camera_id}: the segments do not cover the flood")
            for before, after in itertools.pairwise(segments):
                if after["start_ms"] != before["end_ms"]:
                    hole_ms = int(after["start_ms"]) - int(before["end_ms"])
                    lost[camera_id] += round(hole_ms * FPS / 1000)
                    problems.append(f"{camera_id}: {hole_ms} ms missing before {after['path']}")
            for segment in segments:
                frames = int(segment["frames"])
                expected = (int(segment["end_ms"]) - int(segment["start_ms"])) * FPS / 1000
                lost[camera_id] += max(0, round(expected - frames))
                if abs(frames - expected) > 1:
                    problems.append(f"{camera_id}: {frames} frames in {segment['path']}, expected {expected:g}")
                decoded = _decoded_frames(engine.recordings / str(segment["path"]))
                if decoded != frames:
                    problems.append(f"{camera_id}: {decoded} of {frames} frames decode in {segment['path']}")
            problems += [f"{camera_id}: gap {dict(gap)}" for gap in engine.gaps(camera_id)]

        stats = flood.stats
        print(
            f"\nabuse: {stats.attempts} connections tried by {sum(ATTACKERS.values())} clients in {FLOOD_SECONDS:g} s"
            f" ({stats.kinds}); at most {stats.peak_open} held at once, {stats.held_at_end} held at the end;"
            f" {stats.refused} refused at once, {stats.dropped} dropped later, {stats.connect_failures} connects"
            f" failed {stats.connect_errors}, {stats.upgraded} WebSocket upgrades\n"
            f"engine: open files {files_before} before, {peak_files} at most (limit {ENGINE_NOFILE});"
            f" RSS {rss_before_kb // 1024} MB before, peak {peak_rss_kb // 1024} MB;"
            f" CPU {cpu_flood / FLOOD_SECONDS:.0%} of a core through the flood;"
            f" log {log_lines_flood} lines through the flood, {len(log.splitlines())} in all;"
            f" frames lost {lost}; authenticated client: {client.checks} checks, worst {client.worst_s:.2f} s,"
            f" failures {client.failures[:5]}"
        )
        for problem in problems[:20]:
            print(f"  {problem}")
        assert client.failures == []
        assert client.worst_s < MAX_ANSWER_S
        assert ws_closed_with is None, "the authenticated WebSocket was closed"
        assert (health.status, health.json()) == (200, {"status": "ok"})
        assert all(c["online"] and c["recording"] for c in cameras), cameras
        assert problems == []
        assert lost == {"front": 0, "back": 0}
        assert len(log.splitlines()) < MAX_LOG_LINES, log[-3000:]  # the whole run, start and stop included
        assert "Traceback" not in log, log[-3000:]
        assert peak_rss_kb - rss_before_kb < MAX_RSS_GROWTH_MB * 1024
        assert exit_code == 0
    finally:
        if ws is not None:
            ws.close()
        engine.stop()
