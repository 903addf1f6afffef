"""Segments on disk and in the index: layout, UTC across DST, torn-fragment repair, rebuild."""

from __future__ import annotations

import itertools
import shutil
import sqlite3
from contextlib import closing
from datetime import datetime
from pathlib import Path

import av
import pytest

from tests.support.inprocess import record_once
from tests.support.media import make_clip
from vigil_engine.clock import EngineClock
from vigil_engine.config import EngineConfig, parse_config
from vigil_engine.storage.index import Index
from vigil_engine.storage.layout import parse_segment_path, segment_path
from vigil_engine.storage.mp4 import probe_segment, top_level_boxes, trim_torn_tail
from vigil_engine.storage.reconcile import reconcile


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("media") / "clip.mkv", 12, fps=15, keyframe_seconds=1.0)


def _config(storage: Path, clip: Path, **extra: object) -> EngineConfig:
    return parse_config(
        {
            "storage_path": str(storage),
            "segment_seconds": 4,
            "min_free": "1MB",
            "cameras": [{"id": "cam", "url": f"file://{clip}", "realtime": False, "loop": False}],
            **extra,
        }
    )


def _clock_at(iso: str) -> EngineClock:
    import time

    offset = datetime.fromisoformat(iso).timestamp() - time.time()
    return EngineClock(wall=lambda: time.time() + offset)


