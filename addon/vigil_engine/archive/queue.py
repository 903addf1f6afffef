"""The archive's durable queue, in the index (table ``archive_queue``, migration 4).

A segment enters the queue once it is closed, fsynced and indexed, if its camera's archive
copies it: every segment (``all``) or those an event protects (``events``: the segment
overlaps an event's range, pre and post capture included). Queueing works from the index,
not from a message, so nothing is missed across a crash or restart: each pass takes the
segments indexed since the last pass (a watermark on the segment id, kept in ``meta``) and,
for ``events``, the segments overlapping the ranges of recent events, which catches footage
closed before its event was known (pre-capture). Footage recorded before the archive was
first enabled is not queued.

Each row keeps what a restart needs: attempts and the next attempt's time, the multipart
upload id with the parts the store confirmed (number and ETag), and the encryption salt.
Copied rows stay (state ``done``, with their object key) for remote retention; a segment
deleted locally before it was copied becomes ``gone``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vigil_engine.storage.index import Index

PENDING = "pending"
DONE = "done"
GONE = "gone"  # the local file was deleted before it was archived
FAILED = "failed"  # gave up after too many attempts (the log and the state say why)

_FROM = "archive_from_segment_id"  # segments after this one may be archived
_SCANNED = "archive_scanned_segment_id"  # segments up to this one were considered for 'all'
_LAST_DONE = "archive_last_done_ms"  # when the newest copy was confirmed (the status after a restart)
# How far back a pass looks for events whose footage may still need queueing (pre-capture is at
# most two minutes; an event's range grows while it runs). At start, every event is looked at.
RECENT_EVENTS_MS = 3_600_000
_NO_END = 2**62
_COLUMNS = "segment_id, camera_id, path, start_ms, end_ms, bytes, queued_ms"
# A row of the same id for another segment (SQLite reused a deleted segment's id) is that
# segment's no longer: it starts over for the new one. A row of the same segment stays as it is.
_UPSERT = """
 ON CONFLICT (segment_id) DO UPDATE SET camera_id = excluded.camera_id, path = excluded.path,
 start_ms = excluded.start_ms, end_ms = excluded.end_ms, bytes = excluded.bytes, queued_ms = excluded.queued_ms,
 state = 'pending', attempts = 0, next_attempt_ms = 0, object_key = NULL, upload_id = NULL, parts = '[]',
 bytes_sent = 0, salt = NULL, sha256 = NULL, done_ms = NULL, last_error = NULL
 WHERE archive_queue.path != excluded.path OR archive_queue.start_ms != excluded.start_ms
