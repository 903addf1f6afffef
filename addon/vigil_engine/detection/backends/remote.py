"""A remote inference server speaking the KServe v2 protocol over HTTP (Triton, OpenVINO Model
Server, KServe, MLServer): a house with many cameras sends detection to a bigger machine.

The server runs the model as is (raw tensors in and out, e.g. Triton serving the ONNX file);
letterboxing and decoding stay here, so every backend finds the same boxes.

What a caller can count on:

* **A deadline.** No call takes longer than ``timeout`` (plus a few milliseconds): connecting,
  sending and each read of the answer get only the time left, whatever the server does (down,
  frozen, trickling bytes).
* **An outage is one log line, and costs callers nothing.** The first failure is logged once
  (WARNING); from then on calls fail at once (:class:`BackendUnavailable`) without touching the
  network, except one try after a backoff (0.5 s, doubling up to 5 s). The first call that
  succeeds again logs that the server is back (INFO). Nothing runs in the background.
* **Keep-alive.** Each calling thread keeps its own connection (a request and its answer
  cannot share one with another thread's). A kept connection the server has since closed (it
  restarted, or dropped an idle one) is retried once on a new connection before it counts as
  a failure.
* **Binary tensors when the server has them.** ``transport="auto"`` sends binary tensors and,
  if the server refuses them (HTTP 400/415/422), JSON from then on (logged once).
"""

from __future__ import annotations

import http.client
import logging
import socket
import threading
import time
from urllib.parse import quote, urlsplit

import numpy as np
import numpy.typing as npt

from vigil_engine.detection.model import ModelError, ModelLayout
from vigil_engine.detection.settings import DEFAULT_MODEL_NAME, DEFAULT_TIMEOUT_S, Transport

from . import BackendError, BackendUnavailable
from .kserve_v2 import HEADER_LENGTH, ProtocolError, Request, decode, encode, layout_from_metadata, model_path

_LOGGER = logging.getLogger(__name__)

__all__ = ["DEFAULT_MODEL_NAME", "DEFAULT_TIMEOUT_S", "RemoteBackend", "Transport"]
BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 5.0
_READ_CHUNK = 1 << 20
# Answers that mean "this server does not take binary tensors" (Triton and KServe answer 400).
_REFUSED_BINARY = {400, 415, 422}


class _Unreachable(Exception):
    """No usable answer (connection refused or broken, timeout, server error)."""


