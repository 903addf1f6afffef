"""Event-aware retention: ``events`` record mode, event retention, event footage under a disk cap."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from tests.support.inprocess import record_once
from tests.support.media import make_clip
from vigil_engine.clock import EngineClock
from vigil_engine.config import EngineConfig, parse_config
from vigil_engine.events.manager import EventManager
from vigil_engine.events.model import EventRecord, new_event_id
from vigil_engine.retention.enforcer import DiskUsage, RetentionEnforcer
from vigil_engine.status import StorageStatus
from vigil_engine.storage.index import Index


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("media") / "clip.mkv", 20, fps=10, keyframe_seconds=1.0)


def _config(storage: Path, clip: Path, record: str = "continuous", **extra: object) -> EngineConfig:
    camera = {
        "id": "a",
        "url": f"file://{clip}",
        "realtime": False,
        "loop": False,
        "record": record,
        "retention_days": 1,
        "motion": {"enabled": False},
        "events": {"pre_capture": 1, "post_capture": 1, "retention_days": 3},
    }
    return parse_config(
        {"storage_path": str(storage), "segment_seconds": 2, "min_free": "1MB", "cameras": [camera], **extra}
    )


def _clock(offset_s: float) -> EngineClock:
    return EngineClock(wall=lambda: time.time() + offset_s)


def _event(start_ms: int, end_ms: int) -> EventRecord:
    return EventRecord(new_event_id(), "a", "motion", start_ms, end_ms, pre_ms=1000, post_ms=1000)


def _paths_on_disk(config: EngineConfig) -> set[str]:
    return {p.relative_to(config.recordings_path).as_posix() for p in config.recordings_path.glob("*/*/*/*.mp4")}


async def test_events_mode_keeps_exactly_the_event_footage(tmp_path: Path, clip: Path) -> None:
    config = _config(tmp_path, clip, record="events")
    await record_once(config)
    index = Index(config.db_path)
    segments = index.segments("a")
    assert len(segments) == 10
    manager = EventManager(config, index, _clock(0), lambda kind, data: None)
    event = _event(segments[4].start_ms + 500, segments[5].start_ms + 500)
    manager.save(event)
    # Footage that could still become pre-capture of an event stays: nothing is old enough yet.
    enforcer = RetentionEnforcer(config, index, _clock(0), StorageStatus(), events=manager)
    assert enforcer.run_once().deleted_outside_events == 0
    # A minute later, only segments overlapping [start - pre, end + post] remain.
    enforcer = RetentionEnforcer(config, index, _clock(60), StorageStatus(), events=manager)
    report = enforcer.run_once()
    wanted = [s.id for s in segments if s.end_ms > event.clip_start_ms and s.start_ms < event.clip_end_ms(0)]
    assert [s.id for s in index.segments("a")] == wanted
    assert wanted == [segments[3].id, segments[4].id, segments[5].id]  # pre-capture reaches into segment 3
    assert report.deleted_outside_events == 7
    assert _paths_on_disk(config) == set(index.segment_paths())
    index.close()


async def test_continuous_mode_keeps_everything_within_its_retention(tmp_path: Path, clip: Path) -> None:
    config = _config(tmp_path, clip)
    await record_once(config)
    index = Index(config.db_path)
    enforcer = RetentionEnforcer(config, index, _clock(600), StorageStatus())
    assert enforcer.run_once().deleted == 0
    assert len(index.segments("a")) == 10
    index.close()


async def test_event_footage_outlives_continuous_and_expires_with_its_event(tmp_path: Path, clip: Path) -> None:
    config = _config(tmp_path, clip)
    await record_once(config)
    index = Index(config.db_path)
    segments = index.segments("a")
    manager = EventManager(config, index, _clock(0), lambda kind, data: None)
    event = _event(segments[1].start_ms + 200, segments[1].start_ms + 700)
    manager.save(event)
    # Give the event a snapshot file, to see it deleted with the event.
    snapshot = config.storage_path / "events" / "a" / "day" / f"{event.id}.jpg"
    snapshot.parent.mkdir(parents=True)
    snapshot.write_bytes(b"\xff\xd8\xff")
    manager.save(replace(event, snapshot=snapshot.relative_to(config.storage_path).as_posix()))
    # Two days later: continuous retention (1 day) is over, the event's (3 days) is not.
    report = RetentionEnforcer(config, index, _clock(2 * 86400), StorageStatus(), events=manager).run_once()
    kept = index.segments("a")
    assert [s.id for s in kept] == [segments[0].id, segments[1].id]  # with the 1 s pre-capture
    assert report.deleted_by_age == 8
    assert index.event(event.id) is not None
    # Four days later the event expires; its snapshot and footage go.
    report = RetentionEnforcer(config, index, _clock(4 * 86400), StorageStatus(), events=manager).run_once()
    assert report.events_expired == 1
    assert index.event(event.id) is None
    assert not snapshot.exists()
    assert index.segments("a") == []
    index.close()


async def test_disk_cap_deletes_continuous_before_event_footage(tmp_path: Path, clip: Path) -> None:
    config = _config(tmp_path, clip)
    await record_once(config)
    index = Index(config.db_path)
    segments = index.segments("a")
    manager = EventManager(config, index, _clock(0), lambda kind, data: None)
    # The OLDEST footage is an event: age alone would delete it first.
    event = _event(segments[1].start_ms, segments[1].end_ms - 10)
    manager.save(event)
    total = sum(s.bytes for s in segments)
    capped = _config(tmp_path, clip, disk_cap=total // 2)
    warnings: list[dict[str, object]] = []
    enforcer = RetentionEnforcer(
        capped,
        index,
        _clock(0),
        StorageStatus(),
        usage=lambda _: DiskUsage(total=10**12, free=10**11),
        events=manager,
        publish=lambda kind, data: warnings.append({"kind": kind, **data}),
    )
    report = enforcer.run_once()
    kept = index.segments("a")
    assert sum(s.bytes for s in kept) <= total // 2
    assert {segments[0].id, segments[1].id, segments[2].id} <= {s.id for s in kept}  # event + pre/post
    assert report.deleted_protected == 0
    assert report.deleted_for_space > 0
    # Space, not age, decided what was kept: the user is told the retention does not fit.
    assert [w["code"] for w in warnings] == ["retention_not_met"]
    index.close()


def test_interrupted_events_are_closed_at_their_footage(tmp_path: Path) -> None:
    config = parse_config({"storage_path": str(tmp_path), "cameras": [{"id": "a", "url": "demo://"}]})
    index = Index(config.db_path)
    manager = EventManager(config, index, _clock(0), lambda kind, data: None)
    now = EngineClock().now_ms()
    running = EventRecord(new_event_id(), "a", "manual", now - 5000, None, pre_ms=0, post_ms=0)
    manager.save(running)
    assert index.running_events() == [running]
    assert manager.close_interrupted() == 1
    closed = index.event(running.id)
    assert closed is not None
    assert closed.end_ms is not None
    assert closed.end_ms >= running.start_ms
    assert index.running_events() == []
    index.close()
