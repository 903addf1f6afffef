"""The API server: the aiohttp application (routes, authentication, errors) and its runner.

``ApiServer(engine).start()`` after the engine has started and ``stop()`` before it stops.
Every endpoint requires the bearer token, except ``GET /api/health`` (for the add-on's Docker
``HEALTHCHECK``: it says ``ok`` and nothing else) and the WebSocket, which authenticates in its
first message (see ``websocket``); errors are JSON bodies ``{"error": {"code", "message"}}``
with the status of their code, never a stack trace or a path.

Abuse of the API must never cost footage (issue #13): the open-file limit is raised and the
API's share of it capped (``fdbudget``), connections are admitted or refused as they are
accepted (``listener``, ``admission``), request heads have a deadline and only authenticated
connections are kept alive (``protocol``), and what strangers can make the engine log is
rate-limited (``lograte``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from vigil_engine.protocol import Error, ErrorBody

from . import media, rest, websocket
from .admission import Admission, Caps
from .auth import SIGNATURE_PARAM, Signer, bearer, load_or_create_token, token_matches
from .context import CONTEXT, ApiContext
from .errors import INTERNAL, ApiError
from .fdbudget import FdBudget, raise_open_file_limit
from .guarded_handler import GuardedRunner, trust
from .listener import GuardedSite
from .lograte import RateLimitFilter
from .openapi import build_spec

if TYPE_CHECKING:
    from vigil_engine.engine import Engine

_LOGGER = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
WS_PATH = "/api/ws"
HEALTH_PATH = "/api/health"
AUTHENTICATED = "vigil_authenticated"  # request key: the request carried the token or a valid signature
SHUTDOWN_TIMEOUT_S = 3.0
MIN_CONNECTIONS = 16  # fewer, and Home Assistant with a browser or two may be refused
BIND_RETRY_S = 10


async def health(request: web.Request) -> web.Response:
    """``GET /api/health``, without the token: the engine is up and its API serves."""
    return web.json_response({"status": "ok"})


ROUTES: tuple[tuple[str, Handler], ...] = (
    ("/api/health", health),
    ("/api/info", rest.info),
    ("/api/cameras", rest.cameras),
    ("/api/cameras/{camera_id}", rest.camera),
    ("/api/cameras/{camera_id}/snapshot.jpg", media.snapshot),
    ("/api/cameras/{camera_id}/still.jpg", media.camera_still),
    ("/api/cameras/{camera_id}/clip.mp4", media.camera_clip),
    ("/api/cameras/{camera_id}/vod.m3u8", media.playlist),
    ("/api/cameras/{camera_id}/recordings/{segment}/init.mp4", media.init_section),
    ("/api/cameras/{camera_id}/recordings/{segment}/media.m4s", media.media_segment),
    ("/api/cameras/{camera_id}/live.m3u8", media.live_playlist),
    ("/api/cameras/{camera_id}/live/{start_ms}/init.mp4", media.live_init),
    ("/api/cameras/{camera_id}/live/{part}.m4s", media.live_part),
    ("/api/cameras/{camera_id}/summary", rest.summary),
    ("/api/events", rest.events),
    ("/api/events/{event_id}", rest.event),
    ("/api/events/{event_id}/snapshot.jpg", media.event_snapshot),
    ("/api/events/{event_id}/thumbnail.jpg", media.event_thumbnail),
    ("/api/events/{event_id}/clip.mp4", media.event_clip),
    ("/api/storage", rest.storage),
)


def _error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = json.dumps(ErrorBody(error=Error(code=code, message=message)).to_dict())
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
    """On every response, streamed ones too: CORS for browser clients and ``nosniff``.

    A response to a request without the token (a 401, a CORS preflight, the health check)
    closes its connection: strangers get no keep-alive to hold connections with.
    """
    if not request.get(AUTHENTICATED) and not isinstance(response, web.WebSocketResponse):
        response.force_close()
        response.headers["Connection"] = "close"  # aiohttp wrote its own before this hook runs
    response.headers.setdefault("Access-Control-Allow-Origin", "*")
    response.headers.setdefault(
        "Access-Control-Expose-Headers",
        "Content-Range, Accept-Ranges, Content-Length, ETag, X-Vigil-Start-Ms, X-Vigil-End-Ms",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Only ``Authorization: Bearer`` (or a signed path) lets a request through; a token elsewhere is ignored."""
    if request.path in (WS_PATH, HEALTH_PATH):
        return await handler(request)  # the WebSocket authenticates in its first message; health is open
    ctx = request.app[CONTEXT]
    header = request.headers.get("Authorization")
    if header is not None:
        if token_matches(bearer(header), ctx.token):
            return await _authenticated(request, handler)
        raise ApiError("unauthorized", "the bearer token is not valid")
    if SIGNATURE_PARAM in request.query:
        request["signed_expires_ms"] = ctx.signer.verify(request.method, request.rel_url)
        return await _authenticated(request, handler)
    raise ApiError("unauthorized", "send the API token as 'Authorization: Bearer <token>'")


async def _authenticated(request: web.Request, handler: Handler) -> web.StreamResponse:
    request[AUTHENTICATED] = True
    trust(request)
    return await handler(request)


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
        self._runner: GuardedRunner | None = None
        self._retry: asyncio.Task[None] | None = None
        self._log_filter = RateLimitFilter()
        self._open_file_limit = 0  # known at start()
        self.ctx: ApiContext | None = None
        self.admission: Admission | None = None
        self.listening = asyncio.Event()

    def budget(self) -> FdBudget:
        """The API's share of open files now (cameras can be added and removed at run time)."""
        return FdBudget(self._open_file_limit, len(self.engine.camera_ids()))

    async def start(self) -> None:
        config = self.engine.config
        token = await asyncio.to_thread(load_or_create_token, config.db_path.parent, config.api_token)
        self.ctx = ApiContext(engine=self.engine, token=token, signer=Signer(token))
        self._open_file_limit = raise_open_file_limit()
        budget = self.budget()
        caps = Caps.of(budget)
        _LOGGER.log(
            logging.INFO if budget.connections >= MIN_CONNECTIONS else logging.WARNING,
            "API limits: %s (%d without the token, %d from one address)%s",
            budget.describe(),
            caps.untrusted,
            caps.per_address,
            "" if budget.connections >= MIN_CONNECTIONS else "; raise the open-file limit (ulimit -n) to use the API",
        )
        self.admission = Admission(self.budget)
        self._log_filter.install()
        self._runner = GuardedRunner(
            create_app(self.ctx),
            self.admission,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,
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
        site = GuardedSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site.port
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
            runner, self._runner = self._runner, None
            await runner.cleanup()
            if self.ctx is not None:
                self.ctx.close()
            self._log_filter.uninstall()
            admission = self.admission
            if admission is not None and (admission.refused or admission.dropped):
                _LOGGER.info(
                    "API stopped (it refused %d connections and dropped %d unauthenticated ones to make room)",
                    admission.refused,
                    admission.dropped,
                )
            else:
                _LOGGER.info("API stopped")
