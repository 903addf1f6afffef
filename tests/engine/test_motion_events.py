"""Motion detection and events end to end: the test camera's scheduled box is the ground truth.

One engine (in-process, so the test can read its bus and counters) records three cameras
fed by the same RTSP test camera, whose box moves from t=20 s to t=35 s of scene time
(scene time starts at 0 with each client's first frame):

- ``door``: main stream only (decoded from the recorder's packets), with a zone over the
  box's path and one where the box never goes;
- ``masked``: the same, with a mask over the whole path: no event may fire;
- ``sub``: records the main stream, detects on the substream (its own connection).
"""

from __future__ import annotations

import io
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from tests.engine.conftest import enable_loopback_sockets
from tests.support.camera import RtspCamera
from tests.support.engine_thread import EngineThread
from vigil_engine.bus import BusMessage
from vigil_engine.config import parse_config
from vigil_engine.engine import EventStateError

MOTION_START_S, MOTION_END_S = 20.0, 35.0
QUIET_S = 3.0
PRE_S, POST_S = 5.0, 5.0
PATH = "0,0.1 1,0.1 1,0.8 0,0.8"  # the box sweeps the whole width between 15 % and 75 % height
TOP = "0,0 1,0 1,0.09 0,0.09"  # the box never goes there


@dataclass
class Scenario:
    run: EngineThread
    camera: RtspCamera
    reference_jpeg: bytes  # the door camera's still before any motion


def _is(kind: str, camera_id: str) -> Callable[[BusMessage], bool]:
    return lambda m: m.kind == kind and m.data.get("camera_id") == camera_id


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    enable_loopback_sockets()
    storage = tmp_path_factory.mktemp("motion")
    camera = RtspCamera(width=640, height=360, fps=15, keyint=1.0, motion=((MOTION_START_S, MOTION_END_S),)).start()
    events = {"quiet_seconds": QUIET_S, "pre_capture": PRE_S, "post_capture": POST_S}
    config = parse_config(
        {
            "storage_path": str(storage),
            "segment_seconds": 4,
            "api_port": 0,
            "cameras": [
                {
                    "id": "door",
                    "url": camera.url("h264"),
                    "motion": {"zones": [{"name": "path", "polygon": PATH}, {"name": "top", "polygon": TOP}]},
                    "events": events,
                },
                {"id": "masked", "url": camera.url("h264"), "motion": {"masks": [PATH]}, "events": events},
                {"id": "sub", "url": camera.url("h264"), "substream_url": camera.url("sub"), "events": events},
            ],
        }
    )
    run = EngineThread(config).start()
    try:
        run.wait_for(_is("segment", "door"), timeout=30)
        reference = run.call(run.engine.latest_snapshot, "door")
        assert reference is not None
        run.wait_for(_is("event_ended", "door"), timeout=MOTION_END_S + QUIET_S + 25)
        run.wait_for(_is("event_ended", "sub"), timeout=15)
        yield Scenario(run, camera, reference)
    finally:
        run.stop()
        camera.close()


def _event_messages(scenario: Scenario, kind: str, camera_id: str) -> list[BusMessage]:
    return scenario.run.matching(lambda m: m.kind == kind and m.data.get("camera_id") == camera_id)


def _decode_jpeg(data: bytes) -> npt.NDArray[np.uint8]:
    assert data[:3] == b"\xff\xd8\xff"
    with av.open(io.BytesIO(data), "r", format="image2pipe") as container:
        frame = next(container.decode(video=0))
        return np.asarray(frame.to_ndarray(format="gray"), dtype=np.uint8)


def test_event_starts_when_the_box_starts_moving_and_ends_after_the_quiet_time(scenario: Scenario) -> None:
    index = scenario.run.engine.index
    assert index is not None
    first = index.segments("door")[0]
    # Scene time 0 is the first frame the recorder received: the first segment's start.
    expected_start = first.start_ms + MOTION_START_S * 1000
    started = _event_messages(scenario, "event_started", "door")
    ended = _event_messages(scenario, "event_ended", "door")
    assert len(started) == 1
    assert len(ended) == 1
    event = ended[0].data["event"]
    assert event["id"] == started[0].data["event"]["id"]
    assert event["kind"] == "motion"
    assert abs(event["start_ms"] - expected_start) <= 500, event["start_ms"] - expected_start
    # A stopped box stays motion for about half a second (the detector's recent picture).
    assert -300 <= event["end_ms"] - (first.start_ms + MOTION_END_S * 1000) <= 1200
    # Ended only after the quiet time had passed on the engine's clock.
    assert ended[0].published_mono - started[0].published_mono >= (MOTION_END_S - MOTION_START_S) + QUIET_S - 1.0
    assert event["pre_ms"] == PRE_S * 1000
    assert event["post_ms"] == POST_S * 1000
    assert event["zones"] == ["path"]
    assert event["has_snapshot"]
    stored = scenario.run.engine.event(event["id"])
    assert stored is not None
    assert stored.end_ms == event["end_ms"]
    # The clip range (with pre and post capture) is covered by recorded footage, without holes.
    clip_end = stored.clip_end_ms(0)
    scenario.run.wait_for(
        lambda m: m.kind == "segment" and m.data["camera_id"] == "door" and m.data["end_ms"] >= clip_end, 20
    )
    clip = index.segments("door", stored.clip_start_ms, stored.clip_end_ms(0))
    assert clip[0].start_ms <= stored.clip_start_ms
    assert clip[-1].end_ms >= stored.clip_end_ms(0)
    assert all(b.start_ms - a.end_ms <= 1 for a, b in itertools.pairwise(clip))


