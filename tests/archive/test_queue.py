"""The archive's queue in a real index: what is queued, when, and what survives."""

from __future__ import annotations

from pathlib import Path

from tests.archive.helpers import BASE_MS, add_segment
from vigil_engine.archive.queue import ArchiveQueue
from vigil_engine.storage.index import Index


def _rows(index: Index) -> dict[int, tuple[str, str]]:
    return {row["segment_id"]: (row["path"], row["state"]) for row in index.query("SELECT * FROM archive_queue")}


def test_only_footage_after_the_archive_was_enabled_is_queued(tmp_path: Path) -> None:
    index, _ = Index.open(tmp_path / "vigil.db")
    recordings = tmp_path / "recordings"
    add_segment(index, recordings, "a", BASE_MS, b"before")
    queue = ArchiveQueue(index)
    queue.begin()
    after = add_segment(index, recordings, "a", BASE_MS + 10_000, b"after")
    queue.enqueue(["a"], [], BASE_MS + 20_000, events_since_ms=None)
    assert set(_rows(index)) == {after}
    # Enabled again later (a restart): the start point stays where it was.
    queue.begin()
    assert queue.backlog() == (1, len(b"after"))
    index.close()


def test_an_events_camera_queues_what_an_event_protects_even_if_closed_before_the_event(tmp_path: Path) -> None:
    index, _ = Index.open(tmp_path / "vigil.db")
    recordings = tmp_path / "recordings"
    queue = ArchiveQueue(index)
    queue.begin()
    ids = [add_segment(index, recordings, "a", BASE_MS + n * 10_000, b"x" * 10) for n in range(4)]
    now = BASE_MS + 40_000
    queue.enqueue([], ["a"], now, events_since_ms=now - 3_600_000)
    assert _rows(index) == {}
    # An event known only now, whose pre-capture reaches into the second segment; still running.
    index.protect("event-1", "a", BASE_MS + 15_000, None, None)
    queue.enqueue([], ["a"], now, events_since_ms=now - 3_600_000)
    assert set(_rows(index)) == set(ids[1:])
    index.close()


def test_a_reused_segment_id_is_queued_for_the_new_segment(tmp_path: Path) -> None:
    """SQLite gives a new row the id of a deleted newest row: the queue's row of the old
    segment must not make the new one look archived."""
    index, _ = Index.open(tmp_path / "vigil.db")
    recordings = tmp_path / "recordings"
    queue = ArchiveQueue(index)
    queue.begin()
    old = add_segment(index, recordings, "a", BASE_MS, b"old")
    queue.enqueue(["a"], [], BASE_MS + 10_000, events_since_ms=None)
    queue.done(old, "vigil/a/2026/12/04/00/10.00.mp4", "00", BASE_MS + 10_000)
    index.delete_segment(old)
    new = add_segment(index, recordings, "a", BASE_MS + 10_000, b"new")
    assert new == old
    queue.enqueue(["a"], [], BASE_MS + 20_000, events_since_ms=None)
    assert _rows(index) == {new: ("a/2026-12-04/00/10.10.mp4", "pending")}
    # Queued twice, a segment is one row.
    queue.enqueue(["a"], [], BASE_MS + 20_000, events_since_ms=None)
    assert len(_rows(index)) == 1
    index.close()
