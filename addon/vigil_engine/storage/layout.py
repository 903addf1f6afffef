"""Where segments live: ``recordings/<camera>/<YYYY-MM-DD>/<HH>/<MM.SS>.mp4``, in UTC.

A person browsing the folder sees the same hours the index does. Two segments that start
within the same second (a reconnect storm) get a ``-1``, ``-2`` … suffix.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

_NAME = re.compile(r"^(\d{2})\.(\d{2})(?:-\d+)?\.mp4$")


def segment_path(recordings: Path, camera_id: str, start_ms: int) -> Path:
    """A fresh path for a segment of ``camera_id`` starting at ``start_ms`` (UTC)."""
    start = datetime.fromtimestamp(start_ms / 1000, tz=UTC)
    folder = recordings / camera_id / start.strftime("%Y-%m-%d") / start.strftime("%H")
    base = start.strftime("%M.%S")
    path = folder / f"{base}.mp4"
    counter = 1
    while path.exists():
        path = folder / f"{base}-{counter}.mp4"
        counter += 1
    return path


def parse_segment_path(recordings: Path, path: Path) -> tuple[str, int] | None:
    """(camera id, start in ms to the second) from a segment path, or None if it is not one."""
    try:
        rel = path.relative_to(recordings)
    except ValueError:
        return None
    if len(rel.parts) != 4:
        return None
    camera_id, day, hour, name = rel.parts
    match = _NAME.match(name)
    if not match:
        return None
    try:
        start = datetime.strptime(f"{day} {hour}:{match.group(1)}:{match.group(2)}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return camera_id, int(start.replace(tzinfo=UTC).timestamp() * 1000)


def remove_empty_parents(path: Path, stop: Path) -> None:
    """Remove the now-empty hour and day folders above a deleted segment (not ``stop``)."""
    folder = path.parent
    while folder != stop and stop in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
