"""MP4 clips of any time range, by copying samples out of the segments (no demuxing, no muxing).

The clip is a plain, ``faststart`` MP4: ``ftyp``, a ``moov`` with complete sample tables,
then one ``mdat``. Everything needed to write the sample tables is in the segments'
``moof`` boxes (see ``fmp4``), so the whole layout is known before a byte is sent: the
``moov`` is built in memory and the media data are ranges of the segment files, copied as
they are (see ``vfile``). Building the layout reads only the small boxes of each segment;
the cost of a clip is then the cost of copying its bytes.

Times: the clip starts at the last video keyframe at or before the requested start (a
stream copy can only start on a keyframe) and ends with the last frame that starts
before the requested end. Each sample keeps its recorded wall-clock place: within a
clip, ``t`` seconds in is ``t`` seconds after the first frame, across segment boundaries
and across gaps (the last frame before a gap is held until the footage resumes).
"""

from __future__ import annotations

import itertools
import struct
import time
from array import array
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from vigil_engine.storage.index import SegmentRecord

from .fmp4 import NON_SYNC, Box, Mp4Error, Segment, Track, child, full_box, iter_boxes, make_box, read_segment
from .vfile import FileRange, Part, VirtualFile

MOVIE_TIMESCALE = 1000
EPOCH_1904 = 2_082_844_800  # seconds from 1904-01-01 (MP4 times) to 1970-01-01
_HEADERS = ("vmhd", "smhd", "nmhd", "sthd")
_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


class NoFootageError(LookupError):
    """Nothing is recorded in the requested range."""


@dataclass(slots=True)
class _Chunk:
    first: int  # index of its first sample in the track
    count: int
    description: int  # 1-based index into the track's sample descriptions
    offset: int = 0  # in the output file (set once the layout is known)


@dataclass(slots=True)
class _TrackOut:
    """One output track being assembled."""

    source: Track  # the first segment's track: handler, timescale, boxes to copy
    timescale: int
    dts: list[int] = field(default_factory=list)  # decode times in output ticks, from the clip's start
    sizes: array[int] = field(default_factory=lambda: array("I"))
    ctos: list[int] = field(default_factory=list)
    sync: list[int] = field(default_factory=list)  # 1-based sample numbers of sync samples
    all_sync: bool = True
    last_duration: int = 0
    chunks: list[_Chunk] = field(default_factory=list)
    descriptions: list[bytes] = field(default_factory=list)  # sample entries (payload of stsd)

    def description_index(self, stsd: bytes) -> int:
        entries = stsd[16:]  # after the box header, version/flags and entry count
        if entries not in self.descriptions:
            self.descriptions.append(entries)
        return self.descriptions.index(entries) + 1

    def add(self, dts: int, size: int, cto: int, sync: bool) -> None:
        if self.dts and dts <= self.dts[-1]:
            dts = self.dts[-1] + 1  # rounding may not reorder or stack samples
        self.dts.append(dts)
        self.sizes.append(size)
        self.ctos.append(cto)
        if sync:
            self.sync.append(len(self.dts))
        else:
            self.all_sync = False

    @property
    def duration(self) -> int:
        """Media duration in output ticks: the first sample's start to the last one's end."""
        if not self.dts:
            return 0
        return self.dts[-1] + self.last_duration - self.dts[0]


@dataclass(frozen=True, slots=True)
class Clip:
    file: VirtualFile
    start_ms: int  # wall-clock time of the clip's first frame (rounded to the ms)
    end_ms: int
    segments: int

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


@dataclass(frozen=True, slots=True)
class _Ticks:
    """Maps a sample's (segment start, decode time) to output ticks: ``round(offset + dts * scale)``."""

    num: int
    den: int
    src_scale: int
    out_scale: int

    @classmethod
    def make(cls, seg_start_ms: int, origin_ms: Fraction, src_scale: int, out_scale: int) -> _Ticks:
        offset = (Fraction(seg_start_ms) - origin_ms) * out_scale / 1000
        return cls(offset.numerator, offset.denominator, src_scale, out_scale)

    def __call__(self, dts: int) -> int:
        # offset + dts * out / src, rounded half up, in integers
        num = self.num * self.src_scale + dts * self.out_scale * self.den
        den = self.den * self.src_scale
        return (2 * num + den) // (2 * den)

    def scale(self, ticks: int) -> int:
        return (2 * ticks * self.out_scale + self.src_scale) // (2 * self.src_scale)


