"""What the export actions wrote, described for the media browser: a sidecar beside each file.

``vigil.export_clip`` and ``vigil.snapshot`` write plain MP4 and JPEG files that any player
opens and Home Assistant's own local media source lists. A file's name cannot say everything
the browser wants to show (the camera's name, the UTC instants, an event's length), and local
times written into names would be ambiguous in the hour the clocks go back. So beside each
file, in the hidden folder ``.vigil/`` of its folder, the integration keeps:

* ``<file>.json``: the camera (id and name when exported) and the UTC instants (and event);
* ``<file>.jpg``, clips only: a small still of the clip (its event's thumbnail, or the
  footage at its start), so a clip has a picture even after the engine's retention deleted
  its footage.

Hidden, because Home Assistant's local media source skips names that start with a dot (and
so does the Vigil listing). A file without a sidecar (copied in by hand, or exported by an
older version) is listed by its name. Everything here touches the disk: run it in the executor.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final, Self

META_DIR: Final = ".vigil"


@dataclass(frozen=True, slots=True)
class ExportInfo:
    """What one exported file shows: a camera's footage from ``start_ms`` (to ``end_ms`` for a clip)."""

    camera_id: str
    camera_name: str
    start_ms: int
    end_ms: int | None = None
    event_id: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> Self | None:
        if not isinstance(data, dict):
            return None
        camera_id, name, start, end = (data.get(key) for key in ("camera_id", "camera_name", "start_ms", "end_ms"))
        event_id = data.get("event_id")
        if not (isinstance(camera_id, str) and isinstance(name, str) and type(start) is int):
            return None
        if end is not None and (type(end) is not int or end < start):
            return None
        return cls(camera_id, name, start, end, event_id if isinstance(event_id, str) else None)


def info_path(file: Path) -> Path:
    return file.parent / META_DIR / f"{file.name}.json"


def thumbnail_path(file: Path) -> Path:
    return file.parent / META_DIR / f"{file.name}.jpg"


def write_sidecar(file: Path, info: ExportInfo, thumbnail: bytes | None = None) -> None:
    """Describe ``file`` (and keep its thumbnail); each sidecar appears whole or not at all."""
    folder = file.parent / META_DIR
    folder.mkdir(exist_ok=True)
    _write_atomic(info_path(file), json.dumps(asdict(info)).encode())
    if thumbnail is not None:
        _write_atomic(thumbnail_path(file), thumbnail)


def read_info(file: Path) -> ExportInfo | None:
    """The sidecar of ``file``, or None when there is none (or it cannot be read)."""
    try:
        return ExportInfo.from_json(json.loads(info_path(file).read_bytes()))
    except OSError, ValueError:
        return None


def _write_atomic(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.part")
    partial.write_bytes(data)
    partial.replace(path)
