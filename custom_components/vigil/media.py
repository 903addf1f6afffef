"""Files the actions write under Home Assistant's media folder, and their media-source ids.

Clips land in ``<media>/vigil/clips/`` and snapshots in ``<media>/vigil/snapshots/``, where
``<media>`` is the ``local`` media directory (``/media`` on Home Assistant OS). Each file
gets two ids:

* ``media-source://vigil/<entry_id>/clips/<file>`` (or ``/snapshots/``): the id the Vigil
  media source resolves (``media_source.py``);
* ``media-source://media_source/local/vigil/clips/<file>``: Home Assistant's own local
  media source, which can play or show the file too.

An event's clip has an id in the Vigil media source as well (``event_clip_content_id``):
unlike a signed link it is no secret, and only works for someone logged in to Home Assistant.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import IO, Final

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .const import DOMAIN, MEDIA_SUBDIR

LOCAL_MEDIA = "local"
# The names the actions give their files (and the only ones the browser and views look up):
# no path separators, no leading dot.
EXPORT_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")


def media_root(hass: HomeAssistant) -> tuple[str, Path]:
    """The media directory the actions write to, and its name in the local media source."""
    dirs = hass.config.media_dirs
    name = LOCAL_MEDIA if LOCAL_MEDIA in dirs else next(iter(dirs), LOCAL_MEDIA)
    return name, Path(dirs.get(name) or hass.config.path("media"))


def file_stamp(moment: datetime) -> str:
    """A file-name-safe local time: 20260105-143000."""
    return dt_util.as_local(moment).strftime("%Y%m%d-%H%M%S")


def media_ids(hass: HomeAssistant, entry_id: str, kind: str, filename: str) -> dict[str, str]:
    """The file's ids in the Vigil media source and in Home Assistant's local media source."""
    source, _ = media_root(hass)
    return {
        "media_content_id": f"media-source://{DOMAIN}/{entry_id}/{kind}/{filename}",
        "local_media_content_id": f"media-source://media_source/{source}/{MEDIA_SUBDIR}/{kind}/{filename}",
    }


def event_clip_content_id(entry_id: str, event_id: str) -> str:
    """``media-source://vigil/<entry_id>/event/<event_id>``: the event's clip in the Vigil media source."""
    return f"media-source://{DOMAIN}/{entry_id}/event/{event_id}"


def _unique_path(folder: Path, stem: str, suffix: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}{suffix}"
    number = 1
    while path.exists():
        number += 1
        path = folder / f"{stem}_{number}{suffix}"
    return path


def target_path(hass: HomeAssistant, kind: str, stem: str, suffix: str) -> Path:
    """A new file's path in ``<media>/vigil/<kind>/`` (runs in the executor: it touches the disk)."""
    _, root = media_root(hass)
    return _unique_path(root / MEDIA_SUBDIR / kind, stem, suffix)


async def async_write_file(hass: HomeAssistant, kind: str, stem: str, suffix: str, data: bytes) -> Path:
    """Write ``data`` to a new file; return its path."""

    def write() -> Path:
        path = target_path(hass, kind, stem, suffix)
        partial = path.with_name(f".{path.name}.part")
        partial.write_bytes(data)
        partial.replace(path)
        return path

    return await hass.async_add_executor_job(write)


async def async_write_stream(
    hass: HomeAssistant, kind: str, stem: str, suffix: str, chunks: AsyncIterator[bytes]
) -> tuple[Path, int]:
    """Write a stream of chunks to a new file (atomically: it appears complete or not at all)."""
    path = await hass.async_add_executor_job(target_path, hass, kind, stem, suffix)
    partial = path.with_name(f".{path.name}.part")
    handle: IO[bytes] = await hass.async_add_executor_job(partial.open, "wb")
    size = 0
    try:
        async for chunk in chunks:
            await hass.async_add_executor_job(handle.write, chunk)
            size += len(chunk)
        await hass.async_add_executor_job(handle.close)
        await hass.async_add_executor_job(partial.replace, path)
    except BaseException:
        await hass.async_add_executor_job(_discard, handle, partial)
        raise
    return path, size


def _discard(handle: IO[bytes], partial: Path) -> None:
    handle.close()
    partial.unlink(missing_ok=True)
