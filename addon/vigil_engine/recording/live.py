"""One camera's footage as it is written: the segments a live HLS playlist is made of.

Each segment the camera's worker writes has a :class:`SegmentLog` (``fragments``): its
complete fragments and the keyframes that start live parts. The feed keeps the log of the
segment being written and of the latest finished ones, enough for a sliding window of parts
and for players still fetching what an earlier playlist listed.

Every part gets its media sequence number when its keyframe is written: consecutive numbers
per camera, starting at the engine clock's milliseconds when the worker started, so that they
only grow, across segments, reconnections and engine restarts (a restart starts higher than
any earlier number, as long as a camera makes fewer than a thousand parts a second).

Parts follow each other in time within a session (a connection to the camera: its segments
abut). A new session, or a segment that starts later than the previous one ended (a write
failure lost footage in between), breaks the timeline: the segment's ``discontinuity`` number
is one more than its predecessor's, which a playlist turns into ``EXT-X-DISCONTINUITY`` and
``EXT-X-DISCONTINUITY-SEQUENCE``.
"""

from __future__ import annotations

import threading
from collections import deque

from .fragments import SegmentLog, SegmentView, sequence_from

# Finished segments are kept while the newer ones hold fewer parts than this.
KEEP_PARTS = 24
MAX_SEGMENTS = 32
# Footage that starts within this of where the previous segment ended continues it (rounding).
CONTIGUOUS_SLACK_MS = 100


class LiveFeed:
    """The recent segments of one camera (thread-safe: the recording thread adds, API threads read)."""

    def __init__(self, first_sequence: int) -> None:
        self.sequence = sequence_from(first_sequence)
        self._lock = threading.Lock()
        self._segments: deque[SegmentLog] = deque()

    def add(self, log: SegmentLog, session: int) -> None:
        """The recording thread opened a new segment (the previous one is closed by then)."""
        log.session = session
        with self._lock:
            previous = self._segments[-1] if self._segments else None
            if previous is not None:
                end_ms = previous.end_ms
                follows = (
                    previous.session == session
                    and end_ms is not None
                    and abs(log.start_ms - end_ms) <= CONTIGUOUS_SLACK_MS
                )
                log.discontinuity = previous.discontinuity + (0 if follows else 1)
            self._segments.append(log)
            newer = 0
            for index in range(len(self._segments) - 1, 0, -1):
                newer += self._segments[index].marks
                if newer >= KEEP_PARTS:
                    for _ in range(index):
                        self._segments.popleft()
                    break
            while len(self._segments) > MAX_SEGMENTS:
                self._segments.popleft()

    def segments(self) -> list[SegmentView]:
        """The kept segments, oldest first, as they are now."""
        with self._lock:
            logs = list(self._segments)
        return [log.view() for log in logs]
