"""The backup command (``python -m vigil_engine.backup``) and the index's restore from its
snapshot, on real SQLite files and real processes; the recording engine around a backup is
in test_backup.py."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from vigil_engine.backup.__main__ import database_from_options
from vigil_engine.backup.snapshot import snapshot_path, take_snapshot
from vigil_engine.config import load_config
from vigil_engine.storage.index import Index, SegmentRecord

ROOT = Path(__file__).resolve().parents[2]
SECRET = "correct-horse-battery-staple"


def _backup(*args: str) -> subprocess.CompletedProcess[str]:
    """The command as config.yaml's backup_pre/backup_post run it (vigil-backup execs this)."""
    return subprocess.run(
        [sys.executable, "-m", "vigil_engine.backup", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "addon")},
        timeout=60,
        check=False,
    )


def _index_with_segments(path: Path, count: int) -> Index:
    index = Index(path)
    index.upsert_camera("cam", "Cam", 0)
    for number in range(count):
        start = 1_780_000_000_000 + number * 10_000
        index.add_segment(SegmentRecord("cam", start, start + 10_000, 1000, f"cam/2026-05-28/20/{number:02}.00.mp4"))
    return index


def _paths(database: Path) -> list[str]:
    with closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as conn:
        return [row[0] for row in conn.execute("SELECT path FROM segments ORDER BY start_ms")]


def test_snapshot_and_cleanup_from_the_options_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    options = data / "options.json"
    data.mkdir()
    options.write_text(json.dumps({"storage_path": "/media/vigil", "database_path": str(data / "vigil.db")}))

    # No index yet (the engine never started): nothing to do, and that is no failure.
    result = _backup("snapshot", "--options", str(options))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"No index at {data / 'vigil.db'} yet: nothing to snapshot\n"
    assert not snapshot_path(data / "vigil.db").exists()

    index = _index_with_segments(data / "vigil.db", 3)
    result = _backup("snapshot", "--options", str(options))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Snapshot of the index written to {data / 'vigil.db.backup'} (")
    assert result.stdout.count("\n") == 1
    snapshot = data / "vigil.db.backup"
    assert _paths(snapshot) == _paths(data / "vigil.db")
    # One self-contained file: a rollback-journal database, no WAL beside it.
    with closing(sqlite3.connect(f"{snapshot.as_uri()}?mode=ro", uri=True)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert sorted(path.name for path in data.iterdir() if path.name.startswith("vigil.db.backup")) == [
        "vigil.db.backup"
    ]
    index.close()

    result = _backup("cleanup", "--options", str(options))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Removed the snapshot {snapshot}\n"
    assert not snapshot.exists()
    assert _backup("cleanup", "--options", str(options)).stdout == "No snapshot to remove\n"


def test_cleanup_keeps_a_snapshot_that_is_the_only_copy(tmp_path: Path) -> None:
    """A restored /data holds the snapshot but no index until the engine starts on it."""
    _index_with_segments(tmp_path / "vigil.db", 2).close()
    take_snapshot(tmp_path / "vigil.db")
    (tmp_path / "vigil.db").unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp_path / 'vigil.db'}{suffix}").unlink(missing_ok=True)

    result = _backup("cleanup", "--database", str(tmp_path / "vigil.db"))
    assert result.returncode == 0, result.stderr
    assert "Kept the snapshot" in result.stdout
    assert len(_paths(tmp_path / "vigil.db.backup")) == 2


def test_failures_are_one_line_and_leave_nothing_behind(tmp_path: Path) -> None:
    # Options that are not valid YAML, around a password: the position only, not the line.
    options = tmp_path / "engine.yaml"
    options.write_text(f"cameras:\n  - id: cam\n    password: {SECRET}\n   url: [\n", encoding="utf-8")
    result = _backup("snapshot", "--options", str(options))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"vigil-backup: {options}: not valid YAML at line ")
    assert SECRET not in result.stderr

    missing = _backup("snapshot", "--options", str(tmp_path / "nowhere.json"))
    assert missing.returncode == 1
    assert (
        missing.stderr
        == f"vigil-backup: cannot read the options file {tmp_path / 'nowhere.json'}: No such file or directory\n"
    )

    # A file that is no database: the backup fails (the Supervisor reports it), no partial snapshot stays.
    broken = tmp_path / "vigil.db"
    broken.write_bytes(b"this is not an SQLite database" * 100)
    result = _backup("snapshot", "--database", str(broken))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"vigil-backup: cannot snapshot the index {broken}: ")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["engine.yaml", "vigil.db"]

    usage = _backup("restore")
    assert usage.returncode == 2
    assert "invalid choice" in usage.stderr


@pytest.mark.parametrize(
    "options",
    [
        {"storage_path": "footage"},
        {"storage_path": "/media/vigil"},
        {"storage_path": "/media/vigil", "database_path": "/data/vigil.db"},
        {"storage_path": "footage", "database_path": "index/nvr.db"},
        {},
    ],
)
def test_the_index_is_found_where_the_engine_keeps_it(tmp_path: Path, options: dict[str, str]) -> None:
    for name, text in (("options.json", json.dumps(options)), ("engine.yaml", json.dumps(options))):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        assert database_from_options(path) == load_config(path).db_path


def test_a_missing_index_is_restored_from_its_snapshot(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    database = tmp_path / "vigil.db"
    index = _index_with_segments(database, 4)
    instance = index.instance_id()
    take_snapshot(database)
    expected = _paths(database)
    # A WAL left without its database (here: later writes of the same index), which SQLite
    # would replay onto the restored copy.
    index.delete_segment(index.segments("cam")[0].id or 0)
    stale_wal = Path(f"{database}-wal").read_bytes()
    index.close()
    # What a restored backup holds: the snapshot, no live files.
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    Path(f"{database}-wal").write_bytes(stale_wal)

    with caplog.at_level(logging.WARNING):
        index, aside = Index.open(database)
    assert aside is None
    assert [s.path for s in index.segments("cam")] == expected
    assert index.instance_id() == instance  # the same site for Home Assistant, not a new one
    index.close()
    assert "was missing: restored from the backup snapshot vigil.db.backup taken " in caplog.text


def test_a_damaged_snapshot_is_not_used(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    database = tmp_path / "vigil.db"
    snapshot_path(database).write_bytes(b"SQLite format 3\x00" + b"\xde\xad" * 4096)
    with caplog.at_level(logging.ERROR):
        index, aside = Index.open(database)
    assert aside is None
    assert index.segments() == []  # an empty index: the files are indexed by the reconcile
    index.close()
    assert "The index's backup snapshot vigil.db.backup is damaged" in caplog.text
    assert snapshot_path(database).exists()  # kept for whoever wants to look at it
