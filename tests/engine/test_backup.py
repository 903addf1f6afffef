"""Home Assistant backups of a recording engine, end to end: the real engine process records
the real RTSP test camera while the add-on's backup command snapshots its index; /data and
/media are copied the way the Supervisor tars them (with config.yaml's ``backup_exclude``)
and restored into a fresh folder, where a new engine starts from the snapshot."""

from __future__ import annotations

import itertools
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path, PurePath
from typing import Any

import yaml

from tests.engine.conftest import EngineFactory
from tests.support.engine_process import EngineProcess
from tests.support.fixtures import CameraFactory

ROOT = Path(__file__).resolve().parents[2]
BACKUP_EXCLUDE: list[str] = yaml.safe_load((ROOT / "addon" / "config.yaml").read_text(encoding="utf-8"))[
    "backup_exclude"
]
# The engine indexes a segment every second; the copy of /media is taken a few segments
# after the snapshot, as the Supervisor tars folders after the add-ons.
SEGMENT_SECONDS = 1


def _backup(engine: EngineProcess, action: str) -> subprocess.CompletedProcess[str]:
    """config.yaml's backup_pre/backup_post, reading the engine's own options file."""
    return subprocess.run(
        [sys.executable, "-m", "vigil_engine.backup", action, "--options", str(engine.config_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "addon")},
        timeout=60,
        check=False,
    )


def _copy_like_the_supervisor(source: Path, target: Path) -> None:
    """securetar's atomic_contents_add with the add-on's file filter: every pattern matched
    (PurePath.match) against the full path; a file is read as it is at that moment."""
    for folder, dirs, files in os.walk(source):
        here = Path(folder)
        dirs[:] = [name for name in dirs if not _excluded(here / name)]
        (target / here.relative_to(source)).mkdir(parents=True, exist_ok=True)
        for name in files:
            if not _excluded(here / name):
                shutil.copy2(here / name, target / here.relative_to(source) / name)


def _excluded(path: Path) -> bool:
    return any(PurePath(path).match(pattern) for pattern in BACKUP_EXCLUDE)


def _rows(database: Path) -> dict[str, dict[str, Any]]:
    with closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as conn:
        conn.row_factory = sqlite3.Row
        return {row["path"]: dict(row) for row in conn.execute("SELECT * FROM segments WHERE camera_id = 'cam'")}


def _check(database: Path) -> tuple[str, str]:
    """(integrity check, instance id) of an index, read-only."""
    with closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as conn:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        (instance,) = conn.execute("SELECT value FROM meta WHERE key = 'instance_id'").fetchone()
        return check, instance


def _config(root: Path, url: str, *, enabled: bool = True) -> dict[str, Any]:
    return {
        "storage_path": str(root / "media" / "vigil"),
        "database_path": str(root / "data" / "vigil.db"),
        "segment_seconds": SEGMENT_SECONDS,
        "min_free": "1MB",
        "open_timeout": 4,
        "read_timeout": 3,
        "cameras": [{"id": "cam", "url": url, "enabled": enabled}],
    }


