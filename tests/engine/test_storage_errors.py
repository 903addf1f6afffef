"""A storage or database folder the engine cannot write: one clear line and exit code 2, from
``--check`` as from a start, never a traceback.

Everything is real: a read-only tmpfs mounted for the test (the tests run as root, which
``chmod`` does not stop; unmounted at teardown), a path below a regular file, and a folder
that belongs to root while the engine runs as ``nobody`` (``setpriv``) for "permission denied".
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.test_check import run_engine
from tests.support.engine_process import ROOT

MODES = pytest.mark.parametrize("args", [("--check",), ()], ids=["check", "start"])
NOBODY = 65534


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """An empty folder on a read-only file system (a tmpfs mounted ``ro``)."""
    mount_point = tmp_path / "read-only"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("not a folder\n", encoding="utf-8")
    return path


def _start(tmp_path: Path, config: str, args: tuple[str, ...]) -> list[str]:
    """Run the engine on ``config``; it must refuse with exit code 2. Returns its error lines."""
    path = tmp_path / "vigil.yaml"
    path.write_text(config + "api_host: 127.0.0.1\napi_port: 0\n", encoding="utf-8")
    result = run_engine(path, *args)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    return [line.split(" ERROR vigil_engine: ", 1)[1] for line in output.splitlines() if " ERROR " in line]


@MODES
def test_storage_on_a_read_only_file_system(tmp_path: Path, read_only: Path, args: tuple[str, ...]) -> None:
    assert _start(tmp_path, f"storage_path: {read_only}/vigil\n", args) == [
        f"Cannot start: storage_path {read_only}/vigil cannot be created: read-only file system ({read_only})"
    ]
    assert _start(tmp_path, f"storage_path: {read_only}\n", args) == [
        f"Cannot start: storage_path {read_only} is not writable: read-only file system"
    ]


@MODES
def test_database_on_a_read_only_file_system(tmp_path: Path, read_only: Path, args: tuple[str, ...]) -> None:
    lines = _start(tmp_path, f"storage_path: {tmp_path}/footage\ndatabase_path: {read_only}/vigil.db\n", args)
    assert lines == [
        f"Cannot start: database_path {read_only}/vigil.db: its folder {read_only} is not writable: "
        "read-only file system"
    ]
    # An index that is a folder, not a file.
    (tmp_path / "index.db").mkdir()
    lines = _start(tmp_path, f"storage_path: {tmp_path}/footage\ndatabase_path: {tmp_path}/index.db\n", args)
    assert lines == [f"Cannot start: database_path {tmp_path}/index.db is a directory, not the index database file"]


@MODES
def test_storage_below_a_file(tmp_path: Path, a_file: Path, args: tuple[str, ...]) -> None:
    assert _start(tmp_path, f"storage_path: {a_file}/vigil\n", args) == [
        f"Cannot start: storage_path {a_file}/vigil cannot be created: not a directory ({a_file} is a file)"
    ]
    assert _start(tmp_path, f"storage_path: {a_file}\n", args) == [
        f"Cannot start: storage_path {a_file} is not a directory"
    ]
    # Both folders wrong: both said at once.
    assert _start(tmp_path, f"storage_path: {a_file}/vigil\ndatabase_path: {a_file}/db/vigil.db\n", args) == [
        f"Cannot start: storage_path {a_file}/vigil cannot be created: not a directory ({a_file} is a file)",
        f"Cannot start: database_path {a_file}/db/vigil.db: its folder {a_file}/db cannot be created: "
        f"not a directory ({a_file} is a file)",
    ]


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder ``nobody`` can read (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="vigil-storage-errors-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path)


@MODES
def test_storage_without_permission(shared_dir: Path, args: tuple[str, ...]) -> None:
    footage = shared_dir / "footage"
    footage.mkdir(mode=0o755)  # root's: nobody may read it but not write to it
    config = shared_dir / "vigil.yaml"
    config.write_text(f"storage_path: {footage}\napi_host: 127.0.0.1\napi_port: 0\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "addon"), "PYTHONDONTWRITEBYTECODE": "1"}
    as_nobody = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    result = subprocess.run(
        [*as_nobody, sys.executable, "-m", "vigil_engine", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=shared_dir,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert f"Cannot start: storage_path {footage} is not writable: permission denied" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(footage.iterdir()) == []


def test_an_index_on_a_read_only_file_system_is_not_taken_for_corrupt(tmp_path: Path) -> None:
    """A sound index that cannot be written (its file system went read-only) is an error to
    report, not a corrupt file to set aside and rebuild: that would lose every event."""
    from vigil_engine.storage.index import Index

    mount_point = tmp_path / "index"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)], check=True)
    try:
        path = mount_point / "vigil.db"
        index, _ = Index.open(path)
        instance = index.instance_id()
        index.close()
        subprocess.run(["mount", "-o", "remount,ro", str(mount_point)], check=True)
        with pytest.raises(sqlite3.OperationalError):
            Index.open(path)
        assert sorted(p.name for p in mount_point.iterdir()) == ["vigil.db"]
        subprocess.run(["mount", "-o", "remount,rw", str(mount_point)], check=True)
        index, aside = Index.open(path)
        assert aside is None
        assert index.instance_id() == instance
        index.close()
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)
