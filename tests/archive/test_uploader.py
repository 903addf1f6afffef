"""The uploader against a real S3 store (SeaweedFS) and a real index, with segment files.

The engine's recording is left out here (``test_engine_archive`` has it): these tests put
files in the engine's layout and rows in a real index, so each case takes a second or two.
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

import pytest

from tests.archive.helpers import BASE_MS, add_segment, make_uploader, random_bytes, wait_until
from tests.archive.seaweedfs import SeaweedFS
from vigil_engine.archive.crypto import decrypt
from vigil_engine.archive.settings import MIB, ArchiveSettings
from vigil_engine.config import parse_config
from vigil_engine.storage.index import Index


def _settings(seaweedfs: SeaweedFS, bucket: str, **options: object) -> ArchiveSettings:
    config = parse_config({"archive": seaweedfs.archive_options(bucket, **options)})
    assert config.archive is not None
    return config.archive


@pytest.fixture
def index(tmp_path: Path) -> Index:
    index, _ = Index.open(tmp_path / "vigil.db")
    return index


def _queue_row(index: Index, segment_id: int) -> dict[str, object]:
    rows = index.query("SELECT * FROM archive_queue WHERE segment_id = ?", (segment_id,))
    return dict(rows[0]) if rows else {}


def test_every_segment_is_copied_once_with_its_key_and_metadata(
    seaweedfs: SeaweedFS, bucket: str, index: Index, tmp_path: Path
) -> None:
    recordings = tmp_path / "recordings"
    uploader = make_uploader(_settings(seaweedfs, bucket, copy="all"), index, recordings, {"front": "all"})
    uploader.start()
    try:
        datas = {BASE_MS + n * 10_000: random_bytes(200_000 + n) for n in range(3)}
        for start, data in datas.items():
            add_segment(index, recordings, "front", start, data)
        uploader.wake()
        wait_until(lambda: len(seaweedfs.objects(bucket)) == 3, 20, "3 objects")
        objects = seaweedfs.objects(bucket)
    finally:
        uploader.stop()
        uploader.join()
    assert sorted(objects) == [
        "vigil/front/2026/12/04/00/10.00.mp4",
        "vigil/front/2026/12/04/00/10.10.mp4",
        "vigil/front/2026/12/04/00/10.20.mp4",
    ]
    client = seaweedfs.client()
    for (start, data), key in zip(sorted(datas.items()), sorted(objects), strict=True):
        head = client.head_object(Bucket=bucket, Key=key)
        assert head["Metadata"] == {
            "vigil-camera": "front",
            "vigil-start-ms": str(start),
            "vigil-end-ms": str(start + 10_000),
            "vigil-sha256": hashlib.sha256(data).hexdigest(),
            "vigil-encrypted": "false",
        }
        assert head["ContentType"] == "video/mp4"
        assert head["ETag"].strip('"') == hashlib.md5(data, usedforsecurity=False).hexdigest()
        assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == data
    state = uploader.state()
    assert (state["backlog_items"], state["uploaded_items"], state["last_error"]) == (0, 3, None)
    assert state["last_success_ms"] is not None
    assert "secret" not in repr(state).lower()


def test_a_multipart_upload_resumes_after_a_stop_and_leaves_no_upload_behind(
    seaweedfs: SeaweedFS, bucket: str, index: Index, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Stopped after its first part (the bandwidth cap keeps it slow), the next uploader checks
    what the store holds (ListParts) and sends only the missing parts."""
    recordings = tmp_path / "recordings"
    data = random_bytes(12 * MIB + 12345)  # three parts of 5 MiB
    slow = _settings(seaweedfs, bucket, copy="all", part_size="5MiB", multipart_threshold="5MiB", max_mbps=40)
    first = make_uploader(slow, index, recordings, {"front": "all"})
    first.start()
    segment_id = add_segment(index, recordings, "front", BASE_MS, data)
    started = time.monotonic()
    first.wake()
    try:
        wait_until(lambda: _queue_row(index, segment_id).get("parts") not in (None, "[]"), 30, "the first part")
    finally:
        first.stop()
        first.join()
    # The cap held: 5 MiB at 40 Mbit/s take 1.05 s (a burst of 0.25 s of the rate aside).
    assert time.monotonic() - started >= 0.75
    row = _queue_row(index, segment_id)
    assert row["state"] == "pending"
    assert row["upload_id"]
    assert len(seaweedfs.pending_uploads(bucket)) == 1
    fast = _settings(seaweedfs, bucket, copy="all", part_size="5MiB", multipart_threshold="5MiB")
    second = make_uploader(fast, index, recordings, {"front": "all"})
    with caplog.at_level(logging.INFO, logger="vigil_engine.archive"):
        second.start()
        try:
            wait_until(lambda: _queue_row(index, segment_id)["state"] == "done", 30, "the upload to finish")
        finally:
            second.stop()
            second.join()
    assert "resuming the upload of vigil/front/2026/12/04/00/10.00.mp4 at part 2 of 3" in caplog.text
    assert seaweedfs.pending_uploads(bucket) == []
    client = seaweedfs.client()
    obj = client.get_object(Bucket=bucket, Key="vigil/front/2026/12/04/00/10.00.mp4")
    assert obj["ETag"].strip('"').endswith("-3")
    assert obj["Body"].read() == data


