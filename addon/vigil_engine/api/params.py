"""Validation of everything a client sends: ids, times, dates, zones, sizes.

Clients address footage only by camera id, event id and time range; nothing they send is
ever used as (part of) a file path. Each value is checked against a strict pattern and
range before anything is looked up; a failure is an ``invalid_argument`` error that says
which parameter and why.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vigil_engine.config import RECORD_MODES, RecordMode
from vigil_engine.detection.labels import COCO_LABELS, GROUPS
from vigil_engine.events.model import EVENT_ID

from .errors import ApiError, invalid

CAMERA_ID: Final = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")
ZONE_NAME: Final = CAMERA_ID
DATE: Final = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
TIME_ZONE: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]{0,30}(?:/[A-Za-z0-9][A-Za-z0-9_+\-]{0,30}){0,2}$")
CURSOR: Final = re.compile(r"^(\d{1,15})\.([0-9a-f]{32})$")
INTEGER: Final = re.compile(r"^-?\d{1,16}$")
SCORE: Final = re.compile(r"^(?:0|1)?(?:\.\d{1,6})?$")
EVENT_KINDS: Final = ("motion", "manual", "camera")
MAX_TIME_MS: Final = 100_000_000_000_000  # year 5138: beyond any footage
MAX_LABEL: Final = 100
MIN_WIDTH: Final = 16
MAX_WIDTH: Final = 3840


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def camera_id(value: Any, name: str = "camera_id") -> str:
    if not isinstance(value, str) or not CAMERA_ID.match(value):
        raise invalid(f"{name}: expected a camera id (a-z, 0-9, _), got {_describe(value)}")
    return value


def event_id(value: Any, name: str = "event_id") -> str:
    if not isinstance(value, str) or not EVENT_ID.match(value):
        raise invalid(f"{name}: expected an event id (32 hexadecimal characters), got {_describe(value)}")
    return value


def integer(value: Any, name: str, lo: int, hi: int) -> int:
    """An integer in ``[lo, hi]``; a string of digits too (query parameters)."""
    if isinstance(value, str) and INTEGER.match(value):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid(f"{name}: expected an integer, got {_describe(value)}")
    if not lo <= value <= hi:
        raise invalid(f"{name}: must be between {lo} and {hi}")
    return value


def time_ms(value: Any, name: str) -> int:
    return integer(value, name, 0, MAX_TIME_MS)


def boolean(value: Any, name: str) -> bool:
    if isinstance(value, str) and value in ("true", "false", "1", "0"):
        return value in ("true", "1")
    if not isinstance(value, bool):
        raise invalid(f"{name}: expected true or false, got {_describe(value)}")
    return value


def time_range(start: int, end: int, max_ms: int) -> tuple[int, int]:
    if end <= start:
        raise invalid("end_ms must be after start_ms")
    if end - start > max_ms:
        raise ApiError("range_too_long", f"the range may be at most {max_ms // 1000} seconds long")
    return start, end


def day(value: Any, name: str = "date") -> date:
    match = DATE.match(value) if isinstance(value, str) else None
    if match is None:
        raise invalid(f"{name}: expected a date as YYYY-MM-DD, got {_describe(value)}")
    try:
        result = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise invalid(f"{name}: no such date {value!r}") from None
    if not 1970 <= result.year <= 9998:
        raise invalid(f"{name}: the year must be between 1970 and 9998")
    return result


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def time_zone(value: Any, name: str = "time_zone") -> ZoneInfo:
    """An IANA time zone such as ``Europe/Berlin`` (checked by pattern before the database is asked)."""
    if not isinstance(value, str) or not TIME_ZONE.match(value) or value in ("localtime", "posixrules"):
        raise invalid(f"{name}: expected an IANA time zone such as Europe/Berlin, got {_describe(value)}")
    try:
        return _zone(value)
    except ZoneInfoNotFoundError, ValueError, OSError:
        raise invalid(f"{name}: unknown time zone {value!r}") from None


def record_mode(value: Any, name: str = "record_mode") -> RecordMode:
    if value not in RECORD_MODES:
        raise invalid(f"{name}: must be one of {', '.join(RECORD_MODES)}")
    mode: RecordMode = value
    return mode


def zone(value: Any, name: str = "zone") -> str:
    if not isinstance(value, str) or not ZONE_NAME.match(value):
        raise invalid(f"{name}: expected a zone name (a-z, 0-9, _), got {_describe(value)}")
    return value


def event_kind(value: Any, name: str = "kind") -> str:
    if value not in EVENT_KINDS:
        raise invalid(f"{name}: must be one of {', '.join(EVENT_KINDS)}")
    return str(value)


def object_label(value: Any, name: str = "label") -> str:
    """A label of the detector (``person``, ``car``...) or a group (``vehicle``, ``animal``)."""
    if isinstance(value, str):
        text = value.strip().lower().replace("_", " ")
        if text in COCO_LABELS or text in GROUPS:
            return text
    raise invalid(f"{name}: expected a label such as person, car or dog, or a group: person, vehicle, animal")


def score(value: Any, name: str) -> float:
    """A score from 0 to 1; a decimal string too (query parameters)."""
    if isinstance(value, str) and SCORE.match(value):
        value = float(value)
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
        raise invalid(f"{name}: expected a number from 0 to 1, got {_describe(value)}")
    return float(value)


def label(value: Any, name: str = "label") -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_LABEL or not value.isprintable():
        raise invalid(f"{name}: expected printable text of 1 to {MAX_LABEL} characters")
    return value


def width(value: Any, name: str = "width") -> int:
    return integer(value, name, MIN_WIDTH, MAX_WIDTH)


def cursor(value: Any, name: str = "cursor") -> tuple[int, str]:
    match = CURSOR.match(value) if isinstance(value, str) else None
    if match is None:
        raise invalid(f"{name}: not a cursor this server made")
    return int(match.group(1)), match.group(2)


def make_cursor(start_ms: int, event: str) -> str:
    return f"{start_ms}.{event}"