def build_clip(segments: list[tuple[SegmentRecord, Path]], start_ms: int, end_ms: int) -> Clip:
    """The clip of ``[start_ms, end_ms)`` from the given segments (oldest first, overlapping the range)."""
    parsed: list[tuple[SegmentRecord, Segment]] = []
    for record, path in segments:
        try:
            parsed.append((record, read_segment(path)))
        except OSError, Mp4Error:
            continue  # deleted by retention meanwhile, or unreadable: the clip goes on without it
    origin = _find_origin(parsed, start_ms)
    if origin is None:
        raise NoFootageError("no footage in the requested range")
    first_index, origin_ms = origin
    parsed = parsed[first_index:]
    first_init = parsed[0][1].init
    video_source = first_init.video
    assert video_source is not None
    video = _TrackOut(video_source, video_source.timescale)
    audio_source = first_init.audio
    audio = _TrackOut(audio_source, audio_source.timescale) if audio_source is not None else None
    pieces: list[tuple[FileRange, _TrackOut, _Chunk]] = []
    video_end = (Fraction(end_ms) - origin_ms) * video.timescale / 1000
    audio_end = (Fraction(end_ms) - origin_ms) * audio.timescale / 1000 if audio is not None else Fraction(0)
    used = 0
    for record, segment in parsed:
        seg_video = segment.init.video
        if seg_video is None:
            continue
        seg_audio = segment.init.audio
        outputs: dict[int, tuple[_TrackOut, _Ticks, Fraction, int]] = {}
        vmap = _Ticks.make(record.start_ms, origin_ms, seg_video.timescale, video.timescale)
        outputs[seg_video.track_id] = (video, vmap, video_end, video.description_index(seg_video.stsd))
        if audio is not None and seg_audio is not None:
            amap = _Ticks.make(record.start_ms, origin_ms, seg_audio.timescale, audio.timescale)
            outputs[seg_audio.track_id] = (audio, amap, audio_end, audio.description_index(seg_audio.stsd))
        took = False
        for fragment in segment.fragments:
            for run in fragment.runs:
                target = outputs.get(run.track_id)
                if target is None:
                    continue
                out, ticks, limit, description = target
                dts = run.base_dts
                first: int | None = None
                offset = run.data_offset
                first_offset = offset
                length = 0
                for duration, size, flags, cto in zip(run.durations, run.sizes, run.flags, run.ctos, strict=True):
                    out_dts = ticks(dts)
                    keep = 0 <= out_dts < limit
                    if keep:
                        if first is None:
                            first = len(out.dts)
                            first_offset = offset
                        out.add(out_dts, size, ticks.scale(cto), not flags & NON_SYNC)
                        out.last_duration = max(1, ticks.scale(duration))
                        length += size
                    elif first is not None:
                        break  # past the end: the kept samples of a run are contiguous
                    dts += duration
                    offset += size
                if first is not None:
                    chunk = _Chunk(first, len(out.dts) - first, description)
                    out.chunks.append(chunk)
                    pieces.append((FileRange(segment.path, first_offset, length), out, chunk))
                    took = True
        used += took
    if not video.dts:
        raise NoFootageError("no footage in the requested range")
    tracks = [video] + ([audio] if audio is not None and audio.dts else [])
    start_wall = round(origin_ms)
    clip_ms = round(Fraction(video.duration * 1000, video.timescale))
    header = _layout(tracks, pieces, start_wall)
    parts: list[Part] = [header, *(piece for piece, _out, _chunk in pieces)]
    identity = f"{start_wall}:{end_ms}:" + ",".join(f"{r.id}/{r.bytes}" for r, _ in parsed)
    return Clip(VirtualFile.of(parts, identity), start_wall, start_wall + clip_ms, used)


def _find_origin(parsed: list[tuple[SegmentRecord, Segment]], start_ms: int) -> tuple[int, Fraction] | None:
    """(index of the segment, wall time) of the last video keyframe at or before ``start_ms``.

    If the footage starts after ``start_ms``, its first keyframe.
    """
    best: tuple[int, Fraction] | None = None
    for index, (record, segment) in enumerate(parsed):
        video = segment.init.video
        if video is None:
            continue
        for fragment in segment.fragments:
            for run in fragment.runs:
                if run.track_id != video.track_id:
                    continue
                dts = run.base_dts
                for duration, flags in zip(run.durations, run.flags, strict=True):
                    if not flags & NON_SYNC:
                        at = Fraction(record.start_ms) + Fraction(dts * 1000, video.timescale)
                        if at <= start_ms or best is None:
                            best = (index, at)
                        if at > start_ms:
                            return best
                    dts += duration
    return best


