"""The object tracker's rules: matching across frames, confirmation, misses only where it looked,
stationary objects, zones. Pure logic: detections are given as the detector would give them."""

from __future__ import annotations

from vigil_engine.detection.regions import Box
from vigil_engine.detection.tracker import (
    MAX_MISSES,
    STATIONARY_MS,
    ObjectAppeared,
    ObjectChanged,
    ObjectEnded,
    ObjectTracker,
    Seen,
    ZoneArea,
)

FRAME = (640, 360)
WHOLE: Box = (0.0, 0.0, 640.0, 360.0)
STEP_MS = 200  # 5 detections a second


def person(x: float, score: float = 0.8, y: float = 160.0) -> Seen:
    return Seen("person", score, (x, y, x + 50.0, y + 150.0))


def walk(tracker: ObjectTracker, xs: list[float], start_ms: int = 0, score: float = 0.8) -> list[object]:
    changes: list[object] = []
    for index, x in enumerate(xs):
        changes += tracker.update([person(x, score)], [WHOLE], start_ms + index * STEP_MS, FRAME).changes
    return changes


def test_a_walking_person_is_one_track_that_appears_once() -> None:
    tracker = ObjectTracker()
    # 20 pixels per detection: about 100 pixels a second, a fifth of a 640-pixel frame's width.
    changes = walk(tracker, [20.0 * step for step in range(25)])
    appeared = [c for c in changes if isinstance(c, ObjectAppeared)]
    assert len(appeared) == 1
    assert len(tracker.tracks) == 1
    track = tracker.tracks[0]
    assert track.hits == 25
    assert track.first_ms == 0
    assert track.last_ms == 24 * STEP_MS
    assert not track.stationary


def test_a_fast_object_is_followed_by_its_velocity() -> None:
    """A car crossing at 60 pixels a detection (no overlap at all across a skipped frame):
    the expected box moves with it, so it stays one track even across a skipped frame."""
    tracker = ObjectTracker()
    xs = [60.0 * step for step in range(8)]
    for index, x in enumerate(xs):
        if index == 5:
            continue  # the busy detector skipped this frame
        tracker.update([Seen("car", 0.8, (x, 200.0, x + 80.0, 240.0))], [WHOLE], index * STEP_MS, FRAME)
    assert len(tracker.tracks) == 1


def test_a_weak_first_detection_waits_for_a_second() -> None:
    tracker = ObjectTracker()
    first = tracker.update([person(100, score=0.55)], [WHOLE], 0, FRAME)
    assert first.changes == []
    assert first.seen == []  # tentative: nothing for events yet
    second = tracker.update([person(104, score=0.6)], [WHOLE], STEP_MS, FRAME)
    assert [type(c) for c in second.changes] == [ObjectAppeared]
    assert [t.id for t in second.seen] == [tracker.tracks[0].id]


def test_a_single_weak_false_detection_never_appears() -> None:
    tracker = ObjectTracker()
    tracker.update([person(100, score=0.55)], [WHOLE], 0, FRAME)
    changes = [c for step in range(10) for c in tracker.update([], [WHOLE], (step + 1) * STEP_MS, FRAME).changes]
    assert changes == []
    assert tracker.tracks == []


def test_labels_are_tracked_apart() -> None:
    tracker = ObjectTracker()
    box = (100.0, 100.0, 200.0, 200.0)
    tracker.update([Seen("dog", 0.8, box), Seen("cat", 0.8, box)], [WHOLE], 0, FRAME)
    tracker.update([Seen("dog", 0.8, box), Seen("cat", 0.8, box)], [WHOLE], STEP_MS, FRAME)
    assert sorted(t.label for t in tracker.tracks) == ["cat", "dog"]
    assert all(t.hits == 2 for t in tracker.tracks)


def test_an_object_ends_only_after_misses_where_it_was_looked_for() -> None:
    tracker = ObjectTracker()
    walk(tracker, [100.0, 110.0, 120.0])
    # Detection looks elsewhere (motion on the other side of the frame): no conclusion.
    elsewhere: Box = (400.0, 0.0, 640.0, 360.0)
    for step in range(3, 40):
        assert tracker.update([], [elsewhere], step * STEP_MS, FRAME).changes == []
    assert len(tracker.tracks) == 1
    # Looked at where it was, and it is not there: it ends after MAX_MISSES such frames.
    ended: list[object] = []
    for step in range(40, 40 + MAX_MISSES):
        ended += tracker.update([], [WHOLE], step * STEP_MS, FRAME).changes
    assert [type(c) for c in ended] == [ObjectEnded]
    assert isinstance(ended[0], ObjectEnded)
    assert ended[0].track.last_ms == 2 * STEP_MS  # where it was last seen
    assert tracker.tracks == []


