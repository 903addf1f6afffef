"""What the uploader keeps tidy beside copying: unfinished multipart uploads, and its status
across a restart (a real SeaweedFS and a real index, as in ``test_uploader``)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from tests.archive.helpers import (
    BASE_MS,
    add_segment,
    archive_settings,
    make_uploader,
    queue_row,
    random_bytes,
    wait_until,
)
from tests.archive.seaweedfs import SeaweedFS
from vigil_engine.archive import uploader as uploader_module
from vigil_engine.archive.settings import MIB, ArchiveSettings
from vigil_engine.storage.index import Index


def _settings(seaweedfs: SeaweedFS, bucket: str, **options: object) -> ArchiveSettings:
    return archive_settings(seaweedfs, bucket, copy="all", **options)


def test_the_last_upload_is_known_again_after_a_restart(seaweedfs: SeaweedFS, bucket: str, index: Index) -> None:
    recordings = index.path.parent / "recordings"
    first = make_uploader(_settings(seaweedfs, bucket), index, recordings, {"front": "all"})
    first.start()
    try:
        add_segment(index, recordings, "front", BASE_MS, random_bytes(10_000))
        first.wake()
        wait_until(lambda: first.last_success_ms, 20, "the upload")
    finally:
        first.stop()
        first.join()
    second = make_uploader(_settings(seaweedfs, bucket), index, recordings, {"front": "all"})
    second.start()
    try:
        # Known at once (Home Assistant's "Last archive upload" after an engine restart), with nothing copied since.
        assert second.last_success_ms == first.last_success_ms
        assert second.state()["last_success_ms"] == first.last_success_ms
        assert second.uploaded == 0
    finally:
        second.stop()
        second.join()


def test_a_segment_deleted_during_its_multipart_upload_leaves_no_upload_in_the_store(
    seaweedfs: SeaweedFS, bucket: str, index: Index
) -> None:
    """Stopped after its first part, then the file is deleted (retention on a full disk): the next
    uploader counts it lost and aborts the upload the queue knew (before, its parts stayed in
    the store until some later start found them unknown)."""
    recordings = index.path.parent / "recordings"
    slow = _settings(seaweedfs, bucket, part_size="5MiB", multipart_threshold="5MiB", max_mbps=40)
    first = make_uploader(slow, index, recordings, {"front": "all"})
    first.start()
    segment_id = add_segment(index, recordings, "front", BASE_MS, random_bytes(12 * MIB))
    first.wake()
    try:
        wait_until(lambda: queue_row(index, segment_id).get("parts") not in (None, "[]"), 30, "the first part")
    finally:
        first.stop()
        first.join()
    assert len(seaweedfs.pending_uploads(bucket)) == 1
    (recordings / str(queue_row(index, segment_id)["path"])).unlink()
    second = make_uploader(_settings(seaweedfs, bucket), index, recordings, {"front": "all"})
    second.start()
    try:
        wait_until(lambda: queue_row(index, segment_id)["state"] == "gone", 20, "the segment to be counted lost")
    finally:
        second.stop()
        second.join()
    assert second.lost == 1
    assert queue_row(index, segment_id)["upload_id"] is None
    assert seaweedfs.pending_uploads(bucket) == []


def test_a_stale_unfinished_upload_is_aborted_while_running(
    seaweedfs: SeaweedFS, bucket: str, index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upload begun under the prefix after the start (another process, or an abort that never
    reached the store) is aborted by the hourly sweep once it is a day old. The test shortens the
    hour and the day (module constants); the store, the upload and the abort are real."""
    monkeypatch.setattr(uploader_module, "SWEEP_INTERVAL", 0.5)
    uploader = make_uploader(_settings(seaweedfs, bucket), index, index.path.parent / "recordings", {})
    client = seaweedfs.client()
    # Left before the start: the start's sweep aborts it, which shows that sweep is done (an upload
    # begun before it would be aborted by it, whatever its age).
    client.create_multipart_upload(Bucket=bucket, Key="vigil/front/2025/12/31/23/59.50.mp4")
    uploader.start()
    try:
        wait_until(lambda: not seaweedfs.pending_uploads(bucket), 10, "the start's sweep")
        client.create_multipart_upload(Bucket=bucket, Key="vigil/front/2026/01/01/00/00.00.mp4")
        uploader.wake()
        time.sleep(2.5)  # several sweeps
        # Younger than a day: kept (it may be some writer's upload in progress).
        assert len(seaweedfs.pending_uploads(bucket)) == 1
        monkeypatch.setattr(uploader_module, "STALE_UPLOAD", timedelta(0))
        wait_until(lambda: not seaweedfs.pending_uploads(bucket), 20, "the stale upload to be aborted")
    finally:
        uploader.stop()
        uploader.join()
