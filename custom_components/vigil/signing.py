"""The paths of Vigil's media views in Home Assistant, and signed links to them.

Players, ``<img>`` elements and phones opening a notification cannot send Home Assistant's
``Authorization`` header, so they get a path that carries Home Assistant's own signature
(``authSig``, made by ``async_sign_path`` and checked by its auth middleware): it works for
one path and query, for a limited time, and is refused (401) when tampered with or
expired. The engine behind the views is never exposed: the views stream from it with the
integration's token.

Such a link opens its media for whoever holds it, so links that outlive a connection (for
notifications) are minted only when asked for, by the vigil.get_event_media action, and
never stored in a state or a bus event, where every user, the recorder's database and the
backups would keep them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Final
from urllib.parse import quote, urlencode

from homeassistant.components.http.auth import async_sign_path
from homeassistant.core import HomeAssistant, callback

from .const import (
    CONF_LINK_EXPIRY_MINUTES,
    DEFAULT_LINK_EXPIRY_MINUTES,
    DOMAIN,
    MAX_LINK_EXPIRY_MINUTES,
    MIN_LINK_EXPIRY_MINUTES,
)

VIEW_ROOT: Final = f"/api/{DOMAIN}"
SNAPSHOT: Final = "snapshot.jpg"
THUMBNAIL: Final = "thumbnail.jpg"
CLIP: Final = "clip.mp4"
PLAYLIST: Final = "playlist.m3u8"
STILL: Final = "still.jpg"
EXPORT_THUMBNAIL: Final = "thumbnail.jpg"
# Stills for the media browser's tiles: wide enough for a 175 px tile on a 2x screen.
STILL_WIDTH: Final = 384
EVENT_MEDIA: Final = (SNAPSHOT, THUMBNAIL, CLIP)
# An event's media by the names vigil.get_event_media takes (its answer has a ``<name>_url`` each).
EVENT_MEDIA_FILES: Final = {"snapshot": SNAPSHOT, "thumbnail": THUMBNAIL, "clip": CLIP}


def _part(value: str) -> str:
    return quote(value, safe="")


def event_path(entry_id: str, event_id: str, name: str) -> str:
    """``/api/vigil/<entry>/events/<event>/<snapshot.jpg|thumbnail.jpg|clip.mp4>``."""
    return f"{VIEW_ROOT}/{_part(entry_id)}/events/{_part(event_id)}/{name}"


def camera_path(entry_id: str, camera_id: str, name: str, start_ms: int, end_ms: int) -> str:
    """A camera's footage between two instants: ``clip.mp4`` (MP4) or ``playlist.m3u8`` (HLS)."""
    query = urlencode({"start": start_ms, "end": end_ms})
    return f"{VIEW_ROOT}/{_part(entry_id)}/cameras/{_part(camera_id)}/{name}?{query}"


def still_path(entry_id: str, camera_id: str, at_ms: int, width: int = STILL_WIDTH) -> str:
    """A JPEG of the camera's footage at one instant, ``width`` pixels wide."""
    query = urlencode({"at": at_ms, "width": width})
    return f"{VIEW_ROOT}/{_part(entry_id)}/cameras/{_part(camera_id)}/{STILL}?{query}"


def export_thumbnail_path(kind: str, filename: str) -> str:
    """The thumbnail kept beside an exported file: ``/api/vigil/exports/clips/<file>/thumbnail.jpg``."""
    return f"{VIEW_ROOT}/exports/{_part(kind)}/{_part(filename)}/{EXPORT_THUMBNAIL}"


def recording_path(entry_id: str, camera_id: str, segment: str, name: str) -> str:
    """One HLS segment's init section or media (as a playlist lists them)."""
    return f"{VIEW_ROOT}/{_part(entry_id)}/cameras/{_part(camera_id)}/recordings/{_part(segment)}/{name}"


@callback
def link_expiry(hass: HomeAssistant, entry_id: str) -> timedelta:
    """How long a link made for this entry works (the option, within its bounds)."""
    entry = hass.config_entries.async_get_entry(entry_id)
    minutes = float(DEFAULT_LINK_EXPIRY_MINUTES)
    if entry is not None:
        minutes = float(entry.options.get(CONF_LINK_EXPIRY_MINUTES, DEFAULT_LINK_EXPIRY_MINUTES))
    minutes = min(max(minutes, MIN_LINK_EXPIRY_MINUTES), MAX_LINK_EXPIRY_MINUTES)
    return timedelta(minutes=minutes)


@callback
def sign(
    hass: HomeAssistant,
    path: str,
    expiry: timedelta,
    *,
    refresh_token_id: str | None = None,
    content_user: bool = False,
) -> str:
    """``path`` with Home Assistant's signature for ``expiry``.

    By default the link acts for the user whose request or WebSocket connection is being
    served; ``content_user`` makes it act for Home Assistant's own content user instead (for
    links that outlive any connection: notifications, automations).
    """
    return async_sign_path(hass, path, expiry, refresh_token_id=refresh_token_id, use_content_user=content_user)


@callback
def signed_event_links(
    hass: HomeAssistant, entry_id: str, event_id: str, media: Iterable[str], expiry: timedelta
) -> dict[str, str]:
    """Signed paths to the event's media: ``snapshot_url``, ``thumbnail_url``, ``clip_url`` (those asked for).

    Relative to Home Assistant's URL (the companion apps and the frontend resolve them),
    signed for Home Assistant's content user: they work for ``expiry`` without a login. They
    are bearer links, so they are only minted on demand (the vigil.get_event_media action)
    and handed to the caller, never written into states or bus events.
    """
    return {
        f"{name}_url": sign(hass, event_path(entry_id, event_id, EVENT_MEDIA_FILES[name]), expiry, content_user=True)
        for name in media
    }