def test_backup_while_recording_and_restore_into_a_fresh_folder(
    rtsp_camera_factory: CameraFactory, engine_factory: EngineFactory, tmp_path: Path
) -> None:
    camera = rtsp_camera_factory(fps=15, keyint=1.0)
    live = tmp_path / "live"
    engine = engine_factory(_config(live, camera.url("h264")), name="live")
    snapshot = live / "data" / "vigil.db.backup"
    engine.wait_for(lambda: len(engine.segments("cam")) >= 3, 30, "three segments")

    # Snapshots while segments are being indexed: each is intact and holds every segment
    # indexed before it started.
    started = time.monotonic()
    first = len(engine.segments("cam"))
    timings: list[float] = []
    while time.monotonic() - started < 8 or len(timings) < 5:
        before = {row["path"] for row in engine.segments("cam")}
        began = time.monotonic()
        result = _backup(engine, "snapshot")
        timings.append(time.monotonic() - began)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"Snapshot of the index written to {snapshot} ")
        assert _check(snapshot)[0] == "ok"
        assert before <= set(_rows(snapshot))
    indexed = [dict(row) for row in engine.segments("cam")]
    assert len(indexed) >= first + 5, "segments were indexed all the while (one a second)"
    # Recording never waited for a snapshot: the footage is continuous.
    for earlier, later in itertools.pairwise(indexed):
        assert later["start_ms"] == earlier["end_ms"], (earlier, later)
    assert engine.gaps("cam") == []

    # The backup proper: backup_pre, the add-on's /data, later the /media folder, backup_post.
    at_snapshot = {row["path"]: dict(row) for row in engine.segments("cam")}
    assert _backup(engine, "snapshot").returncode == 0
    backup = tmp_path / "backup"
    _copy_like_the_supervisor(live / "data", backup / "data")
    assert sorted(path.name for path in (backup / "data").iterdir()) == ["api_token", "vigil.db.backup"]
    engine.wait_for(lambda: len(engine.segments("cam")) >= len(at_snapshot) + 3, 20, "segments after the snapshot")
    _copy_like_the_supervisor(live / "media", backup / "media")
    indexed_live = _rows(engine.db_path)
    result = _backup(engine, "cleanup")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Removed the snapshot {snapshot}\n"
    assert not snapshot.exists()
    assert engine.running

    # The restore: the backup's files in a fresh folder, a new engine (the camera left off,
    # so that only what the backup holds is indexed).
    restored_root = tmp_path / "restored"
    shutil.copytree(backup, restored_root)
    restored = engine_factory(_config(restored_root, camera.url("h264"), enabled=False), name="restored")
    restored.wait_for(lambda: "restored from the backup snapshot" in restored.log(), 30, "the restore")
    restored.wait_for(lambda: "Reconciled storage with the index" in restored.log(), 30, "the reconcile")
    assert restored.stop() == 0
    log = restored.log()
    assert "Index vigil.db was missing: restored from the backup snapshot vigil.db.backup taken " in log
    assert "Traceback" not in log

    database = restored_root / "data" / "vigil.db"
    check, instance = _check(database)
    assert check == "ok"
    assert instance == _check(engine.db_path)[1]  # the same engine for Home Assistant
    rows = _rows(database)
    # Every segment indexed at the snapshot, exactly as it was.
    for path, row in at_snapshot.items():
        assert rows[path] == row
    # Every file of the media copy is indexed; those the live engine indexed after the
    # snapshot, complete in the copy, have their exact start again.
    files = {
        path.relative_to(restored_root / "media" / "vigil" / "recordings").as_posix()
        for path in (restored_root / "media" / "vigil" / "recordings").glob("cam/*/*/*.mp4")
    }
    assert set(rows) == files
    after_snapshot = [path for path in files if path not in at_snapshot]
    assert len(after_snapshot) >= 3
    complete = [path for path in after_snapshot if path in indexed_live]
    assert len(complete) >= 2
    for path in complete:
        assert rows[path]["start_ms"] == indexed_live[path]["start_ms"], path
        assert abs(rows[path]["end_ms"] - indexed_live[path]["end_ms"]) <= 100, path
        assert rows[path]["bytes"] == indexed_live[path]["bytes"]
    end_error = max(abs(rows[path]["end_ms"] - indexed_live[path]["end_ms"]) for path in complete)
    print(f"{len(timings)} snapshots while recording, longest {max(timings):.2f} s with the process start;", end=" ")
    print(f"reconciled segments end within {end_error} ms of the live index")


def test_a_corrupt_index_is_restored_from_the_snapshot(
    rtsp_camera_factory: CameraFactory, engine_factory: EngineFactory, tmp_path: Path
) -> None:
    camera = rtsp_camera_factory(fps=15, keyint=1.0)
    engine = engine_factory(_config(tmp_path, camera.url("h264")), name="before")
    engine.wait_for(lambda: len(engine.segments("cam")) >= 3, 30, "three segments")
    assert _backup(engine, "snapshot").returncode == 0
    at_snapshot = {row["path"]: dict(row) for row in engine.segments("cam")}
    engine.wait_for(lambda: len(engine.segments("cam")) >= len(at_snapshot) + 2, 20, "segments after the snapshot")
    assert engine.stop() == 0
    indexed = _rows(engine.db_path)
    instance = _check(engine.db_path)[1]

    # The live index is damaged (the snapshot stayed: a backup whose backup_post never ran).
    database = engine.db_path
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    database.write_bytes(b"SQLite format 3\x00" + b"\xde\xad" * 4096)

    after = engine_factory(_config(tmp_path, camera.url("h264"), enabled=False), name="after")
    after.wait_for(lambda: "Reconciled storage with the index" in after.log(), 30, "the reconcile")
    assert after.stop() == 0
    log = after.log()
    assert "Index " in log
    assert " is corrupt " in log
    assert "Index vigil.db was corrupt: restored from the backup snapshot vigil.db.backup taken " in log
    assert "Rebuilding the index" not in log
    assert "Traceback" not in log
    assert [path.name for path in database.parent.glob("vigil.db.corrupt-*")]

    check, restored_instance = _check(database)
    assert check == "ok"
    assert restored_instance == instance
    rows = _rows(database)
    for path, row in at_snapshot.items():
        assert rows[path] == row
    assert set(rows) == set(indexed)
    for path, row in indexed.items():
        assert rows[path]["start_ms"] == row["start_ms"], path
