"""What an event is, as stored in the index and sent to clients."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, Literal

EventKind = Literal["motion", "manual", "camera"]
Box = tuple[float, float, float, float]
EVENT_ID = re.compile(r"^[0-9a-f]{32}$")


def new_event_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class EventObject:
    """A tracked object as an event keeps it: its track while the event lasted."""

    id: str  # the track's id (also in the object_* bus messages)
    label: str  # a COCO label (person, car, dog...)
    score: float  # its best score (0-1)
    start_ms: int  # UTC ms of the frame it was first seen in
    end_ms: int  # ...and last seen in (so far, while the event runs)
    zones: tuple[str, ...] = ()  # zones it entered
    box: Box = (0.0, 0.0, 0.0, 0.0)  # where it was when it scored best, normalised (0-1) x1, y1, x2, y2

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "score": round(self.score, 4),
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "zones": list(self.zones),
            "box": [round(value, 4) for value in self.box],
        }


@dataclass(frozen=True, slots=True)
class EventRecord:
    id: str
    camera_id: str
    kind: EventKind
    start_ms: int  # UTC ms of the first frame that moved (or the manual start)
    end_ms: int | None  # None while the event runs
    pre_ms: int
    post_ms: int
    zones: tuple[str, ...] = ()
    peak_score: float = 0.0
    # Relative to the storage folder; None until written (or when no frame was available).
    snapshot: str | None = None
    thumbnail: str | None = None
    label: str | None = None  # free text for manual events (e.g. "doorbell")
    # What was seen: the labels of its tracked objects and of what the camera itself reported
    # (person, vehicle, animal), sorted; the best score of its objects; the objects themselves.
    labels: tuple[str, ...] = ()
    top_score: float = 0.0
    objects: tuple[EventObject, ...] = ()

    @property
    def running(self) -> bool:
        return self.end_ms is None

    @property
    def clip_start_ms(self) -> int:
        return self.start_ms - self.pre_ms

    def clip_end_ms(self, now_ms: int) -> int:
        """End of the event's footage (with post-capture); a running event reaches up to now."""
        return now_ms if self.end_ms is None else self.end_ms + self.post_ms

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "camera_id": self.camera_id,
            "kind": self.kind,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "pre_ms": self.pre_ms,
            "post_ms": self.post_ms,
            "zones": list(self.zones),
            "peak_score": round(self.peak_score, 4),
            "has_snapshot": self.snapshot is not None,
            "label": self.label,
            "labels": list(self.labels),
            "top_score": round(self.top_score, 4),
            "objects": [obj.as_dict() for obj in self.objects],
        }
