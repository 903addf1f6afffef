"""One real engine process records real RTSP for a minute, next to cameras that are broken.

Cameras in the same engine: H.264 + AAC, H.265 + AAC, an authenticated (digest) camera
with the right password, the same camera with a wrong password, an unreachable port, and
a server that answers with garbage. The good ones must record perfectly; the bad ones must
say clearly what is wrong, never leak a password, and never disturb the good ones.
"""

from __future__ import annotations

import itertools
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import pytest

from tests.engine.conftest import enable_loopback_sockets
from tests.support.camera import RtspCamera
from tests.support.engine_process import EngineProcess
from tests.support.garbage_server import GarbageServer

RECORD_SECONDS = 60
FPS = 15
SEGMENT_SECONDS = 10
WRONG_PASSWORD = "n0t-the-Passw0rd"
RIGHT_PASSWORD = "Sup3r-s3cret!"


@dataclass
class LiveRun:
    engine: EngineProcess
    wall_start_ms: int
    wall_stop_ms: int


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveRun]:
    enable_loopback_sockets()
    workdir = tmp_path_factory.mktemp("live")
    plain = RtspCamera(fps=FPS, keyint=2.0).start()
    secured = RtspCamera(fps=FPS, keyint=2.0, auth="digest", user="viewer", password=RIGHT_PASSWORD).start()
    garbage = GarbageServer()
    engine = EngineProcess(
        workdir,
        {
            "segment_seconds": SEGMENT_SECONDS,
            "read_timeout": 5,
            "open_timeout": 8,
            "min_free": "1MB",
            "cameras": [
                {"id": "h264", "url": plain.url("h264")},
                {"id": "h265", "url": plain.url("h265")},
                {
                    "id": "secured",
                    "url": secured.url("h264-noaudio", auth=False),
                    "username": "viewer",
                    "password": RIGHT_PASSWORD,
                },
                {
                    "id": "wrong_password",
                    "url": secured.url("h264", user="viewer", password=WRONG_PASSWORD),
                },
                {"id": "unreachable", "url": f"rtsp://admin:{WRONG_PASSWORD}@127.0.0.1:{_closed_port()}/stream"},
                {"id": "garbage", "url": f"rtsp://127.0.0.1:{garbage.port}/stream"},
            ],
        },
    )
    try:
        engine.start()
        engine.wait_for(lambda: "Camera h264 connected" in engine.log(), 20, "the H.264 camera")
        wall_start_ms = int(time.time() * 1000)
        time.sleep(RECORD_SECONDS)
        wall_stop_ms = int(time.time() * 1000)
        assert engine.stop() == 0
        yield LiveRun(engine, wall_start_ms, wall_stop_ms)
    finally:
        engine.stop()
        garbage.close()
        plain.close()
        secured.close()


def _segment_files(run: LiveRun, camera_id: str) -> list[tuple[dict[str, Any], Path]]:
    rows = run.engine.segments(camera_id)
    return [(dict(row), run.engine.recordings / row["path"]) for row in rows]


@pytest.mark.parametrize(("camera_id", "codec", "audio"), [("h264", "h264", "aac"), ("h265", "hevc", "aac")])
def test_segments_are_complete_and_playable(live_run: LiveRun, camera_id: str, codec: str, audio: str) -> None:
    segments = _segment_files(live_run, camera_id)
    assert len(segments) >= RECORD_SECONDS // SEGMENT_SECONDS
    for row, path in segments:
        assert path.is_file(), path
        assert row["bytes"] == path.stat().st_size
        with av.open(str(path)) as container:
            video = container.streams.video[0]
            assert video.codec_context.name == codec
            assert (video.codec_context.width, video.codec_context.height) == (1280, 720)
            assert container.streams.audio
            assert container.streams.audio[0].codec_context.name == audio
            packets = [p for p in container.demux(video) if p.size]
            assert packets[0].is_keyframe, f"{path.name} does not start with a keyframe"
            decoded = sum(1 for _ in av.open(str(path)).decode(video=0))
        # Every frame the camera sent in the segment's time span is in the file.
        expected = row["duration_ms"] / 1000 * FPS
        assert abs(len(packets) - expected) <= 1.5, (path.name, len(packets), expected)
        assert row["frames"] == len(packets)
        assert decoded >= len(packets) - 1
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        assert abs(float(probe.stdout) - row["duration_ms"] / 1000) < 0.2, (path.name, probe.stdout)


@pytest.mark.parametrize("camera_id", ["h264", "h265"])
def test_segments_abut_and_cover_wall_time(live_run: LiveRun, camera_id: str) -> None:
    rows = [row for row, _ in _segment_files(live_run, camera_id)]
    for before, after in itertools.pairwise(rows):
        assert after["start_ms"] == before["end_ms"], "consecutive segments must abut exactly"
    # Full segments are cut at the first keyframe past the segment length.
    for row in rows[:-1]:
        assert SEGMENT_SECONDS * 1000 - 70 <= row["duration_ms"] <= SEGMENT_SECONDS * 1000 + 2000 + 70
    total_ms = sum(row["duration_ms"] for row in rows)
    frames = sum(row["frames"] for row in rows)
    assert abs(frames - total_ms / 1000 * FPS) <= 2, "frames missing between segments"
    # The recording covers the whole wall-clock window of the run, to within 1%.
    window = live_run.wall_stop_ms - live_run.wall_start_ms
    covered = min(rows[-1]["end_ms"], live_run.wall_stop_ms) - max(rows[0]["start_ms"], live_run.wall_start_ms)
    assert covered >= window * 0.99, (covered, window)
    assert abs(rows[-1]["end_ms"] - live_run.wall_stop_ms) < 1500
    assert live_run.engine.gaps(camera_id) == []


def test_authenticated_camera_records(live_run: LiveRun) -> None:
    segments = _segment_files(live_run, "secured")
    assert len(segments) >= RECORD_SECONDS // SEGMENT_SECONDS
    with av.open(str(segments[0][1])) as container:
        assert not container.streams.audio


@pytest.mark.parametrize(
    ("camera_id", "message"),
    [
        ("wrong_password", "Camera wrong_password is offline: authentication failed"),
        ("unreachable", "Camera unreachable is offline: connection refused"),
        ("garbage", "Camera garbage is offline: "),
    ],
)
def test_bad_cameras_fail_clearly_once(live_run: LiveRun, camera_id: str, message: str) -> None:
    log = live_run.engine.log()
    assert log.count(message) == 1, log
    assert live_run.engine.segments(camera_id) == []
    assert f"Camera {camera_id} is back online" not in log


def test_no_password_in_logs_or_index(live_run: LiveRun) -> None:
    log = live_run.engine.log()
    assert "Traceback" not in log
    for secret in (WRONG_PASSWORD, RIGHT_PASSWORD):
        assert secret not in log
        assert secret.encode() not in live_run.engine.db_path.read_bytes()
    assert "rtsp://***@" in log or "viewer" not in log
