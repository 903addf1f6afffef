"""Start-up reconciliation: make the index and the files on disk agree again.

Runs before any worker starts, so no segment is being written. It
- trims a torn last fragment from segments cut short by a crash or power loss,
- indexes orphan files it can parse (the segment that was being written at the crash,
  or every file when the index was rebuilt), with the exact start from the file's
  metadata and the duration from its packets,
- deletes files with no playable footage, and drops rows whose files are gone,
and reports what it repaired.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import av

from .index import Index
from .layout import parse_segment_path, remove_empty_parents
from .mp4 import probe_segment, probed_record, trim_torn_tail

_LOGGER = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    indexed_orphans: int = 0
    trimmed: int = 0
    removed_unplayable: int = 0
    dropped_rows: int = 0
    rebuilt_from: str | None = None
    details: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.indexed_orphans or self.trimmed or self.removed_unplayable or self.dropped_rows)

    def summary(self) -> str:
        parts = [
            f"{self.indexed_orphans} orphan segments indexed",
            f"{self.trimmed} torn segments trimmed",
            f"{self.removed_unplayable} unplayable files removed",
            f"{self.dropped_rows} rows without files dropped",
        ]
        if self.rebuilt_from:
            parts.insert(0, f"corrupt index replaced (copy kept as {self.rebuilt_from})")
        return ", ".join(parts)


def reconcile(index: Index, recordings: Path, rebuilt_from: str | None = None) -> ReconcileReport:
    report = ReconcileReport(rebuilt_from=rebuilt_from)
    recordings.mkdir(parents=True, exist_ok=True)
    known = index.segment_paths()
    on_disk: set[str] = set()

    for path in sorted(recordings.glob("*/*/*/*.mp4")):
        rel = path.relative_to(recordings).as_posix()
        on_disk.add(rel)
        if rel in known:
            continue
        parsed = parse_segment_path(recordings, path)
        if parsed is None:
            continue
        camera_id, path_start_ms = parsed
        try:
            trim = trim_torn_tail(path)
            probed = probe_segment(path) if trim.kept_bytes else None
        except (OSError, ValueError, av.FFmpegError) as err:
            _LOGGER.debug("Cannot parse %s: %s", rel, err)
            probed = None
            trim = None
        if probed is None or probed.duration_ms <= 0:
            path.unlink(missing_ok=True)
            remove_empty_parents(path, recordings)
            on_disk.discard(rel)
            report.removed_unplayable += 1
            report.details.append(f"removed {rel}: no playable footage")
            continue
        if trim is not None and trim.trimmed:
            report.trimmed += 1
            report.details.append(f"trimmed {rel}: {trim.original_bytes - trim.kept_bytes} bytes of a torn fragment")
        start_ms = probed.start_ms if probed.start_ms is not None else path_start_ms
        index.add_segment(probed_record(camera_id, start_ms, rel, path, probed))
        report.indexed_orphans += 1
        report.details.append(f"indexed {rel} ({probed.duration_ms / 1000:.1f} s)")

    for rel, segment_id in known.items():
        if rel not in on_disk:
            index.delete_segment(segment_id)
            report.dropped_rows += 1
    if report.changed or rebuilt_from:
        _LOGGER.warning("Reconciled storage with the index: %s", report.summary())
        for line in report.details[:50]:
            _LOGGER.info("Reconcile: %s", line)
    return report
