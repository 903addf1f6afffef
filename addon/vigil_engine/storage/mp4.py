"""Inspecting and repairing fragmented-MP4 segments without decoding them.

After a crash or power loss the last segment may end in the middle of a fragment. The
top-level box structure tells exactly how much is complete: ``ftyp``, ``moov``, then
``moof``/``mdat`` pairs. :func:`trim_torn_tail` cuts the file after the last complete
pair so that every player (and PyAV) reads it cleanly.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import av

from .index import SegmentRecord


@dataclass(frozen=True, slots=True)
class TrimResult:
    original_bytes: int
    kept_bytes: int
    fragments: int

    @property
    def trimmed(self) -> bool:
        return self.kept_bytes < self.original_bytes


def top_level_boxes(path: Path) -> list[tuple[str, int, int]]:
    """(type, offset, size) of each complete top-level box; stops at the first torn one."""
    boxes: list[tuple[str, int, int]] = []
    total = path.stat().st_size
    with path.open("rb") as handle:
        offset = 0
        while offset + 8 <= total:
            handle.seek(offset)
            header = handle.read(16)
            size, kind = struct.unpack(">I4s", header[:8])
            if size == 1:
                if len(header) < 16:
                    break
                size = struct.unpack(">Q", header[8:16])[0]
            elif size == 0:
                size = total - offset
            if size < 8 or offset + size > total:
                break
            boxes.append((kind.decode("latin-1"), offset, size))
            offset += size
    return boxes


def trim_torn_tail(path: Path) -> TrimResult:
    """Cut everything after the last complete ``moof``+``mdat`` (or the ``moov``)."""
    total = path.stat().st_size
    keep = 0
    fragments = 0
    pending_moof = False
    for kind, offset, size in top_level_boxes(path):
        end = offset + size
        if kind in ("ftyp", "moov"):
            keep = end
        elif kind == "moof":
            pending_moof = True
        elif kind == "mdat" and pending_moof:
            pending_moof = False
            fragments += 1
            keep = end
        elif kind in ("mfra", "free", "skip", "sidx", "udta") and not pending_moof:
            keep = end
    if keep < total:
        with path.open("r+b") as handle:
            handle.truncate(keep)
            handle.flush()
            os.fsync(handle.fileno())
    return TrimResult(original_bytes=total, kept_bytes=keep, fragments=fragments)


@dataclass(frozen=True, slots=True)
class ProbedSegment:
    start_ms: int | None  # from the file's own metadata, if Vigil wrote it
    duration_ms: int
    frames: int
    video_codec: str
    width: int
    height: int
    audio_codec: str | None
    first_is_keyframe: bool


def probed_record(camera_id: str, start_ms: int, rel_path: str, path: Path, probed: ProbedSegment) -> SegmentRecord:
    """The index row for a segment known only from its file (salvaged or orphaned)."""
    return SegmentRecord(
        camera_id=camera_id,
        start_ms=start_ms,
        end_ms=start_ms + max(1, probed.duration_ms),
        bytes=path.stat().st_size,
        path=rel_path,
        video_codec=probed.video_codec,
        width=probed.width,
        height=probed.height,
        audio_codec=probed.audio_codec,
        frames=probed.frames,
        recovered=True,
    )


def probe_segment(path: Path) -> ProbedSegment:
    """Read a segment's packets (no decoding) for its exact media duration and codecs."""
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError("no video track")
        video = container.streams.video[0]
        assert video.time_base is not None
        first: int | None = None
        last: int | None = None
        last_duration = 0
        frames = 0
        first_key = False
        for packet in container.demux(video):
            if packet.dts is None or packet.size == 0:
                continue
            if first is None:
                first = packet.dts
                first_key = packet.is_keyframe
            last = packet.dts
            last_duration = packet.duration or last_duration
            frames += 1
        if first is None or last is None:
            raise ValueError("no video frames")
        duration = float((last - first + last_duration) * video.time_base)
        start_tag = container.metadata.get("vigil_start_ms")
        audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
        return ProbedSegment(
            start_ms=int(start_tag) if start_tag and start_tag.isdigit() else None,
            duration_ms=round(duration * 1000),
            frames=frames,
            video_codec=video.codec_context.name,
            width=video.codec_context.width,
            height=video.codec_context.height,
            audio_codec=audio,
            first_is_keyframe=first_key,
        )