def _layout(tracks: list[_TrackOut], pieces: list[tuple[FileRange, _TrackOut, _Chunk]], start_ms: int) -> bytes:
    """``ftyp`` + ``moov`` + the ``mdat`` header, with chunk offsets pointing into the pieces."""
    ftyp = _ftyp(tracks[0])
    payload = sum(piece.length for piece, _out, _chunk in pieces)
    large = payload + 8 > 0xFFFFFFFF
    mdat_header = struct.pack(">I4sQ", 1, b"mdat", payload + 16) if large else struct.pack(">I4s", payload + 8, b"mdat")
    # Chunk offsets depend on the moov's size, which depends only on the number of chunks.
    use_co64 = len(ftyp) + payload + 1_000_000_000 > 0xFFFFFFFF
    moov = _moov(tracks, start_ms, use_co64)
    position = len(ftyp) + len(moov) + len(mdat_header)
    for piece, _out, chunk in pieces:
        chunk.offset = position
        position += piece.length
    moov = _moov(tracks, start_ms, use_co64)
    return ftyp + moov + mdat_header


def _ftyp(video: _TrackOut) -> bytes:
    brands = [b"isom", b"iso2", b"mp41"]
    entry = video.descriptions[0][4:8] if video.descriptions else b""
    if entry == b"avc1":
        brands.append(b"avc1")
    return make_box("ftyp", b"isom", struct.pack(">I", 0x200), *brands)


def _moov(tracks: list[_TrackOut], start_ms: int, use_co64: bool) -> bytes:
    created = start_ms // 1000 + EPOCH_1904
    movie_ms = max(round(Fraction(_track_end(t) * MOVIE_TIMESCALE, t.timescale)) for t in tracks)
    next_id = len(tracks) + 1
    mvhd = full_box(
        "mvhd",
        1,
        0,
        struct.pack(">QQIQ", created, created, MOVIE_TIMESCALE, movie_ms),
        struct.pack(">IH10x", 0x10000, 0x100),
        _MATRIX,
        bytes(24),
        struct.pack(">I", next_id),
    )
    traks = [_trak(track, number, created, use_co64) for number, track in enumerate(tracks, start=1)]
    return make_box("moov", mvhd, *traks)


def _track_end(track: _TrackOut) -> int:
    return track.dts[-1] + track.last_duration if track.dts else 0


def _trak(track: _TrackOut, track_id: int, created: int, use_co64: bool) -> bytes:
    source = track.source.trak
    root = Box("trak", 0, len(source), 8)
    tkhd_src = _find(source, root, "tkhd")
    mdia_src = _find(source, root, "mdia")
    mdhd_src = _find(source, mdia_src, "mdhd")
    hdlr_src = _find(source, mdia_src, "hdlr")
    minf_src = _find(source, mdia_src, "minf")
    media_header = next(
        (source[b.offset : b.end] for b in iter_boxes(source, minf_src.start, minf_src.end) if b.kind in _HEADERS),
        full_box("nmhd", 0, 0),
    )
    dinf_src = child(source, minf_src, "dinf")
    dinf = source[dinf_src.offset : dinf_src.end] if dinf_src is not None else None
    if dinf is None:
        dinf = make_box("dinf", full_box("dref", 0, 0, struct.pack(">I", 1), full_box("url ", 0, 1)))
    first_dts = track.dts[0]
    media_duration = _track_end(track) - first_dts
    movie_duration = round(Fraction(media_duration * MOVIE_TIMESCALE, track.timescale))
    # tkhd: version 1 with our own track id, times and duration; the rest (flags, layer,
    # volume, matrix, width, height) as the source has it.
    version = source[tkhd_src.start]
    tail = source[tkhd_src.start + (36 if version == 1 else 24) : tkhd_src.end]
    flags = int.from_bytes(source[tkhd_src.start + 1 : tkhd_src.start + 4], "big")
    tkhd = full_box("tkhd", 1, flags, struct.pack(">QQIIQ", created, created, track_id, 0, movie_duration), tail)
    edts = b""
    delay = round(Fraction(first_dts * MOVIE_TIMESCALE, track.timescale))
    media_time = track.ctos[0] if track.ctos and track.ctos[0] > 0 else 0
    if delay > 0 or media_time > 0:
        entries = []
        if delay > 0:
            entries.append(struct.pack(">IiI", delay, -1, 0x10000))
        entries.append(struct.pack(">IiI", movie_duration, media_time, 0x10000))
        edts = make_box("edts", full_box("elst", 0, 0, struct.pack(">I", len(entries)), *entries))
    language = source[mdhd_src.start + (32 if source[mdhd_src.start] == 1 else 20) :][:4]
    mdhd = full_box("mdhd", 1, 0, struct.pack(">QQIQ", created, created, track.timescale, media_duration), language)
    hdlr = source[hdlr_src.offset : hdlr_src.end]
    minf = make_box("minf", media_header, dinf, _stbl(track, use_co64))
    return make_box("trak", tkhd, edts, make_box("mdia", mdhd, hdlr, minf))


