"""Taking, removing and restoring the index's backup snapshot (``<database>.backup``).

See the package docstring for how the Supervisor's ``backup_pre``/``backup_post`` and
``backup_exclude`` use these. Every write here is crash-safe: a snapshot is built under
``<database>.backup.partial`` and renamed into place only once it is complete, checked and
fsynced; a restored database is copied the same way, so a power cut at any moment leaves
either the old state or the new one, never half of a file under the real name.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_LOGGER = logging.getLogger(__name__)

SNAPSHOT_SUFFIX = ".backup"
PARTIAL_SUFFIX = ".partial"
# The live database's companions: WAL, shared memory, rollback journal.
COMPANION_SUFFIXES = ("-wal", "-shm", "-journal")
# How long the snapshot waits for a lock (the engine holds write locks for milliseconds).
_BUSY_TIMEOUT_S = 30.0


class SnapshotError(Exception):
    """A snapshot could not be taken or removed; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    path: Path
    bytes: int
    seconds: float


@dataclass(frozen=True, slots=True)
class RestoredSnapshot:
    path: Path
    taken_at: datetime


def snapshot_path(database: Path) -> Path:
    """Where the snapshot of ``database`` lives: beside it, ``<name>.backup``."""
    return database.with_name(database.name + SNAPSHOT_SUFFIX)


def take_snapshot(database: Path) -> Snapshot | None:
    """Write a consistent, checked copy of ``database`` to :func:`snapshot_path`.

    Returns None when there is no database yet (nothing to protect). The live database is
    opened read-only and read in a single transaction; the engine keeps writing meanwhile.
    """
    if not database.is_file():
        return None
    target = snapshot_path(database)
    partial = target.with_name(target.name + PARTIAL_SUFFIX)
    started = time.monotonic()
    try:
        partial.unlink(missing_ok=True)
        _copy_consistently(database, partial)
        _fsync(partial)
        partial.replace(target)
        _fsync(target.parent)
        size = target.stat().st_size
    except sqlite3.Error as err:
        _discard(partial)
        raise SnapshotError(f"cannot snapshot the index {database}: {err}") from None
    except OSError as err:
        _discard(partial)
        raise SnapshotError(f"cannot write the snapshot {target}: {err.strerror or err}") from None
    return Snapshot(path=target, bytes=size, seconds=time.monotonic() - started)


def remove_snapshot(database: Path) -> Path | None:
    """Remove the snapshot once a backup is done; returns its path if one was removed.

    Without the live database the snapshot is the only copy of the index (a restore the
    engine has not started on yet), so it is kept.
    """
    target = snapshot_path(database)
    _discard(target.with_name(target.name + PARTIAL_SUFFIX))
    if not target.exists() or not database.is_file():
        return None
    try:
        target.unlink()
        _fsync(target.parent)
    except OSError as err:
        raise SnapshotError(f"cannot remove the snapshot {target}: {err.strerror or err}") from None
    return target


def restore_snapshot(database: Path) -> RestoredSnapshot | None:
    """Put the snapshot in place of a missing ``database``; None if there is no usable one.

    The caller has made sure that ``database`` does not exist (a restore, or a corrupt file
    moved aside). WAL and shared-memory files left without their database would be applied
    to the restored copy by SQLite, so they are removed first.
    """
    source = snapshot_path(database)
    if not source.is_file():
        return None
    problem = _check(source)
    if problem is not None:
        _LOGGER.error("The index's backup snapshot %s is damaged (%s): not used", source.name, problem)
        return None
    for suffix in COMPANION_SUFFIXES:
        orphan = Path(str(database) + suffix)
        if orphan.exists():
            _LOGGER.warning("Removing %s: it belongs to no database", orphan.name)
            orphan.unlink()
    restoring = database.with_name(database.name + ".restoring")
    shutil.copyfile(source, restoring)
    _fsync(restoring)
    restoring.replace(database)
    _fsync(database.parent)
    return RestoredSnapshot(path=source, taken_at=datetime.fromtimestamp(source.stat().st_mtime, tz=UTC))


def _copy_consistently(database: Path, target: Path) -> None:
    source = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=_BUSY_TIMEOUT_S)
    try:
        copy = sqlite3.connect(target, isolation_level=None)
        try:
            # No journal while the copy is built (a crash leaves a partial file, discarded
            # next time); afterwards a plain rollback-journal database: one self-contained
            # file, which restores without WAL files.
            copy.execute("PRAGMA journal_mode=OFF")
            source.backup(copy)  # all pages in one step: one read transaction, one instant
            copy.execute("PRAGMA journal_mode=DELETE")
            check = [row[0] for row in copy.execute("PRAGMA integrity_check").fetchall()]
            if check != ["ok"]:
                raise sqlite3.DatabaseError(f"the copy fails its integrity check: {'; '.join(check[:3])}")
        finally:
            copy.close()
    finally:
        source.close()


def _check(path: Path) -> str | None:
    """None if ``path`` is an intact SQLite database, else what is wrong with it."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as err:
        return str(err)
    try:
        rows = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
    except sqlite3.Error as err:
        return str(err)
    finally:
        conn.close()
    return None if rows == ["ok"] else "; ".join(rows[:3])


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
