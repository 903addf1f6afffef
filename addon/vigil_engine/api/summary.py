"""A camera's recording summary for one calendar day in any IANA time zone.

The day is every instant whose local date is the given one: it starts at the first such
instant (local midnight, or the end of a daylight-saving jump when midnight does not
exist) and is 23, 24 or 25 hours long (or 23.5/24.5 where clocks move by half an hour).
Its hours are local hours: on the day clocks go back, the repeated hour is listed twice,
once per UTC offset. Storage and the answer are in UTC milliseconds; only the bucketing
is local.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from vigil_engine.storage.index import Index, SegmentRecord

from .messages import project

# Footage with holes no longer than this counts as continuous (rounding between segments).
CONTIGUOUS_SLACK_MS = 100
MAX_EVENTS = 1000
_MINUTE_MS = 60_000


def day_bounds(day: date, zone: ZoneInfo) -> tuple[int, int]:
    """UTC ms of the first instant of ``day`` and of the next day, in ``zone``.

    ``fold=0`` maps a local midnight that does not exist (clocks jumped over it) to the
    instant of the jump, which is the day's first instant; an ambiguous one to its first
    occurrence.
    """
    following = day + timedelta(days=1)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    end = datetime(following.year, following.month, following.day, tzinfo=zone)
    return round(start.timestamp() * 1000), round(end.timestamp() * 1000)


def merge_ranges(segments: list[SegmentRecord], slack_ms: int = CONTIGUOUS_SLACK_MS) -> list[tuple[int, int]]:
    """Segments (oldest first) merged into continuous ranges of footage."""
    ranges: list[tuple[int, int]] = []
    for seg in segments:
        if ranges and seg.start_ms <= ranges[-1][1] + slack_ms:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], seg.end_ms))
        else:
            ranges.append((seg.start_ms, seg.end_ms))
    return ranges


def _clip(ranges: list[tuple[int, int]], start: int, end: int) -> list[tuple[int, int]]:
    return [(max(a, start), min(b, end)) for a, b in ranges if b > start and a < end]


def _offset(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def local_hours(start_ms: int, end_ms: int, zone: ZoneInfo) -> list[tuple[int, int, str, str]]:
    """(start, end, local label HH:MM, UTC offset) of each local hour in ``[start_ms, end_ms)``.

    An hour ends where the local hour or the UTC offset changes; clocks only change on a
    minute, so looking at every minute finds every boundary.
    """
    hours: list[tuple[int, int, str, str]] = []
    current: tuple[int, str] | None = None
    t = start_ms
    while t < end_ms:
        moment = datetime.fromtimestamp(t / 1000, UTC).astimezone(zone)
        key = (moment.hour, _offset(moment))
        if current is None or key != current:
            if hours:
                hours[-1] = (hours[-1][0], t, hours[-1][2], hours[-1][3])
            hours.append((t, end_ms, moment.strftime("%H:%M"), key[1]))
            current = key
        t += _MINUTE_MS - (t % _MINUTE_MS) if t % _MINUTE_MS else _MINUTE_MS
    return hours


def day_summary(index: Index, camera_id: str, day: date, zone: ZoneInfo, zone_name: str) -> dict[str, Any]:
    start, end = day_bounds(day, zone)
    recorded = _clip(merge_ranges(index.segments(camera_id, start, end)), start, end)
    gaps = [
        {"start_ms": max(g.start_ms, start), "end_ms": min(g.end_ms, end), "reason": g.reason}
        for g in index.gaps(camera_id, start, end)
    ]
    found = index.events(camera_id=camera_id, start_ms=start, end_ms=end, limit=MAX_EVENTS + 1)
    truncated = len(found) > MAX_EVENTS
    events = list(reversed(found[:MAX_EVENTS]))
    hours = []
    for h_start, h_end, label, offset in local_hours(start, end, zone):
        hours.append(
            {
                "start_ms": h_start,
                "end_ms": h_end,
                "label": label,
                "utc_offset": offset,
                "recorded_ms": sum(b - a for a, b in _clip(recorded, h_start, h_end)),
                "events": sum(1 for e in events if h_start <= e.start_ms < h_end),
            }
        )
    return {
        "camera_id": camera_id,
        "date": day.isoformat(),
        "time_zone": zone_name,
        "start_ms": start,
        "end_ms": end,
        "recorded": [{"start_ms": a, "end_ms": b} for a, b in recorded],
        "recorded_ms": sum(b - a for a, b in recorded),
        "gaps": gaps,
        "events": project([e.as_dict() for e in events], "array of Event"),
        "events_truncated": truncated,
        "hours": hours,
    }
