"""The browser's *Clips* and *Snapshots*: the files ``vigil.export_clip`` and ``vigil.snapshot`` wrote.

They are in Home Assistant's media folder (``<media>/vigil/clips/``, ``.../snapshots/``), shared
by every engine, and play from Home Assistant's own local media view. Their titles (camera,
local time, length) and pictures come from the description kept beside each (``exports.py``);
a file without one is listed by its name.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from homeassistant.components.media_player.const import MediaClass
from homeassistant.components.media_source import BrowseMediaSource, PlayMedia
from homeassistant.components.media_source.error import Unresolvable
from homeassistant.core import HomeAssistant

from .const import CLIPS_DIR, MEDIA_SUBDIR
from .exports import ExportInfo, read_info, thumbnail_path
from .media import EXPORT_NAME, media_root
from .media_nodes import FILE_TYPES, folder, local_media_url, play_item
from .media_titles import file_title
from .signing import export_thumbnail_path, sign

type Listed = tuple[str, ExportInfo | None, bool, float]  # name, description, has a thumbnail, mtime


async def browse_exports(
    hass: HomeAssistant, entry_id: str, kind: str, zone: ZoneInfo, signed: Callable[[str], str]
) -> BrowseMediaSource:
    """The folder's files, newest first (by the instant they show; else by when they were written)."""
    source, root = media_root(hass)
    where = root / MEDIA_SUBDIR / kind

    def listing() -> list[Listed]:
        if not where.is_dir():
            return []
        return [
            (path.name, read_info(path), thumbnail_path(path).is_file(), path.stat().st_mtime)
            for path in where.iterdir()
            if path.is_file() and EXPORT_NAME.match(path.name) and path.suffix.lower() in FILE_TYPES
        ]

    def newest_first(file: Listed) -> float:
        _name, info, _thumbnail, mtime = file
        return info.start_ms / 1000 if info is not None else mtime

    children = []
    for name, info, has_thumbnail, _mtime in sorted(
        await hass.async_add_executor_job(listing), key=newest_first, reverse=True
    ):
        mime, media_class = FILE_TYPES[Path(name).suffix.lower()]
        title = name
        if info is not None:
            length = None if info.end_ms is None else info.end_ms - info.start_ms
            title = file_title(info.camera_name, info.start_ms, zone, length)
        if media_class is MediaClass.IMAGE:
            thumbnail: str | None = signed(local_media_url(source, kind, name))  # a snapshot is its own picture
        else:
            thumbnail = signed(export_thumbnail_path(kind, name)) if has_thumbnail else None
        children.append(play_item(f"{entry_id}/{kind}/{name}", title, mime, media_class, thumbnail=thumbnail))
    node = folder(
        f"{entry_id}/{kind}",
        "Clips" if kind == CLIPS_DIR else "Snapshots",
        children_media_class=MediaClass.VIDEO if kind == CLIPS_DIR else MediaClass.IMAGE,
    )
    node.children = children
    return node


async def resolve_export(hass: HomeAssistant, kind: str, name: str, expiry: timedelta) -> PlayMedia:
    """A signed link to the file in Home Assistant's local media view (and its path, for players that read files)."""
    source, root = media_root(hass)
    suffix = Path(name).suffix.lower()
    if not EXPORT_NAME.match(name) or suffix not in FILE_TYPES:
        raise Unresolvable(f"Not a Vigil {kind[:-1]}: {name!r}")
    path = root / MEDIA_SUBDIR / kind / name
    if not await hass.async_add_executor_job(path.is_file):
        raise Unresolvable(f"The {kind[:-1]} {name!r} no longer exists")
    return PlayMedia(sign(hass, local_media_url(source, kind, name), expiry), FILE_TYPES[suffix][0], path=path)
