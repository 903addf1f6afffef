"""Outages and crashes against the real engine process and the real RTSP test camera."""

from __future__ import annotations

import time

import av

from tests.engine.conftest import EngineFactory
from tests.support.camera import RtspCamera
from tests.support.fixtures import CameraFactory
from vigil_engine.storage.mp4 import top_level_boxes


def _config(camera: RtspCamera, **extra: object) -> dict[str, object]:
    return {
        "segment_seconds": 4,
        "read_timeout": 3,
        "open_timeout": 4,
        "min_free": "1MB",
        "cameras": [{"id": "cam", "url": camera.url("h264")}],
        **extra,
    }


def test_outage_resumes_quickly_and_indexes_the_gap(
    rtsp_camera_factory: CameraFactory, engine_factory: EngineFactory
) -> None:
    camera = rtsp_camera_factory(fps=15, keyint=1.0)
    engine = engine_factory(_config(camera))
    engine.wait_for(lambda: len(engine.segments("cam")) >= 1, 20, "a first segment")

    camera.stop()
    stopped_at = time.time() * 1000
    time.sleep(10)
    camera.start()
    back_at = time.time() * 1000
    engine.wait_for(lambda: engine.gaps("cam"), 15, "the gap to be indexed")
    gap = engine.gaps("cam")[0]
    engine.wait_for(lambda: any(s["start_ms"] >= gap["end_ms"] for s in engine.segments("cam")), 15, "new footage")

    # The gap starts where the footage before it ends, and ends where the new footage starts.
    before = [s for s in engine.segments("cam") if s["end_ms"] <= gap["start_ms"]]
    after = [s for s in engine.segments("cam") if s["start_ms"] >= gap["end_ms"]]
    assert before[-1]["end_ms"] == gap["start_ms"]
    assert after[0]["start_ms"] == gap["end_ms"]
    # The camera's last frame was at most a read timeout before we stopped it.
    assert stopped_at - 4000 <= gap["start_ms"] <= stopped_at + 500
    # Recording resumed within 3 s of the camera's return.
    assert gap["end_ms"] - back_at <= 3000, gap["end_ms"] - back_at
    assert "stopped sending" in gap["reason"] or "refused" in gap["reason"]

    log = engine.log()
    assert log.count("Camera cam is offline") == 1, log
    assert log.count("Camera cam is back online") == 1, log
    assert "Traceback" not in log


def test_frozen_camera_times_out_and_reconnects(
    rtsp_camera_factory: CameraFactory, engine_factory: EngineFactory
) -> None:
    camera = rtsp_camera_factory(fps=15, keyint=1.0)
    engine = engine_factory(_config(camera))
    engine.wait_for(lambda: "Camera cam connected" in engine.log(), 20, "the camera")
    camera.freeze()
    frozen_at = time.monotonic()
    engine.wait_for(lambda: "Camera cam is offline" in engine.log(), 10, "the read timeout")
    # The read timeout (3 s) plus what was already in flight in socket buffers.
    assert time.monotonic() - frozen_at < 3 + 5
    assert "no answer from the camera within 3 s" in engine.log()
    camera.thaw()
    engine.wait_for(lambda: "Camera cam is back online" in engine.log(), 30, "the reconnect")
    segments_before = len(engine.segments("cam"))
    engine.wait_for(lambda: len(engine.segments("cam")) > segments_before, 15, "new segments after the freeze")


def test_kill_9_keeps_torn_segment_and_everything_before(
    rtsp_camera_factory: CameraFactory, engine_factory: EngineFactory
) -> None:
    camera = rtsp_camera_factory(fps=15, keyint=1.0)
    engine = engine_factory(_config(camera, segment_seconds=6))
    engine.wait_for(lambda: len(engine.segments("cam")) >= 2, 30, "two segments")
    # Kill mid-segment: about 3.5 s into the third segment.
    third_start = engine.segments("cam")[-1]["end_ms"]
    while time.time() * 1000 < third_start + 3500:
        time.sleep(0.1)
    indexed = [dict(s) for s in engine.segments("cam")]
    engine.kill()

    on_disk = sorted(engine.recordings.glob("cam/*/*/*.mp4"))
    torn = [p for p in on_disk if p.relative_to(engine.recordings).as_posix() not in {s["path"] for s in indexed}]
    assert len(torn) == 1, "exactly the segment being written is unindexed after kill -9"
    torn_path = torn[0]
    torn_size = torn_path.stat().st_size

    engine.start()
    engine.wait_for(lambda: "Reconciled storage with the index" in engine.log(), 20, "reconciliation")
    engine.wait_for(lambda: engine.log().count("Camera cam connected") == 2, 20, "recording to continue")
    rows = {s["path"]: dict(s) for s in engine.segments("cam")}
    rel = torn_path.relative_to(engine.recordings).as_posix()
    assert rel in rows, "the torn segment is indexed"
    recovered = rows[rel]
    assert recovered["recovered"] == 1
    assert recovered["start_ms"] == indexed[-1]["end_ms"]
    # Cut at most at its last complete fragment: ~3 s of 3.5 s survive (keyframe each second).
    assert 1500 <= recovered["duration_ms"] <= 4500, recovered
    assert recovered["bytes"] == torn_path.stat().st_size <= torn_size
    kinds = [kind for kind, _, _ in top_level_boxes(torn_path)]
    assert kinds[:2] == ["ftyp", "moov"]
    assert kinds.count("moof") == kinds.count("mdat") >= 1
    with av.open(str(torn_path)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert abs(frames - recovered["duration_ms"] / 1000 * 15) <= 2
    # Nothing written before the crash was lost or changed.
    for segment in indexed:
        assert rows[segment["path"]]["bytes"] == segment["bytes"]
        assert (engine.recordings / segment["path"]).stat().st_size == segment["bytes"]
    # And recording continued after the restart.
    engine.wait_for(lambda: any(s["start_ms"] > recovered["end_ms"] for s in engine.segments("cam")), 20, "new footage")