async def test_segments_layout_and_exact_times(tmp_path: Path, clip: Path) -> None:
    config = _config(tmp_path, clip)
    engine = await record_once(config, _clock_at("2026-07-01T12:00:00+00:00"))
    index = Index(config.db_path)
    segments = index.segments("cam")
    assert [round(s.duration_ms / 1000) for s in segments] == [4, 4, 4]
    for before, after in itertools.pairwise(segments):
        assert after.start_ms == before.end_ms
    for segment in segments:
        path = config.recordings_path / segment.path
        assert parse_segment_path(config.recordings_path, path) == ("cam", segment.start_ms // 1000 * 1000)
        probed = probe_segment(path)
        assert probed.first_is_keyframe
        assert probed.start_ms == segment.start_ms
        assert probed.frames == segment.frames == 60
        assert segment.video_codec == "h264"
        assert segment.audio_codec == "aac"
    assert segments[0].path.startswith("cam/2026-07-01/12/00.00")
    status = engine.status()
    assert status["cameras"]["cam"]["segments_written"] == 3
    assert status["storage"]["oldest_footage_ms"] == segments[0].start_ms
    assert status["storage"]["bytes_used"] == sum(s.bytes for s in segments)
    index.close()


@pytest.mark.parametrize(
    ("start", "folders"),
    [
        # Berlin leaves summer time at 01:00 UTC: local 03:00 CEST becomes 02:00 CET.
        ("2026-10-25T00:59:56+00:00", ["2026-10-25/00", "2026-10-25/01", "2026-10-25/01"]),
        # Berlin enters summer time at 01:00 UTC: local 02:00 CET becomes 03:00 CEST.
        ("2026-03-29T00:59:56+00:00", ["2026-03-29/00", "2026-03-29/01", "2026-03-29/01"]),
    ],
)
async def test_dst_transition_does_not_disturb_utc_storage(
    tmp_path: Path, clip: Path, start: str, folders: list[str]
) -> None:
    config = _config(tmp_path, clip, time_zone="Europe/Berlin")
    await record_once(config, _clock_at(start))
    index = Index(config.db_path)
    segments = index.segments("cam")
    index.close()
    assert ["/".join(s.path.split("/")[1:3]) for s in segments] == folders
    begin = datetime.fromisoformat(start).timestamp() * 1000
    assert abs(segments[0].start_ms - begin) < 1000
    assert segments[-1].end_ms - segments[0].start_ms == pytest.approx(12_000, abs=50)
    assert all(b.start_ms == a.end_ms for a, b in itertools.pairwise(segments))


def test_layout_names_do_not_collide(tmp_path: Path) -> None:
    first = segment_path(tmp_path, "cam", 1_800_000_000_123)
    first.parent.mkdir(parents=True)
    first.touch()
    second = segment_path(tmp_path, "cam", 1_800_000_000_456)
    assert second.name == first.stem + "-1.mp4"
    assert parse_segment_path(tmp_path, second) == ("cam", 1_800_000_000_000)
    assert parse_segment_path(tmp_path, tmp_path / "cam" / "x.mp4") is None
    assert parse_segment_path(tmp_path, Path("/elsewhere/a/b/c/d.mp4")) is None


async def test_torn_fragments_are_trimmed_to_playable(tmp_path: Path, clip: Path) -> None:
    config = _config(tmp_path, clip)
    await record_once(config)
    index = Index(config.db_path)
    segment = index.segments("cam")[0]
    index.close()
    source = config.recordings_path / segment.path
    boxes = top_level_boxes(source)
    mdats = [(offset, size) for kind, offset, size in boxes if kind == "mdat"]
    assert len(mdats) == 4  # a fragment per keyframe, one keyframe a second
    moov_end = next(offset + size for kind, offset, size in boxes if kind == "moov")
    cases = {
        "mid_last_mdat": (mdats[-1][0] + mdats[-1][1] // 2, 3),
        "mid_second_moof": (mdats[0][0] + mdats[0][1] + 20, 1),
        "inside_moov": (moov_end - 10, 0),
    }
    for name, (cut, fragments) in cases.items():
        torn = tmp_path / f"{name}.mp4"
        shutil.copy(source, torn)
        with torn.open("r+b") as handle:
            handle.truncate(cut)
        result = trim_torn_tail(torn)
        assert result.trimmed
        assert result.fragments == fragments, name
        if fragments:
            with av.open(str(torn)) as container:
                frames = sum(1 for _ in container.decode(video=0))
            assert frames == fragments * 15, name
    untouched = trim_torn_tail(source)
    assert not untouched.trimmed


async def test_index_is_rebuilt_from_disk_when_corrupt(tmp_path: Path, clip: Path) -> None:
    config = _config(tmp_path, clip)
    await record_once(config)
    index = Index(config.db_path)
    original = index.segments("cam")
    index.close()
    _corrupt(config.db_path)
    # A stray file that is not a segment, and an unparseable segment.
    junk = config.recordings_path / "cam" / "2026-01-01" / "00" / "00.00.mp4"
    junk.parent.mkdir(parents=True)
    junk.write_bytes(b"not an mp4 at all")

    index, aside = Index.open(config.db_path)
    assert aside is not None
    assert (config.db_path.parent / aside).exists()
    report = reconcile(index, config.recordings_path, aside)
    rebuilt = index.segments("cam")
    assert report.indexed_orphans == len(original)
    assert report.removed_unplayable == 1
    assert not junk.exists()
    # Exact start times come back from each file's own metadata.
    assert [(r.start_ms, r.path) for r in rebuilt] == [(s.start_ms, s.path) for s in original]
    for s, r in zip(original, rebuilt, strict=True):
        assert abs(r.duration_ms - s.duration_ms) <= 70  # media duration vs index duration
        assert r.recovered
    # A row whose file is gone is dropped.
    (config.recordings_path / rebuilt[0].path).unlink()
    report = reconcile(index, config.recordings_path)
    assert report.dropped_rows == 1
    assert len(index.segments("cam")) == len(original) - 1
    index.close()
    with closing(sqlite3.connect(config.db_path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _corrupt(db_path: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    db_path.write_bytes(b"SQLite format 3\x00" + b"\xde\xad" * 4096)


def test_index_queries(tmp_path: Path) -> None:
    index = Index(tmp_path / "vigil.db")
    assert index.oldest_start() is None
    index.upsert_camera("cam", "Cam", 0)
    index.upsert_camera("cam", "Renamed", 0)
    assert index.camera_ids() == ["cam"]
    assert index.last_segment("cam") is None
    index.close()
