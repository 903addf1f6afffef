"""A frozen camera is recorded again as soon as it thaws (issue #13).

A *frozen* camera (its RTSP server stopped with SIGSTOP) keeps its TCP connection and its
port open and answers nothing; its kernel even accepts new connections, into a listen
backlog that nobody empties (six connections for the test camera). The engine must call
it offline one read timeout after its data stopped, leave it alone while it stays silent
(no full opens, no pile of connections in that backlog) and record it again within 3 s of
its thaw, wherever in the wait the thaw falls.

Everything here is real: the engine process, the GStreamer test camera frozen with
SIGSTOP, the engine's probe (``ServerWatch``) on real sockets. Where a server has to
misbehave in a way the test camera cannot (answer 401 to everything, answer ``OPTIONS``
but never ``DESCRIBE``, stay silent and then answer), a small RTSP server on a real
socket plays it (``_RtspStub``).
"""

from __future__ import annotations

import itertools
import socket
import sqlite3
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import av
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.engine.conftest import EngineFactory
from tests.support.camera import RtspCamera
from tests.support.engine_process import EngineProcess
from tests.support.fixtures import CameraFactory
from vigil_engine.ingest.probe import ServerWatch

READ_TIMEOUT = 5  # the engine's defaults
OPEN_TIMEOUT = 10
FPS = 15
PASSWORD = "Fr0zen-s3cret"


# --- a misbehaving RTSP server, on a real socket -------------------------------------------


@dataclass
class _Request:
    method: str
    text: str
    connection: int
    at: float = field(default_factory=time.monotonic)


class _RtspStub:
    """Answers RTSP requests as ``answer(method)`` says; None: leave the request unanswered.

    Unanswered requests are answered later if ``answer`` changes its mind (a thaw); the
    requests and connections it saw are kept for the test to inspect.
    """

    def __init__(self, answer: Callable[[str], str | None]) -> None:
        self.answer = answer
        self.requests: list[_Request] = []
        self.connections = 0
        self._changed = threading.Condition()
        self._closing = False
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def url(self, path: str = "stream", userinfo: str = "") -> str:
        return f"rtsp://{userinfo}127.0.0.1:{self.port}/{path}"

    def set_answer(self, answer: Callable[[str], str | None]) -> None:
        with self._changed:
            self.answer = answer
            self._changed.notify_all()

    def methods(self, agent: str | None = None) -> list[str]:
        return [r.method for r in self.requests if agent is None or f"User-Agent: {agent}" in r.text]

    def close(self) -> None:
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        self._listener.close()
        for thread in self._threads:
            thread.join(2)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn, self.connections), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket, number: int) -> None:
        buffer = b""
        with conn:
            conn.settimeout(0.2)
            while not self._closing:
                try:
                    chunk = conn.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not chunk:
                    return
                buffer += chunk
                while b"\r\n\r\n" in buffer:
                    head, buffer = buffer.split(b"\r\n\r\n", 1)
                    text = head.decode("utf-8", "replace")
                    request = _Request(text.split(" ", 1)[0], text, number)
                    self.requests.append(request)
                    if not self._reply(conn, request):
                        return

    def _reply(self, conn: socket.socket, request: _Request) -> bool:
        with self._changed:
            while (status := self.answer(request.method)) is None and not self._closing:
                self._changed.wait()
        if status is None:
            return False
        cseq = next((line.split(":", 1)[1].strip() for line in request.text.splitlines() if line.startswith("CSeq")), 1)
        reply = f"RTSP/1.0 {status}\r\nCSeq: {cseq}\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n"
        try:
            conn.sendall(reply.encode())
        except OSError:
            return False
        return True


@pytest.fixture
def rtsp_stub() -> Iterator[Callable[[Callable[[str], str | None]], _RtspStub]]:
    made: list[_RtspStub] = []

    def make(answer: Callable[[str], str | None]) -> _RtspStub:
        made.append(_RtspStub(answer))
        return made[-1]

    yield make
    for stub in made:
        stub.close()


