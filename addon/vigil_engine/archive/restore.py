"""Restore: rebuild a machine's footage and index from the off-site archive.

The archive explains itself (``keys``): an object's key mirrors the local UTC layout and its
metadata holds the camera, the segment's exact start and end, the SHA-256 of the footage and
whether it is encrypted. So a new, empty machine needs nothing but the bucket and the key:

1. the objects under the prefix are listed (a page at a time); their keys pre-select the
   cameras and hours asked for, and each candidate's metadata then gives its exact times;
2. each selected object that is not here yet (same path, or same camera and start) is
   downloaded beside its final place (``….mp4.part``, never seen as footage), decrypted on the
   way, and its SHA-256 compared with the metadata's; only then is it fsynced and renamed into
   ``recordings/<camera>/<YYYY-MM-DD>/<HH>/<MM.SS>.mp4``;
3. it is indexed with the metadata's start and end, to the millisecond (not the times a probe
   of the file would give: the recorder's are the truth), and marked archived in the archive's
   queue (state ``done``, its object key and SHA-256), so the engine neither copies it again
   nor forgets it for remote retention;
4. where a camera's restored footage does not continue (the next segment starts later than
   the previous one ended), a gap is indexed, as the recorder would have: the timeline shows a
   gap, not an unexplained hole. Gaps the index already has are kept, but a gap an earlier,
   narrower restore indexed goes where footage restored now fills it.

Indexing only (``download=False``, the engine's fast way): step 2 is skipped (but the key is
tried on the first encrypted object: a key that cannot open the archive stops the run there,
as above, rather than indexing footage that would never play) and each selected segment is
indexed as kept only in the archive (``segments.archived_only``, with the object's
size), beside its ``done`` queue row, in one transaction: it is on the timeline at once and
plays on demand through the archive's cache (``archive.cache``), which verifies the SHA-256.

Running it twice changes nothing (everything is skipped the second time). An object that
cannot be restored (damaged, its checksum wrong, not an MP4) is one error line and the rest
goes on; a key that cannot decrypt the archive (another key, or none configured) stops the
run at the first object with one error naming it, since it would fail every other one too
(once the key has opened an object, one it cannot open is that object's error: damaged, or
encrypted with an older key).
The command line (``restore()``) holds the storage's lock (``storage.lock``) throughout: it
cannot run beside an engine. The engine runs the same :class:`Restorer` on its own index in a
thread (:class:`RestoreJob`, one at a time), which says how it is doing through a callback.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av

from vigil_engine.redact import redact
from vigil_engine.storage.index import GapRecord, Index, SegmentRecord
from vigil_engine.storage.layout import parse_segment_path, remove_empty_parents
from vigil_engine.storage.lock import StorageLock
from vigil_engine.storage.migrations import IndexTooNewError
from vigil_engine.storage.mp4 import probe_segment

from .crypto import DecryptionError, WrongKeyError, decrypt_first_chunk, decrypt_stream, first_chunk_range
from .keys import ENCRYPTED_SUFFIX, META_CAMERA, META_ENCRYPTED, META_END, META_SHA256, META_START
from .queue import DONE
from .store import S3Store, StoreError

if TYPE_CHECKING:
    from vigil_engine.config import EngineConfig

_LOGGER = logging.getLogger(__name__)

GAP_REASON = "no footage in the archive"
NO_ARCHIVE = "no archive is configured (the archive: section needs at least an endpoint and a bucket)"
# Consecutive segments of a continuous recording meet to the millisecond (rounding aside).
CONTINUOUS_MS = 1
# A segment starts in the hour its key names and is much shorter than an hour: the keys of an
# hour [h, h+1) hold footage within [h, h+2).
_HOUR_MS = 3_600_000
_COPY_BYTES = 1024 * 1024
_KEY = re.compile(r"^(\d{4})/(\d{2})/(\d{2})/(\d{2})/(\d{2}\.\d{2}(?:-\d+)?\.mp4)(\.enc)?$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class RestoreError(Exception):
    """The restore cannot go on at all (the store, the key, the storage): one line says why."""


class RestoreCancelledError(RestoreError):
    """The restore was stopped (the engine is stopping) between two objects."""


@dataclass(frozen=True, slots=True)
class Selection:
    cameras: frozenset[str] = frozenset()  # empty: every camera
    from_ms: int | None = None
    to_ms: int | None = None

    def wants(self, camera_id: str, start_ms: int, end_ms: int) -> bool:
        if self.cameras and camera_id not in self.cameras:
            return False
        if self.from_ms is not None and end_ms <= self.from_ms:
            return False
        return self.to_ms is None or start_ms < self.to_ms


@dataclass(frozen=True, slots=True)
class ArchivedSegment:
    key: str
    camera_id: str
    start_ms: int
    end_ms: int
    sha256: str
    encrypted: bool
    path: str  # where it goes, relative to the recordings folder
    size: int = 0  # the object's size in the store


@dataclass
class RestoreReport:
    selected: int = 0  # segments the selection names (restored, present or failed)
    restored: int = 0
    present: int = 0  # selected, but already here
    bytes: int = 0
    footage_ms: int = 0
    gaps: int = 0
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    def summary(self) -> str:
        return (
            f"Restored {self.restored} segments ({self.bytes / 1e6:.1f} MB, {self.footage_ms / 1000:.1f} s of footage)"
            f" and {self.gaps} gaps in {self.elapsed:.1f} s; {self.present} already here; {len(self.errors)} errors"
        )


def _candidate(prefix: str, key: str, wanted: Selection) -> tuple[str, str, int] | None:
    """(camera, local path, start of the key's hour) of a key that may hold wanted footage."""
    lead = f"{prefix}/" if prefix else ""
    if not key.startswith(lead):
        return None
    camera_id, _, rest = key[len(lead) :].partition("/")
    match = _KEY.match(rest)
    if not camera_id or camera_id in {".", ".."} or match is None:
        return None
    if wanted.cameras and camera_id not in wanted.cameras:
        return None
    year, month, day, hour, name, _enc = match.groups()
    try:
        hour_ms = int(datetime(int(year), int(month), int(day), int(hour), tzinfo=UTC).timestamp() * 1000)
    except ValueError:
        return None
    if not wanted.wants(camera_id, hour_ms, hour_ms + 2 * _HOUR_MS):
        return None
    return camera_id, f"{camera_id}/{year}-{month}-{day}/{hour}/{name}", hour_ms


def _described(key: str, camera_id: str, path: str, metadata: dict[str, str], size: int) -> ArchivedSegment:
    """The segment the object's metadata describes; ValueError if it does not describe one."""
    try:
        start_ms, end_ms = int(metadata[META_START]), int(metadata[META_END])
        sha256 = metadata[META_SHA256].lower()
        encrypted = metadata[META_ENCRYPTED] == "true"
        recorded_camera = metadata[META_CAMERA]
    except KeyError, ValueError:
        raise ValueError("its metadata does not describe a Vigil segment") from None
    if recorded_camera != camera_id or end_ms <= start_ms or not _SHA256.match(sha256):
        raise ValueError("its metadata does not match its key")
    if encrypted != key.endswith(ENCRYPTED_SUFFIX):
        raise ValueError("its metadata and its name disagree on whether it is encrypted")
    return ArchivedSegment(key, camera_id, start_ms, end_ms, sha256, encrypted, path, size)


class _HashingSink:
    """A file that hashes what is written to it."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("wb")
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes, /) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.file.write(data)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Restorer:
    """Restores a selection into an index (the command line's, or the running engine's own).

    ``progress`` is called with the report after every selected segment (from the restoring
    thread); ``cancelled`` set stops the run between two objects (:class:`RestoreCancelledError`)."""

    def __init__(
        self,
        config: EngineConfig,
        store: S3Store,
        index: Index,
        say: Callable[[str], None],
        *,
        progress: Callable[[RestoreReport], None] | None = None,
        cancelled: threading.Event | None = None,
    ) -> None:
        settings = config.archive
        assert settings is not None
        self.settings = settings
        self.recordings = config.recordings_path
        self.names = {cam.id: cam.name for cam in config.cameras}
        self.store = store
        self.index = index
        self.say = say
        self.progress = progress
        self.cancelled = cancelled
        self._key_opened = False  # the key has opened an object of this archive

    def _check_cancelled(self) -> None:
        if self.cancelled is not None and self.cancelled.is_set():
            raise RestoreCancelledError("the restore was stopped (the engine is stopping); run it again to resume")

    def _failed(self, report: RestoreReport, key: str, err: Exception) -> None:
        report.errors.append(f"{key}: {err}")
        self.say(f"Cannot restore {key}: {err}")

    def selected(self, wanted: Selection, report: RestoreReport) -> Iterator[ArchivedSegment]:
        for key, size in self.store.list_keys(self.settings.prefix):
            self._check_cancelled()
            candidate = _candidate(self.settings.prefix, key, wanted)
            if candidate is None:
                continue
            camera_id, path, hour_ms = candidate
            if self._inside(wanted, hour_ms) and self.index.query("SELECT 1 FROM segments WHERE path = ?", (path,)):
                # Here already, and selected whatever its exact times: no need to ask the store.
                report.selected += 1
                report.present += 1
                continue
            try:
                segment = _described(key, camera_id, path, self.store.metadata(key), size)
            except StoreError as err:
                if err.store_wide:
                    raise
                self._failed(report, key, err)
                continue
            except ValueError as err:
                self._failed(report, key, err)
                continue
            if wanted.wants(camera_id, segment.start_ms, segment.end_ms):
                yield segment

    @staticmethod
    def _inside(wanted: Selection, hour_ms: int) -> bool:
        """Every segment filed under this hour is in the selected time range."""
        after = wanted.from_ms is None or hour_ms >= wanted.from_ms
        return after and (wanted.to_ms is None or hour_ms + 2 * _HOUR_MS <= wanted.to_ms)

    def present(self, segment: ArchivedSegment) -> bool:
        rows = self.index.query(
            "SELECT 1 FROM segments WHERE path = ? OR (camera_id = ? AND start_ms = ?) LIMIT 1",
            (segment.path, segment.camera_id, segment.start_ms),
        )
        return bool(rows)

    def download(self, segment: ArchivedSegment) -> Path:
        """Fetch, decrypt and verify the object into its place; ValueError for this object's faults."""
        final = self.recordings / segment.path
        if parse_segment_path(self.recordings, final) is None:
            raise ValueError("its key does not name a segment")
        key = self.settings.encryption_key
        if segment.encrypted and key is None:
            raise WrongKeyError("it is encrypted and archive.encryption_key is not set")
        final.parent.mkdir(parents=True, exist_ok=True)
        partial = final.with_name(final.name + ".part")
        sink = _HashingSink(partial)
        try:
            with sink.file, self.store.open(segment.key) as body:
                if key is not None and segment.encrypted:
                    decrypt_stream(key, body, sink)
                else:
                    while chunk := body.read(_COPY_BYTES):
                        sink.write(chunk)
                sink.file.flush()
                os.fsync(sink.file.fileno())
            if sink.digest.hexdigest() != segment.sha256:
                raise ValueError("its SHA-256 is not the one recorded in its metadata (the object is damaged)")
            partial.replace(final)
            _fsync_dir(final.parent)
        except BaseException:
            partial.unlink(missing_ok=True)
            remove_empty_parents(partial, self.recordings)
            raise
        return final

    def _add_camera(self, conn: sqlite3.Connection, camera_id: str, now_ms: int) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO cameras (id, name, first_seen_ms) VALUES (?, ?, ?)",
            (camera_id, self.names.get(camera_id, camera_id), now_ms),
        )

    @staticmethod
    def _mark_archived(conn: sqlite3.Connection, segment: ArchivedSegment, segment_id: int, size: int) -> None:
        """Its queue row: archived (``done``, with its object's key and SHA-256), so the engine neither
        copies it again nor forgets it for remote retention, and can fetch it from the archive."""
        now_ms = int(time.time() * 1000)
        conn.execute(
            "INSERT OR REPLACE INTO archive_queue (segment_id, camera_id, path, start_ms, end_ms, bytes,"
            " queued_ms, state, object_key, sha256, done_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                segment_id,
                segment.camera_id,
                segment.path,
                segment.start_ms,
                segment.end_ms,
                size,
                now_ms,
                DONE,
                segment.key,
                segment.sha256,
                now_ms,
            ),
        )

    def index_segment(self, segment: ArchivedSegment, file: Path) -> int:
        try:
            probed = probe_segment(file)
        except (OSError, ValueError, av.FFmpegError) as err:
            file.unlink(missing_ok=True)
            raise ValueError(f"it holds no playable footage ({err})") from None
        with self.index.transaction() as conn:
            self._add_camera(conn, segment.camera_id, int(time.time() * 1000))
        segment_id = self.index.add_segment(
            SegmentRecord(
                camera_id=segment.camera_id,
                start_ms=segment.start_ms,
                end_ms=segment.end_ms,
                bytes=file.stat().st_size,
                path=segment.path,
                video_codec=probed.video_codec,
                width=probed.width,
                height=probed.height,
                audio_codec=probed.audio_codec,
                frames=probed.frames,
            )
        )
        with self.index.transaction() as conn:
            self._mark_archived(conn, segment, segment_id, file.stat().st_size)
        return segment_id

    def check_key(self, segment: ArchivedSegment) -> None:
        """Indexing only: the key must open the archive, or nothing indexed would ever play. Once
        per run (the first encrypted object's header and first chunk, one Range request)."""
        if not segment.encrypted or self._key_opened:
            return
        key = self.settings.encryption_key
        if key is None:
            raise WrongKeyError("it is encrypted and archive.encryption_key is not set")
        with self.store.open(segment.key, first_chunk_range()) as body:
            decrypt_first_chunk(key, body.read())
        self._key_opened = True

    def index_archived(self, segment: ArchivedSegment) -> int:
        """Index the segment as kept only in the archive (nothing downloaded): its row and its queue
        row in one transaction, so that no other part of a running engine (retention, the uploader)
        ever sees it as a local segment without its file. Its codecs are not known until it is
        fetched (a player reads them from the file); its size is the object's."""
        if parse_segment_path(self.recordings, self.recordings / segment.path) is None:
            raise ValueError("its key does not name a segment")
        with self.index.transaction() as conn:
            self._add_camera(conn, segment.camera_id, int(time.time() * 1000))
            cursor = conn.execute(
                "INSERT INTO segments (camera_id, start_ms, end_ms, duration_ms, bytes, path, archived_only)"
                " VALUES (?, ?, ?, ?, ?, ?, 1)",
                (
                    segment.camera_id,
                    segment.start_ms,
                    segment.end_ms,
                    segment.end_ms - segment.start_ms,
                    segment.size,
                    segment.path,
                ),
            )
            segment_id = int(cursor.lastrowid or 0)
            self._mark_archived(conn, segment, segment_id, segment.size)
        return segment_id

    def index_gaps(self, camera_id: str, restored: set[int]) -> int:
        """Index a gap wherever restored footage does not continue into its neighbour (first
        dropping the gaps an earlier, narrower restore indexed where footage now is)."""
        segments = self.index.segments(camera_id)
        for segment in segments:
            if segment.id in restored:
                for gap in self.index.gaps(camera_id, segment.start_ms, segment.end_ms):
                    if gap.reason == GAP_REASON and gap.id is not None:
                        self.index.delete_gap(gap.id)
        added = 0
        for before, after in itertools.pairwise(segments):
            if before.id not in restored and after.id not in restored:
                continue
            if after.start_ms - before.end_ms <= CONTINUOUS_MS:
                continue
            if self.index.gaps(camera_id, before.end_ms, after.start_ms):
                continue
            self.index.add_gap(GapRecord(camera_id, before.end_ms, after.start_ms, GAP_REASON))
            added += 1
        return added

    def _restore_one(self, segment: ArchivedSegment, download: bool, report: RestoreReport) -> int | None:
        """Restore one segment: its id, or None when it failed (the error is in the report)."""
        try:
            if not download:
                self.check_key(segment)
                return self.index_archived(segment)
            return self.index_segment(segment, self.download(segment))
        except WrongKeyError as err:
            if not report.restored or self.settings.encryption_key is None:
                # Before any object opened with it, the key is the likely fault: every other
                # object would fail the same way.
                raise RestoreError(f"cannot decrypt {segment.key}: {err}") from None
            # The key opened others: this object is damaged (or was encrypted with an older key).
            self._failed(report, segment.key, err)
        except (ValueError, DecryptionError) as err:
            self._failed(report, segment.key, err)
        except StoreError as err:
            if err.store_wide:
                raise RestoreError(f"the archive cannot be read: {err}") from None
            self._failed(report, segment.key, err)
        return None

    def run(self, wanted: Selection, *, download: bool = True) -> RestoreReport:
        """Restore what ``wanted`` selects: downloaded (``download``) or indexed as kept only in the archive."""
        report = RestoreReport()
        began = time.monotonic()
        restored: dict[str, set[int]] = {}
        try:
            for segment in self.selected(wanted, report):
                report.selected += 1
                if self.present(segment):
                    report.present += 1
                elif (segment_id := self._restore_one(segment, download, report)) is not None:
                    restored.setdefault(segment.camera_id, set()).add(segment_id)
                    report.restored += 1
                    report.bytes += segment.size if not download else self._local_bytes(segment)
                    report.footage_ms += segment.end_ms - segment.start_ms
                if self.progress is not None:
                    self.progress(report)
                self._check_cancelled()
        finally:
            # Also when stopped or failed: the gaps beside what was restored until then.
            for camera_id, ids in restored.items():
                report.gaps += self.index_gaps(camera_id, ids)
        report.elapsed = time.monotonic() - began
        return report

    def _local_bytes(self, segment: ArchivedSegment) -> int:
        try:
            return (self.recordings / segment.path).stat().st_size
        except OSError:
            return 0


def restore(config: EngineConfig, wanted: Selection, say: Callable[[str], None]) -> RestoreReport:
    """Restore what ``wanted`` selects into the configured storage (see the module's docstring).

    Raises :class:`RestoreError` when nothing more can be done (the report of what was done
    until then is lost with it, but every restored segment is indexed: a rerun resumes)."""
    if config.archive is None:
        raise RestoreError(NO_ARCHIVE)
    lock = StorageLock(config.storage_path)
    try:
        lock.acquire()
    except OSError as err:
        raise RestoreError(f"storage {config.storage_path}: {err.strerror}") from None
    try:
        try:
            index, _aside = Index.open(config.db_path)
        except (OSError, sqlite3.Error, IndexTooNewError) as err:
            raise RestoreError(f"the index database {config.db_path} cannot be opened: {err}") from None
        store = S3Store(config.archive)
        try:
            return Restorer(config, store, index, say).run(wanted)
        except StoreError as err:
            raise RestoreError(f"the archive cannot be read: {err}") from None
        finally:
            store.close()
            index.close()
    finally:
        lock.release()


# The states of an engine's restore (``RestoreJob.state()``).
RUNNING = "running"
FINISHED = "done"
FAILED = "failed"
PROGRESS_INTERVAL_S = 1.0  # at most one progress message a second
LOGGED_ERRORS = 10  # object errors logged one by one; the rest only counted (no flood)


