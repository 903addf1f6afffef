"""Reads of the index for the API's heavier answers, on a database connection of their own.

The index (``storage.index.Index``) has one connection behind one lock, which the recording
threads take to index each finished segment: a query that holds it for tens of milliseconds
(a day of 8,640 segments) would hold up a camera's thread for as long. In WAL mode readers and
the writer do not wait for each other, so these queries use a second connection, read-only
(``query_only``), behind a lock of their own. They fetch only the columns they need, as plain
tuples.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

# Segments of a camera never overlap (a new one starts where the last ended), so at most one
# that starts before a range reaches into it; a few are looked at, for files indexed at start-up.
_BEFORE = 4


class IndexReader:
    """Read-only queries of the index database at ``path`` (thread-safe; the connection opens on first use)."""

    def __init__(self, path: Path, *, archived_only: bool = True) -> None:
        self.path = path
        # Whether footage kept only in the archive counts (``Index.archived_only_playable``).
        self._only_local = "" if archived_only else " AND NOT archived_only"
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
            conn.execute("PRAGMA query_only = ON")
            self._conn = conn
        return self._conn

    def spans(self, camera_id: str, start_ms: int, end_ms: int) -> list[tuple[int, int]]:
        """(start, end) of the camera's segments overlapping ``[start_ms, end_ms)``, oldest first."""
        with self._lock:
            conn = self._connection()
            before = conn.execute(
                f"SELECT start_ms, end_ms FROM segments WHERE camera_id = ? AND start_ms < ?{self._only_local}"
                " ORDER BY start_ms DESC LIMIT ?",
                (camera_id, start_ms, _BEFORE),
            ).fetchall()
            within = conn.execute(
                "SELECT start_ms, end_ms FROM segments WHERE camera_id = ? AND start_ms >= ? AND start_ms < ?"
                f"{self._only_local} ORDER BY start_ms",
                (camera_id, start_ms, end_ms),
            ).fetchall()
        reaching = sorted((a, b) for a, b in before if b > start_ms)
        return reaching + within

    def gaps(self, camera_id: str, start_ms: int, end_ms: int) -> list[tuple[int, int, str]]:
        """(start, end, reason) of the camera's recorded gaps overlapping ``[start_ms, end_ms)``, oldest first."""
        with self._lock:
            rows = (
                self._connection()
                .execute(
                    "SELECT start_ms, end_ms, reason FROM gaps WHERE camera_id = ? AND start_ms < ? AND end_ms > ?"
                    " ORDER BY start_ms, id",
                    (camera_id, end_ms, start_ms),
                )
                .fetchall()
            )
        return [(int(a), int(b), str(reason)) for a, b, reason in rows]

    def first_footage(self, camera_id: str) -> int | None:
        """The start of the camera's oldest indexed footage."""
        with self._lock:
            row = self._connection().execute(
                f"SELECT MIN(start_ms) FROM segments WHERE camera_id = ?{self._only_local}", (camera_id,)
            )
            value = row.fetchone()[0]
        return int(value) if value is not None else None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
