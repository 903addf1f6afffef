"""A still of any instant: the recorded frame on screen at that time, as JPEG.

The frame shown at an instant is the last one that starts at or before it. It is decoded
from the keyframe before it: the samples from that keyframe to the frame are read from the
segment file by the places its ``moof`` boxes give (``fmp4``) and handed to a decoder made
from the track's sample description. Nothing is demuxed or probed (probing decodes a frame
of its own: a second keyframe to decode), and a segment still being written (its complete
fragments, as its writer logged them) serves as well as an indexed one.

A still costs one GOP of decoding at most (a 2 s GOP at 15 fps: 30 frames), and the media
browser asks for 24 at once (a day's hour thumbnails). They are decoded on a small pool of
their own (``STILL_WORKERS`` threads, at a lower CPU priority than recording), so that a
burst of stills queues behind itself and never takes the cores from recording or the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
from av.video.codeccontext import VideoCodecContext

from vigil_engine.events.snapshots import encode_jpeg
from vigil_engine.recording.fragments import SegmentView

from .fmp4 import NON_SYNC, Fragment, Init, Mp4Error, iter_boxes, parse_fragment, parse_init, read_segment

STILL_WORKERS = 2
_CODECS = {"avc1": "h264", "avc3": "h264", "hvc1": "hevc", "hev1": "hevc"}
_CONFIGS = {"h264": "avcC", "hevc": "hvcC"}
# A VisualSampleEntry's fields before its child boxes: header 8, reserved and index 8, the rest 70.
_VISUAL_ENTRY_BYTES = 86
_REORDER = 4
# Added to the decoding threads' nice value: when the cores are busy, recording runs first.
STILL_NICENESS = 10


class NoFrame(LookupError):
    """The footage has no frame at that instant."""


@dataclass(frozen=True, slots=True)
class Footage:
    """Where a segment's frames are: its file, init and fragments, and when its decode time zero is (UTC ms)."""

    path: Path
    start_ms: int
    init: Init
    fragments: Sequence[Fragment]
    identity: str  # what the still of an instant depends on, for its ETag


def indexed_footage(path: Path, start_ms: int, identity: str) -> Footage:
    """A finished segment, read by its boxes (OSError, Mp4Error if it is gone or unreadable)."""
    segment = read_segment(path)
    return Footage(path, start_ms, segment.init, segment.fragments, identity)


def logged_footage(view: SegmentView) -> Footage | None:
    """The complete fragments of a segment being written, as its writer logged them."""
    if not view.init or not view.fragments:
        return None
    try:
        init = parse_init(view.init)
        fragments = [parse_fragment(f.moof, f.offset, f.mdat_offset, f.mdat_size, init) for f in view.fragments]
    except Mp4Error, ValueError:
        return None
    last = view.fragments[-1]
    return Footage(view.path, view.start_ms, init, fragments, f"live:{view.path.name}:{last.offset}")


def end_ms(footage: Footage) -> Fraction | None:
    """Where the footage's last complete frame ends (UTC ms)."""
    video = footage.init.video
    if video is None:
        return None
    for fragment in reversed(footage.fragments):
        runs = [run for run in fragment.runs if run.track_id == video.track_id and run.durations]
        if runs:
            ticks = runs[-1].base_dts + sum(runs[-1].durations)
            return footage.start_ms + Fraction(ticks * 1000, video.timescale)
    return None


@dataclass(frozen=True, slots=True)
class _Sample:
    dts: int
    pts: int
    offset: int
    size: int
    sync: bool


def _video_samples(footage: Footage, track_id: int) -> list[_Sample]:
    samples: list[_Sample] = []
    for fragment in footage.fragments:
        for run in fragment.runs:
            if run.track_id != track_id:
                continue
            dts, offset = run.base_dts, run.data_offset
            for duration, size, flags, cto in zip(run.durations, run.sizes, run.flags, run.ctos, strict=True):
                samples.append(_Sample(dts, dts + cto, offset, size, not flags & NON_SYNC))
                dts += duration
                offset += size
    return samples


def _decoder(stsd: bytes) -> VideoCodecContext:
    """A decoder for the track's sample description: its codec, and its configuration as extradata."""
    entry = stsd[16:]  # after the box header, version/flags and the entry count
    fourcc = entry[4:8].decode("latin-1")
    codec = _CODECS.get(fourcc)
    if codec is None:
        raise NoFrame(f"stills of {fourcc!r} video are not supported")
    size = int.from_bytes(entry[:4], "big")
    config = next(
        (
            entry[box.start : box.end]
            for box in iter_boxes(entry, _VISUAL_ENTRY_BYTES, size)
            if box.kind == _CONFIGS[codec]
        ),
        None,
    )
    if config is None:
        raise NoFrame(f"the {codec} sample description has no decoder configuration")
    context = cast(VideoCodecContext, av.CodecContext.create(codec, "r"))
    context.extradata = config
    context.thread_type = "AUTO"
    return context


def frame_at(footage: Footage, at_ms: int) -> av.VideoFrame:
    """The decoded frame shown at ``at_ms``: the last whose presentation time is at or before it.

    The samples from the last keyframe before it are read straight from the file and decoded
    with the track's own decoder configuration: no demuxer, so no stream probing (which
    decodes a frame of its own).
    """
    video = footage.init.video
    if video is None:
        raise NoFrame("the recording has no video")
    target = Fraction(at_ms - footage.start_ms) * video.timescale / 1000
    samples = _video_samples(footage, video.track_id)
    last = next((i for i in range(len(samples) - 1, -1, -1) if samples[i].dts <= target), None)
    first = next((i for i in range(last, -1, -1) if samples[i].sync), None) if last is not None else None
    if first is None or last is None:
        raise NoFrame("the recording starts after that instant")
    # A few samples more: with B-frames, a frame shown at the instant is decoded after it.
    wanted = samples[first : last + 1 + _REORDER]
    decoder = _decoder(video.stsd)
    shown: av.VideoFrame | None = None
    fd = os.open(footage.path, os.O_RDONLY)
    try:
        frames: list[av.VideoFrame] = []
        for sample in wanted:
            data = os.pread(fd, sample.size, sample.offset)
            if len(data) != sample.size:
                raise OSError(f"{footage.path.name} is shorter than its fragments")
            packet = av.Packet(data)
            packet.pts, packet.dts = sample.pts, sample.dts
            frames += decoder.decode(packet)
        frames += decoder.decode(None)
    finally:
        os.close(fd)
    for frame in frames:
        if frame.pts is not None and frame.pts <= target and (shown is None or frame.pts >= (shown.pts or 0)):
            shown = frame
    if shown is None:
        raise NoFrame("the frame could not be decoded")
    return shown


def still_jpeg(footage: Footage, at_ms: int, width: int | None) -> bytes:
    return encode_jpeg(frame_at(footage, at_ms), width)


class StillPool:
    """Decodes stills on ``STILL_WORKERS`` threads of their own, at a lower CPU priority."""

    def __init__(self, workers: int = STILL_WORKERS) -> None:
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="still", initializer=_lower_priority)

    async def jpeg(self, footage: Footage, at_ms: int, width: int | None) -> bytes:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, still_jpeg, footage, at_ms, width)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _lower_priority() -> None:
    # On Linux each thread has its own nice value; elsewhere (or without the right) it stays as it is.
    with contextlib.suppress(OSError, AttributeError):
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + STILL_NICENESS)
