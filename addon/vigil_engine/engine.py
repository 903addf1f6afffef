"""The engine: reconciles storage, runs one worker per camera and the retention loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from . import __version__
from .clock import EngineClock
from .config import EngineConfig
from .ingest.worker import CameraWorker
from .retention.enforcer import RetentionEnforcer
from .status import CameraStatus, StorageStatus
from .storage.index import Index
from .storage.reconcile import ReconcileReport, reconcile

_LOGGER = logging.getLogger(__name__)

Listener = Callable[[str, dict[str, Any]], None]


class Engine:
    def __init__(self, config: EngineConfig, clock: EngineClock | None = None) -> None:
        self.config = config
        self.clock = clock or EngineClock()
        self.index: Index | None = None
        self.workers: dict[str, CameraWorker] = {}
        self.camera_status: dict[str, CameraStatus] = {
            cam.id: CameraStatus(camera_id=cam.id, name=cam.name, record_mode=cam.record) for cam in config.cameras
        }
        self.storage_status = StorageStatus()
        self.reconcile_report: ReconcileReport | None = None
        self.retention: RetentionEnforcer | None = None
        self._listeners: list[Listener] = []
        self._listeners_lock = threading.Lock()
        self._retention_wakeup: asyncio.Event | None = None
        self._retention_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False

    def add_listener(self, listener: Listener) -> None:
        """Called from worker threads for every change (camera up/down, segment, recording)."""
        with self._listeners_lock:
            self._listeners.append(listener)

    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(kind, data)
            except Exception:  # a listener's bug must not reach the packet loop
                _LOGGER.exception("Listener failed for %s", kind)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        cfg = self.config
        cfg.recordings_path.mkdir(parents=True, exist_ok=True)
        _LOGGER.info(
            "Vigil engine %s starting: %d cameras, storage %s, segments of %g s",
            __version__,
            len(cfg.cameras),
            cfg.storage_path,
            cfg.segment_seconds,
        )
        index, rebuilt_from = await asyncio.to_thread(Index.open, cfg.db_path)
        self.index = index
        self.reconcile_report = await asyncio.to_thread(reconcile, index, cfg.recordings_path, rebuilt_from)
        now = self.clock.now_ms()
        for cam in cfg.cameras:
            await asyncio.to_thread(index.upsert_camera, cam.id, cam.name, now)
        self.retention = RetentionEnforcer(cfg, index, self.clock, self.storage_status)
        await asyncio.to_thread(self.retention.run_once)
        for cam in cfg.cameras:
            if not cam.enabled:
                continue
            worker = CameraWorker(
                cam,
                cfg,
                index,
                self.clock,
                self.camera_status[cam.id],
                on_change=self._emit,
                on_disk_error=self.request_cleanup,
            )
            self.workers[cam.id] = worker
            worker.start()
        self._retention_wakeup = asyncio.Event()
        self._retention_task = asyncio.create_task(self._retention_loop(), name="retention")

    def request_cleanup(self) -> None:
        """Run retention now (thread-safe): a write failed, perhaps for want of space."""
        if self._loop is not None and self._retention_wakeup is not None:
            self._loop.call_soon_threadsafe(self._retention_wakeup.set)

    async def _retention_loop(self) -> None:
        assert self._retention_wakeup is not None
        assert self.retention is not None
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._retention_wakeup.wait(), self.config.retention_interval)
            self._retention_wakeup.clear()
            if self._stopping:
                return
            try:
                await asyncio.to_thread(self.retention.run_once)
            except Exception:  # retention must keep running; the error is logged in full
                _LOGGER.exception("Retention pass failed")

    async def stop(self) -> None:
        _LOGGER.info("Vigil engine stopping")
        # Not cancelled: a pass runs in a thread that cancelling would not stop, and it must
        # not delete files after the index is closed (their rows would outlive them).
        self._stopping = True
        if self._retention_task is not None and self._retention_wakeup is not None:
            self._retention_wakeup.set()
            await self._retention_task
        for worker in self.workers.values():
            worker.stop()
        # Each worker finishes its segment (close, fsync, index) before its thread ends.
        for worker in self.workers.values():
            await asyncio.to_thread(worker.join, self.config.read_timeout + 5)
        if self.index is not None:
            if self.retention is not None:
                self.retention.refresh_status()
            self.index.close()
            self.index = None
        _LOGGER.info("Vigil engine stopped")

    def status(self) -> dict[str, Any]:
        if self.retention is not None and self.index is not None:
            self.retention.refresh_status()
        return {
            "version": __version__,
            "cameras": {cid: st.as_dict() for cid, st in self.camera_status.items()},
            "storage": self.storage_status.as_dict(),
        }