class RemoteBackend:
    name = "remote"

    def __init__(
        self,
        url: str,
        *,
        model: str = DEFAULT_MODEL_NAME,
        version: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        transport: Transport = "auto",
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise BackendError(f"remote detector URL {url!r}: expected http://HOST:PORT or https://HOST:PORT")
        if timeout <= 0:
            raise BackendError(f"remote detector timeout {timeout}: must be more than 0 s")
        self.url = url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._resource = parts.path.rstrip("/") + model_path(
            quote(model, safe=""), quote(version, safe="") if version else None
        )
        self.model = model
        self.timeout = timeout
        self.binary = transport != "json"
        self._may_fall_back = transport == "auto"
        self._layout: ModelLayout | None = None
        self._local = threading.local()
        self._state = threading.Lock()
        self._failures = 0
        self._retry_at = 0.0
        self._reason = ""

    # --- the Backend interface ---
    def layout(self) -> ModelLayout:
        """The served model's layout, from its metadata (asked once). ModelError when the server
        serves a model that is not a YOLOX detector; BackendUnavailable while it cannot be asked."""
        layout = self._layout
        if layout is not None:
            return layout
        self._gate()
        try:
            status, _, body = self._exchange("GET", self._resource, Request({}, ()))
        except _Unreachable as err:
            raise self._failed(str(err)) from None
        if status == 404:
            raise self._failed(f"the server has no model {self.model!r} (HTTP 404)")
        if status != 200:
            raise self._failed(f"model metadata answered HTTP {status}: {_snippet(body)}")
        try:
            layout = layout_from_metadata(body)
        except ProtocolError as err:
            raise self._failed(str(err)) from None
        except ValueError as err:
            raise ModelError(f"remote model {self.model!r} at {self.url}: {err}") from None
        self._succeeded()
        self._layout = layout
        return layout

    def infer(self, images: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        layout = self.layout()
        self._gate()
        try:
            status, headers, body = self._exchange(
                "POST", f"{self._resource}/infer", encode(images, layout, binary=self.binary)
            )
            if status in _REFUSED_BINARY and self.binary and self._may_fall_back:
                self.binary = self._may_fall_back = False
                _LOGGER.info("Remote detector %s: no binary tensors (HTTP %d); sending JSON", self.url, status)
                status, headers, body = self._exchange(
                    "POST", f"{self._resource}/infer", encode(images, layout, binary=False)
                )
        except _Unreachable as err:
            raise self._failed(str(err)) from None
        if status != 200:
            raise self._failed(f"inference answered HTTP {status}: {_snippet(body)}")
        try:
            output = decode(body, headers.get(HEADER_LENGTH.lower()), layout)
        except ProtocolError as err:
            raise self._failed(str(err)) from None
        self._succeeded()
        return output

    def close(self) -> None:
        """Closes this thread's connection (other threads' close with their threads)."""
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    # --- outages ---
    def _gate(self) -> None:
        """Fail at once while backing off after a failure."""
        with self._state:
            if self._failures and time.monotonic() < self._retry_at:
                raise BackendUnavailable(f"remote detector {self.url}: {self._reason}")

    def _failed(self, reason: str) -> BackendUnavailable:
        with self._state:
            self._failures += 1
            self._retry_at = time.monotonic() + min(BACKOFF_START_S * 2 ** (self._failures - 1), BACKOFF_MAX_S)
            self._reason = reason
            first = self._failures == 1
        if first:
            _LOGGER.warning(
                "Remote detector %s: %s; detection waits for it (tried again every few seconds)", self.url, reason
            )
        return BackendUnavailable(f"remote detector {self.url}: {reason}")

    def _succeeded(self) -> None:
        with self._state:
            failures, self._failures = self._failures, 0
        if failures:
            _LOGGER.info("Remote detector %s answers again (after %d failed tries)", self.url, failures)

    # --- HTTP with a deadline ---
    def _exchange(self, method: str, path: str, request: Request) -> tuple[int, dict[str, str], bytes]:
        deadline = time.monotonic() + self.timeout
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        # A kept connection may have been closed by the server meanwhile: one more try on a new one.
        for fresh in (False, True) if connection is not None else (True,):
            if fresh:
                connection = self._local.connection = self._connect(deadline)
            assert connection is not None
            try:
                return self._send(connection, method, path, request, deadline)
            except (OSError, http.client.HTTPException) as err:
                connection.close()
                self._local.connection = None
                if fresh or isinstance(err, TimeoutError) or time.monotonic() >= deadline:
                    raise _Unreachable(_describe(err, self.timeout)) from None
        raise AssertionError("unreachable")

    def _connect(self, deadline: float) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        connection = kind(self._host, self._port, timeout=_left(deadline, self.timeout))
        try:
            connection.connect()
            assert connection.sock is not None
            # Pictures go out in one piece: no Nagle delay between the header and the tensor.
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as err:
            connection.close()
            raise _Unreachable(_describe(err, self.timeout)) from None
        return connection

    def _send(
        self, connection: http.client.HTTPConnection, method: str, path: str, request: Request, deadline: float
    ) -> tuple[int, dict[str, str], bytes]:
        sock = connection.sock
        assert sock is not None
        sock.settimeout(_left(deadline, self.timeout))
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in request.headers.items():
            connection.putheader(name, value)
        if method == "POST":
            connection.putheader("Content-Length", str(sum(len(part) for part in request.parts)))
        connection.endheaders()
        for part in request.parts:
            sock.settimeout(_left(deadline, self.timeout))
            sock.sendall(part)
        sock.settimeout(_left(deadline, self.timeout))
        response = connection.getresponse()
        chunks: list[bytes] = []
        while True:
            sock.settimeout(_left(deadline, self.timeout))
            chunk = response.read(_READ_CHUNK)
            if not chunk:
                break
            chunks.append(chunk)
        if response.will_close:
            connection.close()
            self._local.connection = None
        headers = {name.lower(): value for name, value in response.getheaders()}
        return response.status, headers, b"".join(chunks)


def _left(deadline: float, timeout: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError(f"no answer within {timeout:g} s")
    return left


def _describe(err: BaseException, timeout: float) -> str:
    if isinstance(err, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    if isinstance(err, http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError):
        return "the server closed the connection"
    if isinstance(err, socket.gaierror):
        return f"unknown host ({err.strerror})"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror.lower()
    return str(err) or type(err).__name__


def _snippet(body: bytes) -> str:
    text = body[:200].decode("utf-8", errors="replace").strip()
    return " ".join(text.split()) or "(empty)"
