"""The SQLite index of cameras, segments, gaps and (retention-protecting) events.

Durability rules, in this order: a segment file is flushed and fsynced before its row is
committed; rows are committed with ``synchronous=FULL`` in WAL mode; a database that fails
its integrity check is moved aside, because a broken index must never be a reason to stop
recording. A missing or moved-aside database is replaced by the backup snapshot beside it
when there is one (``vigil_engine.backup``: what a restored Home Assistant backup holds),
else started empty; either way the start-up ``reconcile`` then indexes the files the
database does not know, with their exact start times. The schema changes only through the
numbered migrations of ``migrations``; an index of a newer engine is refused untouched.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from vigil_engine.backup.snapshot import restore_snapshot
from vigil_engine.detection.labels import GROUPS
from vigil_engine.events.model import EventKind, EventObject, EventRecord, new_event_id

from .migrations import check_not_newer, migrate

_LOGGER = logging.getLogger(__name__)


# A segment is protected while any range of its camera overlaps it and has not expired.
_PROTECTED = """
EXISTS (
    SELECT 1 FROM protected_ranges p
    WHERE p.camera_id = s.camera_id
      AND p.protect_start_ms < s.end_ms
      AND (p.protect_end_ms IS NULL OR p.protect_end_ms > s.start_ms)
      AND (p.keep_until_ms IS NULL OR p.keep_until_ms > :now)
)
"""


# A segment waits in the off-site archive's queue (``archive.queue``): not copied yet.
_ARCHIVE_PENDING = """
EXISTS (SELECT 1 FROM archive_queue q WHERE q.segment_id = s.id AND q.state = 'pending')
"""


@dataclass(frozen=True, slots=True)
class SegmentRecord:
    camera_id: str
    start_ms: int
    end_ms: int
    bytes: int
    path: str  # relative to the recordings folder, with '/' separators
    video_codec: str | None = None
    width: int | None = None
    height: int | None = None
    audio_codec: str | None = None
    frames: int = 0
    recovered: bool = False
    id: int | None = None
    # The file is gone from this disk (retention) and the off-site archive holds the footage.
    archived_only: bool = False

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


@dataclass(frozen=True, slots=True)
class GapRecord:
    camera_id: str
    start_ms: int
    end_ms: int
    reason: str
    id: int | None = None


class IndexCorruptError(RuntimeError):
    """The database file failed its integrity check."""


# SQLite's primary result codes that mean "this file is not a sound database". Anything else
# (read-only, cannot open, disk full, I/O error, busy) is a problem of the place, not of the
# file: setting the file aside and rebuilding would lose a good index, so those are raised.
_CORRUPTION_CODES = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB


def _is_corruption(err: Exception) -> bool:
    if isinstance(err, IndexCorruptError):
        return True
    code = getattr(err, "sqlite_errorcode", None)
    return isinstance(err, sqlite3.DatabaseError) and code is not None and code & 0xFF in _CORRUPTION_CODES


class Index:
    """Thread-safe access to the index: one connection, one lock (writes are rare)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Footage kept only in the archive plays only while an archive is configured: without one
        # (switched off, or an engine started without its options) its rows stay, for when it is
        # back, but they are not footage: listings, timelines and playback skip them.
        self.archived_only_playable = True
        self._lock = threading.RLock()
        self._conn = self._connect(path)

    @classmethod
    def open(cls, path: Path) -> tuple[Index, str | None]:
        """Open the index: restored from its backup snapshot when missing or corrupt, else rebuilt.

        Returns (index, name of the set-aside corrupt file or None).
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        restored = not path.exists() and _restore_from_snapshot(path, "missing")
        try:
            return cls(path), None
        except (sqlite3.DatabaseError, IndexCorruptError) as err:
            if not _is_corruption(err):
                raise
            aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
            _LOGGER.error("Index %s is corrupt (%s); moved to %s", path, err, aside.name)
            for suffix in ("", "-wal", "-shm"):
                candidate = Path(str(path) + suffix)
                if candidate.exists():
                    candidate.replace(Path(str(aside) + suffix))
            # A snapshot that was just restored and still fails is not tried twice.
            if restored or not _restore_from_snapshot(path, "corrupt"):
                _LOGGER.error("Rebuilding the index %s from the files on disk", path.name)
            return cls(path), aside.name

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        try:
            # Before anything is written (the journal mode is written to the file): an index
            # of a newer engine is refused untouched.
            check_not_newer(conn, path)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            check = conn.execute("PRAGMA quick_check").fetchone()
            if not check or check[0] != "ok":
                raise IndexCorruptError(str(check[0] if check else "no answer"))
            migrate(conn, path)
        except BaseException:
            conn.close()
            raise
        return conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def instance_id(self) -> str:
        """A random id made once per index: tells one engine (site) from another."""
        with self._tx() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'instance_id'").fetchone()
            if row is not None:
                return str(row[0])
            value = new_event_id()
            conn.execute("INSERT INTO meta (key, value) VALUES ('instance_id', ?)", (value,))
            return value

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _query(self, sql: str, params: dict[str, object] | tuple[object, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            cursor = self._conn.execute(sql, params)
            cursor.row_factory = sqlite3.Row
            return cursor.fetchall()

    # --- the tables of other parts (the archive's queue: ``archive.queue``) ---
    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction on the index's connection (under its lock)."""
        return self._tx()

    def query(self, sql: str, params: dict[str, object] | tuple[object, ...] = ()) -> list[sqlite3.Row]:
        """Rows (by column name) of a read on the index's connection."""
        return self._query(sql, params)

    # --- cameras ---
    def upsert_camera(self, camera_id: str, name: str, now_ms: int) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO cameras (id, name, first_seen_ms) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET name = excluded.name",
                (camera_id, name, now_ms),
            )

    def camera_ids(self) -> list[str]:
        return [row["id"] for row in self._query("SELECT id FROM cameras ORDER BY id")]

    # --- segments ---
    def add_segment(self, seg: SegmentRecord) -> int:
        with self._tx() as conn:
            cursor = conn.execute(
                "INSERT INTO segments (camera_id, start_ms, end_ms, duration_ms, bytes, path, video_codec,"
                " width, height, audio_codec, frames, recovered)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    seg.camera_id,
                    seg.start_ms,
                    seg.end_ms,
                    seg.duration_ms,
                    seg.bytes,
                    seg.path,
                    seg.video_codec,
                    seg.width,
                    seg.height,
                    seg.audio_codec,
                    seg.frames,
                    int(seg.recovered),
                ),
            )
            return int(cursor.lastrowid or 0)

    def delete_segment(self, segment_id: int) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM segments WHERE id = ?", (segment_id,))

    def segments(
        self, camera_id: str | None = None, start_ms: int | None = None, end_ms: int | None = None
    ) -> list[SegmentRecord]:
        """Segments overlapping [start_ms, end_ms), oldest first."""
        clauses: list[str] = []
        params: dict[str, object] = {}
        if camera_id is not None:
            clauses.append("camera_id = :camera")
            params["camera"] = camera_id
        if start_ms is not None:
            clauses.append("end_ms > :start")
            params["start"] = start_ms
        if end_ms is not None:
            clauses.append("start_ms < :end")
            params["end"] = end_ms
        if not self.archived_only_playable:
            clauses.append("NOT archived_only")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._query(f"SELECT * FROM segments {where} ORDER BY start_ms, id", params)
        return [_segment(row) for row in rows]

    def segment_paths(self) -> dict[str, int]:
        """Path → id of the segments whose file is on this disk (not the archived-only ones)."""
        rows = self._query("SELECT id, path FROM segments WHERE NOT archived_only")
        return {row["path"]: row["id"] for row in rows}

    def archive_object(self, segment_id: int) -> tuple[str, str] | None:
        """(object key, SHA-256) of the segment's copy in the off-site archive, if it has one."""
        rows = self._query(
            "SELECT object_key, sha256 FROM archive_queue WHERE segment_id = ? AND state = 'done'"
            " AND object_key IS NOT NULL AND sha256 IS NOT NULL",
            (segment_id,),
        )
        return (str(rows[0]["object_key"]), str(rows[0]["sha256"])) if rows else None

    def keep_archived_only(self, segment_id: int) -> None:
        """The segment's file was deleted; its footage stays playable from the archive."""
        with self._tx() as conn:
            conn.execute("UPDATE segments SET archived_only = 1 WHERE id = ?", (segment_id,))

    def drop_archived_only(self, segment_id: int) -> None:
        """The archive's copy was deleted: an archived-only segment is gone (a gap like any other)."""
        with self._tx() as conn:
            conn.execute("DELETE FROM segments WHERE id = ? AND archived_only", (segment_id,))

    def last_segment(self, camera_id: str) -> SegmentRecord | None:
        rows = self._query(
            "SELECT * FROM segments WHERE camera_id = ? ORDER BY end_ms DESC, id DESC LIMIT 1", (camera_id,)
        )
        return _segment(rows[0]) if rows else None

    def total_bytes(self) -> int:
        row = self._query("SELECT COALESCE(SUM(bytes), 0) AS total FROM segments WHERE NOT archived_only")[0]
        return int(row["total"])

    def oldest_start(self, camera_id: str | None = None, *, local: bool = False) -> int | None:
        """The start of the oldest footage that plays (``local``: of the footage on this disk)."""
        clauses = ["NOT archived_only"] if local or not self.archived_only_playable else []
        params: tuple[object, ...] = ()
        if camera_id is not None:
            clauses.append("camera_id = ?")
            params = (camera_id,)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        row = self._query(f"SELECT MIN(start_ms) AS oldest FROM segments {where}", params)[0]
        return int(row["oldest"]) if row["oldest"] is not None else None

    def expired_segments(
        self, camera_id: str, before_ms: int, now_ms: int, limit: int = 500, *, keep_unarchived: bool = False
    ) -> list[SegmentRecord]:
        """Segments of a camera that ended before ``before_ms`` and no event protects
        (``keep_unarchived``: nor waits in the off-site archive's queue)."""
        waiting = f" AND NOT {_ARCHIVE_PENDING}" if keep_unarchived else ""
        rows = self._query(
            f"SELECT * FROM segments s WHERE s.camera_id = :camera AND s.end_ms <= :before AND NOT s.archived_only"
            f" AND NOT {_PROTECTED}{waiting} ORDER BY s.start_ms LIMIT :limit",
            {"camera": camera_id, "before": before_ms, "now": now_ms, "limit": limit},
        )
        return [_segment(row) for row in rows]

    def archive_pending(self, segment_id: int) -> bool:
        """The segment waits in the off-site archive's queue (not copied yet)."""
        rows = self._query(
            "SELECT 1 FROM archive_queue WHERE segment_id = ? AND state = 'pending' LIMIT 1", (segment_id,)
        )
        return bool(rows)

    def archive_backlog(self) -> int:
        """How many segments wait in the off-site archive's queue."""
        return int(self._query("SELECT COUNT(*) AS n FROM archive_queue WHERE state = 'pending'")[0]["n"])

    def oldest_segments(self, now_ms: int, *, protected: bool, limit: int = 100) -> list[SegmentRecord]:
        """Globally oldest segments; unprotected (continuous) footage or protected (event) footage."""
        condition = _PROTECTED if protected else f"NOT {_PROTECTED}"
        rows = self._query(
            f"SELECT * FROM segments s WHERE NOT s.archived_only AND {condition}"
            " ORDER BY s.start_ms, s.id LIMIT :limit",
            {"now": now_ms, "limit": limit},
        )
        return [_segment(row) for row in rows]

    # --- gaps ---
    def add_gap(self, gap: GapRecord) -> None:
        if gap.end_ms <= gap.start_ms:
            return
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO gaps (camera_id, start_ms, end_ms, reason) VALUES (?, ?, ?, ?)",
                (gap.camera_id, gap.start_ms, gap.end_ms, gap.reason),
            )

    def gaps(
        self, camera_id: str | None = None, start_ms: int | None = None, end_ms: int | None = None
    ) -> list[GapRecord]:
        """Gaps overlapping [start_ms, end_ms), oldest first."""
        clauses: list[str] = []
        params: dict[str, object] = {}
        if camera_id is not None:
            clauses.append("camera_id = :camera")
            params["camera"] = camera_id
        if start_ms is not None:
            clauses.append("end_ms > :start")
            params["start"] = start_ms
        if end_ms is not None:
            clauses.append("start_ms < :end")
            params["end"] = end_ms
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._query(f"SELECT * FROM gaps {where} ORDER BY start_ms, id", params)
        return [GapRecord(r["camera_id"], r["start_ms"], r["end_ms"], r["reason"], r["id"]) for r in rows]

    def delete_gap(self, gap_id: int) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM gaps WHERE id = ?", (gap_id,))

    def delete_gaps_before(self, camera_id: str, before_ms: int) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM gaps WHERE camera_id = ? AND end_ms <= ?", (camera_id, before_ms))

    # --- protected ranges (events) ---
    def protect(
        self, range_id: str, camera_id: str, start_ms: int, end_ms: int | None, keep_until_ms: int | None
    ) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO protected_ranges (id, camera_id, protect_start_ms, protect_end_ms, keep_until_ms)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET protect_start_ms = excluded.protect_start_ms,"
                " protect_end_ms = excluded.protect_end_ms, keep_until_ms = excluded.keep_until_ms",
                (range_id, camera_id, start_ms, end_ms, keep_until_ms),
            )

    def unprotect(self, range_id: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM protected_ranges WHERE id = ?", (range_id,))

    # --- events ---
    def save_event(self, event: EventRecord, keep_until_ms: int | None) -> None:
        """Insert or update an event and the protected range of its footage, in one transaction."""
        protect_end = None if event.end_ms is None else event.end_ms + event.post_ms
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO events (id, camera_id, kind, start_ms, end_ms, pre_ms, post_ms, zones, peak_score,"
                " snapshot, thumbnail, label, keep_until_ms, labels, top_score)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET start_ms = excluded.start_ms, end_ms = excluded.end_ms,"
                " zones = excluded.zones, peak_score = excluded.peak_score, snapshot = excluded.snapshot,"
                " thumbnail = excluded.thumbnail, label = excluded.label, keep_until_ms = excluded.keep_until_ms,"
                " labels = excluded.labels, top_score = excluded.top_score",
                (
                    event.id,
                    event.camera_id,
                    event.kind,
                    event.start_ms,
                    event.end_ms,
                    event.pre_ms,
                    event.post_ms,
                    json.dumps(list(event.zones)),
                    event.peak_score,
                    event.snapshot,
                    event.thumbnail,
                    event.label,
                    keep_until_ms,
                    json.dumps(list(event.labels)),
                    event.top_score,
                ),
            )
            # The event's objects as they are now (an object's track grows while the event runs).
            conn.execute("DELETE FROM event_objects WHERE event_id = ?", (event.id,))
            conn.executemany(
                "INSERT INTO event_objects (event_id, object_id, label, score, start_ms, end_ms, zones, box)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        event.id,
                        obj.id,
                        obj.label,
                        obj.score,
                        obj.start_ms,
                        obj.end_ms,
                        json.dumps(list(obj.zones)),
                        json.dumps(list(obj.box)),
                    )
                    for obj in event.objects
                ],
            )
            conn.execute(
                "INSERT INTO protected_ranges (id, camera_id, protect_start_ms, protect_end_ms, keep_until_ms)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET protect_start_ms = excluded.protect_start_ms,"
                " protect_end_ms = excluded.protect_end_ms, keep_until_ms = excluded.keep_until_ms",
                (event.id, event.camera_id, event.clip_start_ms, protect_end, keep_until_ms),
            )

    def event(self, event_id: str) -> EventRecord | None:
        rows = self._query("SELECT * FROM events WHERE id = ?", (event_id,))
        return self._events(rows)[0] if rows else None

    def _events(self, rows: list[sqlite3.Row]) -> list[EventRecord]:
        """Events of these rows with their objects (one more query for all of them)."""
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        objects: dict[str, list[EventObject]] = {}
        for start in range(0, len(ids), 500):  # within SQLite's limit of bound parameters
            batch = ids[start : start + 500]
            marks = ", ".join("?" * len(batch))
            for row in self._query(
                f"SELECT * FROM event_objects WHERE event_id IN ({marks}) ORDER BY start_ms, object_id", tuple(batch)
            ):
                objects.setdefault(row["event_id"], []).append(_event_object(row))
        return [_event(row, tuple(objects.get(row["id"], ()))) for row in rows]

    def events(
        self,
        camera_id: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        zone: str | None = None,
        kind: str | None = None,
        limit: int = 50,
        before: tuple[int, str] | None = None,
        label: str | None = None,
        min_score: float | None = None,
    ) -> list[EventRecord]:
        """Events overlapping [start_ms, end_ms), newest first.

        ``before`` is a keyset cursor (start_ms, id) of the last event of the previous page.
        ``label``: events that saw it (a group, ``vehicle`` or ``animal``, stands for itself and
        its labels, so a camera's own ``vehicle`` and Vigil's ``car`` both match it);
        ``min_score``: events whose best object scored at least this.
        """
        clauses: list[str] = []
        params: dict[str, object] = {"limit": limit}
        if camera_id is not None:
            clauses.append("camera_id = :camera")
            params["camera"] = camera_id
        if start_ms is not None:
            clauses.append("(end_ms IS NULL OR end_ms > :start)")
            params["start"] = start_ms
        if end_ms is not None:
            clauses.append("start_ms < :end")
            params["end"] = end_ms
        if zone is not None:
            clauses.append("EXISTS (SELECT 1 FROM json_each(events.zones) z WHERE z.value = :zone)")
            params["zone"] = zone
        if kind is not None:
            clauses.append("kind = :kind")
            params["kind"] = kind
        if label is not None:
            names = sorted({label} | GROUPS.get(label, frozenset()))
            marks = ", ".join(f":label{n}" for n in range(len(names)))
            clauses.append(f"EXISTS (SELECT 1 FROM json_each(events.labels) l WHERE l.value IN ({marks}))")
            params.update({f"label{n}": name for n, name in enumerate(names)})
        if min_score is not None:
            clauses.append("top_score >= :min_score")
            params["min_score"] = min_score
        if before is not None:
            clauses.append("(start_ms < :before_ms OR (start_ms = :before_ms AND id < :before_id))")
            params["before_ms"], params["before_id"] = before
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._query(f"SELECT * FROM events {where} ORDER BY start_ms DESC, id DESC LIMIT :limit", params)
        return self._events(rows)

    def running_events(self) -> list[EventRecord]:
        return self._events(self._query("SELECT * FROM events WHERE end_ms IS NULL ORDER BY start_ms"))

    def expired_events(self, now_ms: int, limit: int = 500) -> list[EventRecord]:
        rows = self._query(
            "SELECT * FROM events WHERE keep_until_ms IS NOT NULL AND keep_until_ms <= ? ORDER BY start_ms LIMIT ?",
            (now_ms, limit),
        )
        return self._events(rows)

    def delete_event(self, event_id: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM events WHERE id = ?", (event_id,))
            conn.execute("DELETE FROM event_objects WHERE event_id = ?", (event_id,))
            conn.execute("DELETE FROM protected_ranges WHERE id = ?", (event_id,))

    # --- settings changed at run time ---
    def camera_settings(self, camera_id: str) -> dict[str, str]:
        rows = self._query("SELECT key, value FROM camera_settings WHERE camera_id = ?", (camera_id,))
        return {row["key"]: row["value"] for row in rows}

    def set_camera_setting(self, camera_id: str, key: str, value: str) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO camera_settings (camera_id, key, value) VALUES (?, ?, ?)"
                " ON CONFLICT (camera_id, key) DO UPDATE SET value = excluded.value",
                (camera_id, key, value),
            )


