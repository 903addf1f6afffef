"""Detections tied across frames into tracked objects (pure logic, no I/O; one tracker per camera).

Each detection frame brings the objects found in the regions that were looked at. Each is
matched to a track of the same label, greedily, best match first:

* by the overlap (IoU) of its box with where the track is expected (its last box moved by its
  velocity: at 5 detections a second a walking person has moved a third of their width);
* failing any overlap, by the distance of the centres, up to :data:`CENTRE_REACH` times the
  track's size (something fast, or a detection frame skipped under load).

A new track is *tentative* until it is seen twice, or once with a score of :data:`SURE_SCORE`
(a false detection rarely repeats at the same place); only then does it *appear*. Nothing is
concluded about a track from a frame that did not look at it: a track is *missed* only when a
region that was looked at holds (most of) it, and it *ends* after :data:`MAX_MISSES` such misses
in a row (:data:`MAX_MISSES_STATIONARY` for a stationary one, which something passing in front
of it hides for a while). So a person standing still while nothing moves is neither re-found
nor lost: the same track goes on when they move again.

**Stationary.** A track whose box has stayed put (IoU with where it last moved at least
:data:`STILL_IOU`) for :data:`STATIONARY_MS` is *stationary*: it is reported once (as an
update) and is no longer *active*, so it neither keeps an event open nor starts one, however
often it is seen again (a parked car in the regions of a passer-by). When its box leaves that
place it is active again.

**Zones.** An object is in a zone when the middle of its box's bottom edge (where it stands)
is, and the zone takes its label (zones may name the labels they take). A track knows the zones
it stands in now and collects those it has entered; a confirmed track that enters or leaves a
zone is a change (:class:`ObjectChanged`).
"""

from __future__ import annotations

import statistics
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from vigil_engine.motion.geometry import contains
from vigil_engine.motion.settings import Polygon

from .regions import Box, inside_share, iou

SURE_SCORE = 0.7  # a first detection this good appears at once
CONFIRM_HITS = 2
MIN_MATCH_IOU = 0.1
CENTRE_REACH = 1.0  # centre distance over the track's larger side, for a match without overlap
COVERED_SHARE = 0.7  # a track is "looked at" when this much of it lies in a detection region
MAX_MISSES = 5  # about a second at 5 detections a second
MAX_MISSES_STATIONARY = 25
TENTATIVE_MS = 1500  # a tentative track not seen again within this long is dropped
STILL_IOU = 0.6
STATIONARY_MS = 10_000
MAX_PREDICT_MS = 1000  # velocity moves the expected box at most this far ahead
VELOCITY_WEIGHT = 0.5
RECENT_SCORES = 10
MAX_TRACKS = 64


@dataclass(frozen=True, slots=True)
class Seen:
    """One detection of one frame (after the camera's filters), in frame pixels."""

    label: str
    score: float
    box: Box


@dataclass(frozen=True, slots=True)
class ZoneArea:
    name: str
    polygon: Polygon  # normalised
    labels: frozenset[str] | None = None  # None: any tracked label


@dataclass(slots=True)
class Track:
    id: str
    label: str
    first_ms: int  # frame time of the first detection
    last_ms: int  # ... and of the latest
    box: Box  # the latest box, frame pixels
    frame_size: tuple[int, int]  # width, height of the frames the boxes are in
    best_score: float
    best_box: Box
    best_ms: int
    hits: int = 1
    misses: int = 0
    confirmed: bool = False
    stationary: bool = False
    anchor: Box = (0.0, 0.0, 0.0, 0.0)  # where it was when it last moved
    anchor_ms: int = 0
    moving_since_ms: int = 0  # first seen, or when it last stopped being stationary
    velocity: tuple[float, float] = (0.0, 0.0)  # pixels per ms of its centre
    zones: set[str] = field(default_factory=set)  # entered so far
    current_zones: frozenset[str] = frozenset()
    scores: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_SCORES))

    @property
    def active(self) -> bool:
        """Confirmed and not stationary: what makes and holds events."""
        return self.confirmed and not self.stationary

    @property
    def score(self) -> float:
        """The median of the recent scores: steadier than any one frame's."""
        return statistics.median(self.scores) if self.scores else self.best_score

    def normalised(self, box: Box) -> Box:
        width, height = self.frame_size
        return (box[0] / width, box[1] / height, box[2] / width, box[3] / height)

    def expected(self, at_ms: int) -> Box:
        ahead = min(max(0, at_ms - self.last_ms), MAX_PREDICT_MS)
        dx, dy = self.velocity[0] * ahead, self.velocity[1] * ahead
        x1, y1, x2, y2 = self.box
        return (x1 + dx, y1 + dy, x2 + dx, y2 + dy)


