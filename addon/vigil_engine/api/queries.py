"""Answers shared by the WebSocket commands and the HTTP endpoints (same arguments, same shapes)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from vigil_engine import __version__

from . import params
from .context import ApiContext
from .errors import event_not_found, invalid
from .messages import MIN_SCHEMA_VERSION, SCHEMA_VERSION, project
from .summary import day_summary

DEFAULT_PAGE = 50
MAX_PAGE = 500


def camera(ctx: ApiContext, camera_id: str) -> dict[str, Any]:
    state: dict[str, Any] = project(ctx.engine.camera_state(camera_id), "Camera")
    return state


def cameras(ctx: ApiContext) -> list[dict[str, Any]]:
    return [camera(ctx, camera_id) for camera_id in ctx.engine.camera_ids()]


def server_info(ctx: ApiContext) -> dict[str, Any]:
    return {
        "server_version": __version__,
        "schema_version": SCHEMA_VERSION,
        "min_schema_version": MIN_SCHEMA_VERSION,
        "instance_id": ctx.engine.instance_id,
        "time_zone": ctx.engine.config.time_zone,
        "cameras": cameras(ctx),
    }


async def storage(ctx: ApiContext) -> dict[str, Any]:
    status = await asyncio.to_thread(ctx.engine.status)
    result: dict[str, Any] = project(status["storage"], "Storage")
    return result


def _optional(args: Mapping[str, Any], name: str) -> Any:
    return args.get(name)


async def list_events(ctx: ApiContext, args: Mapping[str, Any]) -> dict[str, Any]:
    camera_id = _optional(args, "camera_id")
    if camera_id is not None:
        ctx.require_camera(params.camera_id(camera_id))
    start = _optional(args, "start_ms")
    end = _optional(args, "end_ms")
    start_ms = params.time_ms(start, "start_ms") if start is not None else None
    end_ms = params.time_ms(end, "end_ms") if end is not None else None
    if start_ms is not None and end_ms is not None and end_ms <= start_ms:
        raise invalid("end_ms must be after start_ms")
    zone = _optional(args, "zone")
    kind = _optional(args, "kind")
    limit_arg = _optional(args, "limit")
    cursor_arg = _optional(args, "cursor")
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
    )
    page = found[:limit]
    next_cursor = params.make_cursor(page[-1].start_ms, page[-1].id) if len(found) > limit else None
    return {"events": project([e.as_dict() for e in page], "array of Event"), "next_cursor": next_cursor}


async def get_event(ctx: ApiContext, event_id: Any) -> dict[str, Any]:
    checked = params.event_id(event_id)
    event = await asyncio.to_thread(ctx.index.event, checked)
    if event is None:
        raise event_not_found(checked)
    result: dict[str, Any] = project(event.as_dict(), "Event")
    return result


async def summary(ctx: ApiContext, camera_id: Any, date: Any, time_zone: Any) -> dict[str, Any]:
    checked = ctx.require_camera(params.camera_id(camera_id))
    day = params.day(date)
    zone_name = ctx.engine.config.time_zone if time_zone is None else time_zone
    zone = params.time_zone(zone_name)

    def read() -> dict[str, Any]:
        # The segment being written first: by the time the worker opens the next one, this one
        # is in the index, so nothing falls between the two reads.
        writing = ctx.writing(checked)
        return day_summary(ctx.index, checked, day, zone, str(zone_name), writing, ctx.reader)

    return await asyncio.to_thread(read)
