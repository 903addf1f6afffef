"""API test fixtures: one real engine process recording the RTSP test camera, with its API.

The ``live`` fixture is shared by every contract test of this folder (package scope): the
engine records a camera whose box moves 5-9 s into each connection. Once a motion event
has started, the camera is stopped (the event ends with its footage) and restarted, so by
the time the tests run there are segments, a finished motion event with snapshots, and a
real outage with its gap, all seen by a WebSocket client that subscribed before any of it
happened.
"""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.api.client import WsClient
from tests.engine.conftest import enable_loopback_sockets
from tests.support.camera import RtspCamera
from tests.support.engine_process import EngineProcess
from tests.support.outside_hass import verify_cleanup  # noqa: F401 - replaces Home Assistant's check

TOKEN = "test-token-5a1c7e0b9d2f4e6a8c3b"
CAMERA_USER = "viewer"
CAMERA_PASSWORD = "Cam-Pa55word!"
SEGMENT_SECONDS = 3
MOTION = (5.0, 9.0)
PATH_ZONE = "0,0.1 1,0.1 1,0.8 0,0.8"  # the box sweeps the whole width between 15 % and 75 % height
TOP_ZONE = "0,0 1,0 1,0.09 0,0.09"  # the box never goes there


@pytest.fixture(autouse=True)
def _loopback_sockets() -> None:
    enable_loopback_sockets()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body)


def request(
    port: int, path: str, headers: dict[str, str] | None = None, method: str = "GET", timeout: float = 30
) -> Response:
    """One HTTP request, the path sent exactly as given (no normalisation of ``..`` or escapes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        body = response.read()
        return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
    finally:
        conn.close()


@dataclass
class Live:
    engine: EngineProcess
    camera: RtspCamera
    port: int
    ws: WsClient
    outage: tuple[int, int] = (0, 0)  # the indexed gap
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, headers: dict[str, str] | None = None, auth: bool = True, method: str = "GET") -> Response:
        all_headers = {"Authorization": f"Bearer {TOKEN}"} if auth else {}
        all_headers.update(headers or {})
        return request(self.port, path, all_headers, method)

    def client(self) -> WsClient:
        client = WsClient(self.base_url, TOKEN)
        client.connect()
        return client


def _wait_for_api(engine: EngineProcess, port: int) -> None:
    def answers() -> bool:
        try:
            return request(port, "/api/info", {"Authorization": f"Bearer {TOKEN}"}, timeout=2).status == 200
        except OSError:
            return False

    engine.wait_for(answers, 30, "the API to answer")


@pytest.fixture(scope="package")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    enable_loopback_sockets()
    workdir = tmp_path_factory.mktemp("api")
    (workdir / "outside-secret.txt").write_text("CANARY-3f9c0d1e outside the storage folder\n")
    camera = RtspCamera(
        width=640,
        height=360,
        fps=15,
        keyint=1.0,
        motion=(MOTION,),
        auth="digest",
        user=CAMERA_USER,
        password=CAMERA_PASSWORD,
    ).start()
    port = free_port()
    events = {"quiet_seconds": 2, "pre_capture": 2, "post_capture": 2}
    engine = EngineProcess(
        workdir,
        {
            "segment_seconds": SEGMENT_SECONDS,
            "read_timeout": 3,
            "open_timeout": 4,
            "min_free": "1MB",
            "time_zone": "Europe/Berlin",
            "api_host": "127.0.0.1",
            "api_port": port,
            "api_token": TOKEN,
            "cameras": [
                {
                    "id": "front",
                    "name": "Front door",
                    "url": camera.url("h264", auth=False),
                    "username": CAMERA_USER,
                    "password": CAMERA_PASSWORD,
                    "motion": {"zones": [{"name": "path", "polygon": PATH_ZONE}, {"name": "top", "polygon": TOP_ZONE}]},
                    "events": events,
                },
            ],
        },
    )
    engine.start()
    ws: WsClient | None = None
    try:
        _wait_for_api(engine, port)
        ws = WsClient(f"http://127.0.0.1:{port}", TOKEN)
        ws.connect()
        assert ws.result("subscribe")["events"]
        ws.wait_event("event_started", lambda d: d["camera_id"] == "front", timeout=30)
        time.sleep(2)
        # A real outage: the camera goes away (the motion event ends with its footage) and comes
        # back: offline/online events, a gap, a new session.
        camera.stop()
        ws.wait_event("camera_offline", timeout=15)
        ws.wait_event("event_ended", lambda d: d["camera_id"] == "front", timeout=20)
        camera.start()
        ws.wait_event("camera_online", timeout=20)
        engine.wait_for(lambda: engine.gaps("front"), 15, "the gap to be indexed")
        gap = engine.gaps("front")[0]
        engine.wait_for(
            lambda: sum(s["start_ms"] >= gap["end_ms"] for s in engine.segments("front")) >= 2,
            20,
            "footage after the gap",
        )
        yield Live(engine, camera, port, ws, outage=(gap["start_ms"], gap["end_ms"]))
    finally:
        if ws is not None:
            ws.close()
        engine.stop()
        camera.close()


@pytest.fixture(scope="package")
def ws(live: Live) -> WsClient:
    """The subscriber that has seen everything since the engine started."""
    return live.ws


def wait_until(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def footage_path(live: Live) -> Path:
    return live.engine.recordings
