"""The API's listening sockets: accepts connections itself, admits or refuses each before it costs more.

``web.TCPSite`` hands its sockets to ``loop.create_server``, whose accept loop makes a
transport and a protocol for every connection before anyone can refuse it and, when ``accept``
fails for want of file descriptors (EMFILE), logs a traceback per attempt; on Python 3.14.8 it
even goes on looping after the error (CPython issue 151615): a minute of ``test_abuse`` against
the engine before this module wrote 2.5 million log lines (141 MB). So
:class:`GuardedSite` (an aiohttp site, started and stopped by the runner like the others)
binds its own sockets and accepts from them:

- each accepted socket asks :class:`admission.Admission` first; refused, it is closed at once
  with a reset, before any transport, protocol or task exists for it;
- an admitted one becomes a transport with the runner's :class:`protocol.GuardedServer`
  protocol (``loop.connect_accepted_socket``);
- when ``accept`` fails for want of resources, accepting pauses for ``ACCEPT_PAUSE_S`` (the
  waiting connections stay in the kernel's backlog) and one line a minute says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import struct
from typing import Final

from aiohttp import web
from yarl import URL

from .admission import Slot, address_key
from .guarded_handler import GuardedRequestHandler, GuardedRunner, GuardedServer
from .lograte import RateLimitedLog

_LOGGER = logging.getLogger(__name__)

BACKLOG: Final = 128
ACCEPT_BATCH: Final = 64  # connections taken per wake-up; the rest wait for the next turn of the loop
ACCEPT_PAUSE_S: Final = 1.0
# Errors of one pending connection that accept() passes on; the next one may be fine (accept(2)).
_PASSED_ON: Final = frozenset(
    {
        errno.ECONNABORTED,
        errno.EPROTO,
        errno.ENETDOWN,
        errno.ENOPROTOOPT,
        errno.EHOSTDOWN,
        errno.ENONET,
        errno.EHOSTUNREACH,
        errno.EOPNOTSUPP,
        errno.ENETUNREACH,
    }
)
_RESET_ON_CLOSE: Final = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends a reset

_accept_error_log = RateLimitedLog(_LOGGER, logging.ERROR)


class GuardedSite(web.BaseSite):
    """A TCP site on ``host:port`` (port 0: any free one; see :attr:`port`)."""

    def __init__(self, runner: GuardedRunner, host: str, port: int, *, backlog: int = BACKLOG) -> None:
        super().__init__(runner, backlog=backlog)
        self._host = host
        self._port = port
        self._sockets: list[socket.socket] = []
        self._resume: dict[socket.socket, asyncio.TimerHandle] = {}
        self._connecting: set[asyncio.Task[None]] = set()
        self._guarded = runner

    @property
    def name(self) -> str:
        return str(URL.build(scheme="http", host=self._host, port=self.port))

    @property
    def port(self) -> int:
        return int(self._sockets[0].getsockname()[1]) if self._sockets else self._port

    @property
    def _server_protocols(self) -> GuardedServer:
        server = self._guarded.server
        assert isinstance(server, GuardedServer)
        return server

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(self._host, self._port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        self._sockets = _listen(list(dict.fromkeys(infos)), self._backlog)
        await super().start()  # registered with the runner only once listening: a failed bind leaves nothing behind
        for sock in self._sockets:
            loop.add_reader(sock.fileno(), self._accept, sock)

    async def stop(self) -> None:
        loop = asyncio.get_running_loop()
        for timer in self._resume.values():
            timer.cancel()
        self._resume.clear()
        for sock in self._sockets:
            loop.remove_reader(sock.fileno())
            sock.close()
        self._sockets = []
        for task in list(self._connecting):
            task.cancel()
        await asyncio.gather(*self._connecting, return_exceptions=True)
        await super().stop()

    # --- accepting ---
    def _accept(self, sock: socket.socket) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                conn, peer = sock.accept()
            except BlockingIOError, InterruptedError:
                return
            except OSError as err:
                if err.errno in _PASSED_ON:
                    continue
                self._pause(sock, err)
                return
            self._hand_over(conn, peer)

    def _hand_over(self, conn: socket.socket, peer: object) -> None:
        server = self._server_protocols
        slot = server.admission.admit(address_key(peer), conn.fileno())
        if slot is None:
            _refuse(conn)
            return
        protocol = server.handler_for(slot)
        # Started eagerly: the transport exists (and owns the socket) before this returns, so
        # that a stop, which cancels what is still connecting, never leaves a socket unowned.
        task = asyncio.create_task(self._connect(conn, protocol, slot), eager_start=True)
        if not task.done():
            self._connecting.add(task)
            task.add_done_callback(self._connecting.discard)

    async def _connect(self, conn: socket.socket, protocol: GuardedRequestHandler, slot: Slot) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.connect_accepted_socket(lambda: protocol, conn)
        except OSError:  # the client went away before its transport was made
            self._server_protocols.admission.release(slot)
            conn.close()

    def _pause(self, sock: socket.socket, err: OSError) -> None:
        _accept_error_log(
            "API cannot accept connections (%s); trying again every %g s", err.strerror or err, ACCEPT_PAUSE_S
        )
        loop = asyncio.get_running_loop()
        loop.remove_reader(sock.fileno())
        self._resume[sock] = loop.call_later(ACCEPT_PAUSE_S, self._unpause, sock)

    def _unpause(self, sock: socket.socket) -> None:
        self._resume.pop(sock, None)
        if sock.fileno() >= 0:
            asyncio.get_running_loop().add_reader(sock.fileno(), self._accept, sock)


def _refuse(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already reset by the client: a plain close will do
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
    conn.close()


def _listen(infos: list[tuple[int, int, int, str, tuple[object, ...]]], backlog: int) -> list[socket.socket]:
    """Listening sockets on every address ``host`` resolved to (one port for all, when 0 was asked)."""
    sockets: list[socket.socket] = []
    port = 0
    try:
        for family, kind, proto, _name, resolved in infos:
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)  # '::' beside '0.0.0.0', as asyncio does
            sock.bind((resolved[0], port, *resolved[2:]) if port else resolved)
            sock.listen(backlog)
            sock.setblocking(False)
            port = int(sock.getsockname()[1])
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets
