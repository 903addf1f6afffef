"""``python -m vigil_engine [--config FILE] [--check]``: run the recording engine until SIGTERM/SIGINT.

(``python -m vigil_engine detect IMAGE…`` runs the object detector on stills instead: see
``detection.cli``; ``python -m vigil_engine archive restore …`` restores footage from the
off-site archive: see ``archive.cli``.)

Before anything starts, the configuration is validated (every error, one line each) and the
storage and database folders are checked: they must exist or be creatable, and be writable.
``--check`` does exactly these checks and exits; a start that fails them exits the same way.
Either way a problem is a one-line error naming the key, the path and the reason, with exit
code 2, never a traceback.

When a camera detects objects, the detection model is checked too (``--check``, and the
engine's start): a configured model that is missing or invalid (or a default one that is there
but not the release's) is one ERROR line naming the file, but not a reason to refuse to run: the
engine records and detects motion without objects, so ``--check`` still exits 0 and says that
object detection is unavailable. Without a configured model and without the default one (a
checkout whose setup could not download it; the add-on image always has it), object detection
is simply off, as one INFO line says.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import logging
import os
import secrets
import signal
import sqlite3
import stat
import sys
from pathlib import Path

from .config import ConfigError, EngineConfig, load_config
from .detection.model import ModelError
from .detection.settings import check_model, no_model_installed
from .engine import Engine
from .logs import setup_logging
from .storage.migrations import IndexTooNewError, index_too_new

_LOGGER = logging.getLogger("vigil_engine")
_M_ARENA_MAX = -8  # from glibc's malloc.h
EXIT_UNUSABLE = 2  # the configuration or its folders cannot be used


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="vigil_engine",
        description="Vigil NVR recording engine",
        epilog="python -m vigil_engine detect --help: try the object detector on still images; "
        "python -m vigil_engine archive restore --help: restore footage from the off-site archive",
    )
    parser.add_argument(
        "--config",
        type=Path,
        help="YAML or JSON config file (default: /data/options.json in the add-on, else the demo camera)",
    )
    parser.add_argument("--check", action="store_true", help="validate the config and exit")
    return parser.parse_args(argv)


class StartError(Exception):
    """The engine could not start (its message names the file and the reason)."""


async def _run(engine: Engine) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await engine.start()
    except IndexTooNewError as err:
        await engine.stop()
        raise StartError(str(err)) from None
    except (OSError, sqlite3.Error) as err:
        # The folders passed the check moments ago, but a disk can fill up or go away in
        # between: still one line, not a traceback (which is in the log at debug level).
        _LOGGER.debug("Start failed", exc_info=True)
        await engine.stop()
        raise StartError(_start_failure(err, engine.config)) from None
    # The API serves only a started engine and is closed before the engine stops.
    from .api.server import ApiServer  # noqa: PLC0415 - aiohttp is loaded only when the engine runs

    api = ApiServer(engine)
    try:
        await api.start()
        await stop.wait()
    finally:
        await api.stop()
        await engine.stop()


def _limit_malloc_arenas() -> None:
    """Cap glibc's malloc arenas at two (as MALLOC_ARENA_MAX=2 would).

    glibc gives each busy thread its own arena, up to 8 per core; with a reader thread per
    camera, freed fragment buffers linger in many half-empty arenas. Two arenas cut the
    engine's resident memory at 32 cameras from about 250 MB to about 180 MB at no CPU
    cost (measured with scripts/bench record). Must run before the worker threads start.
    """
    if os.environ.get("MALLOC_ARENA_MAX"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_ARENA_MAX, 2)
    except OSError, AttributeError:
        pass  # not glibc (a musl-based build): nothing to tune


def _reason(err: OSError) -> str:
    return (err.strerror or str(err)).lower()


def _start_failure(err: OSError | sqlite3.Error, config: EngineConfig) -> str:
    if isinstance(err, OSError):
        return f"{err.filename}: {_reason(err)}" if err.filename else _reason(err)
    return f"the index database {config.db_path}: {err}"


def _probe(folder: Path) -> str | None:
    """Why no file can be created in the existing folder ``folder``, or None. The probe file
    has a name nothing else uses and is deleted at once."""
    probe = folder / f".vigil-write-check-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        probe.unlink()
    except OSError as err:
        return _reason(err)
    return None


def _folder_problem(name: str, folder: Path) -> str | None:
    """Why the engine could not keep files in ``folder``, or None; ``name`` starts the message
    (the config key and what it names).

    What this leaves behind: nothing. A folder that exists gets a probe file, deleted at once.
    A missing folder is not created (the engine creates it when it starts, with its missing
    parents): the probe goes to its nearest existing parent instead, where it would be created.
    Touching a folder this way changes its modification time, nothing else.
    """
    existing = folder
    while True:
        try:
            mode = existing.stat().st_mode
            break
        except FileNotFoundError, NotADirectoryError:
            # Missing, or below a file: the nearest existing parent tells which.
            if existing.parent == existing:
                return f"{name} cannot be created: no part of it exists"
            existing = existing.parent
        except OSError as err:
            return f"{name} cannot be reached: {_reason(err)}"
    if not stat.S_ISDIR(mode):
        if existing == folder:
            return f"{name} is not a directory"
        return f"{name} cannot be created: not a directory ({existing} is a file)"
    problem = _probe(existing)
    if problem is None:
        return None
    if existing == folder:
        return f"{name} is not writable: {problem}"
    return f"{name} cannot be created: {problem} ({existing})"


def storage_problems(config: EngineConfig) -> list[str]:
    """Every reason the engine could not write its footage and index where the config says."""
    storage_problem = _folder_problem(f"storage_path {config.storage_path}", config.storage_path)
    problems = [storage_problem] if storage_problem is not None else []
    database = config.db_path
    key = "database_path" if config.database_path is not None else "storage_path"
    if database.parent != config.storage_path:
        folder_problem = _folder_problem(f"database_path {database}: its folder {database.parent}", database.parent)
        if folder_problem is not None:
            return [*problems, folder_problem]
    elif storage_problem is not None:
        return problems  # the index's folder is the storage folder: one line is enough
    try:
        mode = database.stat().st_mode
    except FileNotFoundError:
        return problems  # created at start
    except OSError as err:
        return [*problems, f"{key} {database} cannot be reached: {_reason(err)}"]
    if stat.S_ISDIR(mode):
        return [*problems, f"{key} {database} is a directory, not the index database file"]
    try:
        # Opened for writing but neither written nor truncated: the file stays as it was. A
        # read-only index would otherwise look corrupt to SQLite and be set aside.
        os.close(os.open(database, os.O_WRONLY))
    except OSError as err:
        return [*problems, f"{key} {database} is not writable: {_reason(err)}"]
    too_new = index_too_new(database)
    return [*problems, too_new] if too_new is not None else problems


def _check_detection(config: EngineConfig) -> None:
    """Say whether the cameras that detect objects can: the model is checked (not loaded)."""
    detecting = [cam.id for cam in config.cameras if cam.enabled and cam.objects.enabled and cam.objects.labels]
    if not detecting:
        return
    missing = no_model_installed(config.detector)
    if missing is not None:
        _LOGGER.info(
            "Object detection is off: no detection model is installed (%s is not there; detector.model names one)",
            missing,
        )
        return
    try:
        model = check_model(config.detector)
    except ModelError as err:
        _LOGGER.error(
            "Object detection is unavailable: %s (cameras %s record and detect motion without it)",
            err,
            ", ".join(detecting),
        )
        return
    where = config.detector.url if model is None else model.path
    _LOGGER.info("Object detection: %s on %s for cameras %s", where, config.detector.backend, ", ".join(detecting))


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["detect"]:
        # A subcommand of its own: the engine's options and checks do not apply to it.
        from .detection.cli import main as detect  # noqa: PLC0415 - numpy and the runtime only when asked

        return detect(arguments[1:])
    if arguments[:1] == ["archive"]:
        # The archive's commands (``archive restore``) run without the engine, on its storage.
        from .archive.cli import main as archive  # noqa: PLC0415 - the archive only when asked

        return archive(arguments[1:])
    args = _parse_args(arguments)
    _limit_malloc_arenas()
    try:
        config = load_config(args.config)
    except ConfigError as err:
        setup_logging("info")
        for error in err.errors:
            _LOGGER.error("Invalid configuration: %s", error)
        return EXIT_UNUSABLE
    setup_logging(config.log_level)
    problems = storage_problems(config)
    for problem in problems:
        _LOGGER.error("Cannot start: %s", problem)
    if problems:
        return EXIT_UNUSABLE
    if args.check:
        _LOGGER.info(
            "Configuration is valid: %d cameras; footage in %s and the index %s can be written",
            len(config.cameras),
            config.storage_path,
            config.db_path,
        )
        _check_detection(config)
        return 0
    try:
        asyncio.run(_run(Engine(config)))
    except StartError as err:
        _LOGGER.error("Cannot start: %s", err)
        return EXIT_UNUSABLE
    return 0


if __name__ == "__main__":
    sys.exit(main())
