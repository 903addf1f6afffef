"""What a day holds and how the media browser names it (pure: no engine, no Home Assistant).

The media browser's tiles showed 24 hours of which 23 said "no footage", and called "gaps" the
time before recording started and the segment being written. These are the rules now: footage
includes the segment being written, a gap is only an outage the engine wrote down (with its
reason), and a tile's title fits on a tile.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from custom_components.vigil.client import Camera, DaySummary, Event, RecordMode
from custom_components.vigil.footage import Footage, Gap
from custom_components.vigil.media_titles import (
    day_heading,
    day_title,
    event_title,
    file_title,
    gap_title,
    hour_title,
    play_from_title,
    span_heading,
)
from custom_components.vigil.timeline import local_hours, merge_ranges, middle_of

BERLIN = ZoneInfo("Europe/Berlin")
HOUR = 3_600_000
T0 = 1767261600000  # 2026-01-01 11:00:00 CET
CAMERA = Camera(camera_id="front", name="Front", record_mode=RecordMode.CONTINUOUS)


def _summary(
    recorded: list[tuple[int, int]], gaps: list[tuple[int, int, str]], events: list[dict[str, Any]]
) -> DaySummary:
    """A summary of 2026-01-01 in Berlin, read as the client reads the engine's."""
    day = {"camera_id": "front", "date": "2026-01-01", "time_zone": "Europe/Berlin", "start_ms": 0, "end_ms": 0}
    return DaySummary.parse(
        {
            **day,
            "recorded": [{"start_ms": a, "end_ms": b} for a, b in recorded],
            "gaps": [{"start_ms": a, "end_ms": b, "reason": reason} for a, b, reason in gaps],
            "events": events,
        }
    )


def _event(event_id: str, start_ms: int, seconds: int) -> dict[str, Any]:
    return {"id": event_id * 32, "camera_id": "front", "kind": "motion", "start_ms": start_ms,
            "end_ms": start_ms + seconds * 1000, "zones": ["door"]}  # fmt: skip


def test_footage_is_what_was_recorded_and_what_is_being_written() -> None:
    # Recording started at 11:20 (nothing before it is a gap), stopped for a minute at 11:40
    # (the engine wrote that down), and the segment being written runs from 11:55 until now.
    summary = _summary(
        [(T0 + 20 * 60_000, T0 + 40 * 60_000), (T0 + 41 * 60_000, T0 + 55 * 60_000)],
        [(T0 + 40 * 60_000, T0 + 41 * 60_000, "the camera stopped sending (stream ended)")],
        [_event("a", T0 + 30 * 60_000, 12)],
    )
    now = T0 + 57 * 60_000
    camera = replace(CAMERA, recording=True, last_segment_end_ms=T0 + 55 * 60_000)
    held = Footage.from_summaries([summary], camera, now)
    assert held.recorded == ((T0 + 20 * 60_000, T0 + 40 * 60_000), (T0 + 41 * 60_000, now))
    assert held.recorded_ms(T0, T0 + HOUR) == 36 * 60_000
    assert held.gaps_in(T0, T0 + HOUR) == [
        Gap(T0 + 40 * 60_000, T0 + 41 * 60_000, "the camera stopped sending (stream ended)")
    ]
    assert held.gaps_in(T0, T0 + 40 * 60_000) == []  # not the time before the first recording
    assert [event.id for event in held.events_in(T0, T0 + HOUR)] == ["a" * 32]
    # A still comes from indexed footage: the middle of 11:20-11:40 and 11:41-11:55 is 11:37.
    assert held.still_at(T0, T0 + HOUR) == T0 + 37 * 60_000
    # Only the segment being written: its middle, as there is nothing else.
    assert held.still_at(T0 + 56 * 60_000, T0 + HOUR) == T0 + 56 * 60_000 + 30_000
    assert held.still_at(T0 + HOUR, T0 + 2 * HOUR) is None

    # Not recording: no footage after the last segment, whatever the time.
    stopped = Footage.from_summaries([summary], replace(camera, recording=False), now)
    assert stopped.recorded[-1] == (T0 + 41 * 60_000, T0 + 55 * 60_000)
    # Two days' summaries (a span across midnight): footage that continues is merged, gaps and events kept once.
    twice = Footage.from_summaries([summary, summary], CAMERA, now)
    assert len(twice.gaps) == 1
    assert len(twice.events) == 1
    # Recording resumed after an outage that began where the last indexed segment ended: the
    # segment being written starts where the outage ended (the outage stays an outage).
    off = _summary([(T0, T0 + 10 * 60_000)], [(T0 + 10 * 60_000, T0 + 12 * 60_000, "recording off")], [])
    writing = replace(CAMERA, recording=True, last_segment_end_ms=T0 + 10 * 60_000)
    resumed = Footage.from_summaries([off], writing, T0 + 13 * 60_000)
    assert resumed.recorded == ((T0, T0 + 10 * 60_000), (T0 + 12 * 60_000, T0 + 13 * 60_000))
    # Only indexed footage plays: not the segment being written, not a camera never indexed.
    assert resumed.playable(T0, T0 + HOUR)
    assert not resumed.playable(T0 + 11 * 60_000, T0 + HOUR)
    # A camera that records nothing now (disabled): what the index holds plays.
    assert Footage.from_summaries([off], replace(CAMERA, last_segment_end_ms=None), now).playable(T0, T0 + HOUR)
    assert not Footage.from_summaries([], CAMERA, now).playable(T0, T0 + HOUR)
    # Ranges and outages of no length are left out.
    empty = _summary([(5, 5)], [(T0, T0, "camera offline")], [])
    assert Footage.from_summaries([empty], CAMERA, now) == Footage((), (), (), None)
    # A gap without a reason still says something.
    assert Footage.from_summaries([_summary([], [(T0, T0 + 1, " ")], [])], CAMERA, now).gaps[0].reason == "unknown"


