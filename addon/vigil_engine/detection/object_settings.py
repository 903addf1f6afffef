"""Per-camera object detection settings (parsed by ``config``, used by the camera's object pipeline).

Labels are the model's COCO labels (``person``, ``car``, ``dog``...); where the configuration
names a group (``vehicle``, ``animal``) it has been resolved to its labels already. Polygons are
normalised like the motion settings', so one mask fits the main stream and the substream.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from vigil_engine.motion.settings import Polygon

# What a camera tracks unless told otherwise: what comes to a house's door or driveway.
DEFAULT_LABELS: tuple[str, ...] = ("person", "car", "dog", "cat")
# A detection scoring less is not an object (per label: ``object_filters``). Higher than the
# detector's own 0.35: a camera sees the same place all day, and a false person every few
# minutes would be an event every few minutes.
DEFAULT_MIN_SCORE = 0.5


@dataclass(frozen=True, slots=True)
class LabelFilter:
    min_score: float = DEFAULT_MIN_SCORE
    min_area: float = 0.0  # share (0-1) of the frame the object's box must cover at least


DEFAULT_FILTER = LabelFilter()


@dataclass(frozen=True, slots=True)
class ObjectSettings:
    enabled: bool = True  # also switched at run time (persisted), like motion detection
    fps: float = 5.0  # detections per second while there is motion (at most the motion's fps)
    labels: frozenset[str] = frozenset(DEFAULT_LABELS)
    filters: Mapping[str, LabelFilter] = field(default_factory=lambda: MappingProxyType({}))
    # Where objects are ignored: an object whose bottom centre (where it stands) is inside one.
    masks: tuple[Polygon, ...] = ()

    def filter_for(self, label: str) -> LabelFilter:
        return self.filters.get(label, DEFAULT_FILTER)

    @property
    def min_score(self) -> float:
        """The lowest score any tracked label accepts: what the detector is asked for."""
        return min((self.filter_for(label).min_score for label in self.labels), default=DEFAULT_MIN_SCORE)
