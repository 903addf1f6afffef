"""aiohttp's HTTP protocol with the API's limits: a deadline for request heads, a slot, quiet errors.

aiohttp bounds a request head only by its keep-alive timeout (3630 s by default, counted from
the connection's start) and has no cap on connections: a client that connects and sends
nothing, or half a request, or one header line every few seconds, holds its connection (and a
file descriptor) for an hour. Here each connection is a :class:`GuardedRequestHandler`
(aiohttp's ``RequestHandler`` with these additions), made by :class:`GuardedServer` for a
connection that :mod:`admission` has let in:

- a request head must be complete ``HEAD_TIMEOUT_S`` after the connection opened, or after
  the first byte of a later request arrived; otherwise the connection is dropped. While a
  request is being handled there is no deadline: a clip download may take minutes, and a
  WebSocket (a request that never ends) has its own authentication timeout;
- between requests, a connection is closed after ``KEEPALIVE_TIMEOUT_S`` idle (aiohttp's
  keep-alive timeout, longer than the 15 s for which aiohttp clients such as Home Assistant's
  keep a pooled connection); and only a connection whose request carried the token is kept
  alive at all: any other answer closes the connection (``server.py``), so a stranger gets one
  request per connection;
- a malformed request (aiohttp logs each at ERROR with its traceback) is answered 400 and
  logged at DEBUG, one line a minute at most, with the parser's error class only: the
  parser's message quotes the client's bytes, which may hold a secret.

:func:`trust` marks a request's connection as authenticated (:meth:`admission.Admission.trust`).

This leans on aiohttp's ``RequestHandler`` (``data_received``, ``finish_response`` and
``handle_error`` overridden; the server's ``request_factory`` called once per request head),
as in aiohttp 3.14.5, the version ``requirements/constraints.txt`` pins; ``test_connection_limits``
checks each behaviour.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Final

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.http_parser import RawRequestMessage
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler

from .admission import Admission, Slot
from .lograte import RateLimitedLog

_LOGGER = logging.getLogger(__name__)

HEAD_TIMEOUT_S: Final = 5.0
KEEPALIVE_TIMEOUT_S: Final = 60.0
# After answering a request whose body was not read (the API reads no bodies), aiohttp reads
# and drops the rest of it for this long before it closes the connection.
LINGER_S: Final = 2.0
BAD_REQUEST_BODY: Final = json.dumps({"error": {"code": "invalid_argument", "message": "malformed HTTP request"}})

_bad_request_log = RateLimitedLog(_LOGGER, logging.DEBUG)
_slow_head_log = RateLimitedLog(_LOGGER, logging.DEBUG)


class GuardedRequestHandler(RequestHandler):
    """One admitted connection (see the module docstring)."""

    def __init__(self, manager: GuardedServer, slot: Slot, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self.slot = slot
        self._admission = manager.admission
        self._head_deadline: asyncio.TimerHandle | None = None
        self._handling = False  # from a request's head until its response is finished
        self._dropped = False
        slot.closer = self.drop

    def trust(self) -> None:
        self._admission.trust(self.slot)

    def drop(self) -> None:
        """Close at once, sending nothing more: a connection that ran out of time or was made room from."""
        self._dropped = True
        self._cancel_head_deadline()
        if self.transport is not None:
            self.transport.abort()

    # --- asyncio protocol callbacks ---
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._dropped:  # made room from before its transport was even made
            transport.close()  # nothing was sent or buffered yet: as abrupt as abort()
            return
        super().connection_made(transport)
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        if data and not self._handling and self._head_deadline is None:
            self._arm_head_deadline()  # the first bytes of a new request head
        super().data_received(data)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._cancel_head_deadline()
        self._admission.release(self.slot)
        super().connection_lost(exc)

    # --- request boundaries ---
    def request_started(self) -> None:
        """A request head is complete (called by the server's request factory)."""
        self._handling = True
        self._cancel_head_deadline()

    async def finish_response(
        self, request: web.BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> tuple[web.StreamResponse, bool]:
        try:
            return await super().finish_response(request, resp, start_time)
        finally:
            self._handling = False

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status != 400:
            return super().handle_error(request, status, exc, message)
        _bad_request_log("API: malformed HTTP request from %s (%s)", request.remote, type(exc).__name__)
        if request.writer.output_size > 0:
            raise ConnectionError("a response was already sent; cannot answer the malformed request")
        response = web.Response(status=400, text=BAD_REQUEST_BODY, content_type="application/json")
        response.force_close()
        return response

    # --- the head deadline ---
    def _arm_head_deadline(self) -> None:
        self._cancel_head_deadline()
        self._head_deadline = self._loop.call_later(HEAD_TIMEOUT_S, self._head_too_slow)

    def _cancel_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if self._handling:
            return
        _slow_head_log(
            "API: dropped a connection from %s that sent no complete request head within %g s",
            self.slot.address,
            HEAD_TIMEOUT_S,
        )
        self.drop()


class GuardedServer(web.Server):
    """aiohttp's low-level server, making a :class:`GuardedRequestHandler` for each admitted connection."""

    def __init__(self, handler: Any, *, request_factory: Any, admission: Admission, **kwargs: Any) -> None:
        super().__init__(handler, request_factory=request_factory, **kwargs)
        self.admission = admission
        make_request = self.request_factory

        def started(
            message: RawRequestMessage,
            payload: StreamReader,
            protocol: RequestHandler,
            writer: AbstractStreamWriter,
            task: asyncio.Task[None],
        ) -> web.BaseRequest:
            if isinstance(protocol, GuardedRequestHandler):
                protocol.request_started()
            return make_request(message, payload, protocol, writer, task)

        self.request_factory = started

    def handler_for(self, slot: Slot) -> GuardedRequestHandler:
        return GuardedRequestHandler(self, slot, loop=self._loop, **self._kwargs)

    def __call__(self) -> RequestHandler:
        raise TypeError("the API's connections are made by listener.GuardedSite, which admits them first")


class GuardedRunner(web.AppRunner):
    """``web.AppRunner`` whose server is a :class:`GuardedServer` (serve it with ``listener.GuardedSite``)."""

    def __init__(self, app: web.Application, admission: Admission, **kwargs: Any) -> None:
        super().__init__(app, keepalive_timeout=KEEPALIVE_TIMEOUT_S, lingering_time=LINGER_S, **kwargs)
        self.admission = admission

    async def _make_server(self) -> web.Server:
        stock = await super()._make_server()  # starts and freezes the application
        return GuardedServer(
            stock.request_handler, request_factory=stock.request_factory, admission=self.admission, **self._kwargs
        )


def trust(request: web.BaseRequest) -> None:
    """The connection of ``request`` has shown the token (see ``admission``)."""
    protocol = request.protocol
    if isinstance(protocol, GuardedRequestHandler):
        protocol.trust()
