"""The uploader: one thread that works the archive's queue, never in recording's way.

Each pass queues newly closed segments (``queue``), then uploads the next due one: in one
request up to ``multipart_threshold``, else as a multipart upload of ``part_size`` parts whose
upload id and confirmed parts are committed to the index after each part. After a restart (or
a SIGKILL) the upload resumes: ListParts says what the store holds, and a part counts as done
only when its ETag is the MD5 of the bytes Vigil would send for it. At start, multipart uploads
under the prefix that the queue does not know (left by an index restored from a backup, or
given up) are aborted, so that the store keeps no orphaned parts.

When the store cannot be reached, refuses the credentials, or lacks the bucket, the whole
queue waits, with a backoff doubling from 1 s to 60 s: one WARNING when the outage starts
(with its reason), one INFO when the store works again, nothing per segment. An error of one
segment (its checksum came back wrong, the store refused that object) retries that segment
with its own backoff and gives up after :data:`MAX_ATTEMPTS`, with one ERROR line. A segment
deleted locally before it was copied is counted, and logged at most every ten minutes.

The thread's resources are bounded: one request at a time over a pool of two connections,
one part (8 MiB by default) in memory, the bandwidth cap (``max_mbps``) shared by every
request. Stopping interrupts a request in flight at its next 64 KiB block (a request waiting
for an answer ends at the read timeout at worst; the engine does not wait for that).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from vigil_engine.redact import redact

from .body import EncryptedBody, ObjectBody, PlainBody, RateLimit, ThrottledBody, UploadCancelledError
from .crypto import SALT_BYTES
from .keys import content_type, object_key, object_metadata
from .queue import RECENT_EVENTS_MS, ArchiveQueue, QueueItem
from .settings import ArchiveSettings, CameraCopy
from .store import S3Store, StoreError, md5_base64

_LOGGER = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # per segment, for errors of that segment (not for outages of the store)
BACKOFF_FIRST = 1.0
BACKOFF_CAP = 60.0
SCAN_INTERVAL = 2.0  # seconds between queueing passes when nothing wakes the thread
RETENTION_INTERVAL = 3600.0  # remote retention pass
SWEEP_INTERVAL = 3600.0  # looking for stale multipart uploads while running
STALE_UPLOAD = timedelta(days=1)  # an unfinished upload nobody resumes, older than this, is aborted
STOP_WAIT = 3.0
LOST_LOG_INTERVAL = 600.0


@dataclass(slots=True)
class Uploading:
    camera_id: str
    key: str
    size: int
    sent: int = 0


class Uploader:
    """Copies queued segments to the store; ``cameras()`` says what each camera copies now."""

    def __init__(
        self,
        settings: ArchiveSettings,
        queue: ArchiveQueue,
        recordings: Path,
        cameras: Callable[[], dict[str, CameraCopy]],
        clock_ms: Callable[[], int] | None = None,
    ) -> None:
        self.settings = settings
        self.queue = queue
        self.recordings = recordings
        self._cameras = cameras
        self._now_ms = clock_ms or (lambda: int(time.time() * 1000))
        self.store = S3Store(settings)
        self._limit = RateLimit(settings.max_mbps)
        # The one body buffer (a part, or an object sent whole), reused by every request.
        self._buffer = memoryview(bytearray(max(settings.part_size, settings.multipart_threshold)))
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="archive-uploader", daemon=True)
        # What the state reports (read by other threads; each a single assignment).
        self.last_success_ms: int | None = None
        self.last_error: str | None = None
        self.last_error_kind: str | None = None  # the store's current failure: unreachable, credentials, bucket
        self.uploading: Uploading | None = None
        self.uploaded = 0
        self.uploaded_bytes = 0
        self.lost = 0  # deleted locally before they were copied
        self._lost_unlogged = 0
        self._lost_logged_at: float | None = None
        self._outage_since: float | None = None
        self._backoff = BACKOFF_FIRST
        self._store_retry_at = 0.0
        self._next_sweep = 0.0  # the first pass (at start) aborts every upload nobody resumes
        self._scanned_all_events = False
        self._next_retention = 0.0

    # --- life cycle ---
    def start(self) -> None:
        self.queue.begin()
        self.last_success_ms = self.queue.last_done_ms()
        self._thread.start()

    def wake(self) -> None:
        """A segment was indexed (thread-safe): queue and upload it without waiting for the next pass."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def join(self, timeout: float = STOP_WAIT) -> None:
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self.store.close()

    # --- state ---
    def state(self) -> dict[str, Any]:
        """The archive block of the engine's status: no credential, no key."""
        try:
            items, size = self.queue.backlog()
        except sqlite3.Error:
            items, size = 0, 0
        uploading = self.uploading
        return {
            "enabled": True,
            "bucket": self.settings.bucket,
            "copy": self.settings.copy,
            "encrypted": self.settings.encrypted,
            "backlog_items": items,
            "backlog_bytes": size,
            "uploaded_items": self.uploaded,
            "uploaded_bytes": self.uploaded_bytes,
            "lost_items": self.lost,
            "store_reachable": self._outage_since is None,
            "failing_since_ms": None
            if (since := self._outage_since) is None
            else self._now_ms() - int((time.monotonic() - since) * 1000),
            "last_success_ms": self.last_success_ms,
            "last_error": self.last_error,
            "error_kind": self.last_error_kind,
            "uploading": None
            if uploading is None
            else {
                "camera_id": uploading.camera_id,
                "key": uploading.key,
                "bytes": uploading.size,
                "sent": uploading.sent,
            },
        }

    # --- the thread ---
    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self._enqueue()
                if time.monotonic() < self._store_retry_at:
                    self._wake.wait(min(SCAN_INTERVAL, self._store_retry_at - time.monotonic()))
                    continue
                busy = self._work_once()
            except UploadCancelledError:
                return
            except sqlite3.ProgrammingError:
                # The index was closed under a request that outlived the engine's stop: nothing to do.
                if self._stop.is_set():
                    return
                raise
            except Exception:  # the archive must keep running: logged in full, then it waits (backoff)
                _LOGGER.exception("Archive: unexpected error; trying again in %.0f s", self._backoff)
                self._store_retry_at = time.monotonic() + self._backoff
                self._backoff = min(self._backoff * 2, BACKOFF_CAP)
                continue
            if not busy:
                self._wake.wait(SCAN_INTERVAL)

    def _enqueue(self) -> None:
        cameras = self._cameras()
        copy_all = [camera for camera, copy in cameras.items() if copy == "all"]
        copy_events = [camera for camera, copy in cameras.items() if copy == "events"]
        now = self._now_ms()
        since = None if not self._scanned_all_events else now - RECENT_EVENTS_MS
        self.queue.enqueue(copy_all, copy_events, now, events_since_ms=since)
        self._scanned_all_events = True

    def _work_once(self) -> bool:
        """One step: housekeeping or one segment. False when there was nothing to do."""
        try:
            if time.monotonic() >= self._next_sweep:
                self._abort_orphans(first=self._next_sweep == 0.0)
                self._next_sweep = time.monotonic() + SWEEP_INTERVAL
            if self.settings.keep_days is not None and time.monotonic() >= self._next_retention:
                self._expire_remote(self._now_ms() - int(self.settings.keep_days * 86_400_000))
                self._next_retention = time.monotonic() + RETENTION_INTERVAL
            item = self.queue.next_due(self._now_ms())
            if item is None:
                self._store_works()
                return False
            self._upload_item(item)
            self._store_works()
            return True
        except StoreError as err:
            if self._stop.is_set():
                return True
            self._store_failed(err)
            return True

    def _store_failed(self, err: StoreError) -> None:
        """The store as a whole failed: pause the queue (backoff), one WARNING per outage."""
        self.last_error = str(err)
        self.last_error_kind = err.kind
        if self._outage_since is None:
            self._outage_since = time.monotonic()
            level = logging.ERROR if err.kind in {"credentials", "bucket"} else logging.WARNING
            _LOGGER.log(level, "Archive: %s; footage waits in the queue and is copied when the store works again", err)
            self._backoff = BACKOFF_FIRST
        self._store_retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, BACKOFF_CAP)

    def _store_works(self) -> None:
        if self._outage_since is None:
            return
        items, size = self.queue.backlog()
        _LOGGER.info(
            "Archive: the store works again after %.0f s; %d segments (%.1f MB) to copy",
            time.monotonic() - self._outage_since,
            items,
            size / 1e6,
        )
        self._outage_since = None
        self.last_error = None
        self.last_error_kind = None
        self._backoff = BACKOFF_FIRST

    def _abort_orphans(self, *, first: bool) -> None:
        """Abort the multipart uploads under the prefix that the queue is not resuming: at start
        all of them (left by a crash the index does not remember, or by an index restored from a
        backup), later those older than :data:`STALE_UPLOAD` (a store that kept an upload its
        abort did not reach). Parts of unfinished uploads are billed like objects and invisible."""
        known = self.queue.upload_ids()
        stale_before = datetime.now(UTC) - STALE_UPLOAD
        orphans = [
            upload
            for upload in self.store.pending_uploads(self.settings.prefix)
            if upload.upload_id not in known and (first or upload.initiated is None or upload.initiated < stale_before)
        ]
        for upload in orphans:
            self.store.abort(upload.key, upload.upload_id)
        if orphans:
            _LOGGER.info("Archive: aborted %d unfinished multipart uploads nobody resumes", len(orphans))

    def _abort_upload(self, item: QueueItem) -> None:
        """Give up the item's multipart upload in the store (its parts cost storage): an upload
        the store lost already is fine; one the store cannot abort now is swept later as stale."""
        upload = self.queue.upload_of(item.segment_id)
        if upload is None:
            return
        try:
            self.store.abort(*upload)
        except StoreError as err:
            _LOGGER.debug("Archive: could not abort the upload of %s yet: %s", upload[0], err)
        self.queue.forget_upload(item.segment_id)

    def _expire_remote(self, before_ms: int) -> None:
        """Remote retention: delete archived objects whose footage ended before ``before_ms``."""
        deleted = 0
        while not self._stop.is_set() and (expired := self.queue.expired(before_ms)):
            for segment_id, key in expired:
                self.store.delete(key)
                # Footage kept only in the archive is gone now: its row goes with the object.
                self.queue.index.drop_archived_only(segment_id)
                self.queue.remove(segment_id)
                deleted += 1
        if deleted:
            _LOGGER.info("Archive: deleted %d objects older than %g days", deleted, self.settings.keep_days)

    # --- one segment ---
    def _upload_item(self, item: QueueItem) -> None:
        path = self.recordings / item.path
        if not path.is_file():
            self._abort_upload(item)
            self.queue.gone(item.segment_id)
            self._lost_one(item)
            return
        try:
            self._upload_file(item, path)
        except OSError as err:
            # The file cannot be read (permissions, a failing disk): this segment's problem alone.
            self._item_failed(item, StoreError("other", f"cannot read {item.path}: {err.strerror or err}"))

    def _upload_file(self, item: QueueItem, path: Path) -> None:
        settings = self.settings
        encrypted = settings.encryption_key is not None
        key = object_key(settings.prefix, item.camera_id, item.start_ms, item.path, encrypted=encrypted)
        body: ObjectBody
        if settings.encryption_key is not None:
            salt = item.salt
            if salt is None:
                salt = os.urandom(SALT_BYTES)
                self.queue.set_salt(item.segment_id, salt)  # before any byte leaves: a resume encrypts the same
            body = EncryptedBody(path, settings.encryption_key, salt)
        else:
            body = PlainBody(path)
        single = body.size <= settings.multipart_threshold
        # A plain object sent in one request is the file's bytes: read once, hashed twice (SHA-256
        # for the metadata, MD5 for the store). Otherwise the metadata's hash is a pass of its own.
        # (The hash's own pass reads through the buffer too: it comes before the body's bytes.)
        plain_single = single and not encrypted
        sha256 = "" if plain_single else self._sha256(path)
        data = self._read(body, 0, body.size) if single else memoryview(b"")
        sha256 = sha256 or hashlib.sha256(data).hexdigest()
        metadata = object_metadata(item.camera_id, item.start_ms, item.end_ms, sha256, encrypted=encrypted)
        ctype = content_type(encrypted=encrypted)
        self.uploading = Uploading(item.camera_id, key, body.size)
        try:
            if single:
                self.store.put(key, self._body(data), md5_base64(data), metadata, ctype)
            else:
                self._multipart(item, key, body, metadata, ctype)
        except StoreError as err:
            if err.store_wide:
                raise
            self._item_failed(item, err)
            return
        finally:
            self.uploading = None
        now = self._now_ms()
        self.queue.done(item.segment_id, key, sha256, now)
        self.uploaded += 1
        self.uploaded_bytes += body.size
        self.last_success_ms = now

    def _lost_one(self, item: QueueItem) -> None:
        """A segment was deleted locally before it could be copied: counted, and logged at most
        every ten minutes (a long outage on a full disk loses many; retention warns as well)."""
        self.lost += 1
        self._lost_unlogged += 1
        now = time.monotonic()
        if self._lost_logged_at is None or now - self._lost_logged_at >= LOST_LOG_INTERVAL:
            _LOGGER.warning(
                "Archive: %d segments were deleted locally before they could be copied (the latest: %s)",
                self._lost_unlogged,
                item.path,
            )
            self._lost_logged_at, self._lost_unlogged = now, 0

    def _body(self, data: memoryview) -> ThrottledBody:
        return ThrottledBody(data, self._limit, self._stop)

    def _read(self, body: ObjectBody, offset: int, length: int) -> memoryview:
        """Bytes of ``body`` in the uploader's buffer: valid until the next read."""
        buffer = self._buffer[:length]
        return buffer[: body.read_into(offset, buffer)]

    def _sha256(self, path: Path) -> str:
        """The SHA-256 of a segment file, read through the uploader's buffer."""
        digest = hashlib.sha256()
        with path.open("rb") as file:
            while got := file.readinto(self._buffer):
                digest.update(self._buffer[:got])
        return digest.hexdigest()

    def _multipart(self, item: QueueItem, key: str, body: ObjectBody, metadata: dict[str, str], ctype: str) -> None:
        part_size = self.settings.part_size
        count = -(-body.size // part_size)
        upload_id = item.upload_id if item.object_key == key else None
        parts: dict[int, str] = {}
        if upload_id is not None:
            try:
                held = self.store.list_parts(key, upload_id)
            except StoreError as err:
                if err.kind != "upload_gone":
                    raise
                self.queue.forget_upload(item.segment_id)
                upload_id = None
            else:
                # A part counts only if the store holds exactly the bytes this part is made of
                # (a part the store took just before a SIGKILL, never committed here, counts too).
                # Compared with the bytes as they are now: a part of another key or salt does not count.
                for number, etag in held.items():
                    held_part = self._read(body, (number - 1) * part_size, part_size) if 1 <= number <= count else None
                    if held_part is not None and etag == md5_base64(held_part)[0]:
                        parts[number] = etag
                if parts != item.parts:
                    self.queue.set_parts(item.segment_id, parts, _sent(parts, body.size, part_size))
                _LOGGER.info("Archive: resuming the upload of %s at part %d of %d", key, len(parts) + 1, count)
        if upload_id is None:
            upload_id = self.store.create_multipart(key, metadata, ctype)
            self.queue.begin_multipart(item.segment_id, key, upload_id)
        for number in range(1, count + 1):
            if number in parts:
                continue
            data = self._read(body, (number - 1) * part_size, part_size)
            try:
                parts[number] = self.store.upload_part(key, upload_id, number, self._body(data), md5_base64(data))
            except StoreError as err:
                if err.kind == "upload_gone":
                    self.queue.forget_upload(item.segment_id)
                raise
            self.queue.set_parts(item.segment_id, parts, _sent(parts, body.size, part_size))
            if self.uploading is not None:
                self.uploading.sent = _sent(parts, body.size, part_size)
        self.store.complete(key, upload_id, sorted(parts.items()))

    def _item_failed(self, item: QueueItem, err: StoreError) -> None:
        attempts = item.attempts + 1
        give_up = attempts >= MAX_ATTEMPTS
        delay = min(BACKOFF_FIRST * 2**attempts, BACKOFF_CAP * 10)
        message = redact(str(err))
        self.queue.retry_later(item.segment_id, attempts, self._now_ms() + int(delay * 1000), message, give_up=give_up)
        if give_up:
            self._abort_upload(item)
            self.last_error = f"{item.path}: {message}"
            _LOGGER.error("Archive: gave up copying %s of camera %s: %s", item.path, item.camera_id, message)
        else:
            _LOGGER.debug("Archive: copying %s failed (attempt %d): %s", item.path, attempts, message)


def _sent(parts: dict[int, str], size: int, part_size: int) -> int:
    return sum(min(part_size, size - (number - 1) * part_size) for number in parts)
