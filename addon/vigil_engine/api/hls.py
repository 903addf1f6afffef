"""HLS video-on-demand over the recorded segments: a playlist for any time range, fMP4 straight from disk.

One HLS media segment is one recorded segment file. Each file is a self-contained
fragmented MP4 whose decode times start at zero, so serving the files as they are would
make every segment start at time zero: a player would need a discontinuity before every
one of them. Instead each segment's ``moof`` boxes are served with their ``tfdt`` (base
media decode time) moved by the segment's recorded start relative to the playlist's
start (``base_ms``); the media data are sent untouched. Timestamps then run on across
segment boundaries exactly as the footage does, and ``EXT-X-DISCONTINUITY`` is needed
only where the footage really breaks: at a gap, or where the codec parameters change (a
new ``EXT-X-MAP`` then follows). Rewriting a ``tfdt`` is an in-place overwrite of 8 bytes
(Vigil's writer always uses 64-bit ones), so no size or offset in the fragment changes.

The init section (``EXT-X-MAP``) is a segment file's own ``ftyp`` + ``moov``; consecutive
segments with the same codec parameters share the first one's. Every segment carries
``EXT-X-PROGRAM-DATE-TIME`` (its recorded UTC start), so a player can show wall-clock
time and scrub across hours. This plays in hls.js (MSE) and in Safari's native player.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from yarl import URL

from vigil_engine.storage.index import SegmentRecord

from .fmp4 import Init, Mp4Error, read_init, read_segment, shifted_moof
from .summary import CONTIGUOUS_SLACK_MS
from .vfile import FileRange, Part, VirtualFile

MAX_PLAYLIST_MS = 24 * 3600 * 1000
MAX_BASE_OFFSET_MS = 7 * 24 * 3600 * 1000
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_TYPE = "video/mp4"

Signer = Callable[[URL], URL]


@lru_cache(maxsize=20_000)
def _codec_key(path: Path, size: int, mtime_ns: int) -> tuple[tuple[int, str, int, bytes], ...] | None:
    try:
        return read_init(path).codec_key()
    except OSError, Mp4Error:
        return None


def codec_key(path: Path) -> tuple[tuple[int, str, int, bytes], ...] | None:
    """What decoding a segment file depends on (cached per file version); None if unreadable."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return _codec_key(path, stat.st_size, stat.st_mtime_ns)


def segment_key(segment: SegmentRecord) -> str:
    return f"{segment.start_ms}-{segment.id}"


def program_date_time(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def playlist(
    segments: list[tuple[SegmentRecord, Path]],
    start_ms: int,
    sign: Signer | None = None,
) -> str:
    """The VOD playlist over ``segments`` (oldest first); URIs relative to ``.../cameras/<id>/vod.m3u8``."""
    usable = [(seg, path, key) for seg, path in segments if (key := codec_key(path)) is not None]
    if not usable:
        raise LookupError("no footage in the requested range")
    base_ms = usable[0][0].start_ms

    def uri(text: str) -> str:
        url = URL(text)
        return str(sign(url)) if sign is not None else str(url)

    target = max(1, *(math.ceil((seg.end_ms - seg.start_ms) / 1000) for seg, _path, _key in usable))
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    if start_ms > base_ms:
        lines.append(f"#EXT-X-START:TIME-OFFSET={(start_ms - base_ms) / 1000:.3f},PRECISE=YES")
    previous: SegmentRecord | None = None
    current_key: object = None
    for seg, _path, key in usable:
        if previous is not None and (seg.start_ms - previous.end_ms > CONTIGUOUS_SLACK_MS or key != current_key):
            lines.append("#EXT-X-DISCONTINUITY")
        if key != current_key:
            lines.append(f'#EXT-X-MAP:URI="{uri(f"recordings/{segment_key(seg)}/init.mp4")}"')
            current_key = key
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{program_date_time(seg.start_ms)}")
        lines.append(f"#EXTINF:{(seg.end_ms - seg.start_ms) / 1000:.3f},")
        lines.append(uri(f"recordings/{segment_key(seg)}/media.m4s?base_ms={base_ms}"))
        previous = seg
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def init_section(path: Path) -> bytes:
    """The segment file's ``ftyp`` + ``moov``: the init section its fragments need."""
    init: Init = read_init(path)
    return init.data


def media_segment(segment: SegmentRecord, path: Path, base_ms: int) -> VirtualFile:
    """The segment's fragments with decode times counted from ``base_ms`` (media data untouched)."""
    parsed = read_segment(path)
    offset_ms = segment.start_ms - base_ms
    shift = {track.track_id: (offset_ms * track.timescale * 2 + 1000) // 2000 for track in parsed.init.tracks.values()}
    parts: list[Part] = []
    for fragment in parsed.fragments:
        parts.append(shifted_moof(fragment, shift))
        parts.append(FileRange(path, fragment.mdat_offset, fragment.mdat_size))
    return VirtualFile.of(parts, f"hls:{segment.id}:{segment.bytes}:{base_ms}")
