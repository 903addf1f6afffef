"""Camera-reported detections into Vigil: the bus, and (per camera) motion events.

Every change the camera reports is published once as a ``camera_event`` bus message. When
the camera's ``motion.source`` is ``camera`` or ``both`` and motion detection is on, the
detections that can start events feed the camera's event tracker exactly as Vigil's own
detector does: while the camera reports one active, an observation every
``TICK_S`` keeps the motion run going (so ``confirm_seconds``, the motion hold,
``quiet_seconds`` and ``max_seconds`` all apply), and the event's kind is ``camera`` with
what the camera saw as its label. People, vehicles and animals the camera reports are objects
(``topics.object_labels``): they label the event like Vigil's own detector's objects, and with
``events_from: objects`` they alone (not the camera's motion alarm) start and hold events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from vigil_engine.clock import EngineClock
from vigil_engine.events.manager import CameraEvents
from vigil_engine.events.tracker import Observation

from .topics import EVENT_DETECTIONS, CameraDetection, object_labels

_LOGGER = logging.getLogger(__name__)

# Well inside the tracker's gap tolerance (1 s): a run of camera motion never breaks up.
TICK_S = 0.25

Publish = Callable[[str, dict[str, Any]], None]


class CameraEventFeed:
    def __init__(
        self,
        camera_id: str,
        events: CameraEvents,
        clock: EngineClock,
        publish: Publish,
        starts_events: Callable[[], bool],
        frame_source: Callable[[], Any],
    ) -> None:
        self.camera_id = camera_id
        self.events = events
        self.clock = clock
        self.publish = publish
        self.starts_events = starts_events  # the camera's motion source and its run-time switch
        self.frame_source = frame_source  # the latest frame, for the event's snapshot
        self._active: dict[tuple[str, str], str] = {}  # (topic, source) -> detection
        self._ticker: asyncio.Task[None] | None = None

    @property
    def labels(self) -> frozenset[str]:
        return frozenset(det for det in self._active.values() if det in EVENT_DETECTIONS)

    def detection(self, detection: CameraDetection) -> None:
        """A change the camera reported (on the event loop)."""
        now = self.clock.now_ms()
        self.publish(
            "camera_event",
            {
                "camera_id": self.camera_id,
                "detection": detection.detection,
                "topic": detection.topic,
                "active": detection.active,
                "at_ms": now,
            },
        )
        key = (detection.topic, detection.source)
        if detection.active:
            self._active[key] = detection.detection
        else:
            self._active.pop(key, None)
        if self.labels and (self._ticker is None or self._ticker.done()):
            self._ticker = asyncio.create_task(self._tick(), name=f"camera-events-{self.camera_id}")

    async def _tick(self) -> None:
        first = True
        while labels := self.labels:
            if self.starts_events():
                obs = Observation(self.clock.now_ms(), time.monotonic(), True, 1.0)
                await asyncio.to_thread(self._observe, obs, labels, first)
                first = False
            await asyncio.sleep(TICK_S)
        await asyncio.to_thread(self.events.observe_camera_end)

    def _observe(self, obs: Observation, labels: frozenset[str], with_frame: bool) -> None:
        # A frame for the snapshot only at the start: getting one may decode a keyframe.
        frame = self.frame_source() if with_frame else None
        self.events.observe_camera(obs, labels, frame, object_labels(labels))

    async def close(self) -> None:
        self._active.clear()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._ticker
            self._ticker = None
