"""Reading Vigil's fragmented-MP4 segments at the byte level, without demuxing.

A segment is ``ftyp``, ``moov`` (with ``mvex``: no samples of its own), then ``moof``/``mdat``
pairs (a fragment per video keyframe) and perhaps an ``mfra``. Everything clips and HLS need
is in the small boxes: the tracks (``moov``) and, per fragment, each track's decode time
(``tfdt``) and its samples' durations, sizes, flags and composition offsets (``trun``), with
where their bytes are. Only those boxes are read; the media data (``mdat``) is never parsed,
only copied (see ``clips``) or sent as it is (see ``hls``).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

_HEADER = struct.Struct(">I4s")
NON_SYNC = 0x00010000  # sample_is_non_sync_sample in the sample flags
MAX_HEADER_BYTES = 4 * 1024 * 1024  # a moov or moof larger than this is not a Vigil segment


class Mp4Error(ValueError):
    """The file is not a fragmented MP4 this module can read."""


@dataclass(frozen=True, slots=True)
class Box:
    kind: str
    offset: int  # of the box header, relative to the buffer (or file) it was found in
    size: int
    header: int  # 8, or 16 with a 64-bit size

    @property
    def start(self) -> int:
        """Offset of the payload."""
        return self.offset + self.header

    @property
    def end(self) -> int:
        return self.offset + self.size


def iter_boxes(data: bytes | bytearray | memoryview, start: int = 0, end: int | None = None) -> Iterator[Box]:
    """The boxes laid end to end in ``data[start:end]``; stops at a truncated one."""
    end = len(data) if end is None else end
    offset = start
    while offset + 8 <= end:
        size, raw = _HEADER.unpack_from(data, offset)
        header = 8
        if size == 1:
            if offset + 16 > end:
                return
            size = struct.unpack_from(">Q", data, offset + 8)[0]
            header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            return
        yield Box(raw.decode("latin-1"), offset, size, header)
        offset += size


def child(data: bytes | bytearray | memoryview, parent: Box, kind: str) -> Box | None:
    for box in iter_boxes(data, parent.start, parent.end):
        if box.kind == kind:
            return box
    return None


def children(data: bytes | memoryview, parent: Box, kind: str) -> list[Box]:
    return [box for box in iter_boxes(data, parent.start, parent.end) if box.kind == kind]


def find_path(data: bytes | memoryview, parent: Box, *kinds: str) -> Box | None:
    box: Box | None = parent
    for kind in kinds:
        if box is None:
            return None
        box = child(data, box, kind)
    return box


def make_box(kind: str, *payload: bytes) -> bytes:
    body = b"".join(payload)
    size = 8 + len(body)
    if size > 0xFFFFFFFF:
        return struct.pack(">I4sQ", 1, kind.encode("latin-1"), size + 8) + body
    return struct.pack(">I4s", size, kind.encode("latin-1")) + body


def full_box(kind: str, version: int, flags: int, *payload: bytes) -> bytes:
    return make_box(kind, struct.pack(">I", (version << 24) | flags), *payload)


@dataclass(frozen=True, slots=True)
class Track:
    track_id: int
    handler: str  # "vide", "soun", ...
    timescale: int
    trak: bytes  # the whole trak box, as the segment has it
    stsd: bytes  # the sample description box: what decoders need to start
    default_duration: int = 0  # from trex
    default_size: int = 0
    default_flags: int = 0

    @property
    def is_video(self) -> bool:
        return self.handler == "vide"

    @property
    def is_audio(self) -> bool:
        return self.handler == "soun"


@dataclass(frozen=True, slots=True)
class Init:
    """The start of a segment: ``ftyp`` + ``moov``, and the tracks it declares."""

    data: bytes  # ftyp + moov (+ anything before the first moof)
    tracks: dict[int, Track]
    movie_timescale: int

    def codec_key(self) -> tuple[tuple[int, str, int, bytes], ...]:
        """What decoding depends on: two segments with the same key can share one init."""
        return tuple((t.track_id, t.handler, t.timescale, t.stsd) for t in self.tracks.values())

    @property
    def video(self) -> Track | None:
        return next((t for t in self.tracks.values() if t.is_video), None)

    @property
    def audio(self) -> Track | None:
        return next((t for t in self.tracks.values() if t.is_audio), None)


@dataclass(slots=True)
class Run:
    """One ``trun`` of a track in a fragment: samples whose bytes lie end to end."""

    track_id: int
    base_dts: int  # decode time of the first sample, in the track's timescale
    data_offset: int  # file offset of the first sample's bytes
    durations: list[int] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    flags: list[int] = field(default_factory=list)
    ctos: list[int] = field(default_factory=list)  # composition time offsets

    @property
    def byte_size(self) -> int:
        return sum(self.sizes)


@dataclass(slots=True)
class Fragment:
    moof_offset: int  # file offsets
    moof_size: int
    mdat_offset: int
    mdat_size: int
    moof: bytes
    runs: list[Run]
    # (offset within ``moof`` of a tfdt's value, its version, track id) for rewriting times
    tfdts: list[tuple[int, int, int]]

    @property
    def end(self) -> int:
        return self.mdat_offset + self.mdat_size


@dataclass(slots=True)
class Segment:
    path: Path
    init: Init
    fragments: list[Fragment]


def _read_boxes(fd: int, total: int) -> Iterator[Box]:
    """Top-level boxes of an open file, read by their headers only."""
    offset = 0
    while offset + 8 <= total:
        header = os.pread(fd, 16, offset)
        if len(header) < 8:
            return
        size, raw = _HEADER.unpack_from(header, 0)
        length = 8
        if size == 1:
            if len(header) < 16:
                return
            size = struct.unpack_from(">Q", header, 8)[0]
            length = 16
        elif size == 0:
            size = total - offset
        if size < length or offset + size > total:
            return  # a torn box: the file ends here as far as readers are concerned
        yield Box(raw.decode("latin-1"), offset, size, length)
        offset += size


def _read(fd: int, box: Box) -> bytes:
    if box.size > MAX_HEADER_BYTES:
        raise Mp4Error(f"{box.kind} box of {box.size} bytes")
    data = os.pread(fd, box.size, box.offset)
    if len(data) != box.size:
        raise Mp4Error("file shorter than its boxes")
    return data


def parse_init(data: bytes) -> Init:
    """The tracks of an ``ftyp`` + ``moov`` buffer."""
    moov = next((b for b in iter_boxes(data) if b.kind == "moov"), None)
    if moov is None:
        raise Mp4Error("no moov box")
    mvhd = child(data, moov, "mvhd")
    if mvhd is None:
        raise Mp4Error("no mvhd box")
    version = data[mvhd.start]
    movie_timescale = struct.unpack_from(">I", data, mvhd.start + (20 if version == 1 else 12))[0]
    defaults: dict[int, tuple[int, int, int]] = {}
    mvex = child(data, moov, "mvex")
    if mvex is not None:
        for trex in children(data, mvex, "trex"):
            track_id, _desc, duration, size, flags = struct.unpack_from(">5I", data, trex.start + 4)
            defaults[track_id] = (duration, size, flags)
    tracks: dict[int, Track] = {}
    for trak in children(data, moov, "trak"):
        tkhd = child(data, trak, "tkhd")
        mdhd = find_path(data, trak, "mdia", "mdhd")
        hdlr = find_path(data, trak, "mdia", "hdlr")
        stsd = find_path(data, trak, "mdia", "minf", "stbl", "stsd")
        if tkhd is None or mdhd is None or hdlr is None or stsd is None:
            raise Mp4Error("incomplete trak box")
        track_id = struct.unpack_from(">I", data, tkhd.start + (20 if data[tkhd.start] == 1 else 12))[0]
        timescale = struct.unpack_from(">I", data, mdhd.start + (20 if data[mdhd.start] == 1 else 12))[0]
        handler = data[hdlr.start + 8 : hdlr.start + 12].decode("latin-1")
        duration, size, flags = defaults.get(track_id, (0, 0, 0))
        tracks[track_id] = Track(
            track_id=track_id,
            handler=handler,
            timescale=timescale,
            trak=data[trak.offset : trak.end],
            stsd=data[stsd.offset : stsd.end],
            default_duration=duration,
            default_size=size,
            default_flags=flags,
        )
    if not tracks or any(t.timescale <= 0 for t in tracks.values()):
        raise Mp4Error("no usable tracks")
    return Init(data=data, tracks=tracks, movie_timescale=movie_timescale or 1000)


def read_init(path: Path) -> Init:
    """Only the init part (``ftyp`` + ``moov``) of a segment file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        total = os.fstat(fd).st_size
        end = 0
        for box in _read_boxes(fd, total):
            if box.kind in ("moof", "mdat", "mfra"):
                break
            end = box.end
            if box.kind == "moov":
                break
        if end == 0 or end > MAX_HEADER_BYTES:
            raise Mp4Error("no moov box")
        return parse_init(os.pread(fd, end, 0))
    finally:
        os.close(fd)


