"""The HTTP JSON endpoints: the read-only half of the WebSocket commands, for scripts and cards."""

from __future__ import annotations

from aiohttp import web

from . import params, queries
from .context import CONTEXT


async def info(request: web.Request) -> web.Response:
    return web.json_response(queries.server_info(request.app[CONTEXT]))


async def cameras(request: web.Request) -> web.Response:
    return web.json_response({"cameras": queries.cameras(request.app[CONTEXT])})


async def camera(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    camera_id = ctx.require_camera(params.camera_id(request.match_info["camera_id"]))
    return web.json_response({"camera": queries.camera(ctx, camera_id)})


async def events(request: web.Request) -> web.Response:
    return web.json_response(await queries.list_events(request.app[CONTEXT], request.query))


async def event(request: web.Request) -> web.Response:
    result = await queries.get_event(request.app[CONTEXT], request.match_info["event_id"])
    return web.json_response({"event": result})


async def storage(request: web.Request) -> web.Response:
    return web.json_response({"storage": await queries.storage(request.app[CONTEXT])})


async def summary(request: web.Request) -> web.Response:
    result = await queries.summary(
        request.app[CONTEXT],
        request.match_info["camera_id"],
        request.query.get("date"),
        request.query.get("time_zone"),
    )
    return web.json_response({"summary": result})
