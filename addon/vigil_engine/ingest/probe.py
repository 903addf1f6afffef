"""Cheap probes of a camera's server, to notice its return without a full open.

A full open costs the camera a stream setup and us a decoder probe, and against a server
that does not answer it blocks until its timeout. So while a worker waits to retry, it
asks cheaper questions:

- ``tcp_reachable``: does the port accept connections? It tells a stopped camera (port
  closed) from a running one, but not a *frozen* one: the kernel of a stopped (SIGSTOP)
  or hung process still completes TCP handshakes, into its listen backlog.
- ``ServerWatch``: does the server itself answer? It sends the request FFmpeg's open
  starts with (RTSP ``OPTIONS``, HTTP ``GET``) and waits for any reply at all: a status
  line, a TLS alert, even a close is a server that runs (401 included: the login is the
  open's job). A frozen server accepts the connection and says nothing; once it runs
  again it answers the waiting request at once.

The watch keeps **one** connection and one request in flight for as long as it watches,
instead of a new connection per probe: a frozen server never accepts, so every probe
connection would stay in its listen backlog, and the test camera's (GStreamer's) holds
six. Once it is full, new connections get no answer to their SYN and the kernel repeats
a SYN only after 1, 3, 7 s: an open started then would reach the thawed server seconds
late (the engine's own opens were seen failing that way). TCP keepalive (answered by the
frozen server's kernel) tells a connection that died on the way, e.g. in a NAT, from one
that waits; a connect that hangs is started again every ``CONNECT_S``, with a fresh SYN.

Nothing here carries credentials: the request URI is the stream URL without its user
information, and nothing here logs the URL or what the server said.
"""

from __future__ import annotations

import contextlib
import errno
import selectors
import socket
import ssl
import time
from types import TracebackType
from typing import Literal, Self
from urllib.parse import SplitResult, urlsplit

DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443, "rtmp": 1935}
_TLS_SCHEMES = {"rtsps", "https"}
_WATCHED_SCHEMES = {"rtsp", "rtsps", "http", "https"}
# A connect still pending after this long starts again (a fresh SYN, see above).
CONNECT_S = 1.0
# TCP keepalive on the watch's connection: idle seconds, interval, count (~25 s to notice).
_KEEPALIVE = (10, 5, 3)
_USER_AGENT = "Vigil"

_Phase = Literal["connecting", "handshake", "waiting"]


