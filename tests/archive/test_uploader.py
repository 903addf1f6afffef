"""The uploader and its S3 client against real S3 stores and a real index, with segment files.

Each test runs against SeaweedFS and against moto (the ``store`` fixture): two independent
implementations, so that the engine depends on S3, not on one store's dialect. The engine's
recording is left out here (``test_engine_archive`` has it): these tests put files in the
engine's layout and rows in a real index, so each case takes a second or two.
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

import pytest

from tests.archive.helpers import (
    BASE_MS,
    add_segment,
    archive_settings,
    body,
    make_uploader,
    queue_row,
    random_bytes,
    wait_until,
)
from tests.archive.moto_server import MotoServer
from tests.archive.s3_server import S3TestStore
from vigil_engine.archive.crypto import decrypt
from vigil_engine.archive.settings import MIB
from vigil_engine.archive.store import S3Store, StoreError, md5_base64
from vigil_engine.storage.index import Index


def _send(s3: S3Store, key: str, data: bytes, md5: tuple[str, str], upload_id: str | None) -> None:
    """``data`` in one PUT, or as part 1 of the multipart upload ``upload_id``."""
    if upload_id is None:
        s3.put(key, body(data), md5, {}, "video/mp4")
    else:
        s3.upload_part(key, upload_id, 1, body(data), md5)


def test_every_segment_is_copied_once_with_its_key_and_metadata(
    store: S3TestStore, store_bucket: str, index: Index, tmp_path: Path
) -> None:
    recordings = tmp_path / "recordings"
    uploader = make_uploader(archive_settings(store, store_bucket, copy="all"), index, recordings, {"front": "all"})
    uploader.start()
    try:
        datas = {BASE_MS + n * 10_000: random_bytes(200_000 + n) for n in range(3)}
        for start, data in datas.items():
            add_segment(index, recordings, "front", start, data)
        uploader.wake()
        wait_until(lambda: len(store.objects(store_bucket)) == 3, 20, "3 objects")
        objects = store.objects(store_bucket)
    finally:
        uploader.stop()
        uploader.join()
    assert sorted(objects) == [
        "vigil/front/2026/12/04/00/10.00.mp4",
        "vigil/front/2026/12/04/00/10.10.mp4",
        "vigil/front/2026/12/04/00/10.20.mp4",
    ]
    client = store.client()
    for (start, data), key in zip(sorted(datas.items()), sorted(objects), strict=True):
        head = client.head_object(Bucket=store_bucket, Key=key)
        assert head["Metadata"] == {
            "vigil-camera": "front",
            "vigil-start-ms": str(start),
            "vigil-end-ms": str(start + 10_000),
            "vigil-sha256": hashlib.sha256(data).hexdigest(),
            "vigil-encrypted": "false",
        }
        assert head["ContentType"] == "video/mp4"
        assert head["ETag"].strip('"') == hashlib.md5(data, usedforsecurity=False).hexdigest()
        assert client.get_object(Bucket=store_bucket, Key=key)["Body"].read() == data
    state = uploader.state()
    assert (state["backlog_items"], state["uploaded_items"], state["last_error"]) == (0, 3, None)
    assert state["last_success_ms"] is not None
    assert "secret" not in repr(state).lower()


def test_a_multipart_upload_resumes_after_a_stop_and_leaves_no_upload_behind(
    store: S3TestStore, store_bucket: str, index: Index, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Stopped after its first part (the bandwidth cap keeps it slow), the next uploader checks
    what the store holds (ListParts) and sends only the missing parts."""
    recordings = tmp_path / "recordings"
    data = random_bytes(12 * MIB + 12345)  # three parts of 5 MiB
    slow = archive_settings(store, store_bucket, copy="all", part_size="5MiB", multipart_threshold="5MiB", max_mbps=40)
    first = make_uploader(slow, index, recordings, {"front": "all"})
    first.start()
    segment_id = add_segment(index, recordings, "front", BASE_MS, data)
    started = time.monotonic()
    first.wake()
    try:
        wait_until(lambda: queue_row(index, segment_id).get("parts") not in (None, "[]"), 30, "the first part")
    finally:
        first.stop()
        first.join()
    # The cap held: 5 MiB at 40 Mbit/s take 1.05 s (a burst of 0.25 s of the rate aside).
    assert time.monotonic() - started >= 0.75
    row = queue_row(index, segment_id)
    assert row["state"] == "pending"
    assert row["upload_id"]
    assert len(store.pending_uploads(store_bucket)) == 1
    fast = archive_settings(store, store_bucket, copy="all", part_size="5MiB", multipart_threshold="5MiB")
    second = make_uploader(fast, index, recordings, {"front": "all"})
    with caplog.at_level(logging.INFO, logger="vigil_engine.archive"):
        second.start()
        try:
            wait_until(lambda: queue_row(index, segment_id)["state"] == "done", 30, "the upload to finish")
        finally:
            second.stop()
            second.join()
    assert "resuming the upload of vigil/front/2026/12/04/00/10.00.mp4 at part 2 of 3" in caplog.text
    assert store.pending_uploads(store_bucket) == []
    client = store.client()
    obj = client.get_object(Bucket=store_bucket, Key="vigil/front/2026/12/04/00/10.00.mp4")
    assert obj["ETag"].strip('"').endswith("-3")
    assert obj["Body"].read() == data


