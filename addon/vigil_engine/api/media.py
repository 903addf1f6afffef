"""HTTP media: snapshots, stills, event pictures, MP4 clips, HLS (recorded and live), all addressed by id and time.

No handler takes a path from the client. Camera and event ids are checked against their
patterns and looked up; footage is found through the index by camera and time range;
a file is only opened if its indexed path resolves inside the storage folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from typing import Any

import av
from aiohttp import web
from yarl import URL

from vigil_engine.events.model import EventRecord

from . import hls, live, params, ranges, still
from .clips import Clip, clip_filename
from .context import CONTEXT, ApiContext
from .errors import ApiError, event_not_found, invalid

MAX_CLIP_MS = 2 * 3600 * 1000
SEGMENT_KEY = re.compile(r"^(\d{1,15})-(\d{1,15})$")
LIVE_PART = re.compile(r"^\d{1,18}$")
LIVE_SEGMENT = re.compile(r"^\d{1,15}$")
# Live parts and init sections never change once listed (their numbers are never reused).
LIVE_CACHE = "private, max-age=300"
STILL_CACHE = "private, max-age=86400"
NO_STORE = "no-store"
START_HEADER = "X-Vigil-Start-Ms"
END_HEADER = "X-Vigil-End-Ms"


def _camera(request: web.Request) -> tuple[ApiContext, str]:
    ctx = request.app[CONTEXT]
    return ctx, ctx.require_camera(params.camera_id(request.match_info["camera_id"]))


def _range(request: web.Request, max_ms: int) -> tuple[int, int]:
    start = params.time_ms(request.query.get("start_ms"), "start_ms")
    end = params.time_ms(request.query.get("end_ms"), "end_ms")
    return params.time_range(start, end, max_ms)


async def _event(request: web.Request) -> tuple[ApiContext, EventRecord]:
    ctx = request.app[CONTEXT]
    event_id = params.event_id(request.match_info["event_id"])
    event = await asyncio.to_thread(ctx.index.event, event_id)
    if event is None:
        raise event_not_found(event_id)
    return ctx, event


async def snapshot(request: web.Request) -> web.Response:
    ctx, camera_id = _camera(request)
    width_arg = request.query.get("width")
    width = params.width(width_arg) if width_arg is not None else None
    jpeg = await ctx.engine.latest_snapshot(camera_id, width)
    if jpeg is None:
        raise ApiError("no_snapshot", "no picture from this camera yet")
    return web.Response(body=jpeg, content_type="image/jpeg", headers={"Cache-Control": NO_STORE})


async def camera_still(request: web.Request) -> web.StreamResponse:
    """``GET /api/cameras/{id}/still.jpg?at_ms=&width=``: the recorded frame shown at ``at_ms``."""
    ctx, camera_id = _camera(request)
    at_ms = params.time_ms(request.query.get("at_ms"), "at_ms")
    width_arg = request.query.get("width")
    width = params.width(width_arg) if width_arg is not None else None
    footage = await asyncio.to_thread(_footage_at, ctx, camera_id, at_ms)
    etag = f'"still-{footage.identity}-{at_ms}-{width or 0}"'
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag, "Cache-Control": STILL_CACHE})
    try:
        jpeg = await ctx.stills.jpeg(footage, at_ms, width)
    except still.NoFrame as err:
        raise ApiError("no_footage", f"no footage at {hls.program_date_time(at_ms)}: {err}") from None
    except OSError, ValueError, av.FFmpegError:
        raise ApiError("no_footage", "the recording is no longer readable") from None
    return web.Response(body=jpeg, content_type="image/jpeg", headers={"Cache-Control": STILL_CACHE, "ETag": etag})


def _footage_at(ctx: ApiContext, camera_id: str, at_ms: int) -> still.Footage:
    """The segment holding ``at_ms``: an indexed one, or the one being written (its complete fragments)."""
    for segment, path in ctx.segment_files(camera_id, at_ms, at_ms + 1):
        try:
            return still.indexed_footage(path, segment.start_ms, f"{segment.id}-{segment.bytes}")
        except OSError, ValueError:
            continue  # deleted by retention meanwhile
    with contextlib.suppress(ApiError):
        for view in reversed(ctx.live_segments(camera_id)):
            if view.start_ms > at_ms or view.closed:
                continue
            footage = still.logged_footage(view)
            end = still.end_ms(footage) if footage is not None else None
            if footage is not None and end is not None and at_ms < end:
                return footage
    gaps = ctx.index.gaps(camera_id, at_ms, at_ms + 1)
    why = f" ({gaps[0].reason})" if gaps else ""
    raise ApiError("no_footage", f"no footage of camera {camera_id} at {hls.program_date_time(at_ms)}{why}")


async def _event_picture(request: web.Request, thumbnail: bool) -> web.StreamResponse:
    ctx, event = await _event(request)
    path = ctx.engine.event_file(event, thumbnail=thumbnail)
    storage = ctx.engine.config.storage_path.resolve()
    if path is None or not path.resolve().is_relative_to(storage):
        raise ApiError("no_snapshot", "this event has no picture")
    return web.FileResponse(path, headers={"Content-Type": "image/jpeg", "Cache-Control": "private, max-age=86400"})


async def event_snapshot(request: web.Request) -> web.StreamResponse:
    return await _event_picture(request, thumbnail=False)


async def event_thumbnail(request: web.Request) -> web.StreamResponse:
    return await _event_picture(request, thumbnail=True)


async def event_clip(request: web.Request) -> web.StreamResponse:
    ctx, event = await _event(request)
    start = event.clip_start_ms
    end = event.clip_end_ms(ctx.engine.clock.now_ms())
    if event.running:
        # A running event's clip ends at its newest indexed footage, not at "now": a player
        # fetches one file in several requests (the head, then byte ranges), and a clip whose
        # end moved between them would differ in length each time. It grows by whole segments.
        files = await asyncio.to_thread(ctx.segment_files, event.camera_id, start, end)
        if files:
            end = min(end, files[-1][0].end_ms)
    if end - start > MAX_CLIP_MS:
        end = start + MAX_CLIP_MS
    clip = await ctx.clip(event.camera_id, start, max(end, start + 1))
    cache = NO_STORE if event.running else "private, max-age=3600"
    name = clip_filename(event.camera_id, clip.start_ms)
    return await ranges.send(request, clip.file, "video/mp4", name, cache, _clip_headers(clip))


async def camera_clip(request: web.Request) -> web.StreamResponse:
    ctx, camera_id = _camera(request)
    start, end = _range(request, MAX_CLIP_MS)
    clip = await ctx.clip(camera_id, start, end)
    name = clip_filename(camera_id, clip.start_ms)
    return await ranges.send(request, clip.file, "video/mp4", name, headers=_clip_headers(clip))


def _clip_headers(clip: Clip) -> dict[str, str]:
    """Where the clip sits in time: its first frame's UTC ms (a keyframe at or before the start asked for)."""
    return {START_HEADER: str(clip.start_ms), END_HEADER: str(clip.end_ms)}


