"""Helpers of the media tests (views, signed links, media browser): a finished event with its footage, decoding."""

from __future__ import annotations

import io
from typing import Any

import av

from tests.components.vigil.conftest import FRONT, EngineRig, wait_for

JPEG = b"\xff\xd8\xff"


def _ready_event(engine: EngineRig) -> dict[str, Any] | None:
    """The newest ended motion event of the front camera whose footage (post-capture included) is indexed."""
    events = engine.get(f"/api/events?camera_id={FRONT}&kind=motion&limit=20")["events"]
    indexed = engine.camera_state(FRONT)["last_segment_end_ms"] or 0
    for event in events:
        if event["end_ms"] is not None and event["has_snapshot"] and event["end_ms"] + event["post_ms"] <= indexed:
            return dict(event)
    return None


async def finished_event(engine: EngineRig) -> dict[str, Any]:
    """Wait for one (the box moves for 2 s every 10 s: an event ends about every 10 s)."""
    event: dict[str, Any] = await wait_for(lambda: _ready_event(engine), 40, "a finished motion event", interval=0.5)
    return event


def decoded_frames(data: bytes) -> int:
    """How many video frames an MP4 (in memory) decodes to."""
    with av.open(io.BytesIO(data), "r") as container:
        return len(list(container.decode(video=0)))
