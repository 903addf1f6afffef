"""``python -m vigil_engine.backup snapshot|cleanup``: the add-on's ``backup_pre``/``backup_post``.

Finds the index from ``--database`` or from the add-on's options (``/data/options.json``,
or ``--options``), the way the engine does (:attr:`vigil_engine.config.EngineConfig.db_path`:
``database_path``, else ``vigil.db`` in ``storage_path``; relative paths from the options
file's folder). Only those two keys are read: a backup must not fail because some camera's
option is invalid. Prints one line; on failure one line on stderr and exit status 1 (the
Supervisor then reports the add-on's backup as failed). Paths and sizes only, never an
option's value: the options hold camera passwords and the API token.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from vigil_engine.config import ADDON_OPTIONS

from .snapshot import SnapshotError, remove_snapshot, snapshot_path, take_snapshot

_DEFAULT_STORAGE = "vigil-data"  # the engine's default storage_path (config.py)


def database_from_options(options: Path) -> Path:
    """The index's path as the engine derives it from its options file."""
    try:
        text = options.read_text(encoding="utf-8")
    except OSError as err:
        raise SnapshotError(f"cannot read the options file {options}: {err.strerror or err}") from None
    raw: Any
    try:
        raw = json.loads(text) if options.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as err:
        raise SnapshotError(f"{options}: not valid JSON at line {err.lineno}, column {err.colno}") from None
    except yaml.YAMLError as err:
        # Only the position: the parser's excerpt of the line could hold a password.
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SnapshotError(f"{options}: not valid YAML{where}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SnapshotError(f"{options}: expected a mapping of options")
    database, storage = raw.get("database_path"), raw.get("storage_path") or _DEFAULT_STORAGE
    for key, value in (("database_path", database), ("storage_path", storage)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise SnapshotError(f"{options}: {key} must be a path")
    path = Path(database).expanduser() if database else Path(storage).expanduser() / "vigil.db"
    return path if path.is_absolute() else options.parent.resolve() / path


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="vigil-backup", description="Snapshot of Vigil's index around a Home Assistant backup"
    )
    parser.add_argument(
        "action",
        choices=("snapshot", "cleanup"),
        help="snapshot: write <database>.backup (before a backup); cleanup: remove it (after)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--database", type=Path, help="the index database (default: from the options file)")
    where.add_argument(
        "--options", type=Path, default=ADDON_OPTIONS, help=f"the engine's options file (default: {ADDON_OPTIONS})"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        database: Path = args.database or database_from_options(args.options)
        if args.action == "snapshot":
            snapshot = take_snapshot(database)
            if snapshot is None:
                print(f"No index at {database} yet: nothing to snapshot")
            else:
                print(
                    f"Snapshot of the index written to {snapshot.path} "
                    f"({snapshot.bytes / 1e6:.1f} MB in {snapshot.seconds:.2f} s)"
                )
        else:
            removed = remove_snapshot(database)
            kept = snapshot_path(database)
            if removed is not None:
                print(f"Removed the snapshot {removed}")
            elif kept.exists():
                print(f"Kept the snapshot {kept}: there is no index at {database}, the snapshot is its only copy")
            else:
                print("No snapshot to remove")
    except SnapshotError as err:
        print(f"vigil-backup: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
