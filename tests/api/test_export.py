"""Clips and HLS over real segment files written by the engine's writer (in-process, no server)."""

from __future__ import annotations

import io
import itertools
import re
import time
from dataclasses import dataclass
from pathlib import Path

import av
import pytest

from tests.api.footage import Footage, record_footage
from tests.support.media import make_clip
from vigil_engine.api import hls
from vigil_engine.api.clips import NoFootageError, build_clip
from vigil_engine.api.errors import ApiError
from vigil_engine.api.fmp4 import read_segment
from vigil_engine.api.ranges import parse_range
from vigil_engine.storage.index import Index, SegmentRecord

T0 = 1_767_261_600_000  # 2026-01-01 10:00:00 UTC
FPS = 15
FRAME_MS = 1000 / FPS
GAP_MS = 5000


@dataclass
class Recorded:
    index: Index
    recordings: Path
    footage: Footage

    def files(self, start: int, end: int) -> list[tuple[SegmentRecord, Path]]:
        return [(s, self.recordings / s.path) for s in self.index.segments("cam", start, end)]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    root = tmp_path_factory.mktemp("export")
    source = make_clip(root / "source.mkv", 42, fps=FPS, keyframe_seconds=2)
    index, _ = Index.open(root / "vigil.db")
    footage = record_footage(index, root / "recordings", "cam", source, T0, 10, gap_after=2, gap_ms=GAP_MS)
    return Recorded(index, root / "recordings", footage)


def _decode(data: bytes) -> tuple[list[float], list[float]]:
    with av.open(io.BytesIO(data), "r") as container:
        video = container.streams.video[0]
        assert video.time_base is not None
        vts = [float((f.pts or 0) * video.time_base) for f in container.decode(video)]
    with av.open(io.BytesIO(data), "r") as container:
        audio = container.streams.audio[0]
        assert audio.time_base is not None
        ats = [float((f.pts or 0) * audio.time_base) for f in container.decode(audio)]
    return vts, ats


@pytest.mark.parametrize(
    ("start_s", "end_s"),
    [(0, 10), (0, 20), (3.0, 7.5), (9.9, 10.1), (12.5, 26.0), (1.0, 60.0), (-5.0, 3.0), (30.0, 47.0)],
)
def test_clip_starts_on_the_keyframe_before_and_ends_at_the_end(
    recorded: Recorded, start_s: float, end_s: float
) -> None:
    start, end = T0 + round(start_s * 1000), T0 + round(end_s * 1000)
    clip = build_clip(recorded.files(start, end), start, end)
    keyframes = recorded.footage.keyframes_ms
    expected_start = max([k for k in keyframes if k <= start] or [keyframes[0]])
    assert clip.start_ms == expected_start
    footage_end = recorded.footage.segments[-1].end_ms
    expected_end = min(end, footage_end)
    data = clip.file.read_all()
    assert len(data) == clip.file.size
    vts, ats = _decode(data)
    assert vts[0] == 0.0
    duration_ms = vts[-1] * 1000 + FRAME_MS
    assert abs(clip.start_ms + duration_ms - expected_end) <= FRAME_MS + 1, (duration_ms, expected_end - clip.start_ms)
    assert ats  # audio comes along
    assert abs(ats[-1] - vts[-1]) < 0.2
    # Frames are where the wall clock puts them: a gap is held by the last frame before it.
    steps = [round((b - a) * 1000) for a, b in itertools.pairwise(vts)]
    gap_steps = [s for s in steps if s > FRAME_MS + 5]
    gap_inside = start < T0 + 20_000 and end > T0 + 20_000 + GAP_MS
    assert len(gap_steps) == (1 if gap_inside else 0), gap_steps
    if gap_inside:
        assert abs(gap_steps[0] - (GAP_MS + FRAME_MS)) <= 2


def test_clip_outside_the_footage(recorded: Recorded) -> None:
    with pytest.raises(NoFootageError):
        build_clip(recorded.files(T0 - 10_000, T0 - 5000), T0 - 10_000, T0 - 5000)
    with pytest.raises(NoFootageError):
        build_clip([], T0, T0 + 1000)


def test_clip_skips_a_segment_deleted_meanwhile(recorded: Recorded, tmp_path: Path) -> None:
    files = recorded.files(T0, T0 + 20_000)
    missing = [(files[0][0], tmp_path / "gone.mp4"), *files[1:]]
    clip = build_clip(missing, T0, T0 + 20_000)
    assert clip.start_ms == files[1][0].start_ms


def test_sixty_second_clip_is_fast(recorded: Recorded, tmp_path: Path) -> None:
    start, end = T0, T0 + 60_000
    began = time.perf_counter()
    clip = build_clip(recorded.files(start, end), start, end)
    clip.file.write_to(tmp_path / "clip.mp4")
    assert time.perf_counter() - began < 0.5
    assert (tmp_path / "clip.mp4").stat().st_size == clip.file.size


