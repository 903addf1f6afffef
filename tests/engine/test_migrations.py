"""The index changes only through numbered migrations, and an old index loses nothing.

``data/old_index/`` is an index with its footage and event pictures as the engine of commit
e2c1b49 (schema 2, before numbered migrations) left it: segments, a gap, motion and manual
events with their protected ranges, settings changed at run time and a camera added at run
time (``data/make_old_index.py`` says how it was made). Every test works on a copy.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.engine_process import ROOT, EngineProcess
from vigil_engine.storage import migrations
from vigil_engine.storage.index import Index
from vigil_engine.storage.migrations import LATEST, IndexTooNewError

OLD_INDEX = Path(__file__).parent / "data" / "old_index"
OLD_SCHEMA = 2
TABLES = ("cameras", "segments", "gaps", "protected_ranges", "events", "camera_settings")


@pytest.fixture
def old_storage(tmp_path: Path) -> Path:
    storage = tmp_path / "storage"
    # Only the committed files: a stray -wal/-shm beside the fixture is never part of it.
    shutil.copytree(OLD_INDEX, storage, ignore=shutil.ignore_patterns("*-wal", "*-shm"))
    return storage


# The columns of the old schema (2), per table: what must come through every upgrade unchanged.
OLD_COLUMNS: dict[str, tuple[str, ...]] = {}


def _columns(db: Path, table: str) -> tuple[str, ...]:
    # immutable=1: SQLite creates no -shm/-wal beside the committed fixture.
    conn = sqlite3.connect(f"file:{db}?immutable=1", uri=True)
    try:
        return tuple(str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})"))
    finally:
        conn.close()


def _dump(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the old schema's tables, in the old schema's columns."""
    if not OLD_COLUMNS:
        OLD_COLUMNS.update({table: _columns(OLD_INDEX / "vigil.db", table) for table in TABLES})
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {
            table: sorted(conn.execute(f"SELECT {', '.join(OLD_COLUMNS[table])} FROM {table}").fetchall())
            for table in TABLES
        }
    finally:
        conn.close()


