"""Local days and hours in an IANA time zone, and ranges of footage (UTC ms) within them.

Pure functions on aware datetimes and UTC milliseconds, no Home Assistant. The media
browser groups footage by Home Assistant's time zone with these: a day runs from the first
to the last instant whose local date is that day, so it has 23 or 25 hours when the clocks
change, and each local hour is a real UTC range (the repeated hour of an autumn night is two
hours with different offsets). Nothing here applies "today's" UTC offset to another day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
# Every UTC offset in use is a whole number of quarter hours and clocks change on a quarter
# hour, so looking at the clock every quarter hour (from the day's first instant, itself a
# local midnight or a change of the clock) finds every start of a local hour.
_STEP = timedelta(minutes=15)
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True, slots=True)
class LocalHour:
    """One local hour: a real UTC range and how the clock on the wall showed its start."""

    start: datetime  # UTC
    end: datetime  # UTC, exclusive
    local_start: datetime  # the same instant in the time zone

    @property
    def start_ms(self) -> int:
        return to_ms(self.start)

    @property
    def end_ms(self) -> int:
        return to_ms(self.end)

    @property
    def label(self) -> str:
        return self.local_start.strftime("%H:%M")

    @property
    def utc_offset(self) -> str:
        return format_offset(self.local_start)


def to_ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


def parse_day(text: str) -> date:
    """``YYYY-MM-DD`` to a date; ``ValueError`` for anything else."""
    match = _DAY.match(text)
    if match is None:
        raise ValueError(f"not a date: {text!r}")
    return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))


def format_offset(moment: datetime) -> str:
    """The UTC offset of an aware datetime as ``+HH:MM`` / ``-HH:MM``."""
    offset = moment.utcoffset() or timedelta(0)
    minutes = round(offset.total_seconds() / 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """The local date of an instant."""
    return moment.astimezone(zone).date()


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants where ``day`` starts and where the next day starts, in ``zone``.

    A local midnight is turned into an instant with ``fold=0``: one the clocks skipped over
    becomes the instant of the jump (the day's real first instant), an ambiguous one its
    first occurrence.
    """
    start = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=zone).astimezone(UTC)
    return start, end


def local_hours(day: date, zone: ZoneInfo) -> list[LocalHour]:
    """The local hours of ``day`` in order: 24, or 23/25 (or 23.5/24.5) on a day the clocks change.

    An hour starts wherever the local hour or the UTC offset changes, found by walking real
    UTC instants; a zone half an hour off UTC just has its hours start at :30 UTC.
    """
    start, end = day_bounds(day, zone)
    hours: list[LocalHour] = []
    current: tuple[int, str] | None = None
    moment = start
    while moment < end:
        local = moment.astimezone(zone)
        key = (local.hour, format_offset(local))
        if key != current:
            if hours:
                hours[-1] = LocalHour(hours[-1].start, moment, hours[-1].local_start)
            hours.append(LocalHour(moment, end, local))
            current = key
        moment += _STEP
    return hours


def clip_ranges(ranges: list[tuple[int, int]], start_ms: int, end_ms: int) -> list[tuple[int, int]]:
    """The parts of ``ranges`` (sorted, UTC ms) inside ``[start_ms, end_ms)``."""
    return [(max(a, start_ms), min(b, end_ms)) for a, b in ranges if b > start_ms and a < end_ms]


def merge_ranges(ranges: list[tuple[int, int]], slack_ms: int = 0) -> list[tuple[int, int]]:
    """Ranges (UTC ms, any order) merged where they touch or overlap (or are ``slack_ms`` apart)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + slack_ms:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def total_ms(ranges: list[tuple[int, int]]) -> int:
    return sum(end - start for start, end in ranges)


def middle_of(ranges: list[tuple[int, int]]) -> int | None:
    """The instant halfway through the footage of ``ranges`` (sorted): always inside one of them."""
    remaining = total_ms(ranges) // 2
    for start, end in ranges:
        if remaining < end - start:
            return start + remaining
        remaining -= end - start
    return None


def format_duration(ms: int) -> str:
    """``2 h 05 min``, ``12 min``, ``3 min 05 s``, ``42 s``: a duration for a title."""
    seconds = max(0, round(ms / 1000))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min {seconds % 60:02d} s" if minutes < 10 else f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
