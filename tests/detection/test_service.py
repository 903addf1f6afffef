"""The detection service on the real model: one waiting frame per camera, turns, drops counted,
crops of YUV frames, and a model that cannot be used costing nothing but one ERROR line."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import av
import pytest

from tests.detection.conftest import IMAGES, SHARED_MODEL
from vigil_engine.detection.detector import Detection
from vigil_engine.detection.images import read_picture
from vigil_engine.detection.regions import iou
from vigil_engine.detection.service import DetectionService, Job, JobResult
from vigil_engine.detection.settings import DetectorSettings

# The woman in person.jpg (640x424), as the detector finds her in the whole picture.
WOMAN = (189.1, 97.0, 276.5, 384.6)


class Camera:
    """What a camera's object pipeline is to the service: told the results and the drops."""

    def __init__(self) -> None:
        self.results: list[JobResult] = []
        self.dropped = 0
        self.done = threading.Event()

    def deliver(self, result: JobResult) -> None:
        self.results.append(result)
        self.done.set()

    def skipped(self, count: int = 1) -> None:
        self.dropped += count
        self.done.set()


@pytest.fixture
def service() -> Iterator[DetectionService]:
    running = DetectionService(DetectorSettings(model=SHARED_MODEL))
    running.start()
    assert running.ready.wait(30)
    yield running
    running.stop()


def _frame() -> av.VideoFrame:
    return read_picture(IMAGES / "person.jpg").reformat(format="yuv420p")


def _job(camera: Camera, frame: av.VideoFrame, regions: tuple[tuple[int, int, int, int], ...], at_ms: int) -> Job:
    return Job(camera, frame, regions, at_ms, time.monotonic(), threshold=0.5)


def _persons(detections: list[Detection]) -> list[Detection]:
    return [d for d in detections if d.label == "person"]


def _wait(cameras: list[Camera], submitted: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while sum(len(c.results) + c.dropped for c in cameras) < submitted:
        assert time.monotonic() < deadline, [(len(c.results), c.dropped) for c in cameras]
        time.sleep(0.01)


def test_a_crop_of_a_yuv_frame_finds_the_person_where_she_is_in_the_frame(service: DetectionService) -> None:
    camera = Camera()
    frame = _frame()
    service.submit(_job(camera, frame, ((150, 8, 566, 424),), 1))
    _wait([camera], 1)
    (result,) = camera.results
    (woman,) = _persons(result.detections)
    assert iou(woman.box, WOMAN) > 0.8
    assert result.done_mono >= result.job.queued_mono


def test_an_object_the_region_cuts_is_not_believed(service: DetectionService) -> None:
    camera = Camera()
    # Her left side and legs are outside this crop: whatever is found of her is only a part.
    service.submit(_job(camera, _frame(), ((210, 0, 626, 300),), 1))
    _wait([camera], 1)
    assert _persons(camera.results[0].detections) == []


def test_a_burst_keeps_one_frame_per_camera_and_the_cameras_take_turns(service: DetectionService) -> None:
    """Two cameras hand in 20 frames each at once: far more than the model gets through. Each
    camera's waiting frame is replaced by its newer one (the older dropped and counted), both
    cameras are served, and the last frame of each, the freshest, is always looked at."""
    cameras = [Camera(), Camera()]
    frame = _frame()
    for at_ms in range(20):
        for camera in cameras:
            service.submit(_job(camera, frame, ((150, 8, 566, 424),), at_ms))
    _wait(cameras, 40)
    for camera in cameras:
        assert len(camera.results) + camera.dropped == 20
        assert camera.dropped > 0
        assert camera.results[-1].job.at_ms == 19
        assert all(_persons(result.detections) for result in camera.results)
    assert service.queued() == 0


def test_a_frame_that_waited_too_long_is_dropped_not_detected() -> None:
    stale = DetectionService(DetectorSettings(model=SHARED_MODEL), max_wait_s=0.0)
    stale.start()
    try:
        assert stale.ready.wait(30)
        camera = Camera()
        for at_ms in range(3):
            stale.submit(_job(camera, _frame(), ((150, 8, 566, 424),), at_ms))
            _wait([camera], at_ms + 1)
        assert camera.results == []
        assert camera.dropped == 3
    finally:
        stale.stop()


def test_a_missing_model_is_one_error_and_every_frame_is_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "yolox_nano.onnx"
    broken = DetectionService(DetectorSettings(model=missing))
    with caplog.at_level(logging.INFO, logger="vigil_engine.detection"):
        broken.start()
        assert broken.ready.wait(30)
        camera = Camera()
        for at_ms in range(5):
            broken.submit(_job(camera, _frame(), ((150, 8, 566, 424),), at_ms))
        broken.stop()
    assert not broken.available
    assert broken.error == f"model {missing}: not found"
    assert camera.dropped == 5
    assert camera.results == []
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in errors] == [
        f"Object detection is unavailable: model {missing}: not found (recording and motion detection go on)"
    ]
    assert all(r.exc_info is None for r in caplog.records)
