"""One detection service for every camera: a bounded queue of frames and one thread that runs the model.

Cameras hand in frames (with the regions to look at) and never wait: :meth:`DetectionService.submit`
only puts the frame in the queue. The queue is bounded and never falls behind: it holds one
frame per camera, the newest, whose older frame still waiting is dropped; cameras take turns in
the order they first got in line (a camera that keeps sending keeps its place, so every camera
with motion gets its share of the detector, the freshest picture each time). At most
:data:`QUEUE_FRAMES` cameras wait at once (beyond that the one waiting longest loses its frame),
and a frame that has waited longer than :data:`MAX_WAIT_S` is dropped when its turn comes:
detection is always about what is happening now. Each drop is counted for the camera whose
frame it was (its status shows it).

One thread runs the model, one inference at a time: with ONNX Runtime's one intra-op thread
that is at most one core, which leaves the others to recording and motion however many cameras
move. (The model is opened in that thread, so a slow load never delays the engine's start.)

A detector that cannot be opened (missing or invalid model, runtime missing) is one ERROR line;
the service then drops every frame (counted) and recording and motion go on as before. A failing
inference (a remote server away) is one WARNING per outage, and one INFO line when it works again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import av

from .crop import crop_frame
from .regions import RegionBox, cut_by, iou

if TYPE_CHECKING:
    from .detector import Detection, Detector
    from .settings import DetectorSettings

_LOGGER = logging.getLogger(__name__)

QUEUE_FRAMES = 4
MAX_WAIT_S = 1.0


class Requester(Protocol):
    """The camera side of a job: told what was found, and of each frame dropped."""

    def deliver(self, result: JobResult) -> None: ...

    def skipped(self, count: int = 1) -> None: ...


@dataclass(frozen=True, slots=True)
class Job:
    camera: Requester
    frame: av.VideoFrame
    regions: tuple[RegionBox, ...]
    at_ms: int  # the frame's time (UTC ms, the stream's anchored clock)
    mono: float  # time.monotonic() when the frame was decoded
    threshold: float  # the lowest score the camera accepts
    queued_mono: float = field(default_factory=time.monotonic)


@dataclass(frozen=True, slots=True)
class JobResult:
    job: Job
    detections: list[Detection]
    done_mono: float
    inference_s: float  # CPU-bound time in the model and around it, for the status


class DetectionService:
    """Runs the detector for every camera; thread-safe :meth:`submit`, never blocking."""

    def __init__(
        self,
        settings: DetectorSettings,
        *,
        queue_frames: int = QUEUE_FRAMES,
        max_wait_s: float = MAX_WAIT_S,
        opener: Callable[[DetectorSettings], Detector] | None = None,
    ) -> None:
        self.settings = settings
        self._queue_frames = queue_frames
        self._max_wait_s = max_wait_s
        self._opener = opener
        # One waiting frame per camera (keyed by the camera), in the order the cameras got in line.
        self._jobs: dict[int, Job] = {}
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="detection", daemon=True)
        self._detector: Detector | None = None
        self.error: str | None = None  # why the detector cannot be used (None while it works or loads)
        self.ready = threading.Event()  # set once the detector is open (or failed to open)
        self.inferences = 0
        self._failing = False

    @property
    def available(self) -> bool:
        return self._detector is not None and self.error is None

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._stopping = True
            dropped = list(self._jobs.values())
            self._jobs.clear()
            self._cond.notify_all()
        for job in dropped:
            job.camera.skipped()
        if self._thread.is_alive():
            self._thread.join(timeout)
        detector, self._detector = self._detector, None
        if detector is not None:
            detector.close()

    def submit(self, job: Job) -> None:
        """Queue a frame: it replaces its camera's frame still waiting (keeping the camera's place
        in line), or gets in line; either way a dropped frame is counted for its camera."""
        dropped: Job | None = None
        key = id(job.camera)
        with self._cond:
            if self._stopping or self.error is not None:
                dropped = job
            elif key in self._jobs:
                dropped = self._jobs[key]
                self._jobs[key] = job  # a dict keeps the key's place: the camera keeps its turn
            else:
                if len(self._jobs) >= self._queue_frames:
                    dropped = self._jobs.pop(next(iter(self._jobs)))
                self._jobs[key] = job
                self._cond.notify()
        if dropped is not None:
            dropped.camera.skipped()

    def queued(self) -> int:
        with self._cond:
            return len(self._jobs)

    # --- the thread ---
    def _run(self) -> None:
        if not self._open():
            return
        while True:
            with self._cond:
                while not self._jobs and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                job = self._jobs.pop(next(iter(self._jobs)))
            if time.monotonic() - job.queued_mono > self._max_wait_s:
                job.camera.skipped()
                continue
            try:
                self._detect(job)
            except Exception:  # the service must outlive any bug; the traceback goes to the log once
                if not self._failing:
                    _LOGGER.exception("Object detection failed unexpectedly; frames are skipped until it works again")
                self._failing = True
                job.camera.skipped()

    def _open(self) -> bool:
        from .backends import BackendError  # noqa: PLC0415 - numpy only once detection runs
        from .model import ModelError  # noqa: PLC0415
        from .settings import open_detector  # noqa: PLC0415

        started = time.monotonic()
        try:
            self._detector = (self._opener or open_detector)(self.settings)
            layout = self._detector.backend.layout()
        except (ModelError, BackendError, OSError, ValueError) as err:
            self.error = str(err)
            _LOGGER.error("Object detection is unavailable: %s (recording and motion detection go on)", err)
            self._drop_all()
            return False
        finally:
            self.ready.set()
        _LOGGER.info(
            "Object detection ready: %s, input %dx%d, opened in %.1f s",
            self._detector.backend.name,
            layout.width,
            layout.height,
            time.monotonic() - started,
        )
        return True

    def _drop_all(self) -> None:
        with self._cond:
            dropped = list(self._jobs.values())
            self._jobs.clear()
        for job in dropped:
            job.camera.skipped()

    @property
    def input_side(self) -> int:
        """The model's input size (the smallest region worth cropping), 416 until it is known."""
        detector = self._detector
        if detector is None:
            return 416
        layout = detector.backend.layout()
        return max(layout.width, layout.height)

    def _detect(self, job: Job) -> None:
        from .backends import BackendError  # noqa: PLC0415 - loaded by _open already
        from .detector import Region  # noqa: PLC0415

        detector = self._detector
        assert detector is not None
        started = time.monotonic()
        found: list[Detection] = []
        try:
            width, height = job.frame.width, job.frame.height
            for region in job.regions:
                picture = crop_frame(job.frame, region)
                in_region = detector.detect(picture, Region(x=region[0], y=region[1]), threshold=job.threshold)
                found += [d for d in in_region if not cut_by(d.box, region, width, height)]
        except BackendError as err:
            if not self._failing:
                self._failing = True
                _LOGGER.warning("Object detection failed: %s; frames are skipped until it works again", err)
            job.camera.skipped()
            return
        except (av.FFmpegError, ValueError) as err:
            # A frame the crop or the scaler cannot take (an odd format): this frame only.
            _LOGGER.debug("Object detection skipped a frame: %s", err)
            job.camera.skipped()
            return
        if self._failing:
            self._failing = False
            _LOGGER.info("Object detection works again")
        self.inferences += len(job.regions)
        done = time.monotonic()
        job.camera.deliver(JobResult(job, _merge(found), done, done - started))


def _merge(found: Sequence[Detection]) -> list[Detection]:
    """One detection per object where regions overlapped: of two boxes of the same label that
    overlap by more than half, the better-scored stays."""
    kept: list[Detection] = []
    for detection in sorted(found, key=lambda d: -d.score):
        if all(other.label != detection.label or iou(other.box, detection.box) <= 0.5 for other in kept):
            kept.append(detection)
    return kept
