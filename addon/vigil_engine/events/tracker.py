"""From per-frame motion to confirmed motion states and events (pure logic, no I/O).

Frame times are UTC milliseconds on the recording timeline, so an event's start is the
instant of the first frame that moved, whatever the detection and confirmation delay.

- A *run* of motion is a sequence of moving frames with no gap over ``GAP_TOLERANCE_MS``
  (a detector misses a frame now and then).
- Motion is *confirmed* once a run lasts ``confirm_seconds``; the camera's motion state
  (and each zone's, with its own run) turns on then and off after ``HOLD_MS`` without
  motion (the hold keeps automations from flapping).
- An *event* starts at the start of the confirming run and ends ``quiet_seconds`` after
  the last moving frame, at that frame's time. Motion longer than ``max_seconds`` is split:
  the event ends and the next one starts at the same instant.
- With ``events_from: objects`` motion only drives the motion states: an event starts with the
  first frame in which a tracked object is *active* (confirmed and not stationary:
  :meth:`MotionTracker.observe_objects`), at the time it started moving, and ends
  ``quiet_seconds`` after the last frame that saw an active object. Motion that no object
  explains makes no event; a parked car (stationary) neither starts nor holds one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vigil_engine.motion.settings import EventSettings

GAP_TOLERANCE_MS = 1000
HOLD_MS = 2000


@dataclass(frozen=True, slots=True)
class Observation:
    at_ms: int  # the frame's time (UTC ms)
    mono: float  # time.monotonic() when the frame entered the detector
    motion: bool
    score: float
    zones: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class MotionChanged:
    zone: str | None  # None: the whole camera
    active: bool
    at_ms: int
    score: float
    first_seen_mono: float | None = None  # the run's first moving frame (on only)
    detected_mono: float | None = None  # the frame that confirmed it (on only)


@dataclass(frozen=True, slots=True)
class EventStarted:
    start_ms: int
    detected_mono: float


@dataclass(frozen=True, slots=True)
class EventProgress:
    zones: frozenset[str]
    peak_score: float
    new_peak: bool  # this frame is the strongest so far: a better snapshot
    zones_changed: bool


@dataclass(frozen=True, slots=True)
class EventEnded:
    end_ms: int


Change = MotionChanged | EventStarted | EventProgress | EventEnded


@dataclass
class _Run:
    start_ms: int | None = None
    first_mono: float = 0.0
    last_ms: int = 0
    active: bool = False

    def see(self, at_ms: int, mono: float) -> None:
        if self.start_ms is None or at_ms - self.last_ms > GAP_TOLERANCE_MS:
            self.start_ms, self.first_mono = at_ms, mono
        self.last_ms = at_ms

    def miss(self, at_ms: int) -> None:
        if not self.active and self.start_ms is not None and at_ms - self.last_ms > GAP_TOLERANCE_MS:
            self.start_ms = None


@dataclass
class _Event:
    start_ms: int
    last_motion_ms: int
    zones: set[str] = field(default_factory=set)
    peak: float = 0.0


class MotionTracker:
    def __init__(self, settings: EventSettings, zone_names: tuple[str, ...] = ()) -> None:
        self.settings = settings
        self._confirm_ms = round(settings.confirm_seconds * 1000)
        self._quiet_ms = round(settings.quiet_seconds * 1000)
        self._max_ms = round(settings.max_seconds * 1000)
        self._hold_ms = min(HOLD_MS, self._quiet_ms)
        self._camera = _Run()
        self._zones = {name: _Run() for name in zone_names}
        self._event: _Event | None = None
        self._from_objects = settings.events_from == "objects"

    @property
    def active(self) -> bool:
        return self._camera.active

    @property
    def active_zones(self) -> frozenset[str]:
        return frozenset(name for name, run in self._zones.items() if run.active)

    @property
    def event_running(self) -> bool:
        return self._event is not None

    def observe(self, obs: Observation) -> list[Change]:
        changes: list[Change] = []
        moving_zones = obs.zones & self._zones.keys()
        moving = obs.motion or bool(moving_zones)
        for name, run in self._zones.items():
            self._step(run, name, name in moving_zones, obs, changes)
        self._step(self._camera, None, moving, obs, changes)
        event = self._event
        if self._from_objects:
            # Motion neither starts nor holds an event; it still gives a running one its peak.
            if event is not None and moving and obs.score > event.peak:
                event.peak = obs.score
                changes.append(EventProgress(frozenset(event.zones), event.peak, True, False))
            changes.extend(self.idle(obs.at_ms, obs.mono))
            return changes
        if self._camera.active and event is None:
            start = self._camera.start_ms if self._camera.start_ms is not None else obs.at_ms
            event = self._event = _Event(start_ms=start, last_motion_ms=obs.at_ms)
            changes.append(EventStarted(start, obs.mono))
        if event is not None and moving:
            event.last_motion_ms = obs.at_ms
            new_zones = self.active_zones - event.zones
            event.zones |= new_zones
            new_peak = obs.score > event.peak
            event.peak = max(event.peak, obs.score)
            if new_peak or new_zones:
                changes.append(EventProgress(frozenset(event.zones), event.peak, new_peak, bool(new_zones)))
        changes.extend(self.idle(obs.at_ms, obs.mono))
        return changes

    def observe_objects(self, at_ms: int, mono: float, start_ms: int, zones: frozenset[str]) -> list[Change]:
        """Active tracked objects in the frame at ``at_ms`` (``events_from: objects``): they start
        the event (at ``start_ms``, when the first of them started moving) or hold it, and give
        it the zones they stand in. With ``events_from: motion`` this changes nothing."""
        if not self._from_objects:
            return []
        changes: list[Change] = []
        event = self._event
        if event is None:
            event = self._event = _Event(start_ms=min(start_ms, at_ms), last_motion_ms=at_ms)
            changes.append(EventStarted(event.start_ms, mono))
        event.last_motion_ms = max(event.last_motion_ms, at_ms)
        new_zones = zones - event.zones
        if new_zones:
            event.zones |= new_zones
            changes.append(EventProgress(frozenset(event.zones), event.peak, False, True))
        changes.extend(self.idle(at_ms, mono))
        return changes

    def _step(self, run: _Run, zone: str | None, moving: bool, obs: Observation, changes: list[Change]) -> None:
        if not moving:
            run.miss(obs.at_ms)
            return
        run.see(obs.at_ms, obs.mono)
        assert run.start_ms is not None
        if not run.active and obs.at_ms - run.start_ms >= self._confirm_ms:
            run.active = True
            changes.append(MotionChanged(zone, True, obs.at_ms, obs.score, run.first_mono, obs.mono))

    def idle(self, at_ms: int, mono: float = 0.0) -> list[Change]:
        """Time has passed (with or without frames): end what has gone quiet or lasted too long."""
        changes: list[Change] = []
        for name, run in self._zones.items():
            self._release(run, name, at_ms, changes)
        self._release(self._camera, None, at_ms, changes)
        event = self._event
        if event is None:
            return changes
        if at_ms - event.last_motion_ms >= self._quiet_ms:
            changes.append(EventEnded(max(event.last_motion_ms, event.start_ms)))
            self._event = None
        elif at_ms - event.start_ms >= self._max_ms:
            # Split long motion: this event ends now, the next starts at the same instant.
            changes.append(EventEnded(at_ms))
            zones = set(event.zones) if self._from_objects else set(self.active_zones)
            self._event = _Event(start_ms=at_ms, last_motion_ms=at_ms, zones=zones)
            changes.append(EventStarted(at_ms, mono))
        return changes

    def _release(self, run: _Run, zone: str | None, at_ms: int, changes: list[Change]) -> None:
        if run.active and at_ms - run.last_ms >= self._hold_ms:
            run.active = False
            run.start_ms = None
            changes.append(MotionChanged(zone, False, at_ms, 0.0))

    def stop(self, at_ms: int) -> list[Change]:
        """Detection stopped (turned off, camera offline): everything ends now."""
        changes: list[Change] = []
        for name, run in self._zones.items():
            if run.active:
                changes.append(MotionChanged(name, False, at_ms, 0.0))
            self._zones[name] = _Run()
        if self._camera.active:
            changes.append(MotionChanged(None, False, at_ms, 0.0))
        self._camera = _Run()
        if self._event is not None:
            changes.append(EventEnded(max(self._event.last_motion_ms, self._event.start_ms)))
            self._event = None
        return changes
