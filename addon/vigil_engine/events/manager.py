"""Events of every camera: motion turned into events, manual events, snapshots, persistence.

The motion worker of each camera feeds :class:`CameraEvents` with analysed frames; the
API starts and ends manual events. Everything that changes is saved in the index (the
event and the protected range of its footage, in one transaction) and published on the
bus. Order matters for latency: the motion message is published before any disk work,
and an event's start is published right after its row is committed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

import av

from vigil_engine.clock import EngineClock
from vigil_engine.config import CameraConfig, EngineConfig
from vigil_engine.storage.index import Index

from .model import Box, EventObject, EventRecord, new_event_id
from .objects import ObjectsSeen, merge_objects
from .snapshots import THUMBNAIL_WIDTH, encode_jpeg, event_image_paths, remove_event_images, write_atomically
from .tracker import Change, EventEnded, EventProgress, EventStarted, MotionChanged, MotionTracker, Observation

_LOGGER = logging.getLogger(__name__)
DAY_MS = 86_400_000
# A better snapshot replaces the current one at most this often, and only if clearly better.
SNAPSHOT_INTERVAL_S = 1.0
SNAPSHOT_GAIN = 1.2
# An object's snapshot is replaced by a detection this much better (scores are 0-1).
OBJECT_SNAPSHOT_GAIN = 0.05
# Objects seen moving this long before a motion event is confirmed are the event's.
PENDING_OBJECTS_MS = 2000

Publish = Callable[[str, dict[str, Any]], None]


def _as_decoded(frame: av.VideoFrame) -> av.VideoFrame:
    return frame


class CameraEvents:
    """One camera's motion state, its running motion event and its running manual event.

    The running motion event also gathers the camera's tracked objects (from the detection
    frames, :meth:`observe_objects`) and what the camera itself reports (ONVIF): its labels,
    top score and objects, and a snapshot of its best object with the object boxed.
    """

    def __init__(self, manager: EventManager, camera: CameraConfig) -> None:
        self.manager = manager
        self.camera = camera
        self.tracker = MotionTracker(camera.events, tuple(zone.name for zone in camera.motion.zones))
        self._lock = threading.RLock()
        self._motion_event: EventRecord | None = None
        self._manual_event: EventRecord | None = None
        # The strongest frame of the current run or event, for its snapshot.
        self._best_frame: av.VideoFrame | None = None
        self._best_score = -1.0
        self._written_score = -1.0
        self._written_at = 0.0
        self._latest_frame: av.VideoFrame | None = None
        # What the camera itself reports (ONVIF events) while it feeds the tracker, and the
        # objects among it (person, vehicle, animal).
        self._camera_labels: frozenset[str] = frozenset()
        self._camera_objects: frozenset[str] = frozenset()
        # Zones that only objects of given labels enter: their motion alone is no event zone.
        self._object_zones = frozenset(zone.name for zone in camera.motion.zones if zone.objects is not None)
        # Active objects seen lately (an event starting now takes them), and the best detection
        # among them, for the snapshot: (frame, the object at its best in that frame).
        self._recent_objects: dict[str, EventObject] = {}
        self._object_shot: tuple[av.VideoFrame, EventObject] | None = None
        self._written_object_score = -1.0  # of the object in the written snapshot (-1: none)
        # The frame as it should be shown (the motion worker may decode it again in full quality).
        self.sharpen: Callable[[av.VideoFrame], av.VideoFrame] = _as_decoded

    @property
    def motion_active(self) -> bool:
        return self.tracker.active

    @property
    def active_zones(self) -> frozenset[str]:
        return self.tracker.active_zones

    # --- motion (from the camera's motion thread) ---
    def observe(self, obs: Observation, frame: av.VideoFrame | None) -> None:
        with self._lock:
            self._latest_frame = frame or self._latest_frame
            if frame is not None and (obs.motion or obs.zones) and obs.score > self._best_score:
                self._best_frame, self._best_score = frame, obs.score
            self._apply(self.tracker.observe(obs))
            if not self.tracker.active and not self.tracker.event_running:
                self._best_frame, self._best_score = None, -1.0

    def observe_camera(
        self,
        obs: Observation,
        labels: frozenset[str],
        frame: av.VideoFrame | None,
        objects: frozenset[str] = frozenset(),
    ) -> None:
        """The camera reports detections (``labels``): one more moving observation, like a detector frame.

        The objects among them (``objects``: ``person``, ``vehicle``, ``animal``) count like
        Vigil's own tracked objects: with ``events_from: objects`` they start and hold events,
        and either way they label them."""
        with self._lock:
            self._camera_labels = labels
            self._camera_objects = objects
            self.observe(obs, frame)
            if objects:
                self._apply(self.tracker.observe_objects(obs.at_ms, obs.mono, obs.at_ms, frozenset()))
            event = self._motion_event
            if event is None:
                return
            updated = event
            if event.kind == "camera":
                # What the camera saw during the event: a person joining the motion shows in the label.
                seen = sorted(set((event.label or "").split(", ")) - {""} | labels)
                updated = replace(updated, label=", ".join(seen))
            updated = replace(updated, labels=tuple(sorted(set(updated.labels) | objects)))
            if updated != event:
                self._motion_event = updated
                self.manager.save(updated)
                self.manager.publish("event_updated", {"camera_id": self.camera.id, "event": updated.as_dict()})

    def observe_camera_end(self) -> None:
        """The camera reports nothing active any more; the tracker ends motion and event as it goes quiet."""
        with self._lock:
            self._camera_labels = frozenset()
            self._camera_objects = frozenset()

    # --- tracked objects (from the camera's motion thread, one detection frame at a time) ---
    def observe_objects(self, seen: ObjectsSeen) -> None:
        with self._lock:
            for obj in seen.active:
                self._recent_objects[obj.id] = obj
            horizon = seen.at_ms - PENDING_OBJECTS_MS
            self._recent_objects = {key: obj for key, obj in self._recent_objects.items() if obj.end_ms >= horizon}
            shot = self._object_shot
            if shot is not None and shot[1].end_ms < horizon and self._motion_event is None:
                shot = self._object_shot = None  # too old to picture an event that starts now
            if seen.best is not None and (shot is None or seen.best.score > shot[1].score):
                self._object_shot = (seen.frame, seen.best)
            if seen.active:
                self._apply(self.tracker.observe_objects(seen.at_ms, seen.mono, seen.moving_since_ms, seen.zones))
            event = self._motion_event
            if event is not None and (seen.active or seen.ended):
                known = {obj.id for obj in event.objects}
                self._attach(event, [*seen.active, *(obj for obj in seen.ended if obj.id in known)])

    def _attach(self, event: EventRecord, objects: list[EventObject]) -> None:
        """Fold objects into the running event; save and publish it when what it shows changed."""
        updated = self._with_objects(event, objects)
        shot = self._object_shot
        snapshot_due = (
            shot is not None
            and any(obj.id == shot[1].id for obj in updated.objects)
            and (
                self._written_object_score < 0
                or (
                    shot[1].score >= self._written_object_score + OBJECT_SNAPSHOT_GAIN
                    and time.monotonic() - self._written_at >= SNAPSHOT_INTERVAL_S
                )
            )
        )
        if snapshot_due:
            updated = self._write_object_snapshot(updated)
        self._motion_event = updated
        changed = (
            {obj.id for obj in updated.objects} != {obj.id for obj in event.objects}
            or updated.labels != event.labels
            or updated.zones != event.zones
        )
        if changed or snapshot_due:
            self.manager.save(updated)
            self.manager.publish("event_updated", {"camera_id": self.camera.id, "event": updated.as_dict()})

    def _with_objects(self, event: EventRecord, objects: list[EventObject]) -> EventRecord:
        merged = merge_objects(event.objects, objects)
        labels = {obj.label for obj in merged} | set(event.labels)
        return replace(
            event,
            objects=merged,
            labels=tuple(sorted(labels)),
            top_score=max((obj.score for obj in merged), default=0.0),
            zones=self._event_zones(event.zones, merged),
        )

    def _event_zones(self, zones: Iterable[str], objects: Iterable[EventObject]) -> tuple[str, ...]:
        """A zone that takes only some objects counts when such an object entered it, not for its motion."""
        return tuple(sorted((set(zones) - self._object_zones) | {zone for obj in objects for zone in obj.zones}))

    def idle(self, now_ms: int) -> None:
        with self._lock:
            self._apply(self.tracker.idle(now_ms, time.monotonic()))
            manual = self._manual_event
            if manual is not None and now_ms - manual.start_ms >= self.camera.events.max_seconds * 1000:
                self._end_manual(now_ms)

    def stop_detection(self, now_ms: int) -> None:
        with self._lock:
            self._apply(self.tracker.stop(now_ms))
            self._best_frame, self._best_score = None, -1.0

    def _apply(self, changes: list[Change]) -> None:
        for change in changes:
            if isinstance(change, MotionChanged):
                self.manager.publish(
                    "motion",
                    {
                        "camera_id": self.camera.id,
                        "zone": change.zone,
                        "active": change.active,
                        "score": round(change.score, 4),
                        "at_ms": change.at_ms,
                        "first_seen_mono": change.first_seen_mono,
                        "detected_mono": change.detected_mono,
                    },
                )
            elif isinstance(change, EventStarted):
                self._start_motion_event(change)
            elif isinstance(change, EventProgress):
                self._progress(change)
            else:
                self._end_motion_event(change)

    def _start_motion_event(self, change: EventStarted) -> None:
        settings = self.camera.events
        labels = self._camera_labels
        event = EventRecord(
            id=new_event_id(),
            camera_id=self.camera.id,
            # Started by what the camera reported (ONVIF events) or by Vigil's own detector.
            kind="camera" if labels else "motion",
            start_ms=change.start_ms,
            end_ms=None,
            pre_ms=round(settings.pre_capture * 1000),
            post_ms=round(settings.post_capture * 1000),
            zones=self._event_zones(self.tracker.active_zones if settings.events_from == "motion" else (), ()),
            peak_score=max(self._best_score, 0.0),
            label=", ".join(sorted(labels)) if labels else None,
            labels=tuple(sorted(self._camera_objects)),
        )
        # The objects that moved lately are the event's (a motion event is confirmed after them).
        horizon = change.start_ms - PENDING_OBJECTS_MS
        recent = [obj for obj in self._recent_objects.values() if obj.end_ms >= horizon]
        event = self._with_objects(event, recent)
        shot = self._object_shot
        if shot is not None and any(obj.id == shot[1].id for obj in event.objects):
            event = self._write_object_snapshot(event)
        else:
            event = self._write_snapshot(event, self._best_frame)
            self._written_score = self._best_score
        self._motion_event = event
        self.manager.save(event)
        self.manager.publish("event_started", {"camera_id": self.camera.id, "event": event.as_dict()})
        _LOGGER.info(
            "Camera %s: motion event %s started%s",
            self.camera.id,
            event.id,
            f" ({', '.join(event.labels)})" if event.labels else "",
        )

    def _progress(self, change: EventProgress) -> None:
        event = self._motion_event
        if event is None:
            return
        event = replace(event, zones=self._event_zones(change.zones, event.objects), peak_score=change.peak_score)
        snapshot_due = (
            change.new_peak
            and self._written_object_score < 0  # an object's snapshot is kept: it shows what matters
            and self._best_frame is not None
            and self._best_score >= self._written_score * SNAPSHOT_GAIN
            and time.monotonic() - self._written_at >= SNAPSHOT_INTERVAL_S
        )
        if snapshot_due:
            event = self._write_snapshot(event, self._best_frame)
            self._written_score = self._best_score
        self._motion_event = event
        if snapshot_due or change.zones_changed:
            self.manager.save(event)
            self.manager.publish("event_updated", {"camera_id": self.camera.id, "event": event.as_dict()})

    def _end_motion_event(self, change: EventEnded) -> None:
        event = self._motion_event
        if event is None:
            return
        self._motion_event = None
        shot = self._object_shot
        if shot is not None and any(obj.id == shot[1].id for obj in event.objects):
            if shot[1].score > self._written_object_score:
                event = self._write_object_snapshot(event)
        elif self._best_frame is not None and self._best_score > self._written_score:
            event = self._write_snapshot(event, self._best_frame)
        self._written_score = -1.0
        self._written_object_score = -1.0
        self._object_shot = None
        self.manager.finish(replace(event, end_ms=max(change.end_ms, event.start_ms)))

    def _write_snapshot(self, event: EventRecord, frame: av.VideoFrame | None) -> EventRecord:
        frame = frame or self._latest_frame
        if frame is None:
            return event
        self._written_at = time.monotonic()
        return self.manager.write_snapshot(event, self.sharpen(frame))

    def _write_object_snapshot(self, event: EventRecord) -> EventRecord:
        """The best object's frame with its box drawn, and a crop of it as the thumbnail."""
        shot = self._object_shot
        assert shot is not None
        frame, obj = shot
        self._written_at = time.monotonic()
        self._written_object_score = obj.score
        return self.manager.write_snapshot(event, self.sharpen(frame), obj.box)

    # --- manual events (from the API) ---
    def start_manual(self, label: str | None, frame: av.VideoFrame | None) -> EventRecord:
        with self._lock:
            if self._manual_event is not None:
                return self._manual_event
            settings = self.camera.events
            event = EventRecord(
                id=new_event_id(),
                camera_id=self.camera.id,
                kind="manual",
                start_ms=self.manager.clock.now_ms(),
                end_ms=None,
                pre_ms=round(settings.pre_capture * 1000),
                post_ms=round(settings.post_capture * 1000),
                label=label,
            )
            # A frame given by the caller is the worker's latest, already as it should be shown.
            frame = frame or (self.sharpen(self._latest_frame) if self._latest_frame is not None else None)
            if frame is not None:
                event = self.manager.write_snapshot(event, frame)
            self._manual_event = event
            self.manager.save(event)
            self.manager.publish("event_started", {"camera_id": self.camera.id, "event": event.as_dict()})
            return event

    def end_manual(self) -> EventRecord | None:
        with self._lock:
            return self._end_manual(self.manager.clock.now_ms())

    def _end_manual(self, now_ms: int) -> EventRecord | None:
        event = self._manual_event
        if event is None:
            return None
        self._manual_event = None
        return self.manager.finish(replace(event, end_ms=max(now_ms, event.start_ms)))

    def end_all(self, now_ms: int) -> None:
        with self._lock:
            self._apply(self.tracker.stop(now_ms))
            self._end_manual(now_ms)


