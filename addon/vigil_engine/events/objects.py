"""What a camera's object tracking tells its events, one detection frame at a time.

The camera's object pipeline (``detection.camera``) turns each frame's tracker step into an
:class:`ObjectsSeen`; :class:`~vigil_engine.events.manager.CameraEvents` attaches the objects to
the running event (or, with ``events_from: objects``, starts and holds events with them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import av

from .model import EventObject


@dataclass(frozen=True, slots=True)
class ObjectsSeen:
    at_ms: int  # the frame's time (UTC ms)
    mono: float  # time.monotonic() when the frame was decoded
    frame: av.VideoFrame  # the frame the objects were found in (as decoded)
    active: tuple[EventObject, ...]  # confirmed, moving objects seen in this frame
    moving_since_ms: int  # when the first of them started moving (an event's start)
    zones: frozenset[str]  # the zones they stand in
    best: EventObject | None = None  # the one whose best detection this frame is, if any
    ended: tuple[EventObject, ...] = ()  # tracks that ended since the last frame


def merge_objects(current: Iterable[EventObject], seen: Iterable[EventObject]) -> tuple[EventObject, ...]:
    """The event's objects with ``seen`` folded in: each keeps its first start, latest end, every
    zone it entered and its best detection. Ordered by start (then id)."""
    objects = {obj.id: obj for obj in current}
    for obj in seen:
        known = objects.get(obj.id)
        if known is None:
            objects[obj.id] = obj
            continue
        better = obj if obj.score > known.score else known
        objects[obj.id] = replace(
            better,
            start_ms=min(known.start_ms, obj.start_ms),
            end_ms=max(known.end_ms, obj.end_ms),
            zones=tuple(sorted(set(known.zones) | set(obj.zones))),
        )
    return tuple(sorted(objects.values(), key=lambda obj: (obj.start_ms, obj.id)))
