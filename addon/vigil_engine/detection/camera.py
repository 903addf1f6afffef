"""One camera's object detection: when and where to look, what counts, the tracked objects.

It rides on the camera's motion thread, which calls :meth:`CameraObjects.after_motion` for each
analysed frame. Nothing happens unless the frame shows motion, or did within the last
:data:`TAIL_MS` (so an object that stops is still seen stopping): then, ``fps`` times a second
of frame time (at most the motion's rate), the frame goes to the engine's one
:class:`~vigil_engine.detection.service.DetectionService` with the regions to look at (around the
moving areas and the moving tracked objects, ``regions``). A camera without motion costs one
comparison per analysed frame.

The service hands results back from its own thread (:meth:`deliver`); the motion thread takes
them up at its next frame or tick (:meth:`apply_results`): the camera's filters (labels, scores,
sizes, masks), the tracker, the ``object_*`` bus messages and the camera's events. So the
tracker and the events are only ever touched by the camera's own thread, and recording and
motion never wait for the model.
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import av

from vigil_engine.events.model import EventObject
from vigil_engine.events.objects import ObjectsSeen
from vigil_engine.motion.geometry import contains
from vigil_engine.motion.sampler import FrameSampler

from .regions import Box, select_regions
from .service import DetectionService, Job, JobResult
from .tracker import ObjectAppeared, ObjectChange, ObjectChanged, ObjectEnded, ObjectTracker, Seen, Track, ZoneArea

if TYPE_CHECKING:
    from vigil_engine.config import CameraConfig
    from vigil_engine.events.manager import CameraEvents
    from vigil_engine.motion.detector import MotionResult

_LOGGER = logging.getLogger(__name__)

TAIL_MS = 2000  # detection goes on this long after the last frame with motion
LATENCIES = 200  # frame-to-result latencies kept for the status

Publish = Callable[[str, dict[str, Any]], None]


class CameraObjects:
    """The object pipeline of one camera (see the module docstring)."""

    def __init__(self, camera: CameraConfig, service: DetectionService, events: CameraEvents, publish: Publish) -> None:
        self.camera = camera
        self.settings = camera.objects
        self.service = service
        self.events = events
        self._publish = publish
        self.enabled = camera.objects.enabled
        self._end_pending = False  # switched off: the motion thread ends the tracks at its next turn
        self._sampler = FrameSampler(min(camera.objects.fps, camera.motion.fps))
        self._until_ms = -1  # detection runs on frames up to this time (motion + tail)
        self._moving: tuple[Box, ...] = ()  # the latest moving areas, normalised
        self.tracker = ObjectTracker(
            tuple(ZoneArea(zone.name, zone.polygon, zone.objects) for zone in camera.motion.zones)
        )
        self._results: deque[JobResult] = deque()  # from the service's thread
        self._frame_size = (0, 0)  # of the frames the tracks' boxes are in
        self._lock = threading.Lock()
        self.frames_submitted = 0
        self.frames_detected = 0
        self.frames_skipped = 0
        self._latencies: deque[float] = deque(maxlen=LATENCIES)

    # --- the motion thread ---
    def after_motion(self, frame: av.VideoFrame, result: MotionResult, at_ms: int, mono: float) -> None:
        """An analysed frame: detect in it if it (or one shortly before) showed motion."""
        if result.motion or any(result.zones.values()):
            self._until_ms = at_ms + TAIL_MS
            self._moving = result.boxes
        if at_ms > self._until_ms or not self.enabled or result.global_change:
            return
        if not self._sampler.due(at_ms / 1000):
            return
        width, height = frame.width, frame.height
        if (width, height) != self._frame_size:
            # A new stream size (the camera was reconfigured): boxes of the old size mean nothing.
            self._publish_changes(self.tracker.end_all(), at_ms)
            self._frame_size = (width, height)
        areas = [(x1 * width, y1 * height, x2 * width, y2 * height) for x1, y1, x2, y2 in self._moving]
        regions = select_regions([*areas, *self.tracker.boxes_to_follow(at_ms)], width, height, self.service.input_side)
        if not regions:
            return
        self.frames_submitted += 1
        self.service.submit(Job(self, frame, tuple(regions), at_ms, mono, self.settings.min_score))

    def apply_results(self, now_ms: int) -> None:
        """Take up what the service found (called by the motion thread at each frame and tick)."""
        while self._results:
            result = self._results.popleft()
            if self.enabled:
                self._apply(result)
        if self._end_pending:
            self._end_pending = False
            self.stop(now_ms)
        elif self.enabled and now_ms > self._until_ms >= 0:
            # No motion (past the tail): what stands still in the picture settles as stationary.
            self._publish_changes(self.tracker.settle(now_ms), now_ms)

    def set_enabled(self, enabled: bool) -> None:
        """Turn detection on or off (any thread; the motion thread ends the tracks at its next turn)."""
        self.enabled = enabled
        if not enabled:
            self._end_pending = True

    def stop(self, now_ms: int) -> None:
        """Detection stops: every tracked object ends where it was last seen."""
        self._until_ms = -1
        self._sampler.reset()
        self._publish_changes(self.tracker.end_all(), now_ms)

    # --- the service's thread ---
    def deliver(self, result: JobResult) -> None:
        self._results.append(result)

    def skipped(self, count: int = 1) -> None:
        with self._lock:
            self.frames_skipped += count

    # --- status (any thread) ---
    def status(self) -> dict[str, Any]:
        """The camera's detection state, as the API's ``ObjectDetection`` shows it."""
        latencies = sorted(self._latencies)
        return {
            "enabled": self.enabled,
            "available": self.service.error is None,
            "error": self.service.error,
            "frames_detected": self.frames_detected,
            "frames_skipped": self.frames_skipped,
            "objects_tracked": sum(1 for track in list(self.tracker.tracks) if track.confirmed),
            "latency_p50_ms": round(statistics.median(latencies) * 1000) if latencies else None,
            "latency_p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))] * 1000) if latencies else None,
        }

    # --- the results ---
    def _apply(self, result: JobResult) -> None:
        job = result.job
        self.frames_detected += 1
        width, height = job.frame.width, job.frame.height
        seen = [
            Seen(d.label, d.score, d.box)
            for d in result.detections
            if self._wanted(d.label, d.score, d.box, width, height)
        ]
        looked_at = [(float(x1), float(y1), float(x2), float(y2)) for x1, y1, x2, y2 in job.regions]
        step = self.tracker.update(seen, looked_at, job.at_ms, (width, height))
        now = time.monotonic()
        self._latencies.append(now - job.mono)
        self._publish_changes(step.changes, job.at_ms, job.mono)
        active = [track for track in step.seen if track.active]
        ended = [change.track for change in step.changes if isinstance(change, ObjectEnded)]
        if not active and not ended:
            return
        best = max((track for track in step.improved if track.active), key=lambda t: t.best_score, default=None)
        self.events.observe_objects(
            ObjectsSeen(
                at_ms=job.at_ms,
                mono=job.mono,
                frame=job.frame,
                active=tuple(_event_object(track) for track in active),
                moving_since_ms=min((track.moving_since_ms for track in active), default=job.at_ms),
                zones=frozenset(zone for track in active for zone in track.current_zones),
                best=_event_object(best) if best is not None else None,
                ended=tuple(_event_object(track) for track in ended),
            )
        )

    def _wanted(self, label: str, score: float, box: Box, width: int, height: int) -> bool:
        settings = self.settings
        if label not in settings.labels:
            return False
        limits = settings.filter_for(label)
        if score < limits.min_score:
            return False
        if (box[2] - box[0]) * (box[3] - box[1]) < limits.min_area * width * height:
            return False
        foot = ((box[0] + box[2]) / 2 / width, box[3] / height)
        return not any(contains(mask, *foot) for mask in settings.masks)

    def _publish_changes(self, changes: list[ObjectChange], at_ms: int, frame_mono: float | None = None) -> None:
        for change in changes:
            data: dict[str, Any] = {"camera_id": self.camera.id, "object": object_state(change.track), "at_ms": at_ms}
            if isinstance(change, ObjectAppeared):
                kind = "object_appeared"
                data["frame_mono"] = frame_mono
            elif isinstance(change, ObjectChanged):
                kind = "object_updated"
                data["zones_entered"] = sorted(change.zones_entered)
                data["zones_left"] = sorted(change.zones_left)
            else:
                kind = "object_ended"
            self._publish(kind, data)
            if isinstance(change, ObjectAppeared):
                _LOGGER.debug("Camera %s: %s %s appeared", self.camera.id, change.track.label, change.track.id)


def object_state(track: Track) -> dict[str, Any]:
    """A tracked object as the bus (and the API) shows it; boxes normalised to the frame."""
    return {
        "id": track.id,
        "label": track.label,
        "score": round(track.score, 4),
        "best_score": round(track.best_score, 4),
        "box": [round(value, 4) for value in track.normalised(track.box)],
        "first_ms": track.first_ms,
        "last_ms": track.last_ms,
        "zones": sorted(track.zones),
        "current_zones": sorted(track.current_zones),
        "stationary": track.stationary,
    }


def _event_object(track: Track) -> EventObject:
    return EventObject(
        id=track.id,
        label=track.label,
        score=track.best_score,
        start_ms=track.first_ms,
        end_ms=track.last_ms,
        zones=tuple(sorted(track.zones)),
        box=track.normalised(track.best_box),
    )
