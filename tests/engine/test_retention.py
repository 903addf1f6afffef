"""Retention: by age, by disk cap and by free space; oldest first; events protected."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.support.inprocess import record_once
from tests.support.media import make_clip
from vigil_engine.clock import EngineClock
from vigil_engine.config import EngineConfig, parse_config
from vigil_engine.engine import Engine
from vigil_engine.retention.enforcer import DiskUsage, RetentionEnforcer
from vigil_engine.status import StorageStatus
from vigil_engine.storage.index import Index, SegmentRecord

DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("media") / "clip.mkv", 20, fps=10, keyframe_seconds=1.0)


def _config(storage: Path, clip: Path, **extra: object) -> EngineConfig:
    # Motion detection off: the clip's moving box would start events that protect footage, and these
    # tests place every protection themselves (event-aware retention has its own tests).
    off = {"enabled": False}
    cameras = extra.pop("cameras", None) or [
        {"id": "a", "url": f"file://{clip}", "realtime": False, "loop": False, "retention_days": 1, "motion": off},
        {"id": "b", "url": f"file://{clip}", "realtime": False, "loop": False, "retention_days": 2, "motion": off},
    ]
    return parse_config(
        {"storage_path": str(storage), "segment_seconds": 2, "min_free": "1MB", "cameras": cameras, **extra}
    )


def _disk_agrees(config: EngineConfig, index: Index) -> None:
    on_disk = {p.relative_to(config.recordings_path).as_posix() for p in config.recordings_path.glob("*/*/*/*.mp4")}
    assert on_disk == set(index.segment_paths())


def _clock(offset_s: float) -> EngineClock:
    return EngineClock(wall=lambda: time.time() + offset_s)


async def test_days_retention_deletes_by_age_but_keeps_protected(tmp_path: Path, clip: Path) -> None:
    config = _config(tmp_path, clip)
    await record_once(config)
    index = Index(config.db_path)
    a_segments = index.segments("a")
    assert len(a_segments) == 10
    index.protect("event-1", "a", a_segments[3].start_ms + 100, a_segments[4].start_ms + 100, None)
    # 1.5 days later: camera a (1 day) has expired, camera b (2 days) has not.
    enforcer = RetentionEnforcer(config, index, _clock(1.5 * 86400), StorageStatus())
    report = enforcer.run_once()
    kept_a = index.segments("a")
    assert [s.id for s in kept_a] == [a_segments[3].id, a_segments[4].id]
    assert report.deleted_by_age == 8
    assert len(index.segments("b")) == 10
    _disk_agrees(config, index)
    # The event's own retention lapses: its footage goes too.
    index.protect("event-1", "a", a_segments[3].start_ms, a_segments[4].end_ms, keep_until_ms=1)
    enforcer.run_once()
    assert index.segments("a") == []
    assert not (config.recordings_path / "a").exists() or not any((config.recordings_path / "a").rglob("*.mp4"))
    index.close()


async def test_disk_cap_deletes_oldest_continuous_first(tmp_path: Path, clip: Path) -> None:
    config = _config(tmp_path, clip)
    await record_once(config)
    index = Index(config.db_path)
    everything = index.segments()
    total = sum(s.bytes for s in everything)
    protected = index.segments("a")[0]  # the very oldest footage belongs to an event
    index.protect("event-1", "a", protected.start_ms, protected.end_ms, None)
    cap = total // 2
    capped = _config(tmp_path, clip, disk_cap=cap)
    status = StorageStatus()
    report = RetentionEnforcer(capped, index, _clock(0), status).run_once()
    remaining = index.segments()
    assert sum(s.bytes for s in remaining) <= cap
    assert protected.id in {s.id for s in remaining}, "event footage outlives continuous footage"
    deleted = [s for s in everything if s.id not in {r.id for r in remaining}]
    oldest_kept = min(s.start_ms for s in remaining if s.id != protected.id)
    assert all(s.start_ms <= oldest_kept for s in deleted), "oldest first"
    assert report.deleted_for_space == len(deleted)
    assert report.deleted_protected == 0
    assert status.bytes_used == sum(s.bytes for s in remaining)
    assert status.disk_cap_bytes == cap
    _disk_agrees(capped, index)
    index.close()


async def test_min_free_space_deletes_event_footage_last(
    tmp_path: Path, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, clip, min_free="1GB")
    await record_once(_config(tmp_path, clip))
    index = Index(config.db_path)
    for segment in index.segments("b"):
        index.protect(f"e{segment.id}", "b", segment.start_ms, segment.end_ms, None)
    total = index.total_bytes()
    deleted_bytes: list[int] = []

    def usage(_: Path) -> DiskUsage:
        # A volume whose free space grows as we delete: it starts 1 GB - total/2 short.
        freed = sum(deleted_bytes)
        return DiskUsage(total=10**12, free=10**9 - total // 2 + freed)

    enforcer = RetentionEnforcer(config, index, _clock(0), StorageStatus(), usage=usage)
    original_delete = enforcer._delete

    def tracking_delete(segment: SegmentRecord) -> int:
        # Not a fault injection: the fake volume's free space follows what is deleted.
        size = original_delete(segment)
        deleted_bytes.append(size)
        return size

    monkeypatch.setattr(enforcer, "_delete", tracking_delete)
    report = enforcer.run_once()
    assert report.deleted_for_space == 10  # every continuous segment of camera a
    assert report.deleted_protected > 0  # then the oldest event footage, because space ran out
    assert index.segments("a") == []
    _disk_agrees(config, index)
    index.close()


async def test_live_engine_keeps_a_tiny_disk_cap(tmp_path: Path, clip: Path) -> None:
    cap = 150_000
    config = _config(
        tmp_path,
        clip,
        disk_cap=cap,
        retention_interval=0.2,
        segment_seconds=1,
        cameras=[{"id": "a", "url": f"file://{clip}", "realtime": True, "loop": True}],
    )
    engine = Engine(config)
    await engine.start()
    try:
        deadline = time.monotonic() + 30
        while engine.storage_status.segments_deleted < 5 and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        assert engine.storage_status.segments_deleted >= 5
    finally:
        await engine.stop()
    index = Index(config.db_path)
    segments = index.segments()
    biggest = max(s.bytes for s in segments)
    # Retention runs five times a second, a segment closes once a second: at most one over.
    assert index.total_bytes() <= cap + biggest
    _disk_agrees(config, index)
    starts = [s.start_ms for s in segments]
    assert starts == sorted(starts)
    index.close()
