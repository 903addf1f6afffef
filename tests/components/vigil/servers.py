"""Stand-in servers on loopback, for the faults the real engine never shows on purpose.

``not_vigil``: an HTTP server without the engine's WebSocket (a wrong address).
``fake_engine``: a WebSocket that speaks the protocol's handshake and then whatever the test
scripts (garbage, a foreign schema version, a dropped connection). Tests that use it say so.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import WSMsgType, web

Handler = Callable[[web.WebSocketResponse, dict[str, Any]], Awaitable[None]]


def server_info(schema_version: int = 1, min_schema_version: int = 1, instance_id: str = "f" * 32) -> dict[str, Any]:
    return {
        "type": "server_info",
        "server_version": "9.9.9",
        "schema_version": schema_version,
        "min_schema_version": min_schema_version,
        "instance_id": instance_id,
        "time_zone": "UTC",
        "cameras": [],
    }


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def not_vigil() -> AsyncIterator[str]:
    """Something that answers HTTP but has no Vigil WebSocket."""

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    app = web.Application()
    app.router.add_get("/", hello)
    async with serve(app) as url:
        yield url


@asynccontextmanager
async def fake_engine(handler: Handler) -> AsyncIterator[str]:
    """A WebSocket at /api/ws that reads the auth message and hands over to ``handler``."""

    async def websocket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        msg = await ws.receive()
        auth = json.loads(msg.data) if msg.type is WSMsgType.TEXT else {}
        await handler(ws, auth)
        if not ws.closed:
            await ws.close()
        return ws

    app = web.Application()
    app.router.add_get("/api/ws", websocket)
    async with serve(app) as url:
        yield url