class RestoreJob:
    """A restore the running engine does in a thread of its own, on its own index (the engine
    holds the storage's lock already: no second one). Its state (``state()``) goes to
    ``publish`` when it starts, at most every ``PROGRESS_INTERVAL_S`` while it runs, and when it
    ends. ``cancel()`` stops it between two objects (the engine stopping): what it restored until
    then stays indexed, and a rerun resumes."""

    def __init__(
        self,
        config: EngineConfig,
        index: Index,
        wanted: Selection,
        *,
        download: bool,
        publish: Callable[[dict[str, Any]], None],
        now_ms: Callable[[], int],
    ) -> None:
        if config.archive is None:
            raise RestoreError(NO_ARCHIVE)
        self.config = config
        self.index = index
        self.wanted = wanted
        self.download = download
        self._publish = publish
        self._now_ms = now_ms
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._report = RestoreReport()
        self._status = RUNNING
        self._error: str | None = None
        self._started_ms = now_ms()
        self._finished_ms: int | None = None
        self._published = 0.0
        self._failures = 0
        self._thread = threading.Thread(target=self._run, name="archive-restore", daemon=True)

    @property
    def running(self) -> bool:
        with self._lock:
            return self._status == RUNNING

    def start(self) -> None:
        self._publish(self.state())
        self._published = time.monotonic()
        self._thread.start()

    def cancel(self) -> None:
        self._cancelled.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def state(self) -> dict[str, Any]:
        """What it restores and how far it got: never a credential, a key or an object's key."""
        with self._lock:
            report = self._report
            return {
                "state": self._status,
                "download": self.download,
                "camera_ids": sorted(self.wanted.cameras),
                "from_ms": self.wanted.from_ms,
                "to_ms": self.wanted.to_ms,
                "selected": report.selected,
                "restored": report.restored,
                "present": report.present,
                "errors": len(report.errors),
                "bytes": report.bytes,
                "gaps": report.gaps,
                "started_ms": self._started_ms,
                "finished_ms": self._finished_ms,
                "error": self._error,
            }

    def _say(self, line: str) -> None:
        # Called for each object that failed.
        self._failures += 1
        if self._failures <= LOGGED_ERRORS:
            _LOGGER.warning("Archive restore: %s", line)
        elif self._failures == LOGGED_ERRORS + 1:
            _LOGGER.warning("Archive restore: more objects cannot be restored (only counted from now on)")

    def _progress(self, report: RestoreReport) -> None:
        with self._lock:
            self._report = report
        if time.monotonic() - self._published >= PROGRESS_INTERVAL_S:
            self._published = time.monotonic()
            self._publish(self.state())

    def _run(self) -> None:
        settings = self.config.archive
        assert settings is not None
        status, error = FINISHED, None
        store: S3Store | None = None
        try:
            store = S3Store(settings)
            restorer = Restorer(
                self.config, store, self.index, self._say, progress=self._progress, cancelled=self._cancelled
            )
            report = restorer.run(self.wanted, download=self.download)
            with self._lock:
                self._report = report
            _LOGGER.info("Archive restore (%s): %s", "downloaded" if self.download else "indexed", report.summary())
        except RestoreError as err:
            status, error = FAILED, str(err)
        except StoreError as err:
            status, error = FAILED, f"the archive cannot be read: {err}"
        except Exception:  # the engine goes on; the log has the traceback, the status one line
            _LOGGER.exception("Archive restore failed")
            status, error = FAILED, "an unexpected error (the engine's log has the details)"
        finally:
            if store is not None:
                store.close()
        if error is not None:
            _LOGGER.warning("Archive restore failed: %s", redact(error))
        with self._lock:
            self._status = status
            self._error = None if error is None else redact(error)
            self._finished_ms = self._now_ms()
        self._publish(self.state())
