"""Per-camera motion and event settings (parsed by ``config``, used by the detector and tracker).

Polygons are in *normalised* coordinates, (0, 0) top-left to (1, 1) bottom-right, so one
mask fits the main stream and the substream whatever their resolutions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Point = tuple[float, float]
Polygon = tuple[Point, ...]
# What makes an event: motion (each confirmed run of motion; objects seen label it), or
# objects (a tracked object that moves; motion alone only shows on the motion sensors).
EventsFrom = Literal["motion", "objects"]
EVENTS_FROM: tuple[EventsFrom, ...] = ("motion", "objects")


@dataclass(frozen=True, slots=True)
class Zone:
    """A named area with its own motion state (e.g. "driveway")."""

    name: str
    polygon: Polygon
    # Share of the zone's own area that must change; None = the camera's min_area.
    min_area: float | None = None
    # The object labels that enter the zone (None: any tracked object): a zone with labels
    # counts for events only when such an object stands in it, its motion sensor stays motion.
    objects: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class MotionSettings:
    enabled: bool = True
    fps: float = 5.0  # analysed frames per second
    # Luma difference (0-255) from the background that counts a pixel as changed.
    threshold: int = 25
    # Share (0-1) of the unmasked frame that must change to count as motion.
    min_area: float = 0.003
    masks: tuple[Polygon, ...] = ()
    zones: tuple[Zone, ...] = ()
    # Width of the analysed grey frame (height keeps the aspect ratio).
    analysis_width: int = 256


@dataclass(frozen=True, slots=True)
class EventSettings:
    # Motion must last this long (frame time) before an event starts; the event's start
    # is still the first frame that moved.
    confirm_seconds: float = 0.4
    # The event ends once no motion has been seen for this long.
    quiet_seconds: float = 5.0
    pre_capture: float = 5.0
    post_capture: float = 5.0
    # Longer motion is split into events of at most this length.
    max_seconds: float = 300.0
    retention_days: float = 30.0
    events_from: EventsFrom = "motion"