def _poll_until(watch: ServerWatch, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if watch.poll(0.5):
            return True
    return False


# --- the probe --------------------------------------------------------------------------


def test_watch_hears_a_thawed_camera_at_once_over_one_connection(rtsp_camera_factory: CameraFactory) -> None:
    camera = rtsp_camera_factory(fps=FPS)
    with ServerWatch(camera.url("h264")) as watch:
        assert watch.poll(2.0), "a running camera answers"
        camera.freeze()
        for _ in range(8):  # 4 s of asking a frozen server
            assert not watch.poll(0.5)
        assert watch.asking, "the frozen server's kernel took the connection"
        assert watch.unanswered_s >= 3.5
        # One connection in all: the frozen server's backlog (six) still has room.
        with socket.create_connection(("127.0.0.1", camera.port), timeout=0.5):
            pass
        camera.thaw()
        thawed = time.monotonic()
        assert _poll_until(watch, 2.0)
        assert time.monotonic() - thawed < 0.5, "the waiting request is answered as soon as the server runs"
        assert watch.unanswered_s == 0


def test_watch_takes_any_answer_and_sends_no_credentials(rtsp_stub: Callable[..., _RtspStub]) -> None:
    stub = rtsp_stub(lambda method: "401 Unauthorized")
    url = stub.url("cam/stream?channel=1", userinfo=f"admin:{PASSWORD}@")
    with ServerWatch(url) as watch:
        assert _poll_until(watch, 2.0), "a 401 is an answer: the server runs"
    [request] = stub.requests
    assert request.text.splitlines()[0] == f"OPTIONS rtsp://127.0.0.1:{stub.port}/cam/stream?channel=1 RTSP/1.0"
    assert PASSWORD not in request.text
    assert "admin" not in request.text


def _self_signed(tmp_path: Path) -> ssl.SSLContext:
    """A TLS server context with a throwaway self-signed certificate, as cameras have."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "camera")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


def test_watch_over_tls_waits_without_spinning_and_hears_the_server(tmp_path: Path) -> None:
    context = _self_signed(tmp_path)
    received: list[bytes] = []

    def serve(listener: socket.socket) -> None:
        conn, _ = listener.accept()
        with context.wrap_socket(conn, server_side=True) as tls:
            received.append(tls.recv(4096))
            tls.sendall(b"RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\n\r\n")

    with socket.create_server(("127.0.0.1", 0)) as listener:
        url = f"rtsps://admin:{PASSWORD}@127.0.0.1:{listener.getsockname()[1]}/stream"
        with ServerWatch(url) as watch:
            cpu = time.process_time()
            for _ in range(4):  # a server that does not accept: its kernel did, the handshake waits
                assert not watch.poll(0.5)
            assert watch.asking
            assert time.process_time() - cpu < 0.2, "waiting on a silent server must not spin"
            server = threading.Thread(target=serve, args=(listener,), daemon=True)
            server.start()
            assert _poll_until(watch, 3.0)
            server.join(2)
    [request] = received
    assert request.startswith(b"OPTIONS rtsps://127.0.0.1:")
    assert PASSWORD.encode() not in request


def test_watch_without_a_server_or_a_network_source(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    with ServerWatch(f"rtsp://127.0.0.1:{closed_port}/stream") as watch:
        assert watch.supported
        assert not watch.poll(0.3)
        assert not watch.asking, "nothing took the connection"
    for url in (f"file://{tmp_path}/clip.mp4", "demo://", "rtmp://127.0.0.1/live"):
        with ServerWatch(url) as watch:
            assert not watch.supported
            assert not watch.poll(0.1)


# --- the engine -------------------------------------------------------------------------


def _log_times_ms(engine: EngineProcess, needle: str) -> list[float]:
    """Wall-clock times of the engine's log lines that contain ``needle``."""
    return [
        datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp() * 1000
        for line in engine.log().splitlines()
        if needle in line
    ]


def _assert_playable(engine: EngineProcess, row: dict[str, object]) -> None:
    path = engine.recordings / str(row["path"])
    assert path.stat().st_size == row["bytes"]
    with av.open(str(path)) as container:
        packets = [p for p in container.demux(video=0) if p.size]
        assert packets, path.name
        assert packets[0].is_keyframe, path.name
    with av.open(str(path)) as container:
        decoded = sum(1 for _ in container.decode(video=0))
    assert row["frames"] == len(packets) >= 1
    assert decoded >= len(packets) - 1, (path.name, decoded, len(packets))


def _gap_after(engine: EngineProcess, freeze_ms: float) -> sqlite3.Row | None:
    return next((g for g in engine.gaps("cam") if g["end_ms"] > freeze_ms), None)


def _segment_from(engine: EngineProcess, start_ms: int) -> bool:
    return any(s["start_ms"] == start_ms for s in engine.segments("cam"))


@dataclass
class _Round:
    frozen_s: float
    freeze_ms: float
    thaw_ms: float


def _freeze_round(engine: EngineProcess, camera: RtspCamera, frozen_s: float) -> _Round:
    """Freeze the camera once recording is steady (past a reconnect's 3 s settling)."""
    gaps = engine.gaps("cam")
    since = gaps[-1]["end_ms"] if gaps else 0
    engine.wait_for(lambda: any(s["start_ms"] >= since + 4000 for s in engine.segments("cam")), 30, "steady recording")
    camera.freeze()
    freeze_ms = time.time() * 1000
    time.sleep(frozen_s)
    camera.thaw()
    return _Round(frozen_s, freeze_ms, time.time() * 1000)


def test_frozen_camera_is_recorded_again_within_3_s_of_its_thaw(
    rtsp_camera_factory: CameraFactory, engine_factory: EngineFactory
) -> None:
    camera = rtsp_camera_factory(fps=FPS, keyint=1.0, auth="digest", user="viewer", password=PASSWORD)
    engine = engine_factory(
        {
            "segment_seconds": 2,
            "read_timeout": READ_TIMEOUT,
            "open_timeout": OPEN_TIMEOUT,
            "min_free": "1MB",
            "cameras": [
                {"id": "cam", "url": camera.url("h264", auth=False), "username": "viewer", "password": PASSWORD}
            ],
        }
    )
    engine.wait_for(lambda: len(engine.segments("cam")) >= 2, 30, "a first recording")

    # Thawed within the read timeout: the stream just goes on, nobody is told anything.
    short = _freeze_round(engine, camera, 2.0)
    engine.wait_for(lambda: any(s["end_ms"] >= short.thaw_ms + 3000 for s in engine.segments("cam")), 20, "footage")
    assert engine.gaps("cam") == []
    assert "Camera cam is offline" not in engine.log()

    # Thawed just after the camera was declared offline, and later and later into the wait.
    measured: list[tuple[float, float, float, float]] = []
    for outages, frozen_s in enumerate((6.0, 12.0, 20.0), start=1):
        done = _freeze_round(engine, camera, frozen_s)
        gap = engine.wait_for(partial(_gap_after, engine, done.freeze_ms), 20, f"the gap of the {frozen_s:g} s freeze")
        engine.wait_for(partial(_segment_from, engine, gap["end_ms"]), 20, "footage after the thaw")
        segments = [dict(s) for s in engine.segments("cam")]
        before = next(s for s in reversed(segments) if s["end_ms"] <= gap["start_ms"])
        after = next(s for s in segments if s["start_ms"] >= gap["end_ms"])
        offline_ms = _log_times_ms(engine, "Camera cam is offline")[-1]
        measured.append(
            (frozen_s, gap["start_ms"] - done.freeze_ms, gap["end_ms"] - done.thaw_ms, offline_ms - done.freeze_ms)
        )

        # The gap starts at the last frame before the freeze and ends at the first after the thaw...
        assert before["end_ms"] == gap["start_ms"]
        assert after["start_ms"] == gap["end_ms"]
        assert abs(gap["start_ms"] - done.freeze_ms) <= 500, measured
        assert -500 <= gap["end_ms"] - done.thaw_ms <= 3000, measured
        assert gap["reason"] == f"no answer from the camera within {READ_TIMEOUT} s"
        # ...and on both sides there is footage that plays.
        _assert_playable(engine, before)
        _assert_playable(engine, after)
        # Offline once, when the data stopped (not a second read timeout later), and back once.
        assert READ_TIMEOUT * 1000 - 500 <= offline_ms - done.freeze_ms <= (READ_TIMEOUT + 1) * 1000, measured
        log = engine.log()
        assert log.count("Camera cam is offline: no answer from the camera within 5 s") == outages, log
        assert log.count("Camera cam is back online") == outages, log

    # Between the outages, recording went on without gaps of its own.
    assert len(engine.gaps("cam")) == 3
    for earlier, later in itertools.pairwise(engine.segments("cam")):
        assert later["start_ms"] == earlier["end_ms"] or any(
            g["start_ms"] == earlier["end_ms"] and g["end_ms"] == later["start_ms"] for g in engine.gaps("cam")
        )
    log = engine.log()
    assert "Traceback" not in log
    assert PASSWORD not in log
    assert PASSWORD.encode() not in engine.db_path.read_bytes()
    print("frozen s, gap start - freeze ms, gap end - thaw ms, offline line - freeze ms:", measured)


def test_silent_server_is_watched_not_opened_and_an_answering_one_backs_off(
    rtsp_stub: Callable[..., _RtspStub], engine_factory: EngineFactory
) -> None:
    """A server that takes connections but answers nothing (frozen), then answers only ``OPTIONS``.

    Silent: the first open times out (logged as a timeout), then the engine holds one
    connection with one question and opens nothing. Answering again: opened at once. But
    its stream still never comes (``DESCRIBE`` unanswered), so from then on it is opened
    once per backoff step, the steps growing, although it answers every probe.
    """
    stub = rtsp_stub(lambda method: None)
    engine = engine_factory(
        {
            "read_timeout": 1,
            "open_timeout": 2,
            "min_free": "1MB",
            "cameras": [{"id": "cam", "url": stub.url(userinfo=f"admin:{PASSWORD}@")}],
        }
    )
    engine.wait_for(lambda: "Camera cam is offline" in engine.log(), 10, "the first open to time out")
    time.sleep(8)
    assert stub.connections == 2, "the failed open, then one watching connection"
    assert stub.methods() == ["OPTIONS", "OPTIONS"]

    stub.set_answer(lambda method: "200 OK" if method == "OPTIONS" else None)
    answering = time.monotonic()
    engine.wait_for(lambda: "DESCRIBE" in stub.methods(), 3, "an open as soon as the server answers")
    first_open = next(r.at for r in stub.requests if r.method == "DESCRIBE")
    assert first_open - answering < 1.5
    time.sleep(17)
    opens = [r.at for r in stub.requests if r.method == "DESCRIBE"]
    steps = [later - earlier for earlier, later in itertools.pairwise(opens)]
    # Backoff 2, 4, 8 s after each 1 s open: opens 3, 5, 9 s apart; hammering would be ~1 s.
    assert 3 <= len(opens) <= 4, steps
    assert all(later > earlier + 1 for earlier, later in itertools.pairwise(steps)), steps

    log = engine.log()
    assert log.count("Camera cam is offline: no answer from the camera within 1 s") == 1, log
    assert "Camera cam is back online" not in log
    assert PASSWORD not in log
    for request in stub.requests:
        assert PASSWORD not in request.text
    assert "Traceback" not in log