def test_unknown_multipart_uploads_are_aborted_at_start(
    store: S3TestStore, store_bucket: str, index: Index, tmp_path: Path
) -> None:
    client = store.client()
    client.create_multipart_upload(Bucket=store_bucket, Key="vigil/front/2026/01/01/00/00.00.mp4")
    client.create_multipart_upload(Bucket=store_bucket, Key="other/not-ours.bin")  # outside the prefix: left alone
    uploader = make_uploader(archive_settings(store, store_bucket), index, tmp_path / "recordings", {})
    uploader.start()
    try:
        wait_until(lambda: len(store.pending_uploads(store_bucket)) == 1, 20, "the orphan to be aborted")
    finally:
        uploader.stop()
        uploader.join()
    assert [upload["Key"] for upload in store.pending_uploads(store_bucket)] == ["other/not-ours.bin"]


@pytest.mark.parametrize(
    "size",
    [
        pytest.param(3 * MIB + 5, id="one_request"),  # the hash's pass and the body share the uploader's buffer
        pytest.param(6 * MIB + 7, id="multipart"),  # two parts, and chunks split across them
    ],
)
def test_encrypted_objects_decrypt_with_the_key_only(
    store: S3TestStore, store_bucket: str, index: Index, tmp_path: Path, size: int
) -> None:
    key_hex = "11" * 32
    recordings = tmp_path / "recordings"
    data = random_bytes(size)
    settings = archive_settings(
        store, store_bucket, copy="all", encryption_key=key_hex, part_size="5MiB", multipart_threshold="5MiB"
    )
    uploader = make_uploader(settings, index, recordings, {"front": "all"})
    uploader.start()
    add_segment(index, recordings, "front", BASE_MS, data)
    uploader.wake()
    try:
        objects = wait_until(lambda: store.objects(store_bucket), 30, "the encrypted object")
    finally:
        uploader.stop()
        uploader.join()
    assert list(objects) == ["vigil/front/2026/12/04/00/10.00.mp4.enc"]
    obj = store.client().get_object(Bucket=store_bucket, Key="vigil/front/2026/12/04/00/10.00.mp4.enc")
    stored = obj["Body"].read()
    assert obj["Metadata"]["vigil-encrypted"] == "true"
    assert obj["Metadata"]["vigil-sha256"] == hashlib.sha256(data).hexdigest()
    assert data[:4096] not in stored
    assert decrypt(bytes.fromhex(key_hex), stored) == data


def test_remote_retention_deletes_objects_older_than_keep_days(
    store: S3TestStore, store_bucket: str, index: Index, tmp_path: Path
) -> None:
    recordings = tmp_path / "recordings"
    old = add_segment(index, recordings, "front", BASE_MS - 40 * 86_400_000, random_bytes(1000))
    add_segment(index, recordings, "front", BASE_MS, random_bytes(1000))
    settings = archive_settings(store, store_bucket, copy="all", keep_days=30)
    # The archive was enabled before both were recorded.
    with index.transaction() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('archive_from_segment_id', '0')")
    uploader = make_uploader(settings, index, recordings, {"front": "all"})
    uploader.start()
    try:
        wait_until(lambda: len(store.objects(store_bucket)) == 2, 20, "both objects")
        assert queue_row(index, old)["state"] == "done"
    finally:
        uploader.stop()
        uploader.join()
    # The next start's retention pass (the clock says BASE_MS) deletes the 40-day-old object only.
    again = make_uploader(settings, index, recordings, {"front": "all"})
    again._now_ms = lambda: BASE_MS + 20_000  # the footage's time, not the machine's
    again.start()
    try:
        wait_until(lambda: len(store.objects(store_bucket)) == 1, 20, "the old object to be deleted")
    finally:
        again.stop()
        again.join()
    assert list(store.objects(store_bucket)) == ["vigil/front/2026/12/04/00/10.00.mp4"]
    assert queue_row(index, old) == {}


