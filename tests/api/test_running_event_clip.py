"""A running event's clip stays the same file for every request a player makes.

A browser plays an MP4 with several requests (the head, then byte ranges). A running event's
clip used to end at "now", so each request got a clip of another length and the player never
got past its first bytes (Home Assistant's Media panel showed an empty player). It now ends at
the newest indexed footage, and grows only when a new segment is indexed.
"""

from __future__ import annotations

import time

from tests.api.conftest import SEGMENT_SECONDS, Live, wait_until


def test_a_running_events_clip_is_stable_between_requests(live: Live) -> None:
    event = live.ws.result("start_manual_event", {"camera_id": "front", "label": "doorbell"})["event"]
    try:
        started = event["start_ms"]
        wait_until(
            lambda: any(seg["start_ms"] > started for seg in live.engine.segments("front")),
            SEGMENT_SECONDS * 4,
            "a segment indexed after the event started",
        )
        path = f"/api/events/{event['id']}/clip.mp4"
        first = live.get(path)
        assert first.status == 200, first.body[:200]
        time.sleep(0.3)  # "now" moves on between a player's requests
        again = live.get(path)
        tail = live.get(path, {"Range": f"bytes={len(first.body) // 2}-"})
        assert again.body == first.body
        assert tail.status == 206
        assert tail.body == first.body[len(first.body) // 2 :]
    finally:
        live.ws.result("end_manual_event", {"camera_id": "front"})
