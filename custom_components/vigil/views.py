"""Home Assistant's HTTP views of Vigil media: they stream from the engine, which stays hidden.

Paths (the contract the blueprint and the frontend rely on; ``signing.py`` builds them):

* ``/api/vigil/<entry_id>/events/<event_id>/snapshot.jpg`` | ``thumbnail.jpg`` | ``clip.mp4``
* ``/api/vigil/<entry_id>/cameras/<camera_id>/clip.mp4?start=...&end=...`` (MP4, at most 2 h)
* ``/api/vigil/<entry_id>/cameras/<camera_id>/playlist.m3u8?start=...&end=...`` (HLS, at most 24 h)
* ``/api/vigil/<entry_id>/cameras/<camera_id>/still.jpg?at=...&width=...`` (the footage at one instant)
* ``/api/vigil/<entry_id>/cameras/<camera_id>/recordings/<segment>/init.mp4`` | ``media.m4s``
  (the playlist's segments; the playlist lists them signed)
* ``/api/vigil/exports/<clips|snapshots>/<file>/thumbnail.jpg`` (the still kept beside an
  exported clip: ``exports.py``)

``start``/``end``/``at``: ISO 8601 (without an offset: Home Assistant's time zone) or UTC
milliseconds since the epoch. Every view requires authentication: Home Assistant's bearer
token or a path signature (``authSig``); anything else is a 401 before a view runs. Media are
passed on as the engine sends them, never buffered whole, with ``Range`` requests forwarded
(206/416, ``Content-Range``, ``Accept-Ranges`` from the engine). Errors are JSON
``{"error": {"code", "message"}}`` that never name the engine's address, paths or token.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from http import HTTPStatus
from typing import Final
from urllib.parse import quote

import aiohttp
from aiohttp import web
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import HomeAssistantView
from homeassistant.util import dt as dt_util

from .client import CannotConnect, CommandError, ConnectionClosed, InvalidAuth, NotFoundError, VigilError
from .const import CLIPS_DIR, DOMAIN, LOGGER, MEDIA_SUBDIR, SNAPSHOTS_DIR
from .exports import thumbnail_path
from .hub import VigilHub
from .media import EXPORT_NAME, media_root
from .signing import (
    CLIP,
    EVENT_MEDIA,
    EXPORT_THUMBNAIL,
    PLAYLIST,
    STILL,
    VIEW_ROOT,
    link_expiry,
    recording_path,
    sign,
)

ENTRY_ID: Final = re.compile(r"^[0-9A-Za-z]{1,64}$")
CAMERA_ID: Final = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")
EVENT_ID: Final = re.compile(r"^[0-9a-f]{32}$")
SEGMENT: Final = re.compile(r"^\d{1,15}-\d{1,15}$")
EPOCH_MS: Final = re.compile(r"^\d{1,16}$")
WIDTH: Final = re.compile(r"^\d{1,4}$")
MIN_WIDTH, MAX_WIDTH = 16, 3840  # what the engine scales stills to
# The engine's playlist lists its segments relative to itself, exactly in these forms.
PLAYLIST_URI: Final = re.compile(r"^recordings/(\d{1,15}-\d{1,15})/(init\.mp4|media\.m4s)(?:\?base_ms=(\d{1,16}))?$")
MAP_URI: Final = re.compile(r'URI="([^"]*)"')
SEGMENT_MEDIA: Final = ("init.mp4", "media.m4s")
# Headers of the engine's answer that belong to the media (never its Server, cookies or such).
PASSED_ON: Final = (
    "Content-Type",
    "Content-Length",
    "Content-Range",
    "Accept-Ranges",
    "ETag",
    "Last-Modified",
    "Cache-Control",
    "Content-Disposition",
    "X-Vigil-Start-Ms",
    "X-Vigil-End-Ms",
)
FORWARDED: Final = ("Range", "If-Range")
CHUNK_SIZE: Final = 256 * 1024
MPEGURL: Final = "application/vnd.apple.mpegurl"


class MediaError(Exception):
    """An answer other than the media: an HTTP status and a JSON error."""

    def __init__(self, status: HTTPStatus, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> web.Response:
        return web.json_response({"error": {"code": self.code, "message": self.message}}, status=self.status)


def _engine_error(err: VigilError) -> MediaError:
    """What the browser learns of an engine failure (the engine's own messages carry no secrets)."""
    if isinstance(err, NotFoundError):
        return MediaError(HTTPStatus.NOT_FOUND, err.code, err.message)
    if isinstance(err, CommandError):
        status = {
            "invalid_argument": HTTPStatus.BAD_REQUEST,
            "range_too_long": HTTPStatus.BAD_REQUEST,
        }.get(err.code, HTTPStatus.BAD_GATEWAY)
        return MediaError(status, err.code, err.message)
    if isinstance(err, InvalidAuth):
        return MediaError(HTTPStatus.BAD_GATEWAY, "engine_refused", "the Vigil engine refused the integration's token")
    if isinstance(err, CannotConnect | ConnectionClosed):
        return MediaError(HTTPStatus.BAD_GATEWAY, "engine_unavailable", "the Vigil engine cannot be reached")
    return MediaError(HTTPStatus.BAD_GATEWAY, "engine_error", "the Vigil engine gave an answer that cannot be used")


def _check(pattern: re.Pattern[str], value: str, what: str) -> str:
    # fullmatch: "$" alone would let a trailing newline through into the engine's URL.
    if not pattern.fullmatch(value):
        raise MediaError(HTTPStatus.BAD_REQUEST, "invalid_argument", f"not a valid {what}")
    return value


def parse_time(value: str | None, name: str) -> int:
    """A ``start``/``end`` parameter as UTC ms: epoch ms, or ISO 8601 (naive: Home Assistant's zone)."""
    if value is None:
        raise MediaError(HTTPStatus.BAD_REQUEST, "invalid_argument", f"{name} is required")
    if EPOCH_MS.fullmatch(value):
        return int(value)
    moment: datetime | None = None
    try:
        moment = dt_util.parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None:
        raise MediaError(
            HTTPStatus.BAD_REQUEST, "invalid_argument", f"{name}: expected ISO 8601 or milliseconds since the epoch"
        )
    try:
        return round(dt_util.as_utc(moment).timestamp() * 1000)
    except OverflowError, ValueError:
        # 9999-12-31T23:00:00-12:00 is a valid ISO 8601 time, but after the last UTC datetime.
        raise MediaError(HTTPStatus.BAD_REQUEST, "invalid_argument", f"{name}: out of range") from None


def _still_params(query: Mapping[str, str]) -> dict[str, str | int]:
    params: dict[str, str | int] = {"at_ms": parse_time(query.get("at"), "at")}
    if (width := query.get("width")) is not None:
        value = int(_check(WIDTH, width, "width"))
        if not MIN_WIDTH <= value <= MAX_WIDTH:
            raise MediaError(HTTPStatus.BAD_REQUEST, "invalid_argument", f"width: {MIN_WIDTH} to {MAX_WIDTH} pixels")
        params["width"] = value
    return params


def _time_range(query: Mapping[str, str]) -> dict[str, str | int]:
    start = parse_time(query.get("start"), "start")
    end = parse_time(query.get("end"), "end")
    if end <= start:
        raise MediaError(HTTPStatus.BAD_REQUEST, "invalid_argument", "end must be after start")
    return {"start_ms": start, "end_ms": end}


class VigilMediaView(HomeAssistantView):
    """What the media views share: finding the engine, and passing its answer on."""

    requires_auth = True

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass

    def hub(self, entry_id: str) -> VigilHub:
        _check(ENTRY_ID, entry_id, "entry id")
        entry = self.hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN:
            raise MediaError(HTTPStatus.NOT_FOUND, "entry_not_found", "no Vigil engine with this entry id")
        if entry.state is not ConfigEntryState.LOADED:
            raise MediaError(HTTPStatus.SERVICE_UNAVAILABLE, "entry_not_loaded", "this Vigil engine is not set up")
        hub: VigilHub = entry.runtime_data
        return hub

    async def stream(
        self, request: web.Request, hub: VigilHub, path: str, params: Mapping[str, str | int] | None = None
    ) -> web.StreamResponse:
        """Pass the engine's answer to ``path`` on, chunk by chunk, with the request's ``Range``."""
        forward = {name: request.headers[name] for name in FORWARDED if name in request.headers}
        async with hub.client.open_media(path, params, headers=forward) as upstream:
            response = web.StreamResponse(status=upstream.status)
            for name in PASSED_ON:
                if (value := upstream.headers.get(name)) is not None:
                    response.headers[name] = value
            await response.prepare(request)
            try:
                async for chunk in upstream.content.iter_chunked(CHUNK_SIZE):
                    await response.write(chunk)
            except (aiohttp.ClientError, TimeoutError) as err:
                # The status is sent: cutting the connection short of its length is the only
                # honest signal left to the player.
                LOGGER.debug("Vigil media %s cut short: %s", request.path, type(err).__name__)
                if request.transport is not None:
                    request.transport.close()
                return response
            except ConnectionError:
                return response  # the player went away (seeking elsewhere)
            await response.write_eof()
            return response


class EventMediaView(VigilMediaView):
    """An event's snapshot, thumbnail or clip."""

    url = f"{VIEW_ROOT}/{{entry_id}}/events/{{event_id}}/{{name}}"
    name = f"api:{DOMAIN}:event_media"

    async def get(self, request: web.Request, entry_id: str, event_id: str, name: str) -> web.StreamResponse:
        try:
            hub = self.hub(entry_id)
            _check(EVENT_ID, event_id, "event id")
            if name not in EVENT_MEDIA:
                raise MediaError(HTTPStatus.NOT_FOUND, "not_found", "no such event media")
            return await self.stream(request, hub, f"/api/events/{event_id}/{name}")
        except MediaError as err:
            return err.response()
        except VigilError as err:
            return _engine_error(err).response()


class CameraMediaView(VigilMediaView):
    """A camera's footage between two instants (``clip.mp4``, ``playlist.m3u8``), or at one (``still.jpg``)."""

    url = f"{VIEW_ROOT}/{{entry_id}}/cameras/{{camera_id}}/{{name}}"
    name = f"api:{DOMAIN}:camera_media"

    async def get(self, request: web.Request, entry_id: str, camera_id: str, name: str) -> web.StreamResponse:
        try:
            hub = self.hub(entry_id)
            _check(CAMERA_ID, camera_id, "camera id")
            if name not in (CLIP, PLAYLIST, STILL):
                raise MediaError(HTTPStatus.NOT_FOUND, "not_found", "no such camera media")
            if name == STILL:
                params = _still_params(request.query)
                return await self.stream(request, hub, f"/api/cameras/{camera_id}/still.jpg", params)
            params = _time_range(request.query)
            if name == CLIP:
                return await self.stream(request, hub, f"/api/cameras/{camera_id}/clip.mp4", params)
            return await self._playlist(hub, entry_id, camera_id, params)
        except MediaError as err:
            return err.response()
        except VigilError as err:
            return _engine_error(err).response()

    async def _playlist(
        self, hub: VigilHub, entry_id: str, camera_id: str, params: Mapping[str, str | int]
    ) -> web.Response:
        body = await hub.client.http_get(f"/api/cameras/{camera_id}/vod.m3u8", params)
        expiry = link_expiry(self.hass, entry_id)

        def rewrite(uri: str) -> str:
            """The engine's relative segment URI as a signed path to our segment view."""
            match = PLAYLIST_URI.match(uri)
            if match is None:
                raise MediaError(HTTPStatus.BAD_GATEWAY, "engine_error", "the engine's playlist lists unknown URIs")
            segment, media, base_ms = match.groups()
            path = recording_path(entry_id, camera_id, segment, media)
            if base_ms is not None:
                path += f"?base_ms={base_ms}"
            # The player fetches the segments without headers: each carries the signature of
            # the user who asked for the playlist (for the link expiry option).
            return sign(self.hass, path, expiry)

        def rewrite_line(line: str) -> str:
            if line.startswith("#EXT-X-MAP:"):
                return MAP_URI.sub(lambda found: f'URI="{rewrite(found.group(1))}"', line)
            if line and not line.startswith("#"):
                return rewrite(line)
            return line

        lines = [rewrite_line(line) for line in body.decode("utf-8", errors="replace").splitlines()]
        return web.Response(
            text="\n".join(lines) + "\n", content_type=MPEGURL, headers={"Cache-Control": "no-store"}, charset="utf-8"
        )


class RecordingMediaView(VigilMediaView):
    """One HLS segment of a playlist: its init section or its media (with ``Range``)."""

    url = f"{VIEW_ROOT}/{{entry_id}}/cameras/{{camera_id}}/recordings/{{segment}}/{{name}}"
    name = f"api:{DOMAIN}:recording_media"

    async def get(
        self, request: web.Request, entry_id: str, camera_id: str, segment: str, name: str
    ) -> web.StreamResponse:
        try:
            hub = self.hub(entry_id)
            _check(CAMERA_ID, camera_id, "camera id")
            _check(SEGMENT, segment, "segment")
            if name not in SEGMENT_MEDIA:
                raise MediaError(HTTPStatus.NOT_FOUND, "not_found", "no such segment media")
            params: dict[str, str | int] = {}
            if name == "media.m4s":
                base = request.query.get("base_ms", "")
                params["base_ms"] = int(_check(EPOCH_MS, base, "base_ms"))
            path = f"/api/cameras/{quote(camera_id)}/recordings/{segment}/{name}"
            return await self.stream(request, hub, path, params)
        except MediaError as err:
            return err.response()
        except VigilError as err:
            return _engine_error(err).response()


class ExportThumbnailView(HomeAssistantView):
    """The still kept beside an exported clip (``exports.py``), from Home Assistant's media folder.

    Not under an entry: the export folders are shared by every engine. Only names the
    actions write are looked up, in the two export folders, so no other file can be reached.
    """

    requires_auth = True
    url = f"{VIEW_ROOT}/exports/{{kind}}/{{filename}}/{{name}}"
    name = f"api:{DOMAIN}:export_thumbnail"

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass

    async def get(self, request: web.Request, kind: str, filename: str, name: str) -> web.StreamResponse:
        try:
            if kind not in (CLIPS_DIR, SNAPSHOTS_DIR) or name != EXPORT_THUMBNAIL:
                raise MediaError(HTTPStatus.NOT_FOUND, "not_found", "no such export media")
            _check(EXPORT_NAME, filename, "file name")
            _source, root = media_root(self.hass)
            path = thumbnail_path(root / MEDIA_SUBDIR / kind / filename)
            if not await self.hass.async_add_executor_job(path.is_file):
                raise MediaError(HTTPStatus.NOT_FOUND, "not_found", "this export has no thumbnail")
        except MediaError as err:
            return err.response()
        # Written once and never changed under the same name.
        return web.FileResponse(path, headers={"Content-Type": "image/jpeg", "Cache-Control": "private, max-age=86400"})


def async_register_views(hass: HomeAssistant) -> None:
    """Register the views (once per Home Assistant: they serve every Vigil entry)."""
    for view in (EventMediaView, CameraMediaView, RecordingMediaView, ExportThumbnailView):
        hass.http.register_view(view(hass))
