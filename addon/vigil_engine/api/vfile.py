"""A file made of pieces: bytes built in memory and byte ranges of segment files on disk.

Clips and HLS media segments are never written out: their headers are built in memory and
their media data are ranges of the recorded segments. Because the whole layout (and so the
size) is known before the first byte is sent, any byte range can be served at once: HTTP
``Range`` requests (a browser seeking in a clip) cost no more than the bytes they ask for.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class FileRange:
    path: Path
    offset: int
    length: int


Part = bytes | FileRange


@dataclass(slots=True)
class VirtualFile:
    parts: list[Part]
    size: int = 0
    etag: str = ""
    _starts: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, parts: Sequence[Part], identity: str) -> VirtualFile:
        merged: list[Part] = []
        for part in parts:
            length = len(part) if isinstance(part, bytes) else part.length
            if length == 0:
                continue
            last = merged[-1] if merged else None
            if (
                isinstance(part, FileRange)
                and isinstance(last, FileRange)
                and last.path == part.path
                and last.offset + last.length == part.offset
            ):
                merged[-1] = FileRange(part.path, last.offset, last.length + part.length)
            elif isinstance(part, bytes) and isinstance(last, bytes):
                merged[-1] = last + part
            else:
                merged.append(part)
        starts: list[int] = []
        size = 0
        for part in merged:
            starts.append(size)
            size += len(part) if isinstance(part, bytes) else part.length
        etag = hashlib.blake2b(f"{identity}:{size}".encode(), digest_size=12).hexdigest()
        return cls(parts=merged, size=size, etag=f'"{etag}"', _starts=starts)

    def pieces(self, start: int, end: int) -> Iterator[Part]:
        """The parts (cut to size) that cover bytes ``[start, end)``."""
        for part, part_start in zip(self.parts, self._starts, strict=True):
            length = len(part) if isinstance(part, bytes) else part.length
            part_end = part_start + length
            if part_end <= start:
                continue
            if part_start >= end:
                return
            lo = max(start, part_start) - part_start
            hi = min(end, part_end) - part_start
            if isinstance(part, bytes):
                yield part[lo:hi]
            else:
                yield FileRange(part.path, part.offset + lo, hi - lo)

    async def stream(self, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes ``[start, end)``, read from disk in chunks of at most 1 MiB (off the event loop)."""
        end = self.size if end is None else end
        for piece in self.pieces(start, end):
            if isinstance(piece, bytes):
                yield piece
                continue
            fd = await asyncio.to_thread(os.open, piece.path, os.O_RDONLY)
            try:
                done = 0
                while done < piece.length:
                    want = min(CHUNK, piece.length - done)
                    data = await asyncio.to_thread(os.pread, fd, want, piece.offset + done)
                    if len(data) != want:
                        raise OSError(f"{piece.path.name} is shorter than indexed")
                    done += want
                    yield data
            finally:
                os.close(fd)

    def write_to(self, path: Path) -> None:
        """Write the whole file to ``path`` (benchmarks, exports): ``copy_file_range`` for the media."""
        out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            for piece in self.parts:
                if isinstance(piece, bytes):
                    os.write(out, piece)
                    continue
                src = os.open(piece.path, os.O_RDONLY)
                try:
                    offset, left = piece.offset, piece.length
                    while left > 0:
                        copied = os.copy_file_range(src, out, left, offset)
                        if copied <= 0:
                            raise OSError(f"{piece.path.name} is shorter than indexed")
                        offset += copied
                        left -= copied
                finally:
                    os.close(src)
        finally:
            os.close(out)

    def read_all(self) -> bytes:
        """The whole file in memory (tests, small files)."""
        chunks: list[bytes] = []
        for piece in self.parts:
            if isinstance(piece, bytes):
                chunks.append(piece)
            else:
                with piece.path.open("rb") as handle:
                    handle.seek(piece.offset)
                    chunks.append(handle.read(piece.length))
        return b"".join(chunks)
