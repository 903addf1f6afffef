"""The kinds of items the Vigil media browser shows, and the media types Home Assistant's Media panel plays.

A folder opens; an item plays; footage (a day, an hour) does both; an outage opens only (it
has no video of its own). Every item either plays or opens: a tile that does neither ends in
the Media panel's error dialog when clicked.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote

from homeassistant.components.media_player.const import MediaClass, MediaType
from homeassistant.components.media_source import BrowseMediaSource

from .const import DOMAIN, MEDIA_SUBDIR

MP4: Final = "video/mp4"
JPEG: Final = "image/jpeg"
# Home Assistant's Media panel plays HLS only under this type (application/vnd.apple.mpegurl,
# the type the playlist itself is served with, gets "does not support this type of media").
HLS: Final = "application/x-mpegURL"
# The files the export actions write, by suffix.
FILE_TYPES: Final = {
    ".mp4": (MP4, MediaClass.VIDEO),
    ".jpg": (JPEG, MediaClass.IMAGE),
    ".jpeg": (JPEG, MediaClass.IMAGE),
}


def folder(
    identifier: str, title: str, *, media_class: MediaClass = MediaClass.DIRECTORY, **kwargs: Any
) -> BrowseMediaSource:
    return BrowseMediaSource(
        domain=DOMAIN,
        identifier=identifier,
        media_class=media_class,
        media_content_type=MediaType.VIDEO,
        title=title,
        can_play=False,
        can_expand=True,
        **kwargs,
    )


def play_item(identifier: str, title: str, mime_type: str, media_class: MediaClass, **kwargs: Any) -> BrowseMediaSource:
    return BrowseMediaSource(
        domain=DOMAIN,
        identifier=identifier,
        media_class=media_class,
        media_content_type=mime_type,
        title=title,
        can_play=True,
        can_expand=False,
        **kwargs,
    )


def footage_node(identifier: str, title: str, thumbnail: str | None) -> BrowseMediaSource:
    """Footage that plays (HLS) and opens into its parts: a day, an hour."""
    return BrowseMediaSource(
        domain=DOMAIN,
        identifier=identifier,
        media_class=MediaClass.VIDEO,
        media_content_type=HLS,
        title=title,
        can_play=True,
        can_expand=True,
        thumbnail=thumbnail,
        children_media_class=MediaClass.VIDEO,
    )


def gap_node(identifier: str, title: str) -> BrowseMediaSource:
    """An outage: no video of its own (not playable), but it opens: its page's title is the whole
    reason (a tile's is cut short), and it plays the footage around it. A tile that neither plays
    nor opens would end in the Media panel's error dialog when clicked."""
    return BrowseMediaSource(
        domain=DOMAIN,
        identifier=identifier,
        media_class=MediaClass.DIRECTORY,
        media_content_type=MediaType.VIDEO,
        title=title,
        can_play=False,
        can_expand=True,
        children_media_class=MediaClass.VIDEO,
    )


def local_media_url(source: str, kind: str, name: str) -> str:
    """An exported file in Home Assistant's own local media view (it checks that the folder is allowed)."""
    return f"/media/{quote(source)}/{MEDIA_SUBDIR}/{kind}/{quote(name)}"