def _meta(db: Path) -> dict[str, str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT key, value FROM meta").fetchall())
    finally:
        conn.close()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_fixture_is_an_old_index(old_storage: Path) -> None:
    db = old_storage / "vigil.db"
    assert _meta(db)["schema_version"] == str(OLD_SCHEMA)
    rows = _dump(db)
    assert len(rows["segments"]) >= 10
    assert len(rows["gaps"]) == 1
    assert {row[2] for row in rows["events"]} == {"motion", "manual"}
    assert len(rows["protected_ranges"]) == len(rows["events"])
    assert ("added", "record_mode", "off") in rows["camera_settings"]


def test_opening_an_old_index_upgrades_it_and_loses_nothing(old_storage: Path) -> None:
    db = old_storage / "vigil.db"
    before, instance = _dump(db), _meta(db)["instance_id"]
    index, aside = Index.open(db)
    try:
        assert aside is None
        assert index.instance_id() == instance
    finally:
        index.close()
    assert _dump(db) == before
    assert _meta(db)["schema_version"] == str(LATEST)
    conn = sqlite3.connect(db)
    try:
        recorded = conn.execute(
            "SELECT version, description, engine_version FROM migrations ORDER BY version"
        ).fetchall()
    finally:
        conn.close()
    # Only the migrations after the old schema ran, each recorded with the engine that ran it.
    assert [row[0] for row in recorded] == list(range(OLD_SCHEMA + 1, LATEST + 1))
    assert all(row[1] and row[2] for row in recorded)
    # Opening again changes nothing.
    Index.open(db)[0].close()
    assert _dump(db) == before


def test_migration_3_gives_old_events_no_objects(old_storage: Path) -> None:
    """Migration 3 (tracked objects) adds the events' labels and top score, with the defaults of
    an event that saw no object on every old row, and an empty table of event objects; the old
    events read back as before, objects none, and a filter by label finds none of them."""
    db = old_storage / "vigil.db"
    old_events = _dump(db)["events"]
    index, _aside = Index.open(db)
    try:
        events = index.events(limit=500)
        assert len(events) == len(old_events)
        assert all(event.labels == () and event.top_score == 0 and event.objects == () for event in events)
        assert index.events(label="person") == []
        assert index.events(min_score=0.1) == []
        assert len(index.events(min_score=0)) == len(old_events)
    finally:
        index.close()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        defaults = conn.execute("SELECT DISTINCT labels, top_score FROM events").fetchall()
        objects = conn.execute("SELECT COUNT(*) FROM event_objects").fetchone()[0]
    finally:
        conn.close()
    assert defaults == [("[]", 0.0)]
    assert objects == 0
    assert set(_columns(db, "events")) == {*OLD_COLUMNS["events"], "labels", "top_score"}


def test_migration_4_adds_an_empty_archive_queue(old_storage: Path) -> None:
    """Migration 4 (the off-site archive) adds its queue, empty: footage recorded before the
    upgrade is not queued by the upgrade itself (the archive decides what it copies when it
    starts), and every old row is kept as it was."""
    db = old_storage / "vigil.db"
    before = _dump(db)
    Index.open(db)[0].close()
    assert _dump(db) == before
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        queued = conn.execute("SELECT COUNT(*) FROM archive_queue").fetchone()[0]
        recorded = conn.execute("SELECT description FROM migrations WHERE version = 4").fetchone()
    finally:
        conn.close()
    assert queued == 0
    assert recorded is not None
    assert "archive" in recorded[0]
    assert {"segment_id", "state", "attempts", "next_attempt_ms", "upload_id", "parts", "bytes"} <= set(
        _columns(db, "archive_queue")
    )


def test_migration_5_keeps_every_old_segment_local(old_storage: Path) -> None:
    """Migration 5 (footage kept only in the archive) marks no old segment archived-only: every
    one of them has its file on this disk, and retention keeps treating them as before."""
    db = old_storage / "vigil.db"
    before = _dump(db)
    Index.open(db)[0].close()
    assert _dump(db) == before
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        flags = conn.execute("SELECT archived_only, COUNT(*) FROM segments GROUP BY archived_only").fetchall()
        recorded = conn.execute("SELECT description FROM migrations WHERE version = 5").fetchone()
    finally:
        conn.close()
    assert flags == [(0, len(before["segments"]))]
    assert len(before["segments"]) > 0
    assert recorded is not None
    assert "archive" in recorded[0]
    index, _ = Index.open(db)
    try:
        segments = index.segments()
        assert segments
        assert not any(segment.archived_only for segment in segments)
        assert index.total_bytes() == sum(segment.bytes for segment in segments)
    finally:
        index.close()


def test_a_new_index_is_built_by_every_migration_in_order(tmp_path: Path) -> None:
    db = tmp_path / "vigil.db"
    Index.open(db)[0].close()
    conn = sqlite3.connect(db)
    try:
        versions = [row[0] for row in conn.execute("SELECT version FROM migrations ORDER BY version")]
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()
    assert versions == [migration.version for migration in migrations.MIGRATIONS] == list(range(1, LATEST + 1))
    assert set(TABLES) | {"meta", "migrations", "event_objects"} <= tables


def test_a_migration_that_fails_leaves_the_index_as_it_was(old_storage: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A migration that fails half-way (a fault injected by appending a broken migration: no
    real migration fails on purpose) rolls back whole: the index keeps its version and data,
    and the next start tries again."""
    db = old_storage / "vigil.db"
    before = _dump(db)

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x INTEGER)")
        conn.execute("DELETE FROM segments")
        raise sqlite3.OperationalError("disk I/O error (injected)")

    failing = (*migrations.MIGRATIONS, migrations.Migration(LATEST + 1, "a broken one", broken))
    monkeypatch.setattr(migrations, "MIGRATIONS", failing)
    monkeypatch.setattr(migrations, "LATEST", LATEST + 1)
    with pytest.raises(sqlite3.OperationalError, match="injected"):
        Index.open(db)
    assert _dump(db) == before
    assert _meta(db)["schema_version"] == str(LATEST)
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'half_done'").fetchone() is None
    finally:
        conn.close()


def _make_newer(db: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(LATEST + 1),))
        conn.commit()
    finally:
        conn.close()


def test_an_index_of_a_newer_engine_is_refused_untouched(old_storage: Path) -> None:
    db = old_storage / "vigil.db"
    _make_newer(db)
    digest = _sha256(db)
    with pytest.raises(IndexTooNewError, match=rf"schema version {LATEST + 1}, newer than this engine"):
        Index.open(db)
    assert _sha256(db) == digest
    assert sorted(path.name for path in old_storage.iterdir()) == ["cameras.json", "events", "recordings", "vigil.db"]


@pytest.mark.parametrize("args", [("--check",), ()], ids=["check", "start"])
def test_the_engine_refuses_a_newer_index_in_one_line(old_storage: Path, tmp_path: Path, args: tuple[str, ...]) -> None:
    db = old_storage / "vigil.db"
    _make_newer(db)
    digest = _sha256(db)
    config = tmp_path / "engine.yaml"
    config.write_text(
        yaml.safe_dump(
            {"storage_path": str(old_storage), "api_port": 0, "cameras": [{"id": "demo", "url": "demo://"}]}
        ),
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "vigil_engine", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(ROOT / "addon"), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1, result.stderr
    assert f"schema version {LATEST + 1}, newer than this engine" in errors[0]
    assert "Traceback" not in result.stderr
    assert _sha256(db) == digest


def test_the_engine_starts_on_an_old_index_with_everything_in_it(old_storage: Path, tmp_path: Path) -> None:
    before = _dump(old_storage / "vigil.db")
    config = yaml.safe_load((Path(__file__).parent / "data" / "old_index.yaml").read_text(encoding="utf-8"))
    # Retention is not under test: the fixture's footage must outlive its default days whenever this runs.
    runtime = old_storage / "cameras.json"
    cameras = json.loads(runtime.read_text(encoding="utf-8"))
    for camera in [*config["cameras"], *cameras["cameras"]]:
        camera["retention_days"] = 3650
        camera.setdefault("events", {})["retention_days"] = 3650
    runtime.write_text(json.dumps(cameras), encoding="utf-8")
    engine = EngineProcess(tmp_path, {**config, "storage_path": str(old_storage)})
    engine.start()
    try:
        port = engine.wait_for(lambda: re.search(r"API listening on 127.0.0.1:(\d+)", engine.log()), 60, "the API")
        request = urllib.request.Request(
            f"http://127.0.0.1:{port.group(1)}/api/cameras", headers={"Authorization": f"Bearer {config['api_token']}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            cameras = {camera["camera_id"]: camera for camera in json.load(response)["cameras"]}
        # The camera the old engine added at run time is back, with the settings it was given.
        assert cameras["added"]["origin"] == "api"
        assert cameras["added"]["record_mode"] == "off"
        assert cameras["demo"]["motion_enabled"] is True
        engine.wait_for(lambda: len(engine.segments("demo")) > len(before["segments"]), 60, "a new segment")
    finally:
        assert engine.stop() == 0
    after = _dump(old_storage / "vigil.db")
    for table in TABLES:
        assert set(before[table]) <= set(after[table]), table
    # Nothing was repaired: every old row still had its file, every file its row.
    assert "Reconciled storage with the index" not in engine.log()
    assert "Traceback" not in engine.log()
