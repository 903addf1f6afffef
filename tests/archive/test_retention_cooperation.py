"""Local retention and the archive: footage waiting to be copied outlives its age if asked, and
space forcing the deletion of footage not yet copied is a storage warning, never silent."""

from __future__ import annotations

import time
from pathlib import Path

from tests.archive.helpers import add_segment, random_bytes
from vigil_engine.archive.queue import ArchiveQueue
from vigil_engine.clock import EngineClock
from vigil_engine.config import parse_config
from vigil_engine.retention.enforcer import RetentionEnforcer
from vigil_engine.status import StorageStatus
from vigil_engine.storage.index import Index

DAY_MS = 86_400_000
ARCHIVE = {
    "endpoint": "http://127.0.0.1:9",
    "bucket": "footage",
    "access_key_id": "key-id",
    "secret_access_key": "key-secret",
    "copy": "all",
}


def _setup(tmp_path: Path, **archive: object) -> tuple[Index, list[int], Path]:
    """Three segments of camera a, three days old: the first waits in the archive's queue, the
    second was copied, the third was recorded before the archive was enabled."""
    config = parse_config({"storage_path": str(tmp_path), "archive": {**ARCHIVE, **archive}})
    index, _ = Index.open(config.db_path)
    old = int(time.time() * 1000) - 3 * DAY_MS
    before = add_segment(index, config.recordings_path, "a", old + 20_000, random_bytes(1000))
    queue = ArchiveQueue(index)
    queue.begin()
    waiting = add_segment(index, config.recordings_path, "a", old, random_bytes(1000))
    copied = add_segment(index, config.recordings_path, "a", old + 10_000, random_bytes(1000))
    queue.enqueue(["a"], [], old, events_since_ms=None)
    queue.done(copied, "vigil/a/x.mp4", "00", old)
    return index, [waiting, copied, before], config.recordings_path


def _cameras() -> list[dict[str, object]]:
    return [{"id": "a", "url": "demo://", "retention_days": 1}]


def test_footage_waiting_for_the_archive_outlives_its_age(tmp_path: Path) -> None:
    index, (waiting, copied, before), recordings = _setup(tmp_path)
    config = parse_config(
        {
            "storage_path": str(tmp_path),
            "cameras": _cameras(),
            "archive": {**ARCHIVE, "keep_local_until_archived": True},
        }
    )
    RetentionEnforcer(config, index, EngineClock(), StorageStatus()).run_once()
    assert [segment.id for segment in index.segments("a") if not segment.archived_only] == [waiting]
    # The copied one's file is gone, its footage stays (in the archive): an archived-only row.
    assert [segment.id for segment in index.segments("a") if segment.archived_only] == [copied]
    # Without the option, age decides alone.
    plain = parse_config({"storage_path": str(tmp_path), "cameras": _cameras(), "archive": ARCHIVE})
    RetentionEnforcer(plain, index, EngineClock(), StorageStatus()).run_once()
    assert [(segment.id, segment.archived_only) for segment in index.segments("a")] == [(copied, True)]
    assert before not in {segment.id for segment in index.segments()}
    assert not list(recordings.rglob("*.mp4"))
    index.close()


def test_space_deleting_footage_not_yet_archived_is_a_storage_warning(tmp_path: Path) -> None:
    index, (waiting, _copied, _before), _ = _setup(tmp_path)
    config = parse_config(
        {
            "storage_path": str(tmp_path),
            "cameras": [{"id": "a", "url": "demo://", "retention_days": 30}],
            "disk_cap": 1500,  # room for one of the three segments
            "archive": {**ARCHIVE, "keep_local_until_archived": True},
        }
    )
    published: list[tuple[str, dict[str, object]]] = []
    status = StorageStatus()
    enforcer = RetentionEnforcer(
        config, index, EngineClock(), status, publish=lambda kind, data: published.append((kind, data))
    )
    enforcer.run_once()
    assert waiting not in {segment.id for segment in index.segments()}
    warnings = [data for kind, data in published if kind == "storage_warning" and data["active"]]
    # (Space, not age, limits the footage kept too: retention_not_met says that.)
    archive_warnings = [warning for warning in warnings if warning["code"] == "archive_not_copied"]
    assert len(archive_warnings) == 1
    message = str(archive_warnings[0]["message"])
    assert "footage the off-site archive had not copied yet was deleted (1 segment)" in message
    assert "archive_not_copied" in {warning["code"] for warning in status.warnings}
    # Once the queue is empty (the uploader noted the segment as gone), the warning clears.
    ArchiveQueue(index).gone(waiting)
    enforcer.run_once()
    assert "archive_not_copied" not in {warning["code"] for warning in status.warnings}
    assert published[-1] == ("storage_warning", {"code": "archive_not_copied", "message": "", "active": False})
    index.close()