def tcp_reachable(url: str, timeout: float = 1.0) -> bool | None:
    """Whether the source's TCP port accepts connections (None: not a network source)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    try:
        with socket.create_connection((parts.hostname, _port(parts, scheme)), timeout=timeout):
            return True
    except OSError, ValueError:  # ValueError: a port out of range in the URL
        return False


class ServerWatch:
    """Watches whether a camera's server answers: one connection, one request in flight.

    ``poll(wait_s)`` waits at most ``wait_s`` and says whether an answer came; it
    (re)connects as needed, never blocking longer than asked (the connect and the TLS
    handshake are non-blocking too). ``unanswered_s`` is how long the watch has been
    asking without an answer, across reconnects; ``asking`` whether the server has taken
    the connection and not answered yet (a frozen server), as opposed to not being
    reached at all. Use it as a context manager, or call ``close``. ``supported`` is
    False for sources it cannot ask (files, the demo, RTMP): their ``poll`` answers False.
    """

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._scheme = parts.scheme.lower()
        self._host = parts.hostname or ""
        self.supported = self._scheme in _WATCHED_SCHEMES and bool(self._host)
        self._parts = parts
        self._selector = selectors.DefaultSelector()
        self._sock: socket.socket | None = None
        self._phase: _Phase = "connecting"
        self._connect_started = 0.0
        self._asking_since: float | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def unanswered_s(self) -> float:
        return 0.0 if self._asking_since is None else time.monotonic() - self._asking_since

    @property
    def asking(self) -> bool:
        return self._sock is not None and self._phase != "connecting"

    def poll(self, wait_s: float) -> bool:
        """True as soon as the server answers (the watch then starts over); False after ``wait_s``."""
        if not self.supported:
            return False
        now = time.monotonic()
        deadline = now + wait_s
        if self._asking_since is None:
            self._asking_since = now
        if self._sock is not None and self._phase == "connecting" and now - self._connect_started >= CONNECT_S:
            self._drop()
        if self._sock is None and not self._connect():
            return False
        while (remaining := deadline - time.monotonic()) > 0:
            if not self._selector.select(remaining):
                return False
            try:
                if self._step():
                    self._drop()
                    self._asking_since = None
                    return True
            except OSError:  # refused, reset, unreachable: try a new connection next time
                self._drop()
                return False
        return False

    def close(self) -> None:
        self._drop()
        self._selector.close()

    # --- one connection ---
    def _connect(self) -> bool:
        try:
            port = _port(self._parts, self._scheme)
            family, kind, proto, _, address = socket.getaddrinfo(self._host, port, type=socket.SOCK_STREAM)[0]
            sock = socket.socket(family, kind, proto)
        except OSError, ValueError:  # name not resolved, port out of range
            return False
        try:
            sock.setblocking(False)
            _keepalive(sock)
            error = sock.connect_ex(address)
        except OSError:
            error = -1
        if error not in (0, errno.EINPROGRESS):
            sock.close()
            return False
        self._sock, self._phase, self._connect_started = sock, "connecting", time.monotonic()
        self._selector.register(sock, selectors.EVENT_WRITE)
        return True

    def _step(self) -> bool:
        """Advance on readiness; True when the server answered."""
        sock = self._sock
        assert sock is not None
        if self._phase == "connecting":
            error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if error:
                raise ConnectionError(error, "connect failed")
            if self._scheme in _TLS_SCHEMES:
                self._selector.unregister(sock)
                sock = self._sock = _tls_context().wrap_socket(
                    sock, server_hostname=self._host, do_handshake_on_connect=False
                )
                self._selector.register(sock, selectors.EVENT_WRITE)  # the ClientHello goes out first
                self._phase = "handshake"
            else:
                self._send_request(sock)
            return False
        if self._phase == "handshake":
            assert isinstance(sock, ssl.SSLSocket)
            try:
                sock.do_handshake()
            except ssl.SSLWantReadError:
                self._selector.modify(sock, selectors.EVENT_READ)  # wait on what TLS waits on, not spin
                return False
            except ssl.SSLWantWriteError:
                self._selector.modify(sock, selectors.EVENT_WRITE)
                return False
            except ssl.SSLError:
                return True  # an alert or a protocol we do not speak: still a server that answers
            self._send_request(sock)
            return False
        try:
            sock.recv(1)  # any byte, or an orderly close (b""): the server runs
        except BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError:
            return False  # woken without a whole byte (or TLS record) yet
        except ssl.SSLError:
            pass  # an alert: an answer too
        return True

    def _send_request(self, sock: socket.socket) -> None:
        # A fresh connection's send buffer takes these few bytes at once.
        sock.send(_request(self._parts, self._scheme, _port(self._parts, self._scheme)))
        self._selector.modify(sock, selectors.EVENT_READ)
        self._phase = "waiting"

    def _drop(self) -> None:
        if self._sock is None:
            return
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(self._sock)
        self._sock.close()
        self._sock = None


def _keepalive(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    idle, interval, count = _KEEPALIVE
    for name, value in (("TCP_KEEPIDLE", idle), ("TCP_KEEPINTVL", interval), ("TCP_KEEPCNT", count)):
        option = getattr(socket, name, None)  # Linux names; other systems keep their defaults
        if option is not None:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)


def _port(parts: SplitResult, scheme: str) -> int:
    return parts.port or DEFAULT_PORTS[scheme]


def _request(parts: SplitResult, scheme: str, port: int) -> bytes:
    """The first request FFmpeg's open sends, minus the user information it leaves out too."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    authority = host if port == DEFAULT_PORTS[scheme] else f"{host}:{port}"
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    if scheme.startswith("rtsp"):
        lines = [f"OPTIONS {scheme}://{authority}{target} RTSP/1.0", "CSeq: 1"]
    else:
        lines = [f"GET {target} HTTP/1.1", f"Host: {authority}", "Connection: close"]
    return "\r\n".join([*lines, f"User-Agent: {_USER_AGENT}", "", ""]).encode("utf-8", "replace")


def _tls_context() -> ssl.SSLContext:
    # Cameras serve self-signed certificates; the watch sends nothing secret and reads
    # nothing but the fact of an answer, so it does not verify (FFmpeg's TLS does not either).
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
