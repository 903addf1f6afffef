"""One Vigil process at a time on a storage folder: an advisory lock on ``<storage>/.vigil.lock``.

The engine holds it while it runs, and ``archive restore`` for its run: two processes writing
the same index and recordings would each take the other's files for orphans or lost ones.
``flock`` locks end with the process that held them (``kill -9`` included), so a crash never
leaves a stale lock behind; the file stays, holding the last holder's pid for the message.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

FILE_NAME = ".vigil.lock"


class StorageInUseError(OSError):
    """Another process holds the storage's lock (``filename`` is the lock file)."""


class StorageLock:
    def __init__(self, storage: Path) -> None:
        self.path = storage / FILE_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`StorageInUseError` naming the holder's pid."""
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", errors="replace").strip() or "unknown"
            os.close(fd)
            raise StorageInUseError(
                errno.EBUSY, f"in use by another Vigil process (pid {holder})", str(self.path)
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None
