"""The bytes of an object, read a part at a time, and the upload bandwidth cap.

An object is the segment file as it is, or its encryption (``crypto``). Either way a part is
read when it is sent and dropped after, so a segment never sits whole in memory (a small
object, sent in one request, is read once). :class:`ThrottledBody` hands those bytes to the
HTTP client in small blocks at the configured rate, and stops an upload at once when the
engine stops (the request fails; the queue keeps the segment for the next start).
"""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from typing import Protocol

from .crypto import CHUNK_BYTES, HEADER_BYTES, TAG_BYTES, ChunkEncryptor, encrypted_size


class ObjectBody(Protocol):
    size: int

    def read(self, offset: int, length: int) -> bytes: ...


class PlainBody:
    """The segment file as it is."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = path.stat().st_size

    def read(self, offset: int, length: int) -> bytes:
        with self.path.open("rb") as file:
            file.seek(offset)
            return file.read(length)


class EncryptedBody:
    """The segment's encryption (see ``crypto``), computed for the bytes asked for only."""

    def __init__(self, path: Path, key: bytes, salt: bytes, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.path = path
        self.plain_size = path.stat().st_size
        self.size = encrypted_size(self.plain_size, chunk_bytes)
        self._encryptor = ChunkEncryptor(key, salt, chunk_bytes)
        self._chunks = max(1, -(-self.plain_size // chunk_bytes))
        self._cached: tuple[int, bytes] | None = None  # a part may end inside a chunk: the next starts there

    def _sealed(self, index: int, file: io.BufferedReader) -> bytes:
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1]
        chunk_bytes = self._encryptor.chunk_bytes
        file.seek(index * chunk_bytes)
        sealed = self._encryptor.encrypt(index, file.read(chunk_bytes), last=index == self._chunks - 1)
        self._cached = (index, sealed)
        return sealed

    def read(self, offset: int, length: int) -> bytes:
        end = min(offset + length, self.size)
        out = bytearray()
        if offset < HEADER_BYTES:
            out += self._encryptor.header[offset:end]
        sealed_size = self._encryptor.chunk_bytes + TAG_BYTES
        position = max(offset, HEADER_BYTES)
        with self.path.open("rb") as file:
            while position < end:
                index, within = divmod(position - HEADER_BYTES, sealed_size)
                sealed = self._sealed(index, file)
                piece = sealed[within : within + end - position]
                out += piece
                position += len(piece)
        return bytes(out)


class UploadCancelledError(Exception):
    """The engine is stopping: the request in flight is given up (and resumed at the next start)."""


class RateLimit:
    """A token bucket shared by every request of the uploader (bytes per second; None: no cap)."""

    BURST_SECONDS = 0.25

    def __init__(self, mbps: float | None) -> None:
        self.rate = None if mbps is None else mbps * 1_000_000 / 8
        self._tokens = 0.0
        self._at = time.monotonic()
        self._lock = threading.Lock()

    def take(self, amount: int, stop: threading.Event) -> None:
        """Wait until ``amount`` bytes may be sent; :class:`UploadCancelledError` on ``stop``."""
        if stop.is_set():
            raise UploadCancelledError
        if self.rate is None:
            return
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.rate * self.BURST_SECONDS, self._tokens + (now - self._at) * self.rate)
            self._at = now
            self._tokens -= amount
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0 and stop.wait(wait):
            raise UploadCancelledError


class ThrottledBody(io.BytesIO):
    """A request body that, once :meth:`arm`-ed, is read in blocks of at most 64 KiB, each paid
    for with the rate limit's tokens (seekable, as botocore needs for its length and retries).

    Until it is armed (just before the request is sent: the store's ``before-send`` hook)
    reads are free: over plain HTTP, SigV4 reads the whole body once to sign its hash, and
    that read must not cost the upload half its bandwidth."""

    BLOCK = 64 * 1024

    def __init__(self, data: bytes, limit: RateLimit, stop: threading.Event) -> None:
        super().__init__(data)
        self._limit = limit
        self._stop = stop
        self._armed = False

    def arm(self) -> None:
        self._armed = True

    def read(self, size: int | None = -1) -> bytes:
        if not self._armed:
            return super().read(size)
        size = self.BLOCK if size is None or size < 0 else min(size, self.BLOCK)
        block = super().read(size)
        if block:
            self._limit.take(len(block), self._stop)
        return block