def _signer(request: web.Request, ctx: ApiContext) -> hls.Signer | None:
    """Signs the playlist's URIs when the playlist itself came by a signed path (same expiry)."""
    expires: Any = request.get("signed_expires_ms")
    if not isinstance(expires, int):
        return None
    base = request.rel_url.with_query(None)

    def sign(relative: URL) -> URL:
        return ctx.signer.sign(base.join(relative), expires)

    return sign


async def playlist(request: web.Request) -> web.Response:
    ctx, camera_id = _camera(request)
    start, end = _range(request, hls.MAX_PLAYLIST_MS)
    # Footage kept only in the archive: only each segment's start is fetched for the playlist.
    files = await asyncio.to_thread(functools.partial(ctx.segment_files, camera_id, start, end, whole=False))
    try:
        text = await asyncio.to_thread(hls.playlist, files, start, _signer(request, ctx))
    except LookupError:
        raise ApiError("no_footage", "no footage is stored in the requested range") from None
    return web.Response(text=text, content_type=hls.PLAYLIST_TYPE, headers={"Cache-Control": NO_STORE})


def _segment(request: web.Request, ctx: ApiContext, camera_id: str) -> tuple[int, int]:
    match = SEGMENT_KEY.match(request.match_info["segment"])
    if match is None:
        raise invalid("segment: expected <start_ms>-<id> as listed in a playlist")
    return int(match.group(1)), int(match.group(2))


