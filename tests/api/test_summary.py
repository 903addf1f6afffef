"""Day summaries in IANA time zones, across daylight-saving changes, over a real index."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.api.client import shape_errors
from vigil_engine.api.summary import day_bounds, day_summary, merge_ranges
from vigil_engine.events.model import EventRecord
from vigil_engine.storage.index import GapRecord, Index, SegmentRecord

HOUR = 3_600_000


def _utc(text: str) -> int:
    return round(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("zone", "day", "start_utc", "hours", "labels"),
    [
        # Clocks go forward at 02:00 local: 01:00 is followed by 03:00.
        ("Europe/Berlin", date(2026, 3, 29), "2026-03-28T23:00", 23, ["00:00+01:00", "01:00+01:00", "03:00+02:00"]),
        # Clocks go back at 03:00 local: 02:00 comes twice.
        (
            "Europe/Berlin",
            date(2026, 10, 25),
            "2026-10-24T22:00",
            25,
            ["00:00+02:00", "01:00+02:00", "02:00+02:00", "02:00+01:00", "03:00+01:00"],
        ),
        ("America/New_York", date(2026, 3, 8), "2026-03-08T05:00", 23, ["00:00-05:00", "01:00-05:00", "03:00-04:00"]),
        ("America/New_York", date(2026, 11, 1), "2026-11-01T04:00", 25, ["00:00-04:00", "01:00-04:00", "01:00-05:00"]),
        ("Asia/Kolkata", date(2026, 6, 1), "2026-05-31T18:30", 24, ["00:00+05:30", "01:00+05:30"]),
        ("America/St_Johns", date(2026, 7, 1), "2026-07-01T02:30", 24, ["00:00-02:30", "01:00-02:30"]),
        # Lord Howe moves its clocks by half an hour: a 24.5 h day with a repeated half hour.
        (
            "Australia/Lord_Howe",
            date(2026, 4, 5),
            "2026-04-04T13:00",
            25,
            ["00:00+11:00", "01:00+11:00", "01:30+10:30"],
        ),
        # Midnight itself does not exist: the day starts at 01:00 local.
        ("America/Sao_Paulo", date(2018, 11, 4), "2018-11-04T03:00", 23, ["01:00-02:00", "02:00-02:00"]),
    ],
)
def test_days_and_hours_across_clock_changes(
    tmp_path: Path, zone: str, day: date, start_utc: str, hours: int, labels: list[str]
) -> None:
    tz = ZoneInfo(zone)
    start, end = day_bounds(day, tz)
    assert start == _utc(start_utc)
    assert datetime.fromtimestamp(start / 1000, tz).date() == day
    assert datetime.fromtimestamp((start - 1) / 1000, tz).date() < day
    assert datetime.fromtimestamp((end - 1) / 1000, tz).date() == day
    index, _ = Index.open(tmp_path / "vigil.db")
    # Footage from 30 min before the day to 30 min after, in 10-minute segments, with a 20-minute gap.
    t = start - HOUR // 2
    gap_at = start + 5 * HOUR
    while t < end + HOUR // 2:
        if gap_at <= t < gap_at + HOUR // 3:
            t += 600_000
            continue
        index.add_segment(SegmentRecord("cam", t, t + 600_000, 1, f"cam/{t}.mp4"))
        t += 600_000
    index.add_gap(GapRecord("cam", gap_at, gap_at + HOUR // 3, "camera offline"))
    event = EventRecord("a" * 32, "cam", "motion", start + 90 * 60_000, start + 95 * 60_000, 5000, 5000, ("yard",))
    index.save_event(event, None)
    summary = day_summary(index, "cam", day, tz, zone).to_dict()
    assert shape_errors(summary, "DaySummary") == []
    assert (summary["start_ms"], summary["end_ms"]) == (start, end)
    assert len(summary["hours"]) == hours
    assert [f"{h['label']}{h['utc_offset']}" for h in summary["hours"][: len(labels)]] == labels
    assert summary["hours"][0]["start_ms"] == start
    assert summary["hours"][-1]["end_ms"] == end
    assert all(a["end_ms"] == b["start_ms"] for a, b in itertools.pairwise(summary["hours"]))
    assert summary["recorded"] == [
        {"start_ms": start, "end_ms": gap_at},
        {"start_ms": gap_at + HOUR // 3, "end_ms": end},
    ]
    assert summary["recorded_ms"] == end - start - HOUR // 3
    assert sum(h["recorded_ms"] for h in summary["hours"]) == summary["recorded_ms"]
    assert summary["gaps"] == [{"start_ms": gap_at, "end_ms": gap_at + HOUR // 3, "reason": "camera offline"}]
    assert [e["id"] for e in summary["events"]] == ["a" * 32]
    assert sum(h["events"] for h in summary["hours"]) == 1
    index.close()


def test_merge_ranges_tolerates_rounding_only() -> None:
    segments = [
        SegmentRecord("c", 0, 1000, 1, "a"),
        SegmentRecord("c", 1000, 2000, 1, "b"),
        SegmentRecord("c", 2050, 3000, 1, "c"),
        SegmentRecord("c", 4000, 5000, 1, "d"),
    ]
    assert merge_ranges(segments) == [(0, 3000), (4000, 5000)]