def test_ranges() -> None:
    assert merge_ranges([(5, 9), (0, 3), (3, 4), (8, 12)]) == [(0, 4), (5, 12)]
    assert merge_ranges([(0, 3), (4, 5)], slack_ms=1) == [(0, 5)]
    assert middle_of([(0, 10), (20, 30)]) == 20
    assert middle_of([(0, 10), (20, 40)]) == 25
    assert middle_of([]) is None


def test_titles_fit_a_tile() -> None:
    """A tile shows one line of about 18 characters: what it is, briefly; the folder's heading has the rest."""
    assert day_title(date(2026, 12, 3), 5 * HOUR + 12 * 60_000) == "Thu 3 Dec · 5 h 12 min"
    assert day_heading("Front", date(2026, 10, 25), 20 * HOUR, 25) == (
        "Front · Sun 25 Oct 2026 · 20 h 00 min recorded · 25-hour day"
    )
    assert day_heading("Front", date(2026, 12, 3), 60_000, 24) == "Front · Thu 3 Dec 2026 · 1 min 00 s recorded"
    hour = local_hours(date(2026, 1, 1), BERLIN)[11]
    assert hour_title(hour, 48 * 60_000, show_offset=False) == "11:00 · 48 min"
    autumn = [hour for hour in local_hours(date(2026, 10, 25), BERLIN) if hour.label == "02:00"]
    assert [hour_title(hour, HOUR, show_offset=True) for hour in autumn] == [
        "02:00 (+02:00) · 1 h 00 min",
        "02:00 (+01:00) · 1 h 00 min",
    ]
    assert span_heading("Front", T0, T0 + HOUR, BERLIN, 48 * 60_000, 2, 1) == (
        "Front · Thu 1 Jan · 11:00–12:00 · 48 min recorded · 2 events · 1 gap"
    )
    assert span_heading("Front", T0, T0 + HOUR, BERLIN, HOUR, 1, 0) == (
        "Front · Thu 1 Jan · 11:00–12:00 · 1 h 00 min recorded · 1 event"
    )
    assert play_from_title(T0, BERLIN) == "Play from 11:00"
    assert play_from_title(T0 + 14 * 60_000 + 40_000, BERLIN) == "Play from 11:14:40"
    gap = Gap(T0 + 12 * 60_000 + 5000, T0 + 14 * 60_000 + 40_000, "camera offline")
    assert gap_title(gap, BERLIN) == "Gap 11:12:05–11:14:40 · camera offline"
    assert file_title("Front", T0, BERLIN, 12_000) == "Front · 1 Jan 11:00 · 12 s"
    assert file_title("Front", T0, BERLIN) == "Front · 1 Jan 11:00"


def test_event_titles() -> None:
    motion = Event(id="a" * 32, camera_id="front", kind="motion", start_ms=T0, end_ms=T0 + 12_000, zones=("door",))
    manual = Event(id="b" * 32, camera_id="front", kind="manual", start_ms=T0, label="doorbell")
    other = Event(id="c" * 32, camera_id="front", kind="camera", start_ms=T0, end_ms=T0 + 185_000)
    assert event_title(motion, BERLIN, T0) == "11:00:00 · door · 12 s"
    assert event_title(manual, BERLIN, T0 + 42_000) == "11:00:00 · doorbell · running (42 s)"
    assert event_title(other, BERLIN, T0) == "11:00:00 · camera · 3 min 05 s"