class EventManager:
    def __init__(self, config: EngineConfig, index: Index, clock: EngineClock, publish: Publish) -> None:
        self.config = config
        self.index = index
        self.clock = clock
        self.publish = publish
        self.cameras = {camera.id: CameraEvents(self, camera) for camera in config.cameras}

    def camera(self, camera_id: str) -> CameraEvents:
        return self.cameras[camera_id]

    def start_manual(self, camera_id: str, label: str | None, frame: av.VideoFrame | None) -> EventRecord:
        return self.cameras[camera_id].start_manual(label, frame)

    def end_manual(self, camera_id: str) -> EventRecord | None:
        return self.cameras[camera_id].end_manual()

    def end_all(self, reason: str) -> None:
        now = self.clock.now_ms()
        for camera in self.cameras.values():
            camera.end_all(now)
        _LOGGER.debug("Ended running events: %s", reason)

    # --- persistence ---
    def _keep_until(self, event: EventRecord) -> int | None:
        if event.end_ms is None:
            return None  # a running event protects its footage until it ends
        try:
            days = self.config.camera(event.camera_id).events.retention_days
        except KeyError:
            days = 30.0  # a camera removed from the config: its events age out at the default
        return event.end_ms + event.post_ms + round(days * DAY_MS)

    def save(self, event: EventRecord) -> None:
        try:
            self.index.save_event(event, self._keep_until(event))
        except Exception:  # the index must never stop detection; the next save retries
            _LOGGER.exception("Camera %s: cannot save event %s", event.camera_id, event.id)

    def finish(self, event: EventRecord) -> EventRecord:
        self.save(event)
        self.publish("event_ended", {"camera_id": event.camera_id, "event": event.as_dict()})
        _LOGGER.info(
            "Camera %s: %s event %s ended after %.1f s",
            event.camera_id,
            event.kind,
            event.id,
            ((event.end_ms or event.start_ms) - event.start_ms) / 1000,
        )
        return event

    def write_snapshot(self, event: EventRecord, frame: av.VideoFrame, box: Box | None = None) -> EventRecord:
        """Write (or replace) the event's snapshot and thumbnail; the event with their paths.

        With an object's ``box`` (normalised), the snapshot has the box drawn and the thumbnail
        is a crop of the object; without one, the thumbnail is the whole frame, smaller."""
        snapshot, thumbnail = event_image_paths(event.camera_id, event.id, event.start_ms)
        if box is not None:
            # Drawing needs numpy: loaded only by a camera that detects objects, never by a recorder
            # of real cameras alone (numpy is ~15 MB of an engine's memory; scripts/bench record checks it).
            from .annotate import draw_box, object_crop  # noqa: PLC0415
        try:
            picture = frame if box is None else draw_box(frame, box)
            small = frame if box is None else object_crop(frame, box)
            write_atomically(self.config.storage_path / snapshot, encode_jpeg(picture))
            write_atomically(self.config.storage_path / thumbnail, encode_jpeg(small, THUMBNAIL_WIDTH))
        except (OSError, av.FFmpegError, ValueError) as err:
            _LOGGER.warning("Camera %s: cannot write the snapshot of event %s: %s", event.camera_id, event.id, err)
            return event
        return replace(event, snapshot=snapshot, thumbnail=thumbnail)

    def close_interrupted(self) -> int:
        """End events left running by a crash or power loss at the end of their footage."""
        closed = 0
        for event in self.index.running_events():
            last = self.index.last_segment(event.camera_id)
            end = max(event.start_ms, min(last.end_ms if last else event.start_ms, self.clock.now_ms()))
            self.save(replace(event, end_ms=end))
            closed += 1
        if closed:
            _LOGGER.info("Closed %d events interrupted by the last shutdown", closed)
        return closed

    def expire(self, now_ms: int) -> int:
        """Delete events past their retention, with their snapshots (retention calls this)."""
        deleted = 0
        while batch := self.index.expired_events(now_ms):
            for event in batch:
                remove_event_images(self.config.storage_path, event.snapshot, event.thumbnail)
                self.index.delete_event(event.id)
                deleted += 1
        return deleted