@dataclass(frozen=True, slots=True)
class ObjectAppeared:
    track: Track


@dataclass(frozen=True, slots=True)
class ObjectChanged:
    track: Track
    zones_entered: frozenset[str] = frozenset()  # zones it stands in now and did not before
    zones_left: frozenset[str] = frozenset()
    stationary_changed: bool = False


@dataclass(frozen=True, slots=True)
class ObjectEnded:
    track: Track


ObjectChange = ObjectAppeared | ObjectChanged | ObjectEnded


@dataclass(frozen=True, slots=True)
class TrackerStep:
    changes: list[ObjectChange]
    seen: list[Track]  # confirmed tracks matched in this frame (new best boxes among them)
    improved: list[Track]  # ...whose best score this frame raised


class ObjectTracker:
    """One camera's tracked objects. Not thread-safe: used from the camera's motion thread."""

    def __init__(self, zones: Sequence[ZoneArea] = ()) -> None:
        self.zones = tuple(zones)
        self.tracks: list[Track] = []

    def update(
        self, seen: Sequence[Seen], looked_at: Sequence[Box], at_ms: int, frame_size: tuple[int, int]
    ) -> TrackerStep:
        """One detection frame: ``seen`` in the regions ``looked_at`` (frame pixels) at ``at_ms``."""
        changes: list[ObjectChange] = []
        matched_tracks: list[Track] = []
        improved: list[Track] = []
        unmatched = set(range(len(seen)))
        free = set(range(len(self.tracks)))
        for track_index, seen_index in self._pairs(seen, at_ms):
            if track_index not in free or seen_index not in unmatched:
                continue
            free.discard(track_index)
            unmatched.discard(seen_index)
            track = self.tracks[track_index]
            if self._see(track, seen[seen_index], at_ms, frame_size, changes):
                improved.append(track)
            matched_tracks.append(track)
        kept: list[Track] = []
        for index, track in enumerate(self.tracks):
            if index in free and not self._still_there(track, looked_at, at_ms):
                if track.confirmed:
                    changes.append(ObjectEnded(track))
                continue
            kept.append(track)
        self.tracks = kept
        for index in sorted(unmatched, key=lambda i: -seen[i].score):
            track = self._start(seen[index], at_ms, frame_size)
            if track.confirmed:
                changes.append(ObjectAppeared(track))
                matched_tracks.append(track)
                improved.append(track)
        return TrackerStep(changes, [t for t in matched_tracks if t.confirmed], [t for t in improved if t.confirmed])

    def end_all(self) -> list[ObjectChange]:
        """Detection stops (turned off, engine stopping): every confirmed track ends where it was last seen."""
        ended: list[ObjectChange] = [ObjectEnded(track) for track in self.tracks if track.confirmed]
        self.tracks = []
        return ended

    def settle(self, at_ms: int) -> list[ObjectChange]:
        """Nothing moves in the picture (the camera's motion detector says so): a track that has
        not moved for :data:`STATIONARY_MS` is stationary, though no detection frame looked at it
        (detection runs only where there is motion, so a person who walks in and stands still in
        a quiet scene would otherwise stay active, holding events, until something moved)."""
        changes: list[ObjectChange] = []
        for track in self.tracks:
            if track.confirmed and not track.stationary and at_ms - track.anchor_ms >= STATIONARY_MS:
                track.stationary = True
                changes.append(ObjectChanged(track, stationary_changed=True))
        return changes

    def boxes_to_follow(self, at_ms: int) -> list[Box]:
        """Where the moving tracks are expected: detection looks there too, so a track stays in
        view when its own motion is small. Stationary tracks are left alone."""
        return [track.expected(at_ms) for track in self.tracks if not track.stationary]

    # --- matching ---
    def _pairs(self, seen: Sequence[Seen], at_ms: int) -> list[tuple[int, int]]:
        candidates: list[tuple[float, int, int]] = []
        for track_index, track in enumerate(self.tracks):
            expected = track.expected(at_ms)
            reach = CENTRE_REACH * max(expected[2] - expected[0], expected[3] - expected[1], 1.0)
            for seen_index, detection in enumerate(seen):
                if detection.label != track.label:
                    continue
                overlap = iou(expected, detection.box)
                if overlap >= MIN_MATCH_IOU:
                    candidates.append((overlap, track_index, seen_index))
                    continue
                distance = _centre_distance(expected, detection.box)
                if distance < reach:
                    # Below any overlap match, nearer first.
                    candidates.append((MIN_MATCH_IOU * (1 - distance / reach) - 1, track_index, seen_index))
        candidates.sort(key=lambda item: -item[0])
        return [(track_index, seen_index) for _quality, track_index, seen_index in candidates]

    def _see(
        self, track: Track, detection: Seen, at_ms: int, frame_size: tuple[int, int], changes: list[ObjectChange]
    ) -> bool:
        """Update a matched track; True when its best score rose."""
        elapsed = at_ms - track.last_ms
        if elapsed > 0:
            (ox, oy), (nx, ny) = _centre(track.box), _centre(detection.box)
            step = ((nx - ox) / elapsed, (ny - oy) / elapsed)
            track.velocity = (
                track.velocity[0] + VELOCITY_WEIGHT * (step[0] - track.velocity[0]),
                track.velocity[1] + VELOCITY_WEIGHT * (step[1] - track.velocity[1]),
            )
        track.box, track.last_ms, track.frame_size = detection.box, max(track.last_ms, at_ms), frame_size
        track.hits += 1
        track.misses = 0
        track.scores.append(detection.score)
        improved = detection.score > track.best_score
        if improved:
            track.best_score, track.best_box, track.best_ms = detection.score, detection.box, at_ms
        before = track.current_zones
        self._place(track, detection)
        entered, left = track.current_zones - before, before - track.current_zones
        stationary_changed = False
        if iou(detection.box, track.anchor) < STILL_IOU:
            track.anchor, track.anchor_ms = detection.box, at_ms
            if track.stationary:
                track.stationary, stationary_changed = False, True
                track.moving_since_ms = at_ms
        elif not track.stationary and at_ms - track.anchor_ms >= STATIONARY_MS:
            track.stationary, stationary_changed = True, True
        if not track.confirmed:
            if track.hits >= CONFIRM_HITS or detection.score >= SURE_SCORE:
                track.confirmed = True
                changes.append(ObjectAppeared(track))
            return improved
        if entered or left or stationary_changed:
            changes.append(ObjectChanged(track, entered, left, stationary_changed))
        return improved

    def _start(self, detection: Seen, at_ms: int, frame_size: tuple[int, int]) -> Track:
        track = Track(
            id=uuid.uuid4().hex[:16],
            label=detection.label,
            first_ms=at_ms,
            last_ms=at_ms,
            box=detection.box,
            frame_size=frame_size,
            best_score=detection.score,
            best_box=detection.box,
            best_ms=at_ms,
            confirmed=detection.score >= SURE_SCORE,
            anchor=detection.box,
            anchor_ms=at_ms,
            moving_since_ms=at_ms,
        )
        track.scores.append(detection.score)
        self._place(track, detection)
        self.tracks.append(track)
        if len(self.tracks) > MAX_TRACKS:
            # A scene that keeps producing new detections: forget the longest unseen first.
            oldest = min(self.tracks, key=lambda t: t.last_ms)
            self.tracks.remove(oldest)
        return track

    def _still_there(self, track: Track, looked_at: Sequence[Box], at_ms: int) -> bool:
        """Whether an unmatched track lives on: not looked at, or not missed often enough yet."""
        if not track.confirmed:
            return at_ms - track.last_ms < TENTATIVE_MS
        expected = track.expected(at_ms) if not track.stationary else track.box
        if not any(inside_share(expected, region) >= COVERED_SHARE for region in looked_at):
            return True
        track.misses += 1
        return track.misses < (MAX_MISSES_STATIONARY if track.stationary else MAX_MISSES)

    def _place(self, track: Track, detection: Seen) -> None:
        """Note the zones the object stands in now, and add them to those it entered."""
        width, height = track.frame_size
        x1, _y1, x2, y2 = detection.box
        foot = ((x1 + x2) / 2 / width, y2 / height)
        current = frozenset(
            zone.name
            for zone in self.zones
            if (zone.labels is None or track.label in zone.labels) and contains(zone.polygon, *foot)
        )
        track.current_zones = current
        track.zones |= current


def _centre(box: Box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _centre_distance(a: Box, b: Box) -> float:
    (ax, ay), (bx, by) = _centre(a), _centre(b)
    return float(((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5)