def read_segment(path: Path) -> Segment:
    """The init and every complete fragment of a segment file (media data not read)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        total = os.fstat(fd).st_size
        init_end = 0
        init: Init | None = None
        fragments: list[Fragment] = []
        pending: tuple[Box, bytes] | None = None
        for box in _read_boxes(fd, total):
            if init is None:
                if box.kind == "moov":
                    init_end = box.end
                    init = parse_init(os.pread(fd, init_end, 0))
                elif box.kind in ("moof", "mdat"):
                    raise Mp4Error("fragment before moov")
                continue
            if box.kind == "moof":
                pending = (box, _read(fd, box))
            elif box.kind == "mdat" and pending is not None:
                moof_box, moof = pending
                fragments.append(_parse_fragment(moof, moof_box.offset, box, init))
                pending = None
        if init is None:
            raise Mp4Error("no moov box")
        return Segment(path=path, init=init, fragments=fragments)
    finally:
        os.close(fd)


def parse_fragment(moof: bytes, moof_offset: int, mdat_offset: int, mdat_size: int, init: Init) -> Fragment:
    """A fragment whose ``moof`` is in memory (as the writer logged it) and whose ``mdat`` is at the given place."""
    return _parse_fragment(moof, moof_offset, Box("mdat", mdat_offset, mdat_size, 8), init)


def _parse_fragment(moof: bytes, moof_offset: int, mdat: Box, init: Init) -> Fragment:
    root = Box("moof", 0, len(moof), 8)
    runs: list[Run] = []
    tfdts: list[tuple[int, int, int]] = []
    for traf in children(moof, root, "traf"):
        tfhd = child(moof, traf, "tfhd")
        if tfhd is None:
            raise Mp4Error("traf without tfhd")
        flags = int.from_bytes(moof[tfhd.start + 1 : tfhd.start + 4], "big")
        track_id = struct.unpack_from(">I", moof, tfhd.start + 4)[0]
        track = init.tracks.get(track_id)
        if track is None:
            raise Mp4Error(f"fragment of unknown track {track_id}")
        pos = tfhd.start + 8
        base_offset = moof_offset  # default-base-is-moof, and the default without a base either
        if flags & 0x000001:
            base_offset = struct.unpack_from(">Q", moof, pos)[0]
            pos += 8
        if flags & 0x000002:
            pos += 4  # sample description index
        default_duration, default_size, default_flags = (
            track.default_duration,
            track.default_size,
            track.default_flags,
        )
        if flags & 0x000008:
            default_duration = struct.unpack_from(">I", moof, pos)[0]
            pos += 4
        if flags & 0x000010:
            default_size = struct.unpack_from(">I", moof, pos)[0]
            pos += 4
        if flags & 0x000020:
            default_flags = struct.unpack_from(">I", moof, pos)[0]
        dts = 0
        tfdt = child(moof, traf, "tfdt")
        if tfdt is not None:
            version = moof[tfdt.start]
            if version == 1:
                dts = struct.unpack_from(">Q", moof, tfdt.start + 4)[0]
            else:
                dts = struct.unpack_from(">I", moof, tfdt.start + 4)[0]
            tfdts.append((tfdt.start + 4, version, track_id))
        next_offset = base_offset
        for trun in children(moof, traf, "trun"):
            version = moof[trun.start]
            tflags = int.from_bytes(moof[trun.start + 1 : trun.start + 4], "big")
            count = struct.unpack_from(">I", moof, trun.start + 4)[0]
            pos = trun.start + 8
            data_offset = next_offset
            if tflags & 0x000001:
                data_offset = base_offset + struct.unpack_from(">i", moof, pos)[0]
                pos += 4
            first_flags: int | None = None
            if tflags & 0x000004:
                first_flags = struct.unpack_from(">I", moof, pos)[0]
                pos += 4
            run = Run(track_id=track_id, base_dts=dts, data_offset=data_offset)
            has_duration, has_size = tflags & 0x000100, tflags & 0x000200
            has_flags, has_cto = tflags & 0x000400, tflags & 0x000800
            entry = 4 * sum(1 for bit in (has_duration, has_size, has_flags, has_cto) if bit)
            if pos + entry * count > trun.end:
                raise Mp4Error("trun longer than its box")
            for index in range(count):
                duration = default_duration
                size = default_size
                sample_flags = default_flags
                cto = 0
                if has_duration:
                    duration = struct.unpack_from(">I", moof, pos)[0]
                    pos += 4
                if has_size:
                    size = struct.unpack_from(">I", moof, pos)[0]
                    pos += 4
                if has_flags:
                    sample_flags = struct.unpack_from(">I", moof, pos)[0]
                    pos += 4
                elif index == 0 and first_flags is not None:
                    sample_flags = first_flags
                if has_cto:
                    cto = struct.unpack_from(">i" if version == 1 else ">I", moof, pos)[0]
                    pos += 4
                run.durations.append(duration)
                run.sizes.append(size)
                run.flags.append(sample_flags)
                run.ctos.append(cto)
            dts += sum(run.durations)
            next_offset = data_offset + run.byte_size
            if run.data_offset < mdat.start or next_offset > mdat.end:
                raise Mp4Error("sample data outside its mdat")
            runs.append(run)
    return Fragment(
        moof_offset=moof_offset,
        moof_size=len(moof),
        mdat_offset=mdat.offset,
        mdat_size=mdat.size,
        moof=moof,
        runs=runs,
        tfdts=tfdts,
    )


def shifted_moof(fragment: Fragment, shift: dict[int, int], sequence: int | None = None) -> bytes:
    """The fragment's ``moof`` with each track's decode times moved by ``shift[track_id]`` ticks.

    Vigil's writer uses 64-bit ``tfdt`` boxes; a 32-bit one whose new time no longer fits
    makes this raise rather than produce a wrong time.
    """
    data = bytearray(fragment.moof)
    for offset, version, track_id in fragment.tfdts:
        delta = shift.get(track_id, 0)
        if version == 1:
            value = struct.unpack_from(">Q", data, offset)[0] + delta
            if not 0 <= value < 1 << 64:
                raise Mp4Error("decode time out of range")
            struct.pack_into(">Q", data, offset, value)
        else:
            value = struct.unpack_from(">I", data, offset)[0] + delta
            if not 0 <= value < 1 << 32:
                raise Mp4Error("decode time does not fit a version 0 tfdt")
            struct.pack_into(">I", data, offset, value)
    if sequence is not None:
        root = Box("moof", 0, len(data), 8)
        mfhd = child(data, root, "mfhd")
        if mfhd is not None:
            struct.pack_into(">I", data, mfhd.start + 4, sequence)
    return bytes(data)