async def init_section(request: web.Request) -> web.Response:
    ctx, camera_id = _camera(request)
    start_ms, segment_id = _segment(request, ctx, camera_id)
    _record, path = await asyncio.to_thread(ctx.find_segment, camera_id, start_ms, segment_id)
    try:
        data = await asyncio.to_thread(hls.init_section, path)
    except OSError, ValueError:
        raise ApiError("no_footage", "the recording is no longer readable") from None
    return web.Response(body=data, content_type=hls.SEGMENT_TYPE, headers={"Cache-Control": "private, max-age=86400"})


async def media_segment(request: web.Request) -> web.StreamResponse:
    ctx, camera_id = _camera(request)
    start_ms, segment_id = _segment(request, ctx, camera_id)
    base_ms = params.time_ms(request.query.get("base_ms"), "base_ms")
    if not 0 <= start_ms - base_ms <= hls.MAX_BASE_OFFSET_MS:
        raise invalid("base_ms: must be the playlist's start, at most 7 days before the segment")
    record, path = await asyncio.to_thread(ctx.find_segment, camera_id, start_ms, segment_id)
    try:
        file = await asyncio.to_thread(hls.media_segment, record, path, base_ms)
    except OSError, ValueError:
        raise ApiError("no_footage", "the recording is no longer readable") from None
    return await ranges.send(request, file, hls.SEGMENT_TYPE, cache="private, max-age=86400")


# --- live HLS (see ``live``) ---
async def live_playlist(request: web.Request) -> web.Response:
    """``GET /api/cameras/{id}/live.m3u8``: the newest parts of the footage being written."""
    ctx, camera_id = _camera(request)
    sign = _signer(request, ctx)
    now_ms = ctx.engine.clock.now_ms()

    def build() -> str:
        parts = ctx.live.parts(ctx.live_segments(camera_id))
        target = ctx.live.target_duration(camera_id, parts)
        try:
            listed = live.window(parts, target, now_ms)
        except live.NotLive as err:
            raise ApiError("no_footage", f"camera {camera_id}: {err}") from None
        return live.playlist(listed, target, sign)

    text = await asyncio.to_thread(build)
    return web.Response(text=text, content_type=hls.PLAYLIST_TYPE, headers={"Cache-Control": NO_STORE})


async def live_init(request: web.Request) -> web.Response:
    ctx, camera_id = _camera(request)
    text = request.match_info["start_ms"]
    if not LIVE_SEGMENT.match(text):
        raise invalid("start_ms: expected the start (UTC ms) of a segment, as listed in the live playlist")
    data = live.find_init(ctx.live_segments(camera_id), int(text))
    if data is None:
        raise ApiError("no_footage", "that segment is no longer live: load the playlist again")
    return web.Response(body=data, content_type=hls.SEGMENT_TYPE, headers={"Cache-Control": LIVE_CACHE})


async def live_part(request: web.Request) -> web.StreamResponse:
    ctx, camera_id = _camera(request)
    text = request.match_info["part"]
    if not LIVE_PART.match(text):
        raise invalid("part: expected a media sequence number, as listed in the live playlist")
    segments = ctx.live_segments(camera_id)
    part = await asyncio.to_thread(lambda: live.find_part(ctx.live.parts(segments), int(text)))
    if part is None:
        raise ApiError("no_footage", "that part is no longer kept (or not complete yet): load the playlist again")
    return await ranges.send(request, live.part_file(part), hls.SEGMENT_TYPE, cache=LIVE_CACHE)
