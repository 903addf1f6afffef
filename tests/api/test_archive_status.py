"""The off-site archive's status in the API (schema version 4): ``Storage.archive``.

A real engine process records the RTSP test camera and copies every segment to a real S3
store (SeaweedFS). ``get_storage``, ``GET /api/storage`` and ``subscribe``'s storage carry the
archive's status; the store is stopped for a moment, and the status says so (with when the
failure began) until it works again. No answer holds the access keys (an error may name the
endpoint, the bucket and an object's path: they are no secrets, and say what failed). Without an archive
the field is null (an in-process engine: no camera needed).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.api.client import WsClient, fields_errors
from tests.api.conftest import TOKEN, free_port, request, wait_until
from tests.api.inprocess_api import TOKEN as INPROCESS_TOKEN
from tests.api.inprocess_api import api_server
from tests.archive.seaweedfs import ACCESS_KEY, SECRET_KEY, SeaweedFS
from tests.engine.conftest import enable_loopback_sockets
from tests.support.camera import RtspCamera
from tests.support.engine_process import EngineProcess
from vigil_engine.protocol import SCHEMA_VERSION, ArchiveStatus, Storage

BUCKET = "api-archive"


@dataclass
class Rig:
    engine: EngineProcess
    store: SeaweedFS
    port: int
    ws: WsClient
    answers: list[str]  # every raw answer seen, for the secret checks

    def storage_ws(self) -> dict[str, Any]:
        result = self.ws.result("get_storage")
        self.answers.append(json.dumps(result))
        storage: dict[str, Any] = result["storage"]
        return storage

    def storage_http(self) -> dict[str, Any]:
        response = request(self.port, "/api/storage", {"Authorization": f"Bearer {TOKEN}"})
        assert response.status == 200
        self.answers.append(response.body.decode())
        storage: dict[str, Any] = response.json()["storage"]
        return storage


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    enable_loopback_sockets()
    workdir = tmp_path_factory.mktemp("api-archive")
    store = SeaweedFS(workdir / "seaweedfs")
    store.start()
    camera = RtspCamera(width=320, height=180, fps=10, keyint=1.0).start()
    port = free_port()
    engine = EngineProcess(
        workdir,
        {
            "segment_seconds": 1,
            "api_port": port,
            "api_token": TOKEN,
            "archive": store.archive_options(store.make_bucket(BUCKET), copy="all"),
            "cameras": [{"id": "yard", "url": camera.url("h264"), "motion": {"enabled": False}}],
        },
    )
    engine.start()
    ws: WsClient | None = None
    try:
        engine.wait_for(lambda: _answers(port), 30, "the API to answer")
        ws = WsClient(f"http://127.0.0.1:{port}", TOKEN)
        ws.connect()
        yield Rig(engine, store, port, ws, [])
    finally:
        if ws is not None:
            ws.close()
        engine.stop()
        camera.close()
        store.stop()


def _answers(port: int) -> bool:
    try:
        return request(port, "/api/info", {"Authorization": f"Bearer {TOKEN}"}, timeout=2).status == 200
    except OSError:
        return False


def test_storage_carries_the_archive_status_and_its_outage_without_secrets(rig: Rig) -> None:
    assert rig.ws.server_info["schema_version"] == SCHEMA_VERSION >= 4
    started_ms = int(time.time() * 1000)
    copied = wait_until(
        lambda: (s := rig.storage_ws()["archive"]) and s["uploaded"] >= 2 and s,
        30,
        "segments to be copied",
    )
    assert fields_errors(copied, ArchiveStatus) == []
    status = ArchiveStatus.parse(copied)
    assert status.enabled
    assert status.reachable
    assert status.failing_since_ms is None
    assert status.last_error is None
    assert status.error_kind is None
    assert status.last_success_ms is not None
    assert status.last_success_ms >= started_ms - 60_000
    assert status.lost == 0
    # The HTTP endpoint and the subscription's state say the same (the same model).
    assert Storage.parse(rig.storage_http()).archive is not None
    subscribed = rig.ws.result("subscribe")
    rig.answers.append(json.dumps(subscribed))
    assert ArchiveStatus.parse(subscribed["storage"]["archive"]).enabled

    rig.store.stop()
    stopped_ms = int(time.time() * 1000)
    try:
        failing = wait_until(
            lambda: (s := rig.storage_ws()["archive"]) and not s["reachable"] and s, 20, "the outage to show"
        )
        down = ArchiveStatus.parse(failing)
        assert down.failing_since_ms is not None
        assert stopped_ms - 2000 <= down.failing_since_ms <= int(time.time() * 1000)
        assert down.last_error
        assert "reach" in down.last_error
        assert down.error_kind == "unreachable"
        # Footage recorded meanwhile waits in the queue.
        wait_until(lambda: rig.storage_http()["archive"]["backlog_items"] >= 2, 15, "a backlog")
        http_down = ArchiveStatus.parse(rig.storage_http()["archive"])
        assert not http_down.reachable
        assert http_down.backlog_bytes > 0
        # The start of the failure stays put while it lasts.
        assert abs((http_down.failing_since_ms or 0) - down.failing_since_ms) <= 50
    finally:
        rig.store.start()
    wait_until(
        lambda: (s := rig.storage_ws()["archive"])["reachable"] and s["backlog_items"] == 0,
        60,
        "the backlog to drain",
    )
    back = ArchiveStatus.parse(rig.storage_http()["archive"])
    assert back.failing_since_ms is None
    assert back.last_error is None
    assert back.error_kind is None

    for answer in rig.answers:
        for secret in (SECRET_KEY, ACCESS_KEY):
            assert secret not in answer
    assert SECRET_KEY not in rig.engine.log()
    assert ACCESS_KEY not in rig.engine.log()


async def test_without_an_archive_it_is_null(tmp_path: Path) -> None:
    enable_loopback_sockets()
    async with api_server(tmp_path) as server, aiohttp.ClientSession() as session:
        base = f"http://127.0.0.1:{server.port}"
        headers = {"Authorization": f"Bearer {INPROCESS_TOKEN}"}
        async with session.get(f"{base}/api/storage", headers=headers) as response:
            assert response.status == 200
            http_storage = (await response.json())["storage"]
        async with session.ws_connect(f"{base}/api/ws") as ws:
            await ws.send_json({"type": "auth", "token": INPROCESS_TOKEN})
            assert (await ws.receive_json(timeout=10))["schema_version"] == SCHEMA_VERSION
            await ws.send_json({"message_id": "1", "command": "get_storage"})
            ws_storage = (await ws.receive_json(timeout=10))["result"]["storage"]
    assert "archive" in http_storage
    assert http_storage["archive"] is None
    assert "archive" in ws_storage
    assert ws_storage["archive"] is None
