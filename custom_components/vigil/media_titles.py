"""The titles of the media browser's items: short on tiles, the details in a folder's heading.

Home Assistant's Media panel shows a tile's title on one line of about 18 characters (longer
ones are cut with an ellipsis), and the title of the folder being looked at in large type
above its tiles (two lines). So tiles say what they are in a few characters
(``16:00 · 48 min``) and the heading of the folder carries the rest (date, footage, events,
gaps). Local times are those of Home Assistant's time zone, taken per instant (the offset of
the day shown, never today's).
"""

from __future__ import annotations

from datetime import date
from typing import Final
from zoneinfo import ZoneInfo

from .client import Event
from .footage import Gap
from .timeline import LocalHour, format_duration, from_ms

# The media browser's folders of events by what was seen (the label groups of ``search.py``).
GROUP_TITLES: Final = {"person": "People", "vehicle": "Vehicles", "animal": "Animals"}


def clock(ms: int, zone: ZoneInfo, *, seconds: bool = True) -> str:
    """``14:03:12`` (or ``14:03``) in ``zone``."""
    return from_ms(ms).astimezone(zone).strftime("%H:%M:%S" if seconds else "%H:%M")


def clock_short(ms: int, zone: ZoneInfo) -> str:
    """``14:03`` on the minute, ``14:03:12`` otherwise."""
    local = from_ms(ms).astimezone(zone)
    return local.strftime("%H:%M" if local.second == 0 and local.microsecond < 1000 else "%H:%M:%S")


def short_day(day: date) -> str:
    """``Wed 3 Dec``."""
    return f"{day:%a} {day.day} {day:%b}"


def long_day(day: date) -> str:
    """``Wed 3 Dec 2026``."""
    return f"{short_day(day)} {day.year}"


def _count(number: int, word: str) -> str:
    return f"{number} {word}{'' if number == 1 else 's'}"


def day_title(day: date, recorded_ms: int) -> str:
    """A day's tile: ``Wed 3 Dec · 5 h 12 min``."""
    return f"{short_day(day)} · {format_duration(recorded_ms)}"


def day_heading(camera: str, day: date, recorded_ms: int, hours: float) -> str:
    """A day's heading: ``Front · Sun 25 Oct 2026 · 20 h 12 min recorded · 25-hour day``."""
    parts = [camera, long_day(day), f"{format_duration(recorded_ms)} recorded"]
    if hours != 24:
        parts.append(f"{hours:g}-hour day")
    return " · ".join(parts)


def hour_label(hour: LocalHour, *, show_offset: bool) -> str:
    """``14:00``, or ``02:00 (+01:00)`` on a day whose clock shows some hours twice."""
    return f"{hour.label} ({hour.utc_offset})" if show_offset else hour.label


def hour_title(hour: LocalHour, recorded_ms: int, *, show_offset: bool) -> str:
    """An hour's tile: ``16:00 · 48 min``."""
    return f"{hour_label(hour, show_offset=show_offset)} · {format_duration(recorded_ms)}"


def span_heading(
    camera: str, start_ms: int, end_ms: int, zone: ZoneInfo, recorded_ms: int, events: int, gaps: int
) -> str:
    """A span's heading: ``Front · Wed 3 Dec · 16:00–17:00 · 48 min recorded · 2 events · 1 gap``."""
    day = from_ms(start_ms).astimezone(zone).date()
    parts = [
        camera,
        short_day(day),
        f"{clock_short(start_ms, zone)}–{clock_short(end_ms, zone)}",
        f"{format_duration(recorded_ms)} recorded",
    ]
    if events:
        parts.append(_count(events, "event"))
    if gaps:
        parts.append(_count(gaps, "gap"))
    return " · ".join(parts)


def play_from_title(start_ms: int, zone: ZoneInfo) -> str:
    """``Play from 16:00`` (or ``Play from 16:14:40``)."""
    return f"Play from {clock_short(start_ms, zone)}"


def gap_title(gap: Gap, zone: ZoneInfo) -> str:
    """``Gap 16:12:05–16:14:40 · the camera stopped sending``: when, and why."""
    return f"Gap {clock(gap.start_ms, zone)}–{clock(gap.end_ms, zone)} · {gap.reason}"


def event_title(event: Event, zone: ZoneInfo, now_ms: int, *, camera: str | None = None) -> str:
    """``14:03:12 · person · driveway, door · 12 s``: local time, (camera,) what it saw, zones, length.

    What it saw: its objects' labels, or a manual event's label; an event with neither and no
    zone says its kind. The time comes first: it is what a tile keeps when the rest is cut.
    """
    parts = [clock(event.start_ms, zone)]
    if camera is not None:
        parts.append(camera)
    seen = ", ".join(event.labels) or event.label
    if seen:
        parts.append(seen)
    if event.zones:
        parts.append(", ".join(event.zones))
    if not seen and not event.zones:
        parts.append(event.kind)
    if event.end_ms is None:
        parts.append(f"running ({format_duration(now_ms - event.start_ms)})")
    else:
        parts.append(format_duration(event.end_ms - event.start_ms))
    return " · ".join(parts)


def file_title(camera: str, start_ms: int, zone: ZoneInfo, length_ms: int | None = None) -> str:
    """An exported clip or snapshot: ``Front · 3 Dec 14:03 · 12 s`` (a snapshot has no length)."""
    local = from_ms(start_ms).astimezone(zone)
    parts = [camera, f"{local.day} {local:%b %H:%M}"]
    if length_ms is not None:
        parts.append(format_duration(length_ms))
    return " · ".join(parts)