def test_file_pieces_cover_exact_ranges(recorded: Recorded) -> None:
    clip = build_clip(recorded.files(T0, T0 + 20_000), T0, T0 + 20_000)
    whole = clip.file.read_all()
    for lo, hi in [(0, 1), (0, 100), (17, 5000), (clip.file.size - 3, clip.file.size), (1000, clip.file.size)]:
        assert b"".join(_pieces(clip.file, lo, hi)) == whole[lo:hi]


def _pieces(file: object, lo: int, hi: int) -> list[bytes]:
    from vigil_engine.api.vfile import FileRange, VirtualFile

    assert isinstance(file, VirtualFile)
    out: list[bytes] = []
    for piece in file.pieces(lo, hi):
        if isinstance(piece, FileRange):
            with piece.path.open("rb") as handle:
                handle.seek(piece.offset)
                out.append(handle.read(piece.length))
        else:
            out.append(piece)
    return out


def test_playlist_times_and_discontinuity(recorded: Recorded) -> None:
    files = recorded.files(T0, T0 + 60_000)
    text = hls.playlist(files, T0 + 1500)
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    assert "#EXT-X-START:TIME-OFFSET=1.500,PRECISE=YES" in lines
    dates = [line.split(":", 1)[1] for line in lines if line.startswith("#EXT-X-PROGRAM-DATE-TIME:")]
    durations = [float(line[8:].rstrip(",")) for line in lines if line.startswith("#EXTINF:")]
    segments = [s for s, _p in files]
    assert dates == [
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s.start_ms / 1000)) + f".{s.start_ms % 1000:03d}Z"
        for s in segments
    ]
    assert durations == [(s.end_ms - s.start_ms) / 1000 for s in segments]
    # One discontinuity, right before the first segment after the gap; one init for all (same codec).
    discontinuity = lines.index("#EXT-X-DISCONTINUITY")
    assert lines[discontinuity + 1] == f"#EXT-X-PROGRAM-DATE-TIME:{dates[2]}"
    assert lines.count("#EXT-X-DISCONTINUITY") == 1
    assert sum(line.startswith("#EXT-X-MAP") for line in lines) == 1
    uris = [line for line in lines if line.startswith("recordings/")]
    assert uris == [f"recordings/{s.start_ms}-{s.id}/media.m4s?base_ms={segments[0].start_ms}" for s in segments]


def test_media_segments_have_decode_times_from_the_playlist_start(recorded: Recorded) -> None:
    files = recorded.files(T0, T0 + 60_000)
    base = files[0][0].start_ms
    for segment, path in files:
        media = hls.media_segment(segment, path, base).read_all()
        original = read_segment(path)
        assert len(media) == sum(f.moof_size + f.mdat_size for f in original.fragments)
        # Whatever the track's timescale, its first tfdt is the segment's offset from the playlist start.
        init = original.init
        first_moof = media[: original.fragments[0].moof_size]
        for track in init.tracks.values():
            expected = round((segment.start_ms - base) * track.timescale / 1000)
            assert _tfdt(first_moof, track.track_id) == expected
    with pytest.raises(ValueError, match="range"):
        hls.media_segment(files[0][0], files[0][1], files[0][0].start_ms + 10**15).read_all()


def _tfdt(moof: bytes, track_id: int) -> int:
    for match in re.finditer(rb"tfhd", moof):
        tfhd = match.start() - 4
        if int.from_bytes(moof[tfhd + 12 : tfhd + 16], "big") == track_id:
            tfdt = moof.index(b"tfdt", tfhd) - 4
            return int.from_bytes(moof[tfdt + 12 : tfdt + 20], "big")
    raise AssertionError(f"no traf for track {track_id}")


def test_init_section_is_the_files_ftyp_and_moov(recorded: Recorded) -> None:
    _segment, path = recorded.files(T0, T0 + 1)[0]
    init = hls.init_section(path)
    assert init[4:8] == b"ftyp"
    assert b"moov" in init
    assert b"moof" not in init
    assert path.read_bytes().startswith(init)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-9", (0, 10)),
        ("bytes=10-", (10, 100)),
        ("bytes=-10", (90, 100)),
        ("bytes=-1000", (0, 100)),
        ("bytes=90-1000", (90, 100)),
        ("bytes=5-1", None),
        ("bytes=1-2,5-6", None),
        ("items=1-2", None),
        ("bytes=-", None),
    ],
)
def test_parse_range(header: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=100-200", "bytes=-0"])
def test_parse_range_unsatisfiable(header: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_range(header, 100)
    assert caught.value.status == 416
    assert caught.value.headers == {"Content-Range": "bytes */100"}
