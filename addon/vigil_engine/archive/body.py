"""The bytes of an object, read a part at a time, and the upload bandwidth cap.

An object is the segment file as it is, or its encryption (``crypto``). Either way a part is
read when it is sent, into one buffer the uploader keeps and reuses (a part's size: 8 MiB by
default), so a segment never sits whole in memory and no request allocates its body anew: a
fresh buffer of megabytes per request costs a page fault per 4 KiB, which was a third of the
encrypted uploads' CPU. :class:`ThrottledBody` hands those bytes to the HTTP client in small
blocks at the configured rate, and stops an upload at once when the engine stops (the request
fails; the queue keeps the segment for the next start).
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

    def read_into(self, offset: int, out: memoryview) -> int:
        """Fill ``out`` with the object's bytes from ``offset`` (fewer at its end); how many."""
        ...


class _Body:
    size: int

    def read_into(self, offset: int, out: memoryview) -> int:
        raise NotImplementedError

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset`` in a buffer of their own (tests, small reads)."""
        buffer = bytearray(max(0, min(length, self.size - offset)))
        return bytes(buffer[: self.read_into(offset, memoryview(buffer))])


def _read_exactly(file: io.BufferedReader, out: memoryview) -> int:
    done = 0
    while done < len(out) and (got := file.readinto(out[done:])):
        done += got
    return done


class PlainBody(_Body):
    """The segment file as it is."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = path.stat().st_size

    def read_into(self, offset: int, out: memoryview) -> int:
        with self.path.open("rb") as file:
            file.seek(offset)
            return _read_exactly(file, out[: max(0, self.size - offset)])


class EncryptedBody(_Body):
    """The segment's encryption (see ``crypto``), computed for the bytes asked for only."""

    def __init__(self, path: Path, key: bytes, salt: bytes, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.path = path
        self.plain_size = path.stat().st_size
        self.size = encrypted_size(self.plain_size, chunk_bytes)
        self._encryptor = ChunkEncryptor(key, salt, chunk_bytes)
        self._chunks = max(1, -(-self.plain_size // chunk_bytes))
        self._plain = bytearray(chunk_bytes)  # one chunk's plaintext, reused
        self._partial: tuple[int, bytearray] | None = None  # a chunk a part boundary cuts: the next part starts in it

    def _seal(self, index: int, file: io.BufferedReader, out: memoryview) -> int:
        """Encrypt chunk ``index`` into ``out`` (its sealed size); how many bytes that is."""
        chunk_bytes = self._encryptor.chunk_bytes
        file.seek(index * chunk_bytes)
        size = _read_exactly(file, memoryview(self._plain)[: min(chunk_bytes, self.plain_size - index * chunk_bytes)])
        self._encryptor.encrypt_into(index, memoryview(self._plain)[:size], index == self._chunks - 1, out)
        return size + TAG_BYTES

    def read_into(self, offset: int, out: memoryview) -> int:
        end = min(offset + len(out), self.size)
        written = 0
        if offset < HEADER_BYTES:
            header = self._encryptor.header[offset:end]
            out[: len(header)] = header
            written = len(header)
        sealed_size = self._encryptor.chunk_bytes + TAG_BYTES
        position = max(offset, HEADER_BYTES)
        if position >= end:
            return written
        with self.path.open("rb") as file:
            while position < end:
                index, within = divmod(position - HEADER_BYTES, sealed_size)
                length = min(sealed_size, self.size - (HEADER_BYTES + index * sealed_size))
                if within == 0 and position + length <= end:
                    # A whole chunk: sealed straight into the part's buffer.
                    self._seal(index, file, out[written : written + length])
                    taken = length
                else:
                    # A part starts or ends inside this chunk: seal it aside, copy the piece.
                    if self._partial is None or self._partial[0] != index:
                        self._partial = (index, bytearray(sealed_size))
                        self._seal(index, file, memoryview(self._partial[1]))
                    taken = min(length - within, end - position)
                    out[written : written + taken] = memoryview(self._partial[1])[within : within + taken]
                written += taken
                position += taken
        return written


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


class ThrottledBody:
    """A request body over the part's buffer, read by the store's client in blocks of at most
    64 KiB as it sends them, each paid for with the rate limit's tokens (sized, and seekable for
    a request sent again)."""

    BLOCK = 64 * 1024

    def __init__(self, data: bytes | bytearray | memoryview, limit: RateLimit, stop: threading.Event) -> None:
        self._data = memoryview(data)
        self._position = 0
        self._limit = limit
        self._stop = stop

    def __len__(self) -> int:
        return len(self._data)

    def seek(self, offset: int) -> None:
        self._position = min(max(0, offset), len(self._data))

    def read(self, size: int = BLOCK) -> bytes:
        size = min(size, self.BLOCK, len(self._data) - self._position)
        block = bytes(self._data[self._position : self._position + size])
        self._position += len(block)
        if block:
            self._limit.take(len(block), self._stop)
        return block