@pytest.mark.parametrize(
    ("fault", "kind", "message"),
    [
        ("wrong_secret", "credentials", "the store refused the credentials: SignatureDoesNotMatch"),
        ("missing_bucket", "bucket", "the bucket 'no-such-bucket' does not exist"),
    ],
    ids=["wrong_secret", "missing_bucket"],
)
def test_a_store_that_refuses_pauses_the_queue_with_one_clear_error(
    store: S3TestStore, store_bucket: str, index: Index, tmp_path: Path, fault: str, kind: str, message: str
) -> None:
    """Each store's own answer to a wrong secret and to a missing bucket (moto checks signatures
    only with its IAM authentication on, which ``MotoServer`` turns on, as a real store is)."""
    recordings = tmp_path / "recordings"
    if fault == "wrong_secret":
        settings = archive_settings(store, store_bucket, copy="all", secret_access_key="wrong-secret-Qm4")
    else:
        settings = archive_settings(store, "no-such-bucket", copy="all")
    uploader = make_uploader(settings, index, recordings, {"front": "all"})
    uploader.start()
    segment_id = add_segment(index, recordings, "front", BASE_MS, random_bytes(1000))
    uploader.wake()
    try:
        wait_until(lambda: uploader.state()["error_kind"] and queue_row(index, segment_id), 20, "the refusal")
        state = uploader.state()
    finally:
        uploader.stop()
        uploader.join()
    assert (state["error_kind"], state["store_reachable"]) == (kind, False)
    assert str(state["last_error"]).startswith(message), state["last_error"]
    assert "wrong-secret" not in repr(state)
    assert queue_row(index, segment_id)["state"] == "pending"  # waits for the store to work
    assert store.objects(store_bucket) == {}


@pytest.mark.parametrize("request_kind", ["put", "part"])
def test_bytes_other_than_their_content_md5_are_a_checksum_error(
    store: S3TestStore, store_bucket: str, s3: S3Store, request_kind: str
) -> None:
    """Bytes that changed on the way, for real: a body sent with the Content-MD5 of other bytes.

    A dialect difference: SeaweedFS (like AWS) refuses the body (BadDigest); moto does not check
    Content-MD5 at all, keeps the body and answers its MD5 as the ETag, which the client's ETag
    check catches (and deletes the object it should not have kept). Either way the uploader sees
    a checksum error, the store keeps no object of the wrong bytes, and the bytes are sent again."""
    key = "vigil/front/2026/12/04/00/10.00.mp4"
    data = random_bytes(100_000)
    claimed = md5_base64(random_bytes(100_000))
    upload_id = s3.create_multipart(key, {}, "video/mp4") if request_kind == "part" else None
    with pytest.raises(StoreError) as caught:
        _send(s3, key, data, claimed, upload_id)
    assert caught.value.kind == "checksum", caught.value
    if request_kind == "put":
        assert list(store.objects(store_bucket)) == []
    else:
        (upload,) = store.pending_uploads(store_bucket)
        parts = store.client().list_parts(Bucket=store_bucket, Key=key, UploadId=upload["UploadId"]).get("Parts", [])
        assert [part["ETag"].strip('"') for part in parts] == (
            [md5_base64(data)[0]] if isinstance(store, MotoServer) else []
        )


def test_ranges_and_metadata_read_back_as_written(s3: S3Store) -> None:
    """What the cache and the restore read: a range (one whose end is past the object's, as the
    cache asks for a small object's head, too), the whole object, and the user metadata."""
    key = "vigil/front/2026/12/04/00/10.00.mp4"
    data = random_bytes(100_000)
    s3.put(key, body(data), md5_base64(data), {"vigil-camera": "front", "vigil-start-ms": "1"}, "video/mp4")
    with s3.open(key, (1000, 1999)) as reader:
        assert reader.read(5000) == data[1000:2000]
    with s3.open(key, (99_000, 199_999)) as reader:
        assert reader.read(200_000) == data[99_000:]
    with s3.open(key) as reader:
        assert reader.read() == data
    assert s3.metadata(key) == {"vigil-camera": "front", "vigil-start-ms": "1"}
    assert [name for name, _size in s3.list_keys("vigil")] == [key]
    with pytest.raises(StoreError) as caught:
        s3.open("vigil/front/2026/12/04/00/10.10.mp4")
    assert (caught.value.kind, str(caught.value)) == ("other", "NoSuchKey: The specified key does not exist.")
