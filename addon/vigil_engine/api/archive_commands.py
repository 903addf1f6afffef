"""WebSocket commands of the off-site archive: ``restore_archive`` (one handler per command).

A restore runs in a thread of the engine (``archive.restore.RestoreJob``) on the engine's own
index: the engine holds the storage's lock already, and a restore beside it is what a user
without a shell needs (the command line wants the engine stopped). The answer comes at once;
the job says how it goes in the ``archive_restore`` event and ``ArchiveStatus.restore``. One
runs at a time: the check and the start happen on the event loop with nothing awaited in
between, so two requests cannot both start one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from vigil_engine.protocol import ArchiveRestoreChanged, Model, RestoreArchiveResult, RestoreStatus

from . import params
from .errors import ApiError, invalid

if TYPE_CHECKING:
    from vigil_engine.archive.restore import Selection

    from .websocket import Connection

Handler = Callable[["Connection", dict[str, Any]], Awaitable[Model]]

MAX_CAMERAS = 256
# Milliseconds since 1970 up to the year 9999: what a restore's range may name.
MAX_TIME_MS = 253_402_300_799_999


def _selection(args: dict[str, Any]) -> Selection:
    # Imported here, not at the top: an engine that only records never needs the archive's
    # modules (restore, the store's client: ~3 MB of RSS; tests/engine/test_startup_imports.py).
    from vigil_engine.archive.restore import Selection  # noqa: PLC0415

    cameras = args.get("camera_ids")
    if cameras is not None and (not isinstance(cameras, list) or len(cameras) > MAX_CAMERAS):
        raise invalid(f"camera_ids: expected a list of at most {MAX_CAMERAS} camera ids")
    # Any camera id, configured or not: the archive may hold footage of a camera this machine
    # does not have (yet).
    wanted = frozenset(params.camera_id(camera, "camera_ids") for camera in cameras or [])
    start, end = args.get("from_ms"), args.get("to_ms")
    from_ms = None if start is None else params.integer(start, "from_ms", 0, MAX_TIME_MS)
    to_ms = None if end is None else params.integer(end, "to_ms", 0, MAX_TIME_MS)
    if from_ms is not None and to_ms is not None and to_ms <= from_ms:
        raise invalid("to_ms: must be later than from_ms")
    return Selection(wanted, from_ms, to_ms)


async def _restore_archive(conn: Connection, args: dict[str, Any]) -> RestoreArchiveResult:
    wanted = _selection(args)
    download = args.get("download")
    engine = conn.ctx.engine
    if engine.config.archive is None:
        raise ApiError("no_archive", "no off-site archive is configured (the add-on's archive options)")
    running = engine.archive_restore
    if running is not None and running.running:
        raise ApiError("restore_running", "a restore from the archive is running already: wait for it to end")

    from vigil_engine.archive.restore import RestoreJob  # noqa: PLC0415 - lazily, as in _selection

    def publish(state: dict[str, Any]) -> None:
        engine.bus.publish(ArchiveRestoreChanged.NAME, {"restore": state})

    job = RestoreJob(
        engine.config,
        conn.ctx.index,
        wanted,
        download=params.boolean(download, "download") if download is not None else False,
        publish=publish,
        now_ms=engine.clock.now_ms,
    )
    engine.archive_restore = job
    job.start()
    return RestoreArchiveResult(restore=RestoreStatus.parse(job.state()))


ARCHIVE_HANDLERS: dict[str, Handler] = {"restore_archive": _restore_archive}
