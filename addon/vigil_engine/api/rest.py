"""The HTTP JSON endpoints: the read-only half of the WebSocket commands, for scripts and cards.

Each answers with the result model of its WebSocket twin (``vigil_engine.protocol``).
"""

from __future__ import annotations

from aiohttp import web

from vigil_engine.protocol import (
    CameraList,
    CameraResult,
    DaySummaryResult,
    EventResult,
    Model,
    ServerInfo,
    StorageResult,
)

from . import params, queries
from .context import CONTEXT


def _json(answer: Model) -> web.Response:
    return web.json_response(answer.to_dict())


async def info(request: web.Request) -> web.Response:
    return _json(queries.server_info(request.app[CONTEXT], ServerInfo))


async def cameras(request: web.Request) -> web.Response:
    return _json(CameraList(cameras=queries.cameras(request.app[CONTEXT])))


async def camera(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    camera_id = ctx.require_camera(params.camera_id(request.match_info["camera_id"]))
    return _json(CameraResult(camera=queries.camera(ctx, camera_id)))


async def events(request: web.Request) -> web.Response:
    return _json(await queries.list_events(request.app[CONTEXT], request.query))


async def event(request: web.Request) -> web.Response:
    return _json(EventResult(event=await queries.get_event(request.app[CONTEXT], request.match_info["event_id"])))


async def storage(request: web.Request) -> web.Response:
    return _json(StorageResult(storage=await queries.storage(request.app[CONTEXT])))


async def summary(request: web.Request) -> web.Response:
    day = await queries.summary(
        request.app[CONTEXT],
        request.match_info["camera_id"],
        request.query.get("date"),
        request.query.get("time_zone"),
    )
    return _json(DaySummaryResult(summary=day))
