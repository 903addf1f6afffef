"""What a stretch of a camera's time holds: footage, outages with their reasons, and events.

Built from the engine's day summaries (``get_day_summary``) and the camera's live state, so
that the media browser says only what is true:

* **Footage** is what the index holds, plus the segment being written right now (while the
  camera records: from where its newest indexed segment, or its newest outage, ended, to now):
  the current hour does not look shorter than it is, and its last minutes are no hole. Only
  indexed footage plays (the engine's playlists list finished segments): ``playable``.
* **A gap** is an outage the engine wrote down, with its reason (the camera's error, the
  engine not running, recording switched off): only the summary's explicit gaps, never a
  hole worked out from the footage, which would also "find" the time before the first
  recording, the time of day not yet come, and the segment being written.

Pure: no Home Assistant, UTC milliseconds throughout.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .client import Camera, DaySummary, Event
from .timeline import clip_ranges, merge_ranges, middle_of, total_ms

# Footage this close together is one stretch (the engine's segments abut to within rounding).
CONTIGUOUS_SLACK_MS = 100


@dataclass(frozen=True, slots=True)
class Gap:
    """An outage the engine recorded: no footage from ``start_ms`` to ``end_ms``, and why."""

    start_ms: int
    end_ms: int
    reason: str


@dataclass(frozen=True, slots=True)
class Footage:
    """A camera's footage, gaps and events over a span of time (one or more local days)."""

    recorded: tuple[tuple[int, int], ...]  # merged, oldest first
    gaps: tuple[Gap, ...]  # oldest first
    events: tuple[Event, ...]  # oldest first
    indexed_until_ms: int | None  # the end of the newest indexed segment (stills exist before it)

    @classmethod
    def from_summaries(cls, summaries: Iterable[DaySummary], camera: Camera, now_ms: int) -> Footage:
        """The footage of the summaries' days; ``camera`` tells whether a segment is being written."""
        recorded: list[tuple[int, int]] = []
        gaps: dict[tuple[int, int], Gap] = {}
        events: dict[str, Event] = {}
        for summary in summaries:
            recorded.extend((span.start_ms, span.end_ms) for span in summary.recorded if span.end_ms > span.start_ms)
            for outage in summary.gaps:
                if outage.end_ms > outage.start_ms:
                    # A gap without a reason still says something.
                    reason = outage.reason.strip() or "unknown"
                    gaps[(outage.start_ms, outage.end_ms)] = Gap(outage.start_ms, outage.end_ms, reason)
            for event in summary.events:
                events[event.id] = event
        last = camera.last_segment_end_ms
        if camera.recording and last is not None:
            # The segment being written: footage already, indexed when it closes. It began where
            # the last segment ended, or where the last outage did (footage resumed there).
            writing_from = max([last, *(gap.end_ms for gap in gaps.values() if gap.end_ms <= now_ms)])
            if writing_from < now_ms:
                recorded.append((writing_from, now_ms))
        return cls(
            recorded=tuple(merge_ranges(recorded, CONTIGUOUS_SLACK_MS)),
            gaps=tuple(sorted(gaps.values(), key=lambda gap: (gap.start_ms, gap.end_ms))),
            events=tuple(sorted(events.values(), key=lambda event: (event.start_ms, event.id))),
            indexed_until_ms=last,
        )

    def recorded_in(self, start_ms: int, end_ms: int) -> list[tuple[int, int]]:
        """The footage inside ``[start_ms, end_ms)``."""
        return clip_ranges(list(self.recorded), start_ms, end_ms)

    def recorded_ms(self, start_ms: int, end_ms: int) -> int:
        return total_ms(self.recorded_in(start_ms, end_ms))

    def playable(self, start_ms: int, end_ms: int) -> bool:
        """``[start_ms, end_ms)`` holds indexed footage: a playlist of it has something to play.

        Without a newest segment (a camera not recording now, e.g. disabled), all the
        summaries' footage is the index's.
        """
        until = end_ms if self.indexed_until_ms is None else min(end_ms, self.indexed_until_ms)
        return bool(self.recorded_in(start_ms, until))

    def gaps_in(self, start_ms: int, end_ms: int) -> list[Gap]:
        """The outages overlapping ``[start_ms, end_ms)``, clipped to it."""
        return [
            Gap(max(gap.start_ms, start_ms), min(gap.end_ms, end_ms), gap.reason)
            for gap in self.gaps
            if gap.end_ms > start_ms and gap.start_ms < end_ms
        ]

    def events_in(self, start_ms: int, end_ms: int) -> list[Event]:
        """The events that started inside ``[start_ms, end_ms)``."""
        return [event for event in self.events if start_ms <= event.start_ms < end_ms]

    def still_at(self, start_ms: int, end_ms: int) -> int | None:
        """An instant for a picture of ``[start_ms, end_ms)``: the middle of its indexed footage.

        The segment being written has no still yet: it is used only when there is nothing else.
        """
        indexed_end = end_ms if self.indexed_until_ms is None else min(end_ms, self.indexed_until_ms)
        indexed = middle_of(self.recorded_in(start_ms, indexed_end))
        return indexed if indexed is not None else middle_of(self.recorded_in(start_ms, end_ms))
