"""Numbered migrations of the index schema, applied in order when the engine opens the index.

The index outlives engine versions: an add-on update must carry every recording, gap, event
and setting of the old index over, and a downgrade must never damage a newer index. So:

* Each migration has a number and does one change. They run in order from the index's
  version (``meta.schema_version``) to the newest this engine knows, each in its own
  transaction together with the version bump and a row in ``migrations`` (number,
  description, when, which engine), so a crash between two of them leaves a consistent
  index that the next start continues from.
* An index whose version is newer than this engine knows was written by a newer engine: it
  is refused with :class:`IndexTooNewError` before anything is written to it (not even the
  journal mode), and the engine does not start.
* Migration 1 is the schema the engine started with; 2 added run-time camera settings; 3 the
  tracked objects of events (their labels and top score on the event, each object's track in
  ``event_objects``); 4 the off-site archive's queue (``archive_queue``); 5 marks segments
  whose file retention deleted but whose copy the archive keeps (``segments.archived_only``:
  still footage, played from the archive). An index from before
  the table of migrations existed says its version in ``meta`` (1 or 2), or, older still,
  nothing: then it is version 1 if it has the tables of version 1.

To change the schema, append a migration: never edit one that has shipped.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vigil_engine import __version__

_LOGGER = logging.getLogger(__name__)


class IndexTooNewError(RuntimeError):
    """The index was written by a newer engine; it was left exactly as it was."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    apply: Callable[[sqlite3.Connection], None]


def _script(sql: str) -> Callable[[sqlite3.Connection], None]:
    statements = [part.strip() for part in sql.split(";") if part.strip()]

    def apply(conn: sqlite3.Connection) -> None:
        # One statement at a time: executescript() would commit the surrounding transaction.
        for statement in statements:
            conn.execute(statement)

    return apply


_V1 = """
CREATE TABLE IF NOT EXISTS cameras (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    first_seen_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS segments (
    id INTEGER PRIMARY KEY,
    camera_id TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    path TEXT NOT NULL UNIQUE,
    video_codec TEXT,
    width INTEGER,
    height INTEGER,
    audio_codec TEXT,
    frames INTEGER NOT NULL DEFAULT 0,
    recovered INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS segments_camera_start ON segments (camera_id, start_ms);
CREATE INDEX IF NOT EXISTS segments_start ON segments (start_ms);
CREATE TABLE IF NOT EXISTS gaps (
    id INTEGER PRIMARY KEY,
    camera_id TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS gaps_camera_start ON gaps (camera_id, start_ms);
CREATE TABLE IF NOT EXISTS protected_ranges (
    id TEXT PRIMARY KEY,
    camera_id TEXT NOT NULL,
    protect_start_ms INTEGER NOT NULL,
    protect_end_ms INTEGER,
    keep_until_ms INTEGER
);
CREATE INDEX IF NOT EXISTS protected_camera ON protected_ranges (camera_id, protect_start_ms);
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    camera_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER,
    pre_ms INTEGER NOT NULL,
    post_ms INTEGER NOT NULL,
    zones TEXT NOT NULL DEFAULT '[]',
    peak_score REAL NOT NULL DEFAULT 0,
    snapshot TEXT,
    thumbnail TEXT,
    label TEXT,
    keep_until_ms INTEGER
);
CREATE INDEX IF NOT EXISTS events_camera_start ON events (camera_id, start_ms);
CREATE INDEX IF NOT EXISTS events_start ON events (start_ms)
"""

_V2 = """
CREATE TABLE IF NOT EXISTS camera_settings (
    camera_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (camera_id, key)
)
"""

# Events of older indexes saw no objects: no labels ('[]'), a top score of 0, no objects.
_V3 = """
ALTER TABLE events ADD COLUMN labels TEXT NOT NULL DEFAULT '[]';
ALTER TABLE events ADD COLUMN top_score REAL NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS event_objects (
    event_id TEXT NOT NULL,
    object_id TEXT NOT NULL,
    label TEXT NOT NULL,
    score REAL NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    zones TEXT NOT NULL DEFAULT '[]',
    box TEXT NOT NULL,
    PRIMARY KEY (event_id, object_id)
);
CREATE INDEX IF NOT EXISTS event_objects_label ON event_objects (label, score)
"""

