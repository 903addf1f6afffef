"""``python -m vigil_engine archive restore``: the archive's command line.

``restore --config FILE [--camera ID …] [--from ISO] [--to ISO]`` restores the footage the
archive holds for those cameras (default: all) overlapping that time range (default: all of
it) into the storage the config names (see ``restore``). Times need their offset (``Z``,
``+01:00``): a time without one is refused rather than guessed, since the archive is in UTC
and the person typing may not be. Exit codes: 0 restored (or nothing to do), 1 some objects
could not be restored (each named on stderr), 2 nothing could be done (the config, the
storage in use, the store, the key); every error is one line, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from vigil_engine.config import ConfigError, load_config

from .restore import RestoreError, Selection, restore

EXIT_PARTIAL = 1
EXIT_UNUSABLE = 2


def _time_ms(text: str) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time (2026-12-04T00:10:00Z)") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset: add Z (UTC) or one like +01:00")
    return int(moment.timestamp() * 1000)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vigil_engine archive", description="Vigil's off-site archive")
    commands = parser.add_subparsers(dest="command", required=True)
    restore_cmd = commands.add_parser(
        "restore",
        help="rebuild this machine's footage and index from the archive",
        description="Download the archive's segments into the storage and index them (the engine must be stopped).",
    )
    restore_cmd.add_argument("--config", type=Path, required=True, help="the engine's YAML or JSON config file")
    restore_cmd.add_argument(
        "--camera", action="append", default=[], metavar="ID", help="restore this camera (repeatable; default: all)"
    )
    restore_cmd.add_argument("--from", dest="from_ms", type=_time_ms, metavar="ISO", help="footage from this time")
    restore_cmd.add_argument("--to", dest="to_ms", type=_time_ms, metavar="ISO", help="footage until this time")
    return parser


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.from_ms is not None and args.to_ms is not None and args.to_ms <= args.from_ms:
        _err("Cannot restore: --to must be later than --from")
        return EXIT_UNUSABLE
    try:
        config = load_config(args.config)
    except ConfigError as err:
        for error in err.errors:
            _err(f"Invalid configuration: {error}")
        return EXIT_UNUSABLE
    wanted = Selection(frozenset(args.camera), args.from_ms, args.to_ms)
    try:
        report = restore(config, wanted, _err)
    except RestoreError as err:
        _err(f"Cannot restore: {err}")
        return EXIT_UNUSABLE
    print(report.summary(), flush=True)
    return EXIT_PARTIAL if report.errors else 0
