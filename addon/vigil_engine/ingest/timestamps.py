"""Repair packet timestamps so the muxer always sees a clean, increasing timeline.

Cameras send packets without timestamps (the first keyframe over RTSP often has none),
reorder a packet by a tick, or jump (a camera-side clock reset, a looping file). None of
that may stop recording: missing values are extrapolated, tiny reorders nudged forward,
and large jumps re-based so the timeline continues one frame after the last packet.
"""

from __future__ import annotations

from fractions import Fraction

from av.rational import AVRational

# Forward jumps larger than this within one connection are treated as a discontinuity.
MAX_FORWARD_JUMP_S = 5.0
# Backward steps of up to this many frames are jitter (nudged forward); larger ones are a
# reset. Nudging a long backward run would squeeze many frames into consecutive ticks.
MAX_REORDER_FRAMES = 2


class TimestampRepair:
    """Per-stream repair state; ``fix`` returns corrected (pts, dts) in stream ticks."""

    def __init__(self, time_base: Fraction, frame_duration_s: float) -> None:
        self.time_base = time_base
        ticks_per_s = 1 / time_base
        self.frame_ticks = max(1, round(frame_duration_s * ticks_per_s))
        self._max_forward = round(MAX_FORWARD_JUMP_S * ticks_per_s)
        self._max_reorder = MAX_REORDER_FRAMES * self.frame_ticks
        self._offset = 0
        self._last_dts: int | None = None
        self.repaired = 0
        self.discontinuities = 0

    def fix(self, pts: int | None, dts: int | None, duration: int | None = None) -> tuple[int, int]:
        last = self._last_dts
        if dts is not None and pts is not None and last is not None:
            # The common case, first and cheap: both timestamps, moving forward by a sane step.
            new_dts = dts + self._offset
            if 0 < new_dts - last <= self._max_forward:
                self._last_dts = new_dts
                new_pts = pts + self._offset
                return (new_pts if new_pts > new_dts else new_dts), new_dts
        step = duration if duration and duration > 0 else self.frame_ticks
        raw = dts if dts is not None else pts
        if raw is None:
            self.repaired += 1
            new_dts = 0 if self._last_dts is None else self._last_dts + step
            self._last_dts = new_dts
            return new_dts, new_dts
        new_dts = raw + self._offset
        if self._last_dts is not None:
            delta = new_dts - self._last_dts
            if delta <= 0 and -delta <= self._max_reorder:
                self.repaired += 1
                new_dts = self._last_dts + 1
            elif delta <= 0 or delta > self._max_forward:
                self.discontinuities += 1
                self._offset += self._last_dts + step - new_dts
                new_dts = self._last_dts + step
        new_pts = (pts if pts is not None else raw) + self._offset
        if pts is None:
            self.repaired += 1
        if dts is None:
            # Without a decode timestamp the presentation one is all we have.
            new_pts = new_dts
        new_pts = max(new_pts, new_dts)
        self._last_dts = new_dts
        return new_pts, new_dts


def as_fraction(value: AVRational | Fraction) -> Fraction:
    """PyAV hands out its own rational type; the repair arithmetic wants a plain Fraction."""
    return Fraction(value.numerator, value.denominator)
