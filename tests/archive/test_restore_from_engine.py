"""Restoring from the archive while the engine runs: the ``restore_archive`` WebSocket command.

A real engine (a process) records the RTSP test camera with ``copy: all`` into a real S3 store
(SeaweedFS), encrypted, and stops: that archive serves the whole module. A new engine on a NEW,
empty storage with the same archive options (its camera disabled: it records nothing) is then
asked, through its real WebSocket API, to restore:

* ``download: false`` indexes the archive's segments as kept only in the archive, with their
  exact times and their objects' keys and SHA-256, without a byte of footage on the disk; a clip
  of the range plays with as many frames as the original engine's clip; a rerun restores
  nothing; the ``archive_restore`` events and ``ArchiveStatus.restore`` say how it went;
* ``download: true`` downloads them (verified: the same bytes the original engine recorded);
* a second request while one runs is ``restore_running``; an engine without an archive answers
  ``no_archive``; a range that ends before it starts is ``invalid_argument``.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import io
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import av
import pytest

from tests.archive.seaweedfs import SECRET_KEY, SeaweedFS
from tests.engine.conftest import enable_loopback_sockets
from tests.support.camera import RtspCamera
from tests.support.engine_process import EngineProcess

TOKEN = "restore-engine-token-51d0c4"
KEY = bytes(range(3, 35))
SEGMENTS = 3  # archived segments the original engine waits for (2 s each)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _api_answers(port: int) -> bool:
    try:
        return _get(port, "/api/info")[0] == 200
    except OSError:
        return False


def _frames(clip: bytes) -> int:
    with av.open(io.BytesIO(clip), mode="r") as container:
        return len(list(container.decode(video=0)))


def _config(storage: Path, camera_url: str, archive: dict[str, Any] | None, *, enabled: bool) -> dict[str, Any]:
    config: dict[str, Any] = {
        "storage_path": str(storage),
        "segment_seconds": 2,
        "api_host": "127.0.0.1",
        "api_port": _free_port(),
        "api_token": TOKEN,
        "min_free": "1MB",
        "cameras": [{"id": "yard", "url": camera_url, "enabled": enabled, "motion": {"enabled": False}}],
    }
    if archive is not None:
        config["archive"] = archive
    return config


@dataclass
class Original:
    archive: dict[str, Any]  # the archive options
    camera_url: str
    segments: list[dict[str, Any]]  # the archived segments, with the sha256 of their files
    clip_range: tuple[int, int]
    clip_frames: int


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory, seaweedfs: SeaweedFS) -> Iterator[Original]:
    enable_loopback_sockets()
    workdir = tmp_path_factory.mktemp("restore-engine-original")
    archive = seaweedfs.archive_options(seaweedfs.make_bucket("restore-engine"), copy="all", encryption_key=KEY.hex())
    camera = RtspCamera(width=640, height=360, fps=15, keyint=1.0).start()
    config = _config(workdir / "storage", camera.url("h264"), archive, enabled=True)
    engine = EngineProcess(workdir, config)
    try:
        engine.start()
        engine.wait_for(
            lambda: len(engine.query("SELECT 1 FROM archive_queue WHERE state = 'done'")) >= SEGMENTS,
            60,
            "segments to be archived",
        )
        engine.wait_for(lambda: _api_answers(config["api_port"]), 30, "the API")
        done = "SELECT s.* FROM segments s JOIN archive_queue q ON q.segment_id = s.id WHERE q.state = 'done'"
        archived = engine.query(f"{done} ORDER BY s.start_ms")
        start, end = archived[0]["start_ms"], archived[SEGMENTS - 1]["end_ms"]
        status, clip = _get(config["api_port"], f"/api/cameras/yard/clip.mp4?start_ms={start}&end_ms={end}")
        assert status == 200, clip[:300]
        frames = _frames(clip)
        assert engine.stop() == 0
        rows = engine.query(f"{done} ORDER BY s.start_ms")
        segments = [
            {**dict(row), "sha256": hashlib.sha256((engine.recordings / row["path"]).read_bytes()).hexdigest()}
            for row in rows
        ]
        yield Original(archive, camera.url("h264"), segments, (start, end), frames)
    finally:
        engine.stop()
        camera.close()


_SAME: dict[str, Any] = {}


@contextmanager
def _engine(workdir: Path, original: Original, archive: dict[str, Any] | None = _SAME) -> Iterator[EngineProcess]:
    """An engine on a new, empty storage: the same archive (or another, or none), its camera disabled."""
    options = original.archive if archive is _SAME else archive
    config = _config(workdir / "storage", original.camera_url, options, enabled=False)
    engine = EngineProcess(workdir, config)
    engine.start()
    try:
        engine.wait_for(lambda: _api_answers(config["api_port"]), 30, "the API")
        yield engine
    finally:
        assert engine.stop() == 0
        log = engine.log()
        assert SECRET_KEY not in log
        assert KEY.hex() not in log


class Session:
    """One authenticated WebSocket connection, subscribed to ``archive_restore``."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self._next = 0

    async def send(self, command: str, args: dict[str, Any] | None = None) -> str:
        self._next += 1
        message_id = str(self._next)
        await self.ws.send_json({"message_id": message_id, "command": command, "args": args or {}})
        return message_id

    async def answer(self, message_id: str) -> dict[str, Any]:
        """The answer to that command (events that come first are kept)."""
        while True:
            message = await self.ws.receive_json(timeout=30)
            if message["type"] == "event":
                self.events.append(message)
            elif message.get("message_id") == message_id:
                return dict(message)

    async def call(self, command: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.answer(await self.send(command, args))

    async def ended(self) -> dict[str, Any]:
        """The restore as the event of its end says (within 30 s)."""
        async with asyncio.timeout(30):
            while True:
                for event in self.events:
                    if event["event"] == "archive_restore" and event["data"]["restore"]["state"] != "running":
                        self.events.clear()
                        return dict(event["data"]["restore"])
                message = await self.ws.receive_json()
                if message["type"] == "event":
                    self.events.append(message)


@asynccontextmanager
async def _session(engine: EngineProcess) -> AsyncIterator[Session]:
    port = engine.config["api_port"]
    async with aiohttp.ClientSession() as http, http.ws_connect(f"ws://127.0.0.1:{port}/api/ws") as ws:
        await ws.send_json({"type": "auth", "token": TOKEN})
        assert (await ws.receive_json(timeout=10))["type"] == "server_info"
        session = Session(ws)
        subscribed = await session.call("subscribe", {"events": ["archive_restore"]})
        assert subscribed["type"] == "result", subscribed
        yield session


def _times(rows: list[Any]) -> list[tuple[str, int, int, str]]:
    return [(row["camera_id"], row["start_ms"], row["end_ms"], row["path"]) for row in rows]


async def test_indexing_the_archive_puts_its_footage_on_the_timeline_without_downloading(
    original: Original, tmp_path: Path
) -> None:
    count = len(original.segments)
    with _engine(tmp_path, original) as engine:
        async with _session(engine) as session:
            started = await session.call("restore_archive")
            assert started["type"] == "result", started
            assert started["result"]["restore"]["state"] == "running"
            assert started["result"]["restore"]["download"] is False
            restore = await session.ended()
            assert restore["state"] == "done", restore
            assert (restore["selected"], restore["restored"], restore["present"], restore["errors"]) == (
                count,
                count,
                0,
                0,
            )
            assert restore["finished_ms"] >= restore["started_ms"]

            # Exact times, kept only in the archive, with their objects; not a byte on the disk.
            rows = engine.query("SELECT * FROM segments ORDER BY start_ms")
            assert _times(rows) == _times(original.segments)
            assert all(row["archived_only"] == 1 for row in rows)
            queue = engine.query("SELECT * FROM archive_queue ORDER BY start_ms")
            assert [(row["state"], row["sha256"]) for row in queue] == [
                ("done", s["sha256"]) for s in original.segments
            ]
            assert all(row["object_key"].startswith("vigil/yard/") for row in queue)
            assert [path for path in engine.recordings.rglob("*") if path.is_file()] == []

            # It plays: fetched from the archive on demand, the same frames as the original's clip.
            start, end = original.clip_range
            status, clip = await asyncio.to_thread(
                _get, engine.config["api_port"], f"/api/cameras/yard/clip.mp4?start_ms={start}&end_ms={end}"
            )
            assert status == 200, clip[:300]
            assert _frames(clip) == original.clip_frames

            # The archive's status tells the last restore; a rerun restores nothing.
            storage = (await session.call("get_storage"))["result"]["storage"]
            assert storage["archive"] is not None
            assert storage["archive"]["restore"]["state"] == "done"
            assert storage["archive"]["restore"]["restored"] == count
            again = await session.call("restore_archive", {"camera_ids": ["yard"]})
            assert again["type"] == "result", again
            restore = await session.ended()
            assert (restore["state"], restore["restored"], restore["present"]) == ("done", 0, count)
            assert restore["camera_ids"] == ["yard"]
            assert len(engine.query("SELECT 1 FROM segments")) == count


async def test_a_download_restore_brings_the_verified_files_back(original: Original, tmp_path: Path) -> None:
    count = len(original.segments)
    with _engine(tmp_path, original) as engine:
        async with _session(engine) as session:
            first, second = (
                await session.send("restore_archive", {"download": True}),
                await session.send("restore_archive", {"download": True}),
            )
            started, refused = await session.answer(first), await session.answer(second)
            assert started["result"]["restore"]["download"] is True, started
            # One at a time: the second request, sent before the first could end, is refused.
            assert refused["type"] == "error", refused
            assert refused["error"]["code"] == "restore_running"
            restore = await session.ended()
            assert (restore["state"], restore["restored"], restore["errors"]) == ("done", count, 0), restore
            assert restore["bytes"] == sum(segment["bytes"] for segment in original.segments)

            rows = engine.query("SELECT * FROM segments ORDER BY start_ms")
            assert _times(rows) == _times(original.segments)
            assert all(row["archived_only"] == 0 for row in rows)
            for segment in original.segments:
                data = (engine.recordings / segment["path"]).read_bytes()
                assert hashlib.sha256(data).hexdigest() == segment["sha256"]

            bad = await session.call("restore_archive", {"from_ms": 2_000, "to_ms": 1_000})
            assert bad["error"]["code"] == "invalid_argument", bad
            assert "to_ms" in bad["error"]["message"]


async def test_an_engine_without_an_archive_says_so(original: Original, tmp_path: Path) -> None:
    with _engine(tmp_path, original, None) as engine:
        async with _session(engine) as session:
            answer = await session.call("restore_archive")
            assert answer["type"] == "error", answer
            assert answer["error"]["code"] == "no_archive"
            assert "archive" in answer["error"]["message"]


async def test_a_wrong_key_fails_the_restore_and_indexes_nothing(original: Original, tmp_path: Path) -> None:
    other_key = bytes(range(1, 33)).hex()
    with _engine(tmp_path, original, {**original.archive, "encryption_key": other_key}) as engine:
        async with _session(engine) as session:
            assert (await session.call("restore_archive"))["type"] == "result"
            restore = await session.ended()
            assert restore["state"] == "failed", restore
            assert restore["error"].startswith("cannot decrypt vigil/yard/"), restore
            assert "the key is not the one it was encrypted with" in restore["error"]
            assert restore["restored"] == 0
            assert engine.query("SELECT 1 FROM segments") == []
        assert other_key not in engine.log()
