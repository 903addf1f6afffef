"""Live HLS for every camera, made of the fragments the camera's worker is writing.

Home Assistant's stream component plays RTSP cameras from the camera itself, but the engine's
other sources (the demo scene, replayed files) only exist inside the engine: for those, and
for any client that wants live view of any camera, the engine serves the footage it records
as a live playlist (``GET /api/cameras/{id}/live.m3u8``).

A **part** (an HLS media segment) is one GOP: the fragments from a keyframe up to the next
keyframe that starts a part (``recording.fragments``: keyframes less than half a second apart
share a part). A part is listed once all its fragments are in the file, so a player never
reads a ``moof`` or ``mdat`` being appended: the writer logs a fragment the moment its last
byte is written, and the playlist is built from that log on each request, so the newest part
is listed as soon as the keyframe after it has been written (tens of milliseconds).

Time: every part's decode times are moved, as the VOD playlist's media segments are
(``hls``), to the footage's UTC time since the Unix epoch in each track's timescale: time
runs on across segment files and only jumps forward at a break. Home Assistant's stream
worker needs that: it drops packets whose decode time goes back (a segment file's own times
start at zero) and restarts the stream on a jump of more than 30 s (a long outage). A new
session or lost footage is an ``EXT-X-DISCONTINUITY``, counted by
``EXT-X-DISCONTINUITY-SEQUENCE`` so that players keep their place as the window slides; a new
``EXT-X-MAP`` follows where the codec parameters change. Every part carries
``EXT-X-PROGRAM-DATE-TIME``. Media sequence numbers come from the worker (``recording.live``).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from yarl import URL

from vigil_engine.recording.fragments import Fragment as LoggedFragment
from vigil_engine.recording.fragments import SegmentView

from .fmp4 import Fragment, Init, Mp4Error, parse_fragment, parse_init, shifted_moof
from .hls import program_date_time
from .vfile import FileRange, Part, VirtualFile

# The playlist lists at least this many parts, and at least three target durations of footage
# (RFC 8216, 6.2.2), from the newest back.
WINDOW_PARTS = 6
# A camera that has written nothing for this long is not live: no playlist of old footage.
STALE_MS = 20_000
_CACHE_ENTRIES = 4096
_TICK_TOLERANCE = 1  # rounding between the stream's time base and the file's timescale

Signer = Callable[[URL], URL]


class NotLive(LookupError):
    """The camera has no recent footage to play live; ``str()`` says why."""


@dataclass(frozen=True, slots=True)
class LivePart:
    sequence: int
    segment: SegmentView
    init: Init
    start_ms: Fraction  # UTC of its first frame
    duration_s: Fraction
    fragments: tuple[Fragment, ...]

    @property
    def end_ms(self) -> Fraction:
        return self.start_ms + self.duration_s * 1000

    @property
    def discontinuity(self) -> int:
        return self.segment.discontinuity


class LiveParts:
    """Parts from the writers' logs; what was parsed once (inits, moofs) is kept, per file.

    Called from the API's worker threads (``asyncio.to_thread``), several at once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inits: OrderedDict[tuple[Path, bytes], Init] = OrderedDict()
        # By the logged fragment itself (its place and its moof): a file written again at the same
        # path cannot be mistaken for the one parsed before.
        self._fragments: OrderedDict[tuple[Path, LoggedFragment], Fragment] = OrderedDict()
        self._targets: dict[str, int] = {}

    def parts(self, segments: Sequence[SegmentView]) -> list[LivePart]:
        """Every complete part of the given segments (oldest first) that is still whole in the logs."""
        found: list[LivePart] = []
        for segment in segments:
            init = self._init(segment)
            if init is not None:
                found.extend(self._segment_parts(segment, init))
        return found

    def target_duration(self, camera_id: str, parts: Sequence[LivePart]) -> int:
        """EXT-X-TARGETDURATION: every part's duration rounded, at most this; it never shrinks (RFC 8216, 6.2.1)."""
        longest = max((math.floor(part.duration_s + Fraction(1, 2)) for part in parts), default=1)
        with self._lock:
            target = max(1, longest, self._targets.get(camera_id, 1))
            self._targets[camera_id] = target
        return target

    def writing_extent(self, segments: Sequence[SegmentView]) -> tuple[int, int] | None:
        """(start, end of the newest complete fragment) of the segment being written, UTC ms; None if none is open."""
        segment = segments[-1] if segments else None
        if segment is None or segment.closed:
            return None
        init = self._init(segment)
        if init is None or init.video is None or not segment.fragments:
            return segment.start_ms, segment.start_ms
        fragment = self._fragment(segment, init, len(segment.fragments) - 1)
        span = _video_span(fragment, init.video.track_id) if fragment is not None else None
        if span is None:
            return segment.start_ms, segment.start_ms
        return segment.start_ms, segment.start_ms + int(span[1] * 1000 // init.video.timescale)

    # --- parsing, cached ---
    def _init(self, segment: SegmentView) -> Init | None:
        if not segment.init:
            return None
        key = (segment.path, segment.init)
        with self._lock:
            cached = self._inits.get(key)
        if cached is not None:
            return cached
        try:
            init = parse_init(segment.init)
        except Mp4Error, ValueError:
            return None
        if init.video is None:
            return None
        with self._lock:
            self._inits[key] = init
            while len(self._inits) > _CACHE_ENTRIES // 16:
                self._inits.popitem(last=False)
        return init

    def _fragment(self, segment: SegmentView, init: Init, index: int) -> Fragment | None:
        logged = segment.fragments[index]
        key = (segment.path, logged)
        with self._lock:
            cached = self._fragments.get(key)
        if cached is not None:
            return cached
        try:
            parsed = parse_fragment(logged.moof, logged.offset, logged.mdat_offset, logged.mdat_size, init)
        except Mp4Error, ValueError:
            return None
        with self._lock:
            self._fragments[key] = parsed
            while len(self._fragments) > _CACHE_ENTRIES:
                self._fragments.popitem(last=False)
        return parsed

    def _segment_parts(self, segment: SegmentView, init: Init) -> list[LivePart]:
        """The segment's fragments grouped by the marks (the keyframes that start parts)."""
        video = init.video
        assert video is not None
        scale = segment.time_base * video.timescale  # file ticks per stream tick
        ticks = [round(mark.offset * scale) for mark in segment.marks]
        starts = {tick: index for index, tick in enumerate(ticks)}
        groups: list[tuple[int, list[Fragment]]] = []  # (mark index, fragments)
        complete: set[int] = set()
        for position in range(len(segment.fragments)):
            fragment = self._fragment(segment, init, position)
            if fragment is None:
                break  # the rest of this segment cannot be placed
            span = _video_span(fragment, video.track_id)
            if span is not None:
                mark = _near(starts, span[0])
                if mark is not None:
                    groups.append((mark, []))
            if not groups:
                continue  # the start of this part fell out of the log
            mark, members = groups[-1]
            members.append(fragment)
            if span is not None and mark + 1 < len(ticks) and span[1] >= ticks[mark + 1] - _TICK_TOLERANCE:
                complete.add(mark)
        parts: list[LivePart] = []
        for mark, members in groups:
            last = mark + 1 == len(segment.marks)
            if last:
                if segment.end_offset is None:
                    continue  # still being written, or the file was abandoned
                end_offset = segment.end_offset
            elif mark in complete:
                end_offset = segment.marks[mark + 1].offset
            else:
                continue
            offset = segment.marks[mark].offset
            parts.append(
                LivePart(
                    sequence=segment.marks[mark].sequence,
                    segment=segment,
                    init=init,
                    start_ms=segment.start_ms + offset * segment.time_base * 1000,
                    duration_s=(end_offset - offset) * segment.time_base,
                    fragments=tuple(members),
                )
            )
        return parts


def _video_span(fragment: Fragment, track_id: int) -> tuple[int, int] | None:
    """(first, end) decode time of the fragment's video samples, in the file's ticks."""
    runs = [run for run in fragment.runs if run.track_id == track_id and run.durations]
    if not runs:
        return None
    return runs[0].base_dts, runs[-1].base_dts + sum(runs[-1].durations)


def _near(starts: dict[int, int], tick: int) -> int | None:
    for candidate in (tick, tick - 1, tick + 1):
        if candidate in starts:
            return starts[candidate]
    return None


def window(parts: Sequence[LivePart], target: int, now_ms: int) -> list[LivePart]:
    """The newest parts a live playlist lists; :class:`NotLive` when there are none or they are stale."""
    if not parts:
        raise NotLive("no live footage yet: the camera has not recorded a complete part since the engine started")
    newest = parts[-1]
    if newest.end_ms < now_ms - STALE_MS:
        seconds = int((now_ms - newest.end_ms) / 1000)
        raise NotLive(f"no live footage: the camera has recorded nothing for {seconds} s (offline or not recording)")
    listed: list[LivePart] = []
    total = Fraction(0)
    for part in reversed(parts):
        if len(listed) >= WINDOW_PARTS and total >= 3 * target:
            break
        if listed and part.sequence != listed[-1].sequence - 1:
            break  # a part of an older segment fell out of the logs: the window must stay consecutive
        listed.append(part)
        total += part.duration_s
    listed.reverse()
    return listed


def playlist(listed: Sequence[LivePart], target: int, sign: Signer | None = None) -> str:
    """The live playlist of ``listed`` (consecutive parts); URIs relative to ``.../cameras/<id>/live.m3u8``."""

    def uri(text: str) -> str:
        url = URL(text)
        return str(sign(url)) if sign is not None else str(url)

    first = listed[0]
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{target}",
        f"#EXT-X-MEDIA-SEQUENCE:{first.sequence}",
        f"#EXT-X-DISCONTINUITY-SEQUENCE:{first.discontinuity}",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    previous: LivePart | None = None
    current_key: object = None
    for part in listed:
        key = part.init.codec_key()
        if previous is not None and part.discontinuity != previous.discontinuity:
            lines.append("#EXT-X-DISCONTINUITY")
        if key != current_key:
            lines.append(f'#EXT-X-MAP:URI="{uri(f"live/{part.segment.start_ms}/init.mp4")}"')
            current_key = key
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{program_date_time(round(part.start_ms))}")
        lines.append(f"#EXTINF:{float(part.duration_s):.3f},")
        lines.append(uri(f"live/{part.sequence}.m4s"))
        previous = part
    return "\n".join(lines) + "\n"


def find_part(parts: Sequence[LivePart], sequence: int) -> LivePart | None:
    return next((part for part in parts if part.sequence == sequence), None)


def part_file(part: LivePart) -> VirtualFile:
    """The part's fragments with decode times on the UTC timeline (media data untouched, read from the file)."""
    start_ms = part.segment.start_ms
    shift = {track.track_id: (start_ms * track.timescale * 2 + 1000) // 2000 for track in part.init.tracks.values()}
    pieces: list[Part] = []
    for fragment in part.fragments:
        pieces.append(shifted_moof(fragment, shift))
        pieces.append(FileRange(part.segment.path, fragment.mdat_offset, fragment.mdat_size))
    return VirtualFile.of(pieces, f"live:{part.segment.path.name}:{start_ms}:{part.sequence}")


def find_init(segments: Sequence[SegmentView], start_ms: int) -> bytes | None:
    return next((segment.init for segment in segments if segment.start_ms == start_ms and segment.init), None)
