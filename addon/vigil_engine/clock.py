"""The engine's notion of "now": monotonic, anchored to UTC wall time once, slewed gently.

Segment times must never go backwards and must never jump when somebody (or NTP) steps
the host clock. The engine therefore reads time from the monotonic clock, anchored to the
wall clock at start-up, and only *slews* that anchor toward the wall clock at a bounded rate
(500 ppm, as Moonfire NVR does): a host clock that is wrong by a minute and then corrected
moves our timeline by at most 0.5 ms per second, never by a step.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

MAX_SLEW_PPM = 500.0
# Beyond this disagreement the wall clock is considered authoritative again (for example
# after the host's clock was set right long after boot); we then re-anchor in one step,
# because slewing away an hour would take 80 days. Never re-anchor backwards past time
# already handed out, so callers still see a non-decreasing clock.
STEP_THRESHOLD_S = 300.0


class EngineClock:
    """Monotonic UTC clock; thread-safe; injectable time sources for tests."""

    def __init__(
        self,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._wall = wall
        self._monotonic = monotonic
        self._lock = threading.Lock()
        mono = monotonic()
        self._anchor_mono = mono
        self._anchor_utc = wall()
        self._last_adjust_mono = mono
        self._last_value = self._anchor_utc

    def now(self) -> float:
        """Seconds since the epoch (UTC), never decreasing."""
        with self._lock:
            mono = self._monotonic()
            self._slew(mono)
            value = self._anchor_utc + (mono - self._anchor_mono)
            value = max(value, self._last_value)
            self._last_value = value
            return value

    def now_ms(self) -> int:
        return round(self.now() * 1000)

    def utc_for_monotonic(self, mono: float) -> float:
        """The UTC time of a past monotonic instant (for example a packet's arrival)."""
        with self._lock:
            return self._anchor_utc + (mono - self._anchor_mono)

    def _slew(self, mono: float) -> None:
        elapsed = mono - self._last_adjust_mono
        if elapsed <= 0:
            return
        self._last_adjust_mono = mono
        ours = self._anchor_utc + (mono - self._anchor_mono)
        error = self._wall() - ours
        if abs(error) > STEP_THRESHOLD_S:
            self._anchor_utc += error
            return
        limit = elapsed * MAX_SLEW_PPM / 1e6
        self._anchor_utc += max(-limit, min(limit, error))


def ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def iso_ms(ms: int) -> str:
    """ISO 8601 UTC with milliseconds, e.g. ``2026-11-22T10:00:00.123Z``."""
    return ms_to_datetime(ms).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
