"""Retention: delete the oldest footage long before the disk is full.

Order of deletion, each step only while it is needed:
0. events past their own retention (``events.retention_days``, longer than continuous by
   default), with their snapshots: the footage they protected becomes ordinary footage;
1. per camera, segments older than its ``retention_days`` that no event protects; for a
   camera in ``events`` record mode, every segment outside an event (with its pre/post
   capture) once it can no longer become part of one;
2. while storage exceeds the disk cap or free space is under the minimum: the globally
   oldest *unprotected* (continuous) segments first, then the oldest event footage.
With the off-site archive's ``keep_local_until_archived``, step 1 leaves the segments that
wait in the archive's queue; step 2 does not (the disk must not fill), and deleting footage
not yet archived is a storage warning (``archive_not_copied``) until the queue is empty.
A deleted segment the archive has copied keeps its row, marked archived-only: the footage
is still played (fetched from the store on demand) and no longer counts as bytes on this
disk; the archive's own retention (``keep_days``) drops the row with the object.
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
from typing import TYPE_CHECKING, Any

from vigil_engine.clock import EngineClock
from vigil_engine.config import EngineConfig
from vigil_engine.status import StorageStatus
from vigil_engine.storage.index import Index, SegmentRecord
from vigil_engine.storage.layout import remove_empty_parents

if TYPE_CHECKING:
    from vigil_engine.events.manager import EventManager

_LOGGER = logging.getLogger(__name__)
DAY_MS = 86_400_000
# Free a little more than strictly needed so we do not delete one segment per pass.
HYSTERESIS = 0.02
# In ``events`` mode a segment may still become pre-capture of an event that is not yet
# confirmed: motion seen up to this long ago (detection latency, confirmation, the
# recorder's settling) can still start an event whose start lies in the past. With
# ``events_from: objects`` an event starts when its object started moving, seen by a detector
# that drops frames older than a second (detection.service.MAX_WAIT_S): well within this too.
EVENT_MODE_GRACE_MS = 15_000


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
    deleted_outside_events: int = 0
    events_expired: int = 0
    bytes_freed: int = 0

    @property
    def deleted(self) -> int:
        return self.deleted_by_age + self.deleted_for_space + self.deleted_protected + self.deleted_outside_events


class RetentionEnforcer:
    def __init__(
        self,
        config: EngineConfig,
        index: Index,
        clock: EngineClock,
        status: StorageStatus,
        usage: Callable[[Path], DiskUsage] = disk_usage,
        *,
        events: EventManager | None = None,
        publish: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.config = config
        self.index = index
        self.clock = clock
        self.status = status
        self._usage = usage
        self._events = events
        self._publish = publish or (lambda kind, data: None)
        self._record_modes: dict[str, str] = {camera.id: camera.record for camera in config.cameras}
        self._warned: set[str] = set()
        # Cameras removed at run time -> their retention days: their footage ages out as it would have.
        self._retired: dict[str, float] = {}

    def set_record_mode(self, camera_id: str, mode: str) -> None:
        self._record_modes[camera_id] = mode
        self._retired.pop(camera_id, None)

    def retire(self, camera_id: str, retention_days: float) -> None:
        """The camera is gone; keep deleting its footage once it is ``retention_days`` old."""
        self._retired[camera_id] = retention_days
        self._record_modes.pop(camera_id, None)

    def run_once(self) -> RetentionReport:
        report = RetentionReport()
        now = self.clock.now_ms()
        if self._events is not None:
            report.events_expired = self._events.expire(now)
        keep = self._keep_unarchived
        for camera in self.config.cameras:
            horizon = now - int(camera.retention_days * DAY_MS)
            while batch := self.index.expired_segments(camera.id, horizon, now, keep_unarchived=keep):
                for segment in batch:
                    report.bytes_freed += self._delete(segment)
                    report.deleted_by_age += 1
            self.index.delete_gaps_before(camera.id, horizon)
            if self._record_modes.get(camera.id) == "events":
                grace = now - EVENT_MODE_GRACE_MS - int(camera.events.pre_capture * 1000)
                while batch := self.index.expired_segments(camera.id, grace, now, keep_unarchived=keep):
                    for segment in batch:
                        report.bytes_freed += self._delete(segment)
                        report.deleted_outside_events += 1
        for camera_id, days in list(self._retired.items()):
            horizon = now - int(days * DAY_MS)
            while batch := self.index.expired_segments(camera_id, horizon, now, keep_unarchived=keep):
                for segment in batch:
                    report.bytes_freed += self._delete(segment)
                    report.deleted_by_age += 1
            self.index.delete_gaps_before(camera_id, horizon)
        shortfall = self._enforce_space(report, now)
        self._check_horizon(now, shortfall)
        self.refresh_status()
        self.status.segments_deleted += report.deleted
        self.status.last_cleanup_ms = now
        if report.deleted:
            _LOGGER.info(
                "Retention deleted %d segments (%d by age, %d outside events, %d for space, %d event) freeing %.1f MB",
                report.deleted,
                report.deleted_by_age,
                report.deleted_outside_events,
                report.deleted_for_space,
                report.deleted_protected,
                report.bytes_freed / 1e6,
            )
        if report.events_expired:
            _LOGGER.info("Retention deleted %d expired events", report.events_expired)
        return report

    def _warn(self, code: str, message: str) -> None:
        """Publish a storage warning once per condition (again after it cleared)."""
        if code in self._warned:
            return
        self._warned.add(code)
        self.status.warnings = [*self.status.warnings, {"code": code, "message": message}]
        _LOGGER.warning("%s", message)
        self._publish("storage_warning", {"code": code, "message": message, "active": True})

    def _clear(self, code: str) -> None:
        if code in self._warned:
            self._warned.discard(code)
            self.status.warnings = [w for w in self.status.warnings if w["code"] != code]
            self._publish("storage_warning", {"code": code, "message": "", "active": False})

    def _check_horizon(self, now: int, shortfall_days: float | None) -> None:
        """Warn when space, not age, limits how far back footage goes (the retention won't fit)."""
        if shortfall_days is not None:
            self._warn(
                "retention_not_met",
                f"Space ran out after {shortfall_days:.1f} days of footage, less than the configured "
                "retention: raise the disk cap, add space or shorten the retention",
            )
            return
        oldest = self.index.oldest_start(local=True)  # what this disk holds, not what the archive adds
        shortest = min((camera.retention_days for camera in self.config.cameras), default=0.0)
        if oldest is None or (now - oldest) >= shortest * DAY_MS * 0.95:
            self._clear("retention_not_met")

    @property
    def _keep_unarchived(self) -> bool:
        archive = self.config.archive
        return archive is not None and archive.keep_local_until_archived

    def _check_archive(self, unarchived_deleted: int) -> None:
        """Warn when space forced deleting footage the archive had not copied yet; the warning
        holds until the archive's queue is empty."""
        if self.config.archive is None:
            return
        if unarchived_deleted:
            self._warn(
                "archive_not_copied",
                f"Space ran out: footage the off-site archive had not copied yet was deleted ({unarchived_deleted} "
                f"segment{'s' if unarchived_deleted != 1 else ''}): raise the disk cap, add space, or check the "
                "archive's store",
            )
        elif self.index.archive_backlog() == 0:
            self._clear("archive_not_copied")

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

    def _enforce_space(self, report: RetentionReport, now: int) -> float | None:
        """Delete for space; returns the age in days of the youngest footage deleted before
        its retention was up (None if all deleted footage was past its retention anyway)."""
        need = self._bytes_to_free()
        shortfall: float | None = None
        unarchived = 0
        if need <= 0:
            self._clear("storage_full")
            self._check_archive(0)
            return None
        for protected in (False, True):
            while need > 0:
                batch = self.index.oldest_segments(now, protected=protected, limit=50)
                if not batch:
                    break
                for segment in batch:
                    age_days = (now - segment.end_ms) / DAY_MS
                    if age_days < self._retention_days(segment.camera_id):
                        shortfall = age_days if shortfall is None else min(shortfall, age_days)
                    if self.config.archive is not None and segment.id is not None:
                        unarchived += self.index.archive_pending(segment.id)
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
            self._warn(
                "storage_full",
                f"Storage is still {need / 1e6:.1f} MB over its limits with no footage left to delete: "
                "raise the disk cap or free space on the volume",
            )
        else:
            self._clear("storage_full")
        self._check_archive(unarchived)
        return shortfall

    def _retention_days(self, camera_id: str) -> float:
        try:
            return self.config.camera(camera_id).retention_days
        except KeyError:
            return 0.0  # footage of a camera no longer configured: no promise to keep

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
        if self.config.archive is not None and self.index.archive_object(segment.id) is not None:
            # The archive holds it: the footage stays playable from there (see ``api.context``).
            self.index.keep_archived_only(segment.id)
        else:
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
