"""What a segment file holds as it is written: its fragments, logged the moment they are complete.

Live HLS (``live``, ``vigil_engine.api.live``) serves the fragments of the segment being
written, and only complete ones: never a ``moof`` or ``mdat`` the muxer is still appending.
When a fragment is complete is known only inside FFmpeg. The MP4 muxer writes a fragment when
the next one starts (at the next video keyframe, or once it holds ``FRAGMENT_MAX_BYTES``), and
interleaving holds that keyframe back until the audio packet after it arrives: the fragment
reaches the file tens of milliseconds after the keyframe that ends it, during some later
``mux`` call. Watching the file's size after every ``mux`` would cost a system call per packet.

So the writer hands the muxer a file object (:class:`TrackedFile`) instead of a path. FFmpeg
calls its ``write`` only when it flushes what it holds (the header, each fragment, a full
32 KiB buffer), never per packet, and the file object follows the top-level boxes across those
writes: a fragment is logged (:class:`SegmentLog`) with where it lies and its ``moof`` as soon
as its last byte is in the file. Nothing is read back from the disk.

The recording thread writes the log; API threads read it (``view``) under the log's lock,
taken once per flush and once per keyframe, never per packet.
"""

from __future__ import annotations

import errno
import itertools
import logging
import os
import struct
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import ClassVar

_LOGGER = logging.getLogger(__name__)

_HEADER = struct.Struct(">I4s")
# How much of one segment the log keeps: enough for the live window and for the players that
# still fetch what an earlier playlist listed; a long segment's oldest fragments drop out.
MAX_FRAGMENTS = 256
MAX_MARKS = 128
# Keyframes closer together than this start no new part (a stream of keyframes only would
# otherwise make parts of one frame each).
MIN_PART_SECONDS = Fraction(1, 2)
# The init (ftyp + moov) and each moof are kept in memory; anything larger is not a Vigil segment.
MAX_KEPT_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Fragment:
    """One complete ``moof`` + ``mdat`` pair of a segment file."""

    offset: int  # of the moof
    moof: bytes
    mdat_offset: int
    mdat_size: int

    @property
    def end(self) -> int:
        return self.mdat_offset + self.mdat_size


@dataclass(frozen=True, slots=True)
class Mark:
    """A keyframe that starts a live part: its sequence number and its decode time in the segment.

    ``offset`` is in the recorded stream's time base, counted from the segment's first keyframe
    (the file's decode time zero).
    """

    sequence: int
    offset: int


@dataclass(frozen=True, slots=True)
class SegmentView:
    """A segment's log at one instant, safe to read from any thread."""

    path: Path
    start_ms: int
    session: int
    discontinuity: int  # live parts with different numbers do not follow each other in time
    time_base: Fraction  # of the marks' offsets
    init: bytes  # ftyp + moov, empty until the first fragment is written
    fragments: tuple[Fragment, ...]
    marks: tuple[Mark, ...]
    end_offset: int | None  # where the last part ends, once the segment is closed (None if aborted)
    closed: bool


class SegmentLog:
    """The complete fragments and the part boundaries (keyframes) of one segment file."""

    def __init__(self, path: Path, start_ms: int, time_base: Fraction, sequence: Callable[[], int]) -> None:
        self.path = path
        self.start_ms = start_ms
        self.time_base = time_base
        self.session = 0
        self.discontinuity = 0
        self._next_sequence = sequence
        self._lock = threading.Lock()
        self._init = b""
        self._fragments: deque[Fragment] = deque(maxlen=MAX_FRAGMENTS)
        self._marks: deque[Mark] = deque(maxlen=MAX_MARKS)
        self._min_gap = max(1, round(MIN_PART_SECONDS / time_base))
        self._last_mark = -self._min_gap
        self.marks = 0  # how many parts were started (read without the lock: an int)
        self._end_offset: int | None = None
        self._closed = False
        self.mark(0)

    # --- the recording thread ---
    def mark(self, offset: int) -> None:
        """A keyframe at ``offset`` was handed to the muxer: a part starts there (unless too close)."""
        if offset - self._last_mark < self._min_gap:
            return
        self._last_mark = offset
        mark = Mark(self._next_sequence(), offset)
        with self._lock:
            self._marks.append(mark)
        self.marks += 1

    def started(self, init: bytes) -> None:
        with self._lock:
            self._init = init

    def fragment(self, fragment: Fragment) -> None:
        with self._lock:
            self._fragments.append(fragment)

    def close(self, end_offset: int | None) -> None:
        """The file is finished (``end_offset``: where its footage ends) or abandoned (None)."""
        with self._lock:
            self._end_offset = end_offset
            self._closed = True

    # --- any thread ---
    @property
    def end_ms(self) -> int | None:
        """Where the footage of a finished segment ends (None while open or if abandoned)."""
        end = self._end_offset
        if end is None:
            return None
        return self.start_ms + round(end * self.time_base * 1000)

    def view(self) -> SegmentView:
        with self._lock:
            return SegmentView(
                path=self.path,
                start_ms=self.start_ms,
                session=self.session,
                discontinuity=self.discontinuity,
                time_base=self.time_base,
                init=self._init,
                fragments=tuple(self._fragments),
                marks=tuple(self._marks),
                end_offset=self._end_offset,
                closed=self._closed,
            )