def _stbl(track: _TrackOut, use_co64: bool) -> bytes:
    stsd = full_box("stsd", 0, 0, struct.pack(">I", len(track.descriptions)), *track.descriptions)
    # stts: run-length encoded durations
    durations = [b - a for a, b in itertools.pairwise(track.dts)] + [track.last_duration]
    stts_entries: list[tuple[int, int]] = []
    for duration in durations:
        if stts_entries and stts_entries[-1][1] == duration:
            stts_entries[-1] = (stts_entries[-1][0] + 1, duration)
        else:
            stts_entries.append((1, duration))
    stts = full_box(
        "stts", 0, 0, struct.pack(">I", len(stts_entries)), b"".join(struct.pack(">II", *e) for e in stts_entries)
    )
    boxes = [stsd, stts]
    if any(track.ctos):
        ctts_entries: list[tuple[int, int]] = []
        for cto in track.ctos:
            if ctts_entries and ctts_entries[-1][1] == cto:
                ctts_entries[-1] = (ctts_entries[-1][0] + 1, cto)
            else:
                ctts_entries.append((1, cto))
        version = 1 if any(cto < 0 for cto in track.ctos) else 0
        fmt = ">Ii" if version == 1 else ">II"
        boxes.append(
            full_box(
                "ctts",
                version,
                0,
                struct.pack(">I", len(ctts_entries)),
                b"".join(struct.pack(fmt, *e) for e in ctts_entries),
            )
        )
    if track.source.is_video and not track.all_sync:
        sync = array("I", track.sync)
        sync.byteswap()
        boxes.append(full_box("stss", 0, 0, struct.pack(">I", len(track.sync)), sync.tobytes()))
    sizes = array("I", track.sizes)
    if len(set(sizes)) == 1:
        boxes.append(full_box("stsz", 0, 0, struct.pack(">II", sizes[0], len(sizes))))
    else:
        sizes.byteswap()
        boxes.append(full_box("stsz", 0, 0, struct.pack(">II", 0, len(track.sizes)), sizes.tobytes()))
    stsc_entries: list[tuple[int, int, int]] = []
    for number, chunk in enumerate(track.chunks, start=1):
        if not stsc_entries or stsc_entries[-1][1:] != (chunk.count, chunk.description):
            stsc_entries.append((number, chunk.count, chunk.description))
    boxes.append(
        full_box(
            "stsc", 0, 0, struct.pack(">I", len(stsc_entries)), b"".join(struct.pack(">III", *e) for e in stsc_entries)
        )
    )
    offsets = array("Q" if use_co64 else "I", (chunk.offset for chunk in track.chunks))
    offsets.byteswap()
    boxes.append(
        full_box("co64" if use_co64 else "stco", 0, 0, struct.pack(">I", len(track.chunks)), offsets.tobytes())
    )
    return make_box("stbl", *boxes)


def _find(data: bytes, parent: Box, kind: str) -> Box:
    box = child(data, parent, kind)
    if box is None:
        raise Mp4Error(f"no {kind} box in the source track")
    return box


def clip_filename(camera_id: str, start_ms: int) -> str:
    return f"{camera_id}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(start_ms / 1000))}.mp4"
