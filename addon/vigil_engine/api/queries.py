"""Answers shared by the WebSocket commands and the HTTP endpoints (same arguments, same models)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from vigil_engine import __version__
from vigil_engine.protocol import (
    MIN_SCHEMA_VERSION,
    SCHEMA_VERSION,
    Camera,
    DaySummary,
    Event,
    EventPage,
    ServerInfo,
    Storage,
)

from . import params, wire
from .context import ApiContext
from .errors import event_not_found, invalid
from .summary import day_summary

DEFAULT_PAGE = 50
MAX_PAGE = 500


def camera(ctx: ApiContext, camera_id: str) -> Camera:
    return wire.camera(ctx.engine.camera_state(camera_id))


def cameras(ctx: ApiContext) -> tuple[Camera, ...]:
    return tuple(camera(ctx, camera_id) for camera_id in ctx.engine.camera_ids())


def server_info[Info: ServerInfo](ctx: ApiContext, model: type[Info]) -> Info:
    """``get_server_info``'s result (``ServerInfo``), or the ``server_info`` message (``ServerInfoMessage``)."""
    return model(
        server_version=__version__,
        schema_version=SCHEMA_VERSION,
        min_schema_version=MIN_SCHEMA_VERSION,
        instance_id=ctx.engine.instance_id,
        time_zone=ctx.engine.config.time_zone,
        cameras=cameras(ctx),
    )


async def storage(ctx: ApiContext) -> Storage:
    status = await asyncio.to_thread(ctx.engine.status)
    return wire.storage(status["storage"], status.get("archive"))


async def list_events(ctx: ApiContext, args: Mapping[str, Any]) -> EventPage:
    camera_id = args.get("camera_id")
    if camera_id is not None:
        ctx.require_camera(params.camera_id(camera_id))
    start = args.get("start_ms")
    end = args.get("end_ms")
    start_ms = params.time_ms(start, "start_ms") if start is not None else None
    end_ms = params.time_ms(end, "end_ms") if end is not None else None
    if start_ms is not None and end_ms is not None and end_ms <= start_ms:
        raise invalid("end_ms must be after start_ms")
    zone = args.get("zone")
    kind = args.get("kind")
    label = args.get("label")
    min_score = args.get("min_score")
    limit_arg = args.get("limit")
    cursor_arg = args.get("cursor")
    limit = params.integer(limit_arg, "limit", 1, MAX_PAGE) if limit_arg is not None else DEFAULT_PAGE
    before = params.cursor(cursor_arg) if cursor_arg is not None else None
    found = await asyncio.to_thread(
        ctx.index.events,
        camera_id=camera_id,
        start_ms=start_ms,
        end_ms=end_ms,
        zone=params.zone(zone) if zone is not None else None,
        kind=params.event_kind(kind) if kind is not None else None,
        limit=limit + 1,
        before=before,
        label=params.object_label(label) if label is not None else None,
        min_score=params.score(min_score, "min_score") if min_score is not None else None,
    )
    page = found[:limit]
    next_cursor = params.make_cursor(page[-1].start_ms, page[-1].id) if len(found) > limit else None
    return EventPage(events=tuple(wire.event(record) for record in page), next_cursor=next_cursor)


async def get_event(ctx: ApiContext, event_id: Any) -> Event:
    checked = params.event_id(event_id)
    record = await asyncio.to_thread(ctx.index.event, checked)
    if record is None:
        raise event_not_found(checked)
    return wire.event(record)


async def summary(ctx: ApiContext, camera_id: Any, date: Any, time_zone: Any) -> DaySummary:
    checked = ctx.require_camera(params.camera_id(camera_id))
    day = params.day(date)
    zone_name = ctx.engine.config.time_zone if time_zone is None else time_zone
    zone = params.time_zone(zone_name)

    def read() -> DaySummary:
        # The segment being written first: by the time the worker opens the next one, this one
        # is in the index, so nothing falls between the two reads.
        writing = ctx.writing(checked)
        return day_summary(ctx.index, checked, day, zone, str(zone_name), writing, ctx.reader)

    return await asyncio.to_thread(read)
