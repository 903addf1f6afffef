"""Retention: delete the oldest footage long before the disk is full.

Order of deletion, each step only while it is needed:
1. per camera, segments older than its ``retention_days`` that no event protects;
2. while storage exceeds the disk cap or free space is under the minimum: the globally
   oldest *unprotected* (continuous) segments first, then the oldest event footage.
A segment being written is never in the index, so it can never be chosen. Files are
deleted before their rows: a crash in between leaves a row without a file, which the
next reconcile drops, never a file that would resurrect as an orphan.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vigil_engine.clock import EngineClock
from vigil_engine.config import EngineConfig
from vigil_engine.status import StorageStatus
from vigil_engine.storage.index import Index, SegmentRecord
from vigil_engine.storage.layout import remove_empty_parents

_LOGGER = logging.getLogger(__name__)
DAY_MS = 86_400_000
# Free a little more than strictly needed so we do not delete one segment per pass.
HYSTERESIS = 0.02


@dataclass(frozen=True, slots=True)
class DiskUsage:
    total: int
    free: int


def disk_usage(path: Path) -> DiskUsage:
    usage = shutil.disk_usage(path)
    return DiskUsage(total=usage.total, free=usage.free)


@dataclass
class RetentionReport:
    deleted_by_age: int = 0
    deleted_for_space: int = 0
    deleted_protected: int = 0
    bytes_freed: int = 0

    @property
    def deleted(self) -> int:
        return self.deleted_by_age + self.deleted_for_space + self.deleted_protected


class RetentionEnforcer:
    def __init__(
        self,
        config: EngineConfig,
        index: Index,
        clock: EngineClock,
        status: StorageStatus,
        usage: Callable[[Path], DiskUsage] = disk_usage,
    ) -> None:
        self.config = config
        self.index = index
        self.clock = clock
        self.status = status
        self._usage = usage

    def run_once(self) -> RetentionReport:
        report = RetentionReport()
        now = self.clock.now_ms()
        for camera in self.config.cameras:
            horizon = now - int(camera.retention_days * DAY_MS)
            while batch := self.index.expired_segments(camera.id, horizon, now):
                for segment in batch:
                    report.bytes_freed += self._delete(segment)
                    report.deleted_by_age += 1
            self.index.delete_gaps_before(camera.id, horizon)
        self._enforce_space(report, now)
        self.refresh_status()
        self.status.segments_deleted += report.deleted
        self.status.last_cleanup_ms = now
        if report.deleted:
            _LOGGER.info(
                "Retention deleted %d segments (%d by age, %d for space, %d event) freeing %.1f MB",
                report.deleted,
                report.deleted_by_age,
                report.deleted_for_space,
                report.deleted_protected,
                report.bytes_freed / 1e6,
            )
        return report

    def _bytes_to_free(self) -> int:
        """How far storage is over the cap or under the minimum free space (0 if fine)."""
        usage = self._usage(self.config.storage_path)
        used = self.index.total_bytes()
        need = 0
        if self.config.disk_cap is not None:
            cap = self.config.disk_cap.resolve(usage.total)
            if used > cap:
                need = max(need, used - cap + int(cap * HYSTERESIS))
        min_free = self.config.min_free.resolve(usage.total)
        if usage.free < min_free:
            need = max(need, min_free - usage.free + int(min_free * HYSTERESIS))
        return need

    def _enforce_space(self, report: RetentionReport, now: int) -> None:
        need = self._bytes_to_free()
        if need <= 0:
            return
        for protected in (False, True):
            while need > 0:
                batch = self.index.oldest_segments(now, protected=protected, limit=50)
                if not batch:
                    break
                for segment in batch:
                    freed = self._delete(segment)
                    report.bytes_freed += freed
                    need -= max(freed, 1)
                    if protected:
                        report.deleted_protected += 1
                    else:
                        report.deleted_for_space += 1
                    if need <= 0:
                        break
            if need <= 0:
                break
        if need > 0:
            _LOGGER.error(
                "Storage is still %.1f MB over its limits with no footage left to delete: "
                "raise the disk cap or free space on the volume",
                need / 1e6,
            )

    def _delete(self, segment: SegmentRecord) -> int:
        path = self.config.recordings_path / segment.path
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            size = 0
        except OSError as err:
            _LOGGER.error("Cannot delete %s: %s", segment.path, err.strerror)
            return 0
        assert segment.id is not None
        self.index.delete_segment(segment.id)
        remove_empty_parents(path, self.config.recordings_path)
        return size

    def refresh_status(self) -> None:
        try:
            usage = self._usage(self.config.storage_path)
        except OSError:
            return
        self.status.bytes_used = self.index.total_bytes()
        self.status.bytes_free = usage.free
        self.status.bytes_total = usage.total
        self.status.disk_cap_bytes = self.config.disk_cap.resolve(usage.total) if self.config.disk_cap else None
        self.status.oldest_footage_ms = self.index.oldest_start()
