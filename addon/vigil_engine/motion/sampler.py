"""Which frames of a stream to take, ``fps`` times per second of *frame time*.

Motion analysis and object detection both sample the decoded frames by their timestamps (stream
seconds), never by wall time: a burst of frames after a network hiccup, or a file read faster
than real time, is sampled exactly like a live stream.
"""

from __future__ import annotations

# A frame this early before its due time is taken (timestamps jitter; waiting for the next
# frame would sample unevenly): at most this share of the sampling period, and at most half the
# camera's frame interval, so the frame nearest to the due time is the one taken.
DUE_TOLERANCE = 0.3
# Weight of each new frame interval in the running estimate of the camera's frame interval.
_INTERVAL_WEIGHT = 0.1


class FrameSampler:
    """Picks ``fps`` frames per second of frame time; one per stream, used from one thread."""

    def __init__(self, fps: float) -> None:
        self._period = 1.0 / fps if fps > 0 else 0.0
        self._next_due: float | None = None
        self._last_time: float | None = None
        self._interval: float | None = None  # the camera's frame interval (running estimate)

    def due(self, frame_time_s: float) -> bool:
        """Whether the frame at ``frame_time_s`` (stream seconds) should be taken.

        True about ``fps`` times per second of frame time, on a fixed grid (so the
        rate holds whatever the camera's frame rate and jitter), for every frame if the camera
        sends fewer than ``fps``. After a gap the grid restarts at the next frame; when time
        goes back by more than a period (a new session, a looped file), sampling restarts too.
        Never True with ``fps`` <= 0.
        """
        period = self._period
        if period <= 0:
            return False
        last, self._last_time = self._last_time, frame_time_s
        if last is not None and 0 < frame_time_s - last < period:
            step = frame_time_s - last
            self._interval = (
                step if self._interval is None else self._interval + _INTERVAL_WEIGHT * (step - self._interval)
            )
        next_due = self._next_due
        if next_due is None or (last is not None and frame_time_s < last - period):
            self._next_due = frame_time_s + period
            return True
        tolerance = DUE_TOLERANCE * period
        if self._interval is not None:
            tolerance = min(tolerance, self._interval / 2)
        if frame_time_s < next_due - tolerance:
            return False
        next_due += period
        if next_due <= frame_time_s:
            # Behind by a whole period (a gap in the stream, or fewer frames than fps): restart
            # the grid here instead of taking the next frames in a burst to catch up.
            next_due = frame_time_s + period
        self._next_due = next_due
        return True

    def reset(self) -> None:
        """Restart the grid (after a reconnect or a new session)."""
        self._next_due = None
        self._last_time = None
        self._interval = None