"""


@dataclass(frozen=True, slots=True)
class QueueItem:
    segment_id: int
    camera_id: str
    path: str
    start_ms: int
    end_ms: int
    size: int
    attempts: int
    object_key: str | None
    upload_id: str | None
    parts: dict[int, str]
    salt: bytes | None


class ArchiveQueue:
    def __init__(self, index: Index) -> None:
        self.index = index

    def _meta(self, key: str) -> int | None:
        rows = self.index.query("SELECT value FROM meta WHERE key = ?", (key,))
        return int(rows[0]["value"]) if rows else None

    def begin(self) -> None:
        """Mark where archiving starts, the first time it is enabled: after the newest segment."""
        if self._meta(_FROM) is not None:
            return
        with self.index.transaction() as conn:
            newest = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM segments").fetchone()[0])
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (_FROM, str(newest)))
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (_SCANNED, str(newest)))

    def enqueue(self, copy_all: list[str], copy_events: list[str], now_ms: int, *, events_since_ms: int | None) -> int:
        """Queue the segments the cameras' archive settings copy; how many were added.

        ``events_since_ms``: look at events whose range ended after this (None: every event).
        Segments of the last hour are looked at again by their time as well as by the
        watermark: SQLite gives a new row the id of a deleted newest one (a segment whose file
        was gone at start-up), and such a segment must still be queued."""
        first = self._meta(_FROM) or 0
        scanned = self._meta(_SCANNED) or first
        newest = int(self.index.query("SELECT COALESCE(MAX(id), 0) AS newest FROM segments")[0]["newest"])
        recent = now_ms - RECENT_EVENTS_MS
        added = 0
        with self.index.transaction() as conn:
            if copy_all:
                marks = ", ".join("?" * len(copy_all))
                added += conn.execute(
                    f"INSERT INTO archive_queue ({_COLUMNS})"
                    f" SELECT id, camera_id, path, start_ms, end_ms, bytes, ? FROM segments"
                    f" WHERE camera_id IN ({marks}) AND id > ? AND (id > ? OR start_ms > ?){_UPSERT}",
                    (now_ms, *copy_all, first, scanned, recent),
                ).rowcount
            if copy_events:
                marks = ", ".join("?" * len(copy_events))
                added += conn.execute(
                    f"INSERT INTO archive_queue ({_COLUMNS})"
                    f" SELECT DISTINCT s.id, s.camera_id, s.path, s.start_ms, s.end_ms, s.bytes, ?"
                    f" FROM protected_ranges p JOIN segments s ON s.camera_id = p.camera_id"
                    f" AND s.start_ms < COALESCE(p.protect_end_ms, {_NO_END}) AND s.end_ms > p.protect_start_ms"
                    f" WHERE s.id > ? AND p.camera_id IN ({marks})"
                    f" AND (p.protect_end_ms IS NULL OR p.protect_end_ms > ?){_UPSERT}",
                    (now_ms, first, *copy_events, -1 if events_since_ms is None else events_since_ms),
                ).rowcount
            if newest > scanned:
                conn.execute("UPDATE meta SET value = ? WHERE key = ?", (str(newest), _SCANNED))
        return max(added, 0)

    def next_due(self, now_ms: int) -> QueueItem | None:
        """The next segment to upload: an upload in progress first, then the oldest footage."""
        rows = self.index.query(
            "SELECT * FROM archive_queue WHERE state = ? AND next_attempt_ms <= ?"
            " ORDER BY upload_id IS NULL, start_ms, segment_id LIMIT 1",
            (PENDING, now_ms),
        )
        if not rows:
            return None
        row = rows[0]
        return QueueItem(
            segment_id=row["segment_id"],
            camera_id=row["camera_id"],
            path=row["path"],
            start_ms=row["start_ms"],
            end_ms=row["end_ms"],
            size=row["bytes"],
            attempts=row["attempts"],
            object_key=row["object_key"],
            upload_id=row["upload_id"],
            parts={int(number): str(etag) for number, etag in json.loads(row["parts"])},
            salt=bytes.fromhex(row["salt"]) if row["salt"] else None,
        )

    def _update(self, segment_id: int, **values: object) -> None:
        assignments = ", ".join(f"{column} = ?" for column in values)
        with self.index.transaction() as conn:
            conn.execute(f"UPDATE archive_queue SET {assignments} WHERE segment_id = ?", (*values.values(), segment_id))

    def set_salt(self, segment_id: int, salt: bytes) -> None:
        self._update(segment_id, salt=salt.hex())

    def begin_multipart(self, segment_id: int, key: str, upload_id: str) -> None:
        self._update(segment_id, object_key=key, upload_id=upload_id, parts="[]", bytes_sent=0)

    def set_parts(self, segment_id: int, parts: dict[int, str], bytes_sent: int) -> None:
        """The parts the store holds (confirmed by their ETags), committed after each one."""
        self._update(segment_id, parts=json.dumps(sorted(parts.items())), bytes_sent=bytes_sent)

    def forget_upload(self, segment_id: int) -> None:
        """The store no longer knows the upload: start the object anew."""
        self._update(segment_id, upload_id=None, parts="[]", bytes_sent=0)

    def done(self, segment_id: int, key: str, sha256: str, now_ms: int) -> None:
        with self.index.transaction() as conn:
            conn.execute(
                "UPDATE archive_queue SET state = ?, object_key = ?, sha256 = ?, done_ms = ?, upload_id = NULL,"
                " last_error = NULL WHERE segment_id = ?",
                (DONE, key, sha256, now_ms, segment_id),
            )
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (_LAST_DONE, str(now_ms)))

    def last_done_ms(self) -> int | None:
        """When the newest copy was confirmed by the store (kept across restarts)."""
        return self._meta(_LAST_DONE)

    def gone(self, segment_id: int) -> None:
        self._update(segment_id, state=GONE, upload_id=None)

    def retry_later(self, segment_id: int, attempts: int, next_ms: int, error: str, *, give_up: bool) -> None:
        self._update(
            segment_id,
            attempts=attempts,
            next_attempt_ms=next_ms,
            last_error=error,
            state=FAILED if give_up else PENDING,
        )

    def upload_of(self, segment_id: int) -> tuple[str, str] | None:
        """(object key, upload id) of the segment's multipart upload in progress, if any."""
        rows = self.index.query(
            "SELECT object_key, upload_id FROM archive_queue WHERE segment_id = ?"
            " AND upload_id IS NOT NULL AND object_key IS NOT NULL",
            (segment_id,),
        )
        return (str(rows[0]["object_key"]), str(rows[0]["upload_id"])) if rows else None

    def upload_ids(self) -> set[str]:
        rows = self.index.query("SELECT upload_id FROM archive_queue WHERE upload_id IS NOT NULL")
        return {str(row["upload_id"]) for row in rows}

    def backlog(self) -> tuple[int, int]:
        """(segments, bytes) waiting to be archived."""
        row = self.index.query(
            "SELECT COUNT(*) AS items, COALESCE(SUM(bytes), 0) AS total FROM archive_queue WHERE state = ?",
            (PENDING,),
        )[0]
        return int(row["items"]), int(row["total"])

    def counts(self) -> dict[str, int]:
        rows = self.index.query("SELECT state, COUNT(*) AS n FROM archive_queue GROUP BY state")
        return {str(row["state"]): int(row["n"]) for row in rows}

    def expired(self, before_ms: int, limit: int = 200) -> list[tuple[int, str]]:
        """Archived segments that ended before ``before_ms``: (segment id, object key)."""
        rows = self.index.query(
            "SELECT segment_id, object_key FROM archive_queue WHERE state = ? AND end_ms < ?"
            " AND object_key IS NOT NULL ORDER BY end_ms LIMIT ?",
            (DONE, before_ms, limit),
        )
        return [(int(row["segment_id"]), str(row["object_key"])) for row in rows]

    def remove(self, segment_id: int) -> None:
        with self.index.transaction() as conn:
            conn.execute("DELETE FROM archive_queue WHERE segment_id = ?", (segment_id,))
