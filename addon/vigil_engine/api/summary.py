"""A camera's recording summary for one calendar day in any IANA time zone.

The day is every instant whose local date is the given one: it starts at the first such
instant (local midnight, or the end of a daylight-saving jump when midnight does not
exist) and is 23, 24 or 25 hours long (or 23.5/24.5 where clocks move by half an hour).
Its hours are local hours: on the day clocks go back, the repeated hour is listed twice,
once per UTC offset. Storage and the answer are in UTC milliseconds; only the bucketing
is local.

What it says is what a timeline must show, and only that:

* **Footage** is the indexed segments and, while the camera records, the segment being
  written, up to its newest complete fragment (``Writing``, from the worker's log): the end
  of today is no hole. ``live`` says the last range is that segment, still growing.
* **Gaps** are the outages the engine wrote down (with their reasons), clipped to the day and
  to the time after the camera's first footage: never a hole worked out from the footage,
  which would also "find" the time before the first recording and the segment being written.
  Rows that overlap (an older engine wrote one per retry) are merged into one outage.

Segments and gaps are read on the API's own connection (``reads``), as plain tuples: a day of
8,640 segments costs a few milliseconds and never holds the index lock the cameras' threads
take to index their segments.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from vigil_engine.protocol import DaySummary, Gap, Hour, Range
from vigil_engine.storage.index import Index, SegmentRecord

from . import wire
from .reads import IndexReader

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


@dataclass(frozen=True, slots=True)
class Writing:
    """The segment being written: from its start to the end of its newest complete fragment (UTC ms)."""

    start_ms: int
    end_ms: int


def merge_ranges(segments: list[SegmentRecord], slack_ms: int = CONTIGUOUS_SLACK_MS) -> list[tuple[int, int]]:
    """Segments (oldest first) merged into continuous ranges of footage."""
    return merge_spans(((seg.start_ms, seg.end_ms) for seg in segments), slack_ms)


def merge_spans(spans: Iterable[tuple[int, int]], slack_ms: int = CONTIGUOUS_SLACK_MS) -> list[tuple[int, int]]:
    """(start, end) pairs (oldest first) merged where they overlap or lie within ``slack_ms``."""
    ranges: list[tuple[int, int]] = []
    for start, end in spans:
        if ranges and start <= ranges[-1][1] + slack_ms:
            if end > ranges[-1][1]:
                ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((start, end))
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


def day_summary(
    index: Index,
    camera_id: str,
    day: date,
    zone: ZoneInfo,
    zone_name: str,
    writing: Writing | None = None,
    reader: IndexReader | None = None,
) -> DaySummary:
    """The camera's day. ``writing``: the segment being written, if the camera records now;
    ``reader``: the API's read connection (without one, a connection is opened for this call)."""
    own_reader = reader is None
    reads = IndexReader(index.path, archived_only=index.archived_only_playable) if reader is None else reader
    try:
        start, end = day_bounds(day, zone)
        spans = reads.spans(camera_id, start, end)
        first = reads.first_footage(camera_id)
        stored_gaps = reads.gaps(camera_id, start, end)
    finally:
        if own_reader:
            reads.close()
    if writing is not None:
        if writing.end_ms > writing.start_ms:
            spans.append((writing.start_ms, writing.end_ms))
        first = writing.start_ms if first is None else min(first, writing.start_ms)
    recorded = _clip(merge_spans(spans), start, end)
    # The last range grows: it ends at the newest footage of the segment being written, in this day.
    live = (
        writing is not None and start < writing.end_ms <= end and bool(recorded) and recorded[-1][1] == writing.end_ms
    )
    gaps = _outages(stored_gaps, max(start, first) if first is not None else end, end)
    found = index.events(camera_id=camera_id, start_ms=start, end_ms=end, limit=MAX_EVENTS + 1)
    truncated = len(found) > MAX_EVENTS
    events = list(reversed(found[:MAX_EVENTS]))
    starts = sorted(e.start_ms for e in events)
    hours = tuple(
        Hour(
            start_ms=h_start,
            end_ms=h_end,
            label=label,
            utc_offset=offset,
            recorded_ms=sum(b - a for a, b in _clip(recorded, h_start, h_end)),
            events=bisect.bisect_left(starts, h_end) - bisect.bisect_left(starts, h_start),
        )
        for h_start, h_end, label, offset in local_hours(start, end, zone)
    )
    return DaySummary(
        camera_id=camera_id,
        date=day.isoformat(),
        time_zone=zone_name,
        start_ms=start,
        end_ms=end,
        recorded=tuple(Range(start_ms=a, end_ms=b) for a, b in recorded),
        recorded_ms=sum(b - a for a, b in recorded),
        live=live,
        gaps=tuple(Gap(start_ms=a, end_ms=b, reason=reason) for a, b, reason in gaps),
        events=tuple(wire.event(record) for record in events),
        events_truncated=truncated,
        hours=hours,
    )


def _outages(rows: list[tuple[int, int, str]], start: int, end: int) -> list[tuple[int, int, str]]:
    """Stored gaps clipped to ``[start, end)``, overlapping rows merged (the first row's reason stays)."""
    merged: list[tuple[int, int, str]] = []
    for row_start, row_end, reason in rows:
        a, b = max(row_start, start), min(row_end, end)
        if b <= a:
            continue
        if merged and a < merged[-1][1]:
            if b > merged[-1][1]:
                merged[-1] = (merged[-1][0], b, merged[-1][2])
        else:
            merged.append((a, b, reason))
    return merged