def test_event_snapshot_is_a_jpeg_that_shows_the_box(scenario: Scenario) -> None:
    engine = scenario.run.engine
    event_id = _event_messages(scenario, "event_ended", "door")[0].data["event"]["id"]
    event = engine.event(event_id)
    assert event is not None
    snapshot = engine.event_file(event)
    thumbnail = engine.event_file(event, thumbnail=True)
    assert snapshot is not None
    assert thumbnail is not None
    assert snapshot.is_relative_to(engine.config.storage_path / "events" / "door")
    image = _decode_jpeg(snapshot.read_bytes())
    reference = _decode_jpeg(scenario.reference_jpeg)
    assert image.shape == reference.shape == (360, 640)
    assert _decode_jpeg(thumbnail.read_bytes()).shape == (180, 320)
    # The box (about 80x60 px at 640x360, moved away from its resting place) differs from the still.
    changed = np.abs(image.astype(np.int16) - reference.astype(np.int16)) > 40
    assert changed.mean() > 0.02


def test_zone_motion_and_camera_motion_are_published(scenario: Scenario) -> None:
    motion = _event_messages(scenario, "motion", "door")
    camera_level = [(m.data["active"]) for m in motion if m.data["zone"] is None]
    zone_path = [(m.data["active"]) for m in motion if m.data["zone"] == "path"]
    assert camera_level[:2] == [True, False]
    assert zone_path[:2] == [True, False]
    assert not [m for m in motion if m.data["zone"] == "top"]
    on = next(m for m in motion if m.data["active"] and m.data["zone"] is None)
    assert on.data["first_seen_mono"] <= on.data["detected_mono"] <= on.published_mono
    # Delivery on the bus is immediate; detection itself is bounded by confirmation + sampling.
    assert on.published_mono - on.data["detected_mono"] < 0.3


def test_a_mask_over_the_path_suppresses_the_event(scenario: Scenario) -> None:
    assert _event_messages(scenario, "event_started", "masked") == []
    assert _event_messages(scenario, "motion", "masked") == []
    masked = scenario.run.engine.cameras["masked"].motion
    assert masked is not None
    assert masked.frames_analysed > 100


def test_substream_detection_fires_the_event_too(scenario: Scenario) -> None:
    ended = _event_messages(scenario, "event_ended", "sub")
    assert len(ended) == 1
    event = ended[0].data["event"]
    duration = (event["end_ms"] - event["start_ms"]) / 1000
    assert MOTION_END_S - MOTION_START_S - 1.5 <= duration <= MOTION_END_S - MOTION_START_S + 1.0


def test_latest_snapshot_is_encoded_on_demand_at_the_asked_width(scenario: Scenario) -> None:
    run = scenario.run
    full = run.call(run.engine.latest_snapshot, "door")
    small = run.call(run.engine.latest_snapshot, "door", 320)
    assert full is not None
    assert small is not None
    assert _decode_jpeg(full).shape == (360, 640)
    assert _decode_jpeg(small).shape == (180, 320)


def test_manual_event_uses_the_same_path(scenario: Scenario) -> None:
    run = scenario.run
    event = run.call(run.engine.start_manual_event, "door", "doorbell")
    assert event.kind == "manual"
    assert event.running
    assert event.snapshot is not None
    # Starting again while one runs returns the running event.
    assert run.call(run.engine.start_manual_event, "door", "doorbell").id == event.id
    time.sleep(1.0)
    ended = run.call(run.engine.end_manual_event, "door")
    assert ended.id == event.id
    assert ended.end_ms is not None
    assert ended.end_ms - ended.start_ms >= 900
    with pytest.raises(EventStateError):
        run.call(run.engine.end_manual_event, "door")
    stored = run.engine.event(event.id)
    assert stored is not None
    assert stored.label == "doorbell"
    assert stored.end_ms == ended.end_ms
    messages = _event_messages(scenario, "event_ended", "door")
    assert messages[-1].data["event"]["id"] == event.id


def _thread_cpu_s(native_id: int) -> float:
    fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime in clock ticks


def test_turning_detection_off_stops_decoding_and_on_resumes_it(scenario: Scenario) -> None:
    run = scenario.run
    worker = run.engine.cameras["sub"].motion
    assert worker is not None
    native_id = worker._thread.native_id
    assert native_id is not None

    def sample(seconds: float) -> tuple[int, float]:
        frames, cpu = worker.frames_decoded, _thread_cpu_s(native_id)
        time.sleep(seconds)
        return worker.frames_decoded - frames, _thread_cpu_s(native_id) - cpu

    on_frames, on_cpu = sample(3)
    assert on_frames >= 20
    run.call(run.engine.set_motion_enabled, "sub", False)
    assert not run.engine.motion_enabled("sub")
    time.sleep(1)
    off_frames, off_cpu = sample(3)
    assert off_frames == 0
    assert off_cpu < max(on_cpu / 2, 0.02)
    settings = run.wait_for(lambda m: m.kind == "camera_settings" and m.data["camera_id"] == "sub", 5)
    assert settings.data["motion_enabled"] is False
    # A still is still available (decoded from the recorder's last keyframe).
    assert run.call(run.engine.latest_snapshot, "sub") is not None
    run.call(run.engine.set_motion_enabled, "sub", True)
    deadline = time.monotonic() + 15
    while worker.frames_decoded == 0 or sample(1)[0] == 0:
        assert time.monotonic() < deadline, "decoding did not resume"
