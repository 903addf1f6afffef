"""A real engine process with its API on a free loopback port, and a WebSocket client to it."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.api.client import WsClient
from tests.onvif.ipycam_camera import free_port
from tests.support.engine_process import EngineProcess

TOKEN = "onvif-test-token-7c2e9a41b0d3"


def api_answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/api/info", headers={"Authorization": f"Bearer {TOKEN}"})
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


@contextmanager
def running_engine(workdir: Path, config: dict[str, Any]) -> Iterator[tuple[EngineProcess, WsClient]]:
    port = free_port()
    engine = EngineProcess(workdir, {"api_port": port, "api_token": TOKEN, **config})
    engine.start()
    client: WsClient | None = None
    try:
        engine.wait_for(lambda: api_answers(port), 30, "the API to answer")
        client = WsClient(f"http://127.0.0.1:{port}", TOKEN)
        client.connect()
        yield engine, client
    finally:
        if client is not None:
            client.close()
        engine.stop()