def _restore_from_snapshot(path: Path, why: str) -> bool:
    """Copy the backup snapshot into place of the ``why`` (missing or corrupt) database."""
    try:
        restored = restore_snapshot(path)
    except OSError as err:
        _LOGGER.error("Cannot restore the index %s from its backup snapshot: %s", path.name, err.strerror or err)
        return False
    if restored is None:
        return False
    _LOGGER.warning(
        "Index %s was %s: restored from the backup snapshot %s taken %s; footage recorded since is"
        " indexed from the files",
        path.name,
        why,
        restored.path.name,
        restored.taken_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
    )
    return True


def _event(row: sqlite3.Row, objects: tuple[EventObject, ...] = ()) -> EventRecord:
    return EventRecord(
        id=row["id"],
        camera_id=row["camera_id"],
        kind=cast(EventKind, row["kind"]),
        start_ms=row["start_ms"],
        end_ms=row["end_ms"],
        pre_ms=row["pre_ms"],
        post_ms=row["post_ms"],
        zones=tuple(json.loads(row["zones"])),
        peak_score=row["peak_score"],
        snapshot=row["snapshot"],
        thumbnail=row["thumbnail"],
        label=row["label"],
        labels=tuple(json.loads(row["labels"])),
        top_score=row["top_score"],
        objects=objects,
    )


def _event_object(row: sqlite3.Row) -> EventObject:
    x1, y1, x2, y2 = (float(value) for value in json.loads(row["box"]))
    return EventObject(
        id=row["object_id"],
        label=row["label"],
        score=row["score"],
        start_ms=row["start_ms"],
        end_ms=row["end_ms"],
        zones=tuple(json.loads(row["zones"])),
        box=(x1, y1, x2, y2),
    )


def _segment(row: sqlite3.Row) -> SegmentRecord:
    return SegmentRecord(
        camera_id=row["camera_id"],
        start_ms=row["start_ms"],
        end_ms=row["end_ms"],
        bytes=row["bytes"],
        path=row["path"],
        video_codec=row["video_codec"],
        width=row["width"],
        height=row["height"],
        audio_codec=row["audio_codec"],
        frames=row["frames"],
        recovered=bool(row["recovered"]),
        id=row["id"],
        archived_only=bool(row["archived_only"]),
    )
