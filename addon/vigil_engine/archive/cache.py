"""Playback of footage kept only in the archive: fetched on demand into a bounded local cache.

When retention deletes a segment the archive has copied, its row stays, marked archived-only
(``storage.index``). A clip, an HLS segment or a still of it asks the API for the segment's
file (``api.context``); the cache answers with a local copy, fetching the object when it has
none: downloaded whole (segments are seconds long, a few MB), decrypted with the configured
key, its SHA-256 compared with the one recorded when it was archived, then renamed into place.
The API then serves it exactly as it serves local footage, byte ranges included.

* A playlist needs only each segment's start (its ``ftyp`` and ``moov``: the codecs), not its
  media: ``head`` fetches that with one Range request (the first 1 MiB chunk when encrypted,
  which must be whole to be authenticated) into ``<sha256>.head``. Only a player's request
  for the segment's media fetches the whole object.
* Where: ``<storage>/archive-cache/<sha256>.mp4``: under the storage path but outside the
  recordings tree, so neither reconcile nor retention ever takes it for footage, and never in
  the index's byte count. A file is named by its content, so it can never be served for
  another segment.
* How much: at most ``cache_bytes``; the least recently used files go first. A file used in
  the last :data:`IN_USE_SECONDS` is not evicted (a clip being streamed reads its files while
  it streams), so the cache may exceed its cap for that long.
* Failures (the store unreachable, a wrong key, a damaged object) make the segment missing
  for that request: one WARNING at most every :data:`WARN_INTERVAL` seconds says why.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from pathlib import Path

from .crypto import DecryptionError, decrypt_first_chunk, decrypt_stream, first_chunk_range
from .settings import ArchiveSettings
from .store import S3Store, StoreError

_LOGGER = logging.getLogger(__name__)

FOLDER = "archive-cache"
IN_USE_SECONDS = 300.0
WARN_INTERVAL = 60.0
_COPY_BYTES = 1024 * 1024
HEAD_BYTES = 256 * 1024  # of a plain object: its ftyp and moov are a few kB


class _HashingFile:
    def __init__(self, path: Path) -> None:
        self.file = path.open("wb")
        self.digest = hashlib.sha256()

    def write(self, data: bytes, /) -> int:
        self.digest.update(data)
        return self.file.write(data)


class ArchiveCache:
    def __init__(self, settings: ArchiveSettings, storage: Path) -> None:
        self.settings = settings
        self.folder = storage / FOLDER
        self._lock = threading.Lock()
        self._store: S3Store | None = None
        self._warned = 0.0

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    def file(self, key: str, sha256: str) -> Path | None:
        """A local copy of the object ``key`` (whose footage hashes to ``sha256``), or None."""
        path = self.folder / f"{sha256}.mp4"
        with self._lock:  # one fetch at a time: bounded memory, connections and bandwidth
            try:
                if path.is_file():
                    os.utime(path)  # most recently used
                    return path
                self._fetch(key, sha256, path)
                self._evict(keep=path)
                return path
            except (StoreError, DecryptionError, ValueError, OSError) as err:
                self._warn(key, err)
                return None

    def head(self, key: str, sha256: str) -> Path | None:
        """A local file that starts like the object's footage (at least its ``ftyp`` and ``moov``:
        what a playlist needs to know of a segment), fetched with one Range request; the whole
        copy instead when the cache has it. None if it cannot be had."""
        whole = self.folder / f"{sha256}.mp4"
        path = self.folder / f"{sha256}.head"
        with self._lock:
            try:
                for candidate in (whole, path):
                    if candidate.is_file():
                        os.utime(candidate)
                        return candidate
                self._fetch_head(key, path)
                self._evict(keep=path)
                return path
            except (StoreError, DecryptionError, ValueError, OSError) as err:
                self._warn(key, err)
                return None

    def _fetch_head(self, key: str, path: Path) -> None:
        if self._store is None:
            self._store = S3Store(self.settings)
        self.folder.mkdir(parents=True, exist_ok=True)
        first, last = first_chunk_range()
        with self._store.open(key, (first, last if key.endswith(".enc") else HEAD_BYTES - 1)) as body:
            data = body.read()
        if key.endswith(".enc"):
            if self.settings.encryption_key is None:
                raise DecryptionError("it is encrypted and archive.encryption_key is not set")
            data = decrypt_first_chunk(self.settings.encryption_key, data)
        partial = path.with_name(f"{path.name}.part")
        try:
            partial.write_bytes(data)
            partial.replace(path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    def _fetch(self, key: str, sha256: str, path: Path) -> None:
        if self._store is None:
            self._store = S3Store(self.settings)
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.part")
        sink = _HashingFile(partial)
        try:
            with sink.file, self._store.open(key) as body:
                if key.endswith(".enc"):
                    if self.settings.encryption_key is None:
                        raise DecryptionError("it is encrypted and archive.encryption_key is not set")
                    decrypt_stream(self.settings.encryption_key, body, sink)
                else:
                    while chunk := body.read(_COPY_BYTES):
                        sink.write(chunk)
            if sink.digest.hexdigest() != sha256:
                raise ValueError("its SHA-256 is not the one recorded when it was archived")
            partial.replace(path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    def _evict(self, keep: Path) -> None:
        """Delete the least recently used files beyond the cap (none used in the last minutes)."""
        files: list[tuple[float, int, Path]] = []
        for entry in self.folder.iterdir():
            try:
                info = entry.stat()
            except FileNotFoundError:
                continue
            files.append((info.st_mtime, info.st_size, entry))
        total = sum(size for _mtime, size, _path in files)
        recent = time.time() - IN_USE_SECONDS
        for mtime, size, entry in sorted(files):
            if total <= self.settings.cache_bytes:
                return
            if entry == keep or mtime > recent:
                continue
            entry.unlink(missing_ok=True)
            total -= size

    def _warn(self, key: str, err: Exception) -> None:
        now = time.monotonic()
        level = logging.WARNING if now - self._warned >= WARN_INTERVAL else logging.DEBUG
        if level == logging.WARNING:
            self._warned = now
        _LOGGER.log(level, "Archive: cannot play %s from the archive: %s", key, err)