# The off-site archive's durable queue: one row per segment to copy, kept after it is copied
# (state 'done', with its object key) for remote retention. A multipart upload in progress keeps
# its upload id and the parts the store confirmed (JSON [[number, etag], ...]) so that it resumes
# after a restart; ``salt`` is the encryption's per-object salt, so a resumed upload encrypts the
# remaining parts exactly as the first ones were.
_V4 = """
CREATE TABLE IF NOT EXISTS archive_queue (
    segment_id INTEGER PRIMARY KEY,
    camera_id TEXT NOT NULL,
    path TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL DEFAULT 0,
    queued_ms INTEGER NOT NULL,
    object_key TEXT,
    upload_id TEXT,
    parts TEXT NOT NULL DEFAULT '[]',
    bytes_sent INTEGER NOT NULL DEFAULT 0,
    salt TEXT,
    sha256 TEXT,
    done_ms INTEGER,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS archive_queue_due ON archive_queue (state, next_attempt_ms);
CREATE INDEX IF NOT EXISTS archive_queue_done ON archive_queue (state, end_ms)
"""

# A segment whose local file retention deleted after the archive had copied it keeps its row,
# marked archived-only: the footage is still there (in the store), played on demand, and its
# bytes are no longer on this disk. Remote retention drops the row with the object.
_V5 = """
ALTER TABLE segments ADD COLUMN archived_only INTEGER NOT NULL DEFAULT 0
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "cameras, segments, gaps, protected ranges and events", _script(_V1)),
    Migration(2, "settings changed at run time (record mode, motion detection)", _script(_V2)),
    Migration(3, "tracked objects of events: labels, top score and each object's track", _script(_V3)),
    Migration(4, "the off-site archive's queue of segments to upload", _script(_V4)),
    Migration(5, "segments kept only in the off-site archive", _script(_V5)),
)
LATEST = MIGRATIONS[-1].version

_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS migrations (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_ms INTEGER NOT NULL,
    engine_version TEXT NOT NULL
)
"""


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {str(row[0]) for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def stored_version(conn: sqlite3.Connection) -> int:
    """The index's schema version (0: an empty database). Reads only."""
    tables = _tables(conn)
    if "meta" in tables:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is not None:
            try:
                return int(row[0])
            except ValueError:
                raise IndexTooNewError(f"its schema version {row[0]!r} is not a number this engine knows") from None
    # Before the version was kept: the first schema, if its tables are there.
    return 1 if {"segments", "gaps", "events"} <= tables else 0


def check_not_newer(conn: sqlite3.Connection, path: object) -> int:
    """The index's version; :class:`IndexTooNewError` when a newer engine wrote it. Reads only."""
    version = stored_version(conn)
    if version > LATEST:
        raise IndexTooNewError(
            f"the index {path} has schema version {version}, newer than this engine ({__version__}, "
            f"schema {LATEST}) knows: it was written by a newer Vigil engine. It was not modified; "
            "update the engine (the add-on), or restore a backup made with this version"
        )
    return version


def index_too_new(path: Path) -> str | None:
    """Why the existing index at ``path`` cannot be used by this engine (a newer one wrote it),
    or None. Opens it read-only: for ``--check``, which must not touch the index."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return None  # not openable at all: the start says why, in its own words
    try:
        check_not_newer(conn, path)
    except IndexTooNewError as err:
        return str(err)
    except sqlite3.Error:
        return None  # unreadable (corrupt or locked): the start sets it aside or reports it
    finally:
        conn.close()
    return None


def migrate(conn: sqlite3.Connection, path: object) -> list[int]:
    """Bring the index to :data:`LATEST`; the versions applied (none when it was current).

    ``conn`` is in autocommit mode (``isolation_level=None``); each migration is one transaction.
    """
    version = check_not_newer(conn, path)
    applied: list[int] = []
    for migration in MIGRATIONS:
        if migration.version <= version:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # The bookkeeping tables first, inside the same transaction (CREATE is transactional).
            for statement in _BOOKKEEPING.split(";"):
                conn.execute(statement)
            migration.apply(conn)
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(migration.version),),
            )
            conn.execute(
                "INSERT OR REPLACE INTO migrations (version, description, applied_ms, engine_version)"
                " VALUES (?, ?, ?, ?)",
                (migration.version, migration.description, int(time.time() * 1000), __version__),
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        applied.append(migration.version)
    if "migrations" not in _tables(conn):
        # An index from before migrations were recorded, already current: start the record.
        conn.execute("BEGIN IMMEDIATE")
        for statement in _BOOKKEEPING.split(";"):
            conn.execute(statement)
        conn.execute("COMMIT")
    if applied and version > 0:
        _LOGGER.info(
            "Index %s upgraded from schema %d to %d (%s)",
            path,
            version,
            LATEST,
            "; ".join(m.description for m in MIGRATIONS if m.version in applied),
        )
    return applied