def test_a_parked_car_becomes_stationary_once_and_moves_again() -> None:
    tracker = ObjectTracker()
    car = Seen("car", 0.8, (300.0, 200.0, 420.0, 280.0))
    changes: list[object] = []
    steps = STATIONARY_MS // STEP_MS + 10
    for step in range(steps):
        changes += tracker.update([car], [WHOLE], step * STEP_MS, FRAME).changes
    stationary = [c for c in changes if isinstance(c, ObjectChanged) and c.stationary_changed]
    assert len(stationary) == 1
    track = tracker.tracks[0]
    assert track.stationary
    assert not track.active
    # Seen again much later (a passer-by's motion covers it): still the same, still stationary.
    later = tracker.update([car], [WHOLE], 3_600_000, FRAME)
    assert later.changes == []
    assert [t.id for t in later.seen] == [track.id]
    assert not tracker.boxes_to_follow(3_600_000)  # not followed: no detection for a parked car
    # It drives off: active again, one change.
    moved = Seen("car", 0.8, (360.0, 200.0, 480.0, 280.0))
    moved_changes = tracker.update([moved], [WHOLE], 3_600_200, FRAME).changes
    assert [(type(c), getattr(c, "stationary_changed", None)) for c in moved_changes] == [(ObjectChanged, True)]
    assert track.active
    assert track.moving_since_ms == 3_600_200


def test_a_stationary_object_survives_being_hidden_for_a_while() -> None:
    tracker = ObjectTracker()
    car = Seen("car", 0.8, (300.0, 200.0, 420.0, 280.0))
    for step in range(STATIONARY_MS // STEP_MS + 2):
        tracker.update([car], [WHOLE], step * STEP_MS, FRAME)
    start = (STATIONARY_MS // STEP_MS + 2) * STEP_MS
    # Someone walks in front of it for two seconds: it is not detected, but not gone.
    for step in range(10):
        assert tracker.update([], [WHOLE], start + step * STEP_MS, FRAME).changes == []
    assert tracker.update([car], [WHOLE], start + 10 * STEP_MS, FRAME).changes == []
    assert len(tracker.tracks) == 1


def test_zones_are_entered_where_the_object_stands_and_by_the_labels_they_take() -> None:
    path = ZoneArea("path", ((0.0, 0.8), (0.5, 0.8), (0.5, 1.0), (0.0, 1.0)))
    lawn = ZoneArea("lawn", ((0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0)), labels=frozenset({"dog"}))
    tracker = ObjectTracker([path, lawn])
    # Feet (bottom centre) at y = 310 of 360 (0.86): on the path while x + 25 < 320.
    changes = walk(tracker, [40.0 * step for step in range(12)])
    appeared = [c for c in changes if isinstance(c, ObjectAppeared)]
    assert appeared[0].track.zones == {"path"}  # entered with its first detection
    # Walking on past the path's end: it leaves the path (and never enters the lawn: dogs only).
    moves = [(c.zones_entered, c.zones_left) for c in changes if isinstance(c, ObjectChanged)]
    assert moves == [(frozenset(), frozenset({"path"}))]
    track = tracker.tracks[0]
    assert track.zones == {"path"}
    assert track.current_zones == frozenset()


def test_ending_all_reports_only_confirmed_tracks() -> None:
    tracker = ObjectTracker()
    walk(tracker, [100.0, 110.0])
    tracker.update([Seen("dog", 0.5, (500.0, 300.0, 540.0, 340.0))], [WHOLE], 3 * STEP_MS, FRAME)
    ended = tracker.end_all()
    assert [(type(c), c.track.label) for c in ended] == [(ObjectEnded, "person")]
    assert tracker.tracks == []


def test_a_person_who_stops_where_nothing_moves_settles_as_stationary() -> None:
    """Detection runs only where there is motion: a person who walks in and stands still in a
    quiet scene gets no more detection frames. When the motion detector says nothing moves,
    her track turns stationary once she has not moved for STATIONARY_MS, and only then."""
    tracker = ObjectTracker()
    walk(tracker, [20.0 * step for step in range(10)])  # the last frame: she stopped, at 1800 ms
    (track,) = tracker.tracks
    stopped_ms = track.anchor_ms
    assert tracker.settle(stopped_ms + STATIONARY_MS - 1) == []
    assert track.active
    (change,) = tracker.settle(stopped_ms + STATIONARY_MS)
    assert isinstance(change, ObjectChanged)
    assert change.stationary_changed
    assert change.track is track
    assert track.stationary
    assert not track.active
    assert tracker.settle(stopped_ms + 2 * STATIONARY_MS) == []  # reported once
    # She walks on: the same track, active again.
    changes = walk(tracker, [200.0 + 30.0 * step for step in range(3)], start_ms=stopped_ms + 2 * STATIONARY_MS)
    assert any(isinstance(c, ObjectChanged) and c.stationary_changed for c in changes)
    assert tracker.tracks == [track]
    assert track.active