class TrackedFile:
    """The segment file as the muxer's output: writes it, and logs each box as it completes.

    Seeks are passed through (the muxer may patch a size it wrote earlier, as it would in a
    file it opened itself); the log follows only what is appended. A box the log cannot follow
    (a header whose size is not final when it is flushed, an ``mdat`` before any ``moof``) ends
    the log for this file: live view skips the rest of the segment, recording is not affected.
    """

    error_logged: ClassVar[bool] = False

    def __init__(self, path: Path, log: SegmentLog) -> None:
        self._raw = open(path, "wb", buffering=0)  # noqa: SIM115 - closed by release()
        self._log = log
        self._pos = 0  # where the next write goes
        self._end = 0  # bytes appended so far
        self._lost = False
        # The top-level box being received: its header bytes until they are all here, then
        # its kind, size and how much of it has arrived; its bytes are kept while the init
        # (everything before the first moof) is read, and for each moof.
        self._head = bytearray()
        self._kind = ""
        self._next = 0  # where the next box starts
        self._at = 0
        self._size = 0
        self._seen = 0
        self._keep: bytearray | None = None
        self._init: bytearray | None = bytearray()
        self._moof: tuple[int, bytes] | None = None

    # --- the file object PyAV writes to ---
    def write(self, data: bytes) -> int:
        view = memoryview(data)
        written = 0
        while written < len(view):
            count = self._raw.write(view[written:])
            if not count:
                raise OSError(errno.EIO, "the segment file took no bytes")
            written += count
        start = self._pos
        self._pos += written
        if start == self._end:
            self._end = self._pos
            if not self._lost:
                self._follow_safely(view)
        elif self._pos > self._end:
            self._end = self._pos
            self._lose("a write overlapped the end of the file")
        return written

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        self._pos = self._raw.seek(offset, whence)
        return self._pos

    def tell(self) -> int:
        return self._pos

    # --- the writer ---
    def sync(self) -> None:
        os.fsync(self._raw.fileno())

    def release(self) -> None:
        self._raw.close()

    # --- following the boxes: once per flush, never per packet ---
    def _follow_safely(self, data: memoryview) -> None:
        """``_follow``, which must never cost footage: an error in it ends the log, not the write."""
        try:
            self._follow(data)
        except Exception:  # the bytes are written; only live view of this file is lost
            if not TrackedFile.error_logged:  # one traceback per process, not one per segment
                TrackedFile.error_logged = True
                _LOGGER.exception("%s: live view cannot follow the segment file", self._log.path.name)
            self._lose("an internal error")

    def _follow(self, data: memoryview) -> None:
        used, total = 0, len(data)
        while used < total:
            if not self._kind:
                want = 16 if len(self._head) >= 8 and self._head[:4] == b"\0\0\0\1" else 8
                take = min(want - len(self._head), total - used)
                self._head += data[used : used + take]
                used += take
                if len(self._head) == want and not self._header():
                    return
                continue
            take = min(self._size - self._seen, total - used)
            if self._keep is not None:
                self._keep += data[used : used + take]
            self._seen += take
            used += take
            if self._seen == self._size:
                self._complete()

    def _header(self) -> bool:
        """Read a complete header (False: the log cannot follow this file any further)."""
        size, raw = _HEADER.unpack_from(self._head, 0)
        if size == 1 and len(self._head) == 8:
            return True  # a 64-bit size follows
        if size == 1:
            size = struct.unpack_from(">Q", self._head, 8)[0]
        kind = raw.decode("latin-1")
        kept = kind == "moof" or self._init is not None
        if size < len(self._head) or (kept and size > MAX_KEPT_BYTES):
            self._lose(f"a {kind!r} box of {size} bytes")
            return False
        if kind == "mdat" and self._init is not None:
            self._lose("media data before the first fragment")
            return False
        self._kind, self._at, self._size, self._seen = kind, self._next, size, len(self._head)
        self._keep = bytearray(self._head) if kept else None
        self._head.clear()
        if self._seen == self._size:
            self._complete()
        return True

    def _complete(self) -> None:
        kind, at, size, kept = self._kind, self._at, self._size, self._keep
        self._kind, self._keep, self._next = "", None, at + size
        if kind == "moof":
            if self._init is not None:
                self._log.started(bytes(self._init))
                self._init = None
            assert kept is not None
            self._moof = (at, bytes(kept))
        elif kind == "mdat":
            if self._moof is not None:
                moof_at, moof = self._moof
                self._log.fragment(Fragment(moof_at, moof, at, size))
            self._moof = None
        elif self._init is not None:
            assert kept is not None
            self._init += kept
        else:
            self._moof = None  # a box between moof and mdat, or after them (mfra): nothing to log

    def _lose(self, why: str) -> None:
        self._lost = True
        self._head.clear()
        self._keep = self._init = None
        _LOGGER.debug("%s: live view stops following the file: %s", self._log.path.name, why)


def sequence_from(first: int) -> Callable[[], int]:
    """Consecutive numbers from ``first``: the media sequence numbers of one camera's live parts."""
    return itertools.count(first).__next__