def test_unknown_multipart_uploads_are_aborted_at_start(
    seaweedfs: SeaweedFS, bucket: str, index: Index, tmp_path: Path
) -> None:
    client = seaweedfs.client()
    client.create_multipart_upload(Bucket=bucket, Key="vigil/front/2026/01/01/00/00.00.mp4")
    client.create_multipart_upload(Bucket=bucket, Key="other/not-ours.bin")  # outside the prefix: left alone
    uploader = make_uploader(_settings(seaweedfs, bucket), index, tmp_path / "recordings", {})
    uploader.start()
    try:
        wait_until(lambda: len(seaweedfs.pending_uploads(bucket)) == 1, 20, "the orphan to be aborted")
    finally:
        uploader.stop()
        uploader.join()
    assert [upload["Key"] for upload in seaweedfs.pending_uploads(bucket)] == ["other/not-ours.bin"]


def test_encrypted_objects_decrypt_with_the_key_only(
    seaweedfs: SeaweedFS, bucket: str, index: Index, tmp_path: Path
) -> None:
    key_hex = "11" * 32
    recordings = tmp_path / "recordings"
    data = random_bytes(6 * MIB + 7)  # two parts, and chunks split across them
    settings = _settings(
        seaweedfs, bucket, copy="all", encryption_key=key_hex, part_size="5MiB", multipart_threshold="5MiB"
    )
    uploader = make_uploader(settings, index, recordings, {"front": "all"})
    uploader.start()
    add_segment(index, recordings, "front", BASE_MS, data)
    uploader.wake()
    try:
        objects = wait_until(lambda: seaweedfs.objects(bucket), 30, "the encrypted object")
    finally:
        uploader.stop()
        uploader.join()
    assert list(objects) == ["vigil/front/2026/12/04/00/10.00.mp4.enc"]
    obj = seaweedfs.client().get_object(Bucket=bucket, Key="vigil/front/2026/12/04/00/10.00.mp4.enc")
    stored = obj["Body"].read()
    assert obj["Metadata"]["vigil-encrypted"] == "true"
    assert obj["Metadata"]["vigil-sha256"] == hashlib.sha256(data).hexdigest()
    assert data[:4096] not in stored
    assert decrypt(bytes.fromhex(key_hex), stored) == data


def test_remote_retention_deletes_objects_older_than_keep_days(
    seaweedfs: SeaweedFS, bucket: str, index: Index, tmp_path: Path
) -> None:
    recordings = tmp_path / "recordings"
    old = add_segment(index, recordings, "front", BASE_MS - 40 * 86_400_000, random_bytes(1000))
    add_segment(index, recordings, "front", BASE_MS, random_bytes(1000))
    settings = _settings(seaweedfs, bucket, copy="all", keep_days=30)
    # The archive was enabled before both were recorded.
    with index.transaction() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('archive_from_segment_id', '0')")
    uploader = make_uploader(settings, index, recordings, {"front": "all"})
    uploader.start()
    try:
        wait_until(lambda: len(seaweedfs.objects(bucket)) == 2, 20, "both objects")
        assert _queue_row(index, old)["state"] == "done"
    finally:
        uploader.stop()
        uploader.join()
    # The next start's retention pass (the clock says BASE_MS) deletes the 40-day-old object only.
    again = make_uploader(settings, index, recordings, {"front": "all"})
    again._now_ms = lambda: BASE_MS + 20_000  # the footage's time, not the machine's
    again.start()
    try:
        wait_until(lambda: len(seaweedfs.objects(bucket)) == 1, 20, "the old object to be deleted")
    finally:
        again.stop()
        again.join()
    assert list(seaweedfs.objects(bucket)) == ["vigil/front/2026/12/04/00/10.00.mp4"]
    assert _queue_row(index, old) == {}
