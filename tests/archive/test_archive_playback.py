"""Footage that only the archive still holds plays like any other.

A real engine (a process) records the RTSP test camera with ``copy: all`` into a real S3 store
(SeaweedFS), encrypted, and serves a clip of four archived segments. Restarted with a disk cap
of one byte (the camera off, so nothing new is recorded), its retention deletes every local
file: the archived segments keep their rows, marked archived-only, with their exact times.
The HLS playlist still lists those segments at their recorded times (having fetched only the
start of each, its codecs) and serves their media; the same clip still plays (fetched from the
archive into the bounded cache outside the recordings tree, decrypted, verified), with as many
frames as before; a range with no footage
anywhere is still a gap. Finally remote retention (``keep_days``) deletes the objects, and the
archived-only rows go with them.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import av
import pytest

from tests.archive.helpers import make_uploader, wait_until
from tests.archive.seaweedfs import SeaweedFS
from tests.engine.conftest import enable_loopback_sockets
from tests.support.camera import RtspCamera
from tests.support.engine_process import EngineProcess
from vigil_engine.archive.cache import FOLDER
from vigil_engine.config import parse_config
from vigil_engine.storage.index import Index

TOKEN = "playback-test-token-3b8e1d"
KEY = bytes(range(7, 39))
SEGMENTS = 4


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


def _archived(engine: EngineProcess) -> list[dict[str, Any]]:
    rows = engine.query(
        "SELECT s.* FROM segments s JOIN archive_queue q ON q.segment_id = s.id"
        " WHERE q.state = 'done' ORDER BY s.start_ms"
    )
    return [dict(row) for row in rows]


def _cached(scenario: Scenario, suffix: str) -> list[str]:
    cache = scenario.engine.storage / FOLDER
    return sorted(path.name for path in cache.iterdir() if path.name.endswith(suffix)) if cache.is_dir() else []


@dataclass
class Scenario:
    engine: EngineProcess
    port: int
    store: SeaweedFS
    bucket: str
    archive: dict[str, Any]
    segments: list[dict[str, Any]]  # the first SEGMENTS archived ones, as first indexed
    clip_frames: int

    @property
    def clip_range(self) -> tuple[int, int]:
        return self.segments[0]["start_ms"], self.segments[-1]["end_ms"]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory, seaweedfs: SeaweedFS) -> Iterator[Scenario]:
    enable_loopback_sockets()
    workdir = tmp_path_factory.mktemp("archive-playback")
    bucket = seaweedfs.make_bucket("playback-footage")
    camera = RtspCamera(width=640, height=360, fps=15, keyint=1.0).start()
    port = _free_port()
    archive = seaweedfs.archive_options(bucket, copy="all", encryption_key=KEY.hex())
    config: dict[str, Any] = {
        "segment_seconds": 2,
        "api_port": port,
        "api_token": TOKEN,
        "min_free": "1MB",
        "archive": archive,
        "cameras": [{"id": "yard", "url": camera.url("h264"), "motion": {"enabled": False}}],
    }
    engine = EngineProcess(workdir, config)
    try:
        engine.start()
        engine.wait_for(lambda: len(_archived(engine)) >= SEGMENTS, 60, "segments to be archived")
        engine.wait_for(lambda: _api_answers(port), 30, "the API")
        segments = _archived(engine)[:SEGMENTS]
        start, end = segments[0]["start_ms"], segments[-1]["end_ms"]
        status, clip = _get(port, f"/api/cameras/yard/clip.mp4?start_ms={start}&end_ms={end}")
        assert status == 200, clip[:300]
        frames = _frames(clip)
        assert engine.stop() == 0
        # Again, with a disk cap no footage fits in and the camera off: retention deletes every file.
        engine.config.update(disk_cap=1, retention_interval=0.2)
        engine.config["cameras"] = [{**config["cameras"][0], "enabled": False}]
        engine.start()
        engine.wait_for(lambda: not list(engine.recordings.rglob("*.mp4")), 30, "retention to delete every file")
        engine.wait_for(lambda: _api_answers(port), 30, "the API")
        yield Scenario(engine, port, seaweedfs, bucket, archive, segments, frames)
    finally:
        engine.stop()
        camera.close()


def test_retention_keeps_archived_segments_as_archived_only_rows(scenario: Scenario) -> None:
    rows = {row["id"]: dict(row) for row in scenario.engine.segments("yard")}
    for original in scenario.segments:
        row = rows[original["id"]]
        assert row["archived_only"] == 1
        assert (row["start_ms"], row["end_ms"], row["bytes"]) == (
            original["start_ms"],
            original["end_ms"],
            original["bytes"],
        )
        assert not (scenario.engine.recordings / row["path"]).exists()
    # No longer bytes on this disk: the disk cap is met with archived-only rows in the index.
    assert "storage_full" not in scenario.engine.log()


def test_the_hls_playlist_lists_archived_only_segments_at_their_recorded_times(scenario: Scenario) -> None:
    start, end = scenario.clip_range
    status, body = _get(scenario.port, f"/api/cameras/yard/vod.m3u8?start_ms={start}&end_ms={end}")
    assert status == 200, body[:300]
    playlist = body.decode()
    for segment in scenario.segments:
        assert f"recordings/{segment['start_ms']}-{segment['id']}/media.m4s" in playlist
        stamp = datetime.fromtimestamp(segment["start_ms"] / 1000, tz=UTC).isoformat(timespec="milliseconds")
        assert stamp.replace("+00:00", "") in playlist
    uris = [line for line in playlist.splitlines() if line and not line.startswith("#")]
    assert len(uris) == SEGMENTS
    # The playlist fetched only the start of each segment (its codecs), not its media.
    assert len(_cached(scenario, ".head")) == SEGMENTS
    assert _cached(scenario, ".mp4") == []
    status, media = _get(scenario.port, f"/api/cameras/yard/{uris[1]}")
    assert status == 200, media[:300]
    assert b"moof" in media[:64]
    assert len(_cached(scenario, ".mp4")) == 1  # a player's request fetched that one whole


def test_a_clip_of_archived_only_footage_plays_with_every_frame(scenario: Scenario) -> None:
    start, end = scenario.clip_range
    status, clip = _get(scenario.port, f"/api/cameras/yard/clip.mp4?start_ms={start}&end_ms={end}")
    assert status == 200, clip[:300]
    assert _frames(clip) == scenario.clip_frames
    assert len(_cached(scenario, ".mp4")) == SEGMENTS
    # The cache is outside the recordings tree: never footage to reconcile or retention.
    assert not list(scenario.engine.recordings.rglob("*.mp4"))


def test_a_range_with_no_footage_anywhere_is_still_a_gap(scenario: Scenario) -> None:
    start = scenario.segments[0]["start_ms"]
    before = f"start_ms={start - 120_000}&end_ms={start - 60_000}"
    for path in ("clip.mp4", "vod.m3u8"):
        status, body = _get(scenario.port, f"/api/cameras/yard/{path}?{before}")
        assert status == 404, body[:300]
        assert b"no_footage" in body


def test_without_the_archive_its_footage_is_not_offered_and_its_rows_stay(scenario: Scenario) -> None:
    """The archive switched off: what only it holds cannot play, so the timeline shows nothing
    there and a clip is ``no_footage`` (not a player that never starts); the rows stay for when
    it is switched on again."""
    engine = scenario.engine
    engine.stop()
    engine.config.pop("archive")
    engine.start()
    engine.wait_for(lambda: _api_answers(scenario.port), 30, "the API")
    start, end = scenario.clip_range
    status, body = _get(scenario.port, f"/api/cameras/yard/clip.mp4?start_ms={start}&end_ms={end}")
    assert status == 404, body[:300]
    assert b"no_footage" in body
    day = datetime.fromtimestamp(start / 1000, tz=UTC).date().isoformat()
    status, body = _get(scenario.port, f"/api/cameras/yard/summary?date={day}&time_zone=UTC")
    assert status == 200, body[:300]
    assert b"no_footage" not in body
    summary = json.loads(body)["summary"]
    assert (summary["recorded_ms"], summary["recorded"]) == (0, []), summary
    rows = {row["id"]: dict(row) for row in engine.segments("yard")}
    assert all(rows[segment["id"]]["archived_only"] == 1 for segment in scenario.segments)
    engine.stop()
    engine.config["archive"] = scenario.archive


def test_remote_retention_drops_the_archived_only_rows_with_the_objects(scenario: Scenario) -> None:
    engine = scenario.engine
    engine.stop()
    settings = parse_config({"archive": {**scenario.archive, "keep_days": 1}}).archive
    assert settings is not None
    index, _ = Index.open(engine.db_path)
    try:
        uploader = make_uploader(settings, index, engine.recordings, {"yard": "all"})
        uploader._now_ms = lambda: int(time.time() * 1000) + 2 * 86_400_000  # two days from now
        uploader.start()
        try:
            wait_until(lambda: not scenario.store.objects(scenario.bucket), 20, "the objects to be deleted")
        finally:
            uploader.stop()
            uploader.join()
        start, end = scenario.clip_range
        assert index.segments("yard", start, end) == []
        assert index.query("SELECT COUNT(*) AS n FROM segments WHERE archived_only")[0]["n"] == 0
    finally:
        index.close()
