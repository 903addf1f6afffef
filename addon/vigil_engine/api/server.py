"""The API server: the aiohttp application (routes, authentication, errors) and its runner.

``ApiServer(engine).start()`` after the engine has started and ``stop()`` before it stops.
Every endpoint requires the bearer token, except that the WebSocket authenticates in its
first message (see ``websocket``); errors are JSON bodies ``{"error": {"code", "message"}}``
with the status of their code, never a stack trace or a path.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from . import media, rest, websocket
from .auth import SIGNATURE_PARAM, Signer, bearer, load_or_create_token, token_matches
from .context import CONTEXT, ApiContext
from .errors import INTERNAL, ApiError
from .openapi import build_spec

if TYPE_CHECKING:
    from vigil_engine.engine import Engine

_LOGGER = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
WS_PATH = "/api/ws"
SHUTDOWN_TIMEOUT_S = 3.0
BIND_RETRY_S = 10

ROUTES: tuple[tuple[str, Handler], ...] = (
    ("/api/info", rest.info),
    ("/api/cameras", rest.cameras),
    ("/api/cameras/{camera_id}", rest.camera),
    ("/api/cameras/{camera_id}/snapshot.jpg", media.snapshot),
    ("/api/cameras/{camera_id}/clip.mp4", media.camera_clip),
    ("/api/cameras/{camera_id}/vod.m3u8", media.playlist),
    ("/api/cameras/{camera_id}/recordings/{segment}/init.mp4", media.init_section),
    ("/api/cameras/{camera_id}/recordings/{segment}/media.m4s", media.media_segment),
    ("/api/cameras/{camera_id}/summary", rest.summary),
    ("/api/events", rest.events),
    ("/api/events/{event_id}", rest.event),
    ("/api/events/{event_id}/snapshot.jpg", media.event_snapshot),
    ("/api/events/{event_id}/thumbnail.jpg", media.event_thumbnail),
    ("/api/events/{event_id}/clip.mp4", media.event_clip),
    ("/api/storage", rest.storage),
)


def _error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = json.dumps({"error": {"code": code, "message": message}})
    response = web.Response(text=body, status=status, content_type="application/json", headers=headers)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="vigil"'
    return response


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as err:
        return _error_response(err.status, err.code, err.message, err.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "invalid_argument" if exc.status < 500 else "internal_error")
        message = exc.reason if exc.status < 500 else INTERNAL.message
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return _error_response(exc.status, code, message, allow)
    except asyncio.CancelledError, ConnectionError:
        raise
    except Exception:
        _LOGGER.exception("%s %s failed", request.method, request.path)
        return _error_response(500, INTERNAL.code, INTERNAL.message)


@web.middleware
async def preflight_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answers CORS preflights (bearer tokens, no cookies: any origin may ask)."""
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        return web.Response(
            status=204,
            headers={
                "Access-Control-Allow-Origin": "*",
                "Access-Control-Allow-Methods": "GET, HEAD",
                "Access-Control-Allow-Headers": "Authorization, Range, If-Range",
                "Access-Control-Max-Age": "600",
            },
        )
    return await handler(request)


async def _common_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every response, streamed ones too: CORS for browser clients and ``nosniff``."""
    response.headers.setdefault("Access-Control-Allow-Origin", "*")
    response.headers.setdefault(
        "Access-Control-Expose-Headers",
        "Content-Range, Accept-Ranges, Content-Length, ETag, X-Vigil-Start-Ms, X-Vigil-End-Ms",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Only ``Authorization: Bearer`` (or a signed path) lets a request through; a token elsewhere is ignored."""
    if request.path == WS_PATH:
        return await handler(request)  # the WebSocket authenticates in its first message
    ctx = request.app[CONTEXT]
    header = request.headers.get("Authorization")
    if header is not None:
        if token_matches(bearer(header), ctx.token):
            return await handler(request)
        raise ApiError("unauthorized", "the bearer token is not valid")
    if SIGNATURE_PARAM in request.query:
        request["signed_expires_ms"] = ctx.signer.verify(request.method, request.rel_url)
        return await handler(request)
    raise ApiError("unauthorized", "send the API token as 'Authorization: Bearer <token>'")


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(build_spec())


def create_app(ctx: ApiContext) -> web.Application:
    app = web.Application(middlewares=[errors_middleware, preflight_middleware, auth_middleware])
    app.on_response_prepare.append(_common_headers)
    app[CONTEXT] = ctx
    for path, handler in ROUTES:
        app.router.add_get(path, handler)
    app.router.add_get("/api/openapi.json", openapi)
    app.router.add_get(WS_PATH, websocket.handle)
    return app


class ApiServer:
    """Runs the API next to an engine: ``start()`` after ``engine.start()``, ``stop()`` before ``engine.stop()``.

    A port that cannot be bound (another process has it) never stops recording: the error
    is logged once and binding is retried every ``BIND_RETRY_S`` seconds.
    """

    def __init__(self, engine: Engine, host: str | None = None, port: int | None = None) -> None:
        self.engine = engine
        self.host = host if host is not None else engine.config.api_host
        self.port = port if port is not None else engine.config.api_port
        self._runner: web.AppRunner | None = None
        self._retry: asyncio.Task[None] | None = None
        self.ctx: ApiContext | None = None
        self.listening = asyncio.Event()

    async def start(self) -> None:
        config = self.engine.config
        token = await asyncio.to_thread(load_or_create_token, config.db_path.parent, config.api_token)
        self.ctx = ApiContext(engine=self.engine, token=token, signer=Signer(token))
        self._runner = web.AppRunner(
            create_app(self.ctx), access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT_S
        )
        await self._runner.setup()
        try:
            await self._bind()
        except OSError as err:
            _LOGGER.error(
                "API cannot listen on %s:%d (%s); recording goes on, retrying every %d s",
                self.host,
                self.port,
                err.strerror or err,
                BIND_RETRY_S,
            )
            self._retry = asyncio.create_task(self._keep_trying(), name="api-bind")

    async def _bind(self) -> None:
        assert self._runner is not None
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        self.listening.set()
        _LOGGER.info("API listening on %s:%d (HTTP, and the WebSocket at %s)", self.host, self.port, WS_PATH)

    async def _keep_trying(self) -> None:
        while True:
            await asyncio.sleep(BIND_RETRY_S)
            try:
                await self._bind()
            except OSError:
                continue
            return

    async def stop(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retry
        if self.ctx is not None:
            closing = [conn.close(1001, "the engine is stopping") for conn in list(self.ctx.connections)]
            await asyncio.gather(*closing, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        _LOGGER.info("API stopped")
