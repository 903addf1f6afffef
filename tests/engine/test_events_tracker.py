"""The motion tracker's rules: confirmation, start at the first moving frame, quiet end, splits, zones."""

from __future__ import annotations

from vigil_engine.events.tracker import (
    EventEnded,
    EventProgress,
    EventStarted,
    MotionChanged,
    MotionTracker,
    Observation,
)
from vigil_engine.motion.settings import EventSettings

FPS = 5
STEP_MS = 1000 // FPS


def run(
    tracker: MotionTracker, moving: list[tuple[float, float]], until_s: float, zones: frozenset[str] = frozenset()
) -> list[tuple[int, object]]:
    """Feed frames at 5 fps; the box moves in the given windows (seconds). Returns (ms, change)."""
    changes: list[tuple[int, object]] = []
    for i in range(round(until_s * FPS)):
        at = i * STEP_MS
        motion = any(start * 1000 <= at < end * 1000 for start, end in moving)
        score = 0.05 if motion else 0.0
        obs = Observation(at_ms=at, mono=at / 1000, motion=motion, score=score, zones=zones if motion else frozenset())
        changes.extend((at, change) for change in tracker.observe(obs))
    return changes


def of_type[T](changes: list[tuple[int, object]], kind: type[T]) -> list[tuple[int, T]]:
    return [(at, c) for at, c in changes if isinstance(c, kind)]


def test_event_starts_at_the_first_moving_frame_after_confirmation_and_ends_after_quiet_time() -> None:
    tracker = MotionTracker(EventSettings(confirm_seconds=0.4, quiet_seconds=5))
    changes = run(tracker, [(20, 35)], until_s=60)
    started = of_type(changes, EventStarted)
    ended = of_type(changes, EventEnded)
    assert len(started) == 1
    assert len(ended) == 1
    confirmed_at, start = started[0]
    assert start.start_ms == 20_000  # the first moving frame, not the confirming one
    assert confirmed_at == 20_400
    assert start.detected_mono == 20.4
    ended_at, end = ended[0]
    assert end.end_ms == 34_800  # the last moving frame (5 fps)
    assert ended_at == 34_800 + 5_000  # after the quiet time
    motion = of_type(changes, MotionChanged)
    assert [(at, m.active) for at, m in motion] == [(20_400, True), (36_800, False)]  # 2 s hold
    assert motion[0][1].first_seen_mono == 20.0


def test_a_single_moving_frame_or_short_blip_starts_nothing() -> None:
    tracker = MotionTracker(EventSettings(confirm_seconds=0.4))
    changes = run(tracker, [(10, 10.2), (30, 30.3)], until_s=60)
    assert changes == []


def test_missed_detections_inside_a_run_do_not_restart_confirmation() -> None:
    tracker = MotionTracker(EventSettings(confirm_seconds=1.0))
    # Moving frames with a 0.6 s hole (under the 1 s tolerance): still one run.
    changes = run(tracker, [(10, 10.6), (11.2, 12.0)], until_s=30)
    started = of_type(changes, EventStarted)
    assert [s.start_ms for _, s in started] == [10_000]


def test_motion_within_the_quiet_time_extends_the_event() -> None:
    tracker = MotionTracker(EventSettings(quiet_seconds=5))
    changes = run(tracker, [(10, 12), (15, 17)], until_s=40)
    assert len(of_type(changes, EventStarted)) == 1
    assert [e.end_ms for _, e in of_type(changes, EventEnded)] == [16_800]


def test_long_motion_is_split_at_the_maximum_length() -> None:
    tracker = MotionTracker(EventSettings(max_seconds=20, quiet_seconds=5))
    changes = run(tracker, [(0, 50)], until_s=70)
    starts = [s.start_ms for _, s in of_type(changes, EventStarted)]
    ends = [e.end_ms for _, e in of_type(changes, EventEnded)]
    assert starts == [0, 20_000, 40_000]
    assert ends == [20_000, 40_000, 49_800]


def test_zones_have_their_own_state_and_are_collected_on_the_event() -> None:
    tracker = MotionTracker(EventSettings(), zone_names=("door", "street"))
    changes = run(tracker, [(5, 8)], until_s=20, zones=frozenset({"door"}))
    zone_changes = [(m.zone, m.active) for _, m in of_type(changes, MotionChanged)]
    assert ("door", True) in zone_changes
    assert ("door", False) in zone_changes
    assert all(zone != "street" for zone, _ in zone_changes)
    progress = of_type(changes, EventProgress)
    assert progress[-1][1].zones == frozenset({"door"})


def test_stop_ends_motion_and_the_event_at_once() -> None:
    tracker = MotionTracker(EventSettings(), zone_names=("door",))
    run(tracker, [(0, 100)], until_s=3, zones=frozenset({"door"}))
    assert tracker.active
    changes = tracker.stop(3_000)
    assert {(c.zone, c.active) for c in changes if isinstance(c, MotionChanged)} == {(None, False), ("door", False)}
    assert [c.end_ms for c in changes if isinstance(c, EventEnded)] == [2_800]
    assert not tracker.active
    assert not tracker.event_running
    assert tracker.stop(4_000) == []


def test_idle_time_without_frames_ends_a_quiet_event() -> None:
    tracker = MotionTracker(EventSettings(quiet_seconds=5))
    run(tracker, [(0, 2)], until_s=2)
    assert tracker.event_running
    assert not any(isinstance(c, EventEnded) for c in tracker.idle(5_000))
    assert [c.end_ms for c in tracker.idle(7_000) if isinstance(c, EventEnded)] == [1_800]


def test_events_from_objects_start_with_an_active_object_and_end_after_it() -> None:
    tracker = MotionTracker(EventSettings(confirm_seconds=0.4, quiet_seconds=5, events_from="objects"))
    motion = run(tracker, [(20, 40)], until_s=30)
    # Motion alone: the motion state turns on, but there is no event.
    assert [type(c) for _, c in motion] == [MotionChanged]
    changes = tracker.observe_objects(30_000, 30.0, 29_600, frozenset({"path"}))
    assert [type(c) for c in changes] == [EventStarted, EventProgress]
    started = changes[0]
    assert isinstance(started, EventStarted)
    assert started.start_ms == 29_600  # when the object started moving
    assert tracker.observe_objects(31_000, 31.0, 29_600, frozenset({"path"})) == []  # held, nothing new
    # Motion goes on (a swaying branch) but no object: the event ends 5 s after the last one.
    later = run(tracker, [(0, 60)], until_s=40)
    ended = [(at, c) for at, c in later if isinstance(c, EventEnded)]
    assert [(at, c.end_ms) for at, c in ended] == [(36_000, 31_000)]


def test_events_from_motion_ignore_object_sightings_for_timing() -> None:
    tracker = MotionTracker(EventSettings(confirm_seconds=0.4, quiet_seconds=5))
    assert tracker.observe_objects(1_000, 1.0, 800, frozenset({"path"})) == []
    assert not tracker.event_running


def test_events_from_objects_split_at_the_longest_event_keeps_their_zones() -> None:
    tracker = MotionTracker(EventSettings(quiet_seconds=5, max_seconds=10, events_from="objects"))
    changes: list[object] = []
    for step in range(60):
        changes += tracker.observe_objects(step * 200, step * 0.2, 0, frozenset({"path"}))
    starts = [c for c in changes if isinstance(c, EventStarted)]
    assert [c.start_ms for c in starts] == [0, 10_000]
    progress = [c for c in changes if isinstance(c, EventProgress)]
    assert progress[0].zones == {"path"}
