"""The API server in the test process, in front of a real engine, for tests that need no RTSP camera.

``api_server(tmp_path, clip)`` starts an engine recording ``clip`` (a file, read faster than
real time) and its API on a free loopback port; ``api_server(tmp_path)`` starts only the API,
in front of an engine that records nothing (its configuration has a camera, so the API knows
one): for tests of the connection layer, which must not share the process's file descriptors
with a recording thread.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from vigil_engine.api.server import ApiServer
from vigil_engine.config import parse_config
from vigil_engine.engine import Engine

TOKEN = "inprocess-token-7d1e5c9a3b"


@contextlib.asynccontextmanager
async def api_server(tmp_path: Path, clip: Path | None = None, **extra: Any) -> AsyncIterator[ApiServer]:
    source = f"file://{clip}" if clip is not None else f"file://{tmp_path / 'never-read.mkv'}"
    config = parse_config(
        {
            "storage_path": str(tmp_path / "storage"),
            "segment_seconds": 2,
            "api_host": "127.0.0.1",
            "api_port": 0,
            "api_token": TOKEN,
            "cameras": [{"id": "file", "url": source, "realtime": False, "loop": False}],
            **extra,
        }
    )
    engine = Engine(config)
    if clip is not None:
        await engine.start()
    server = ApiServer(engine)
    try:
        await server.start()
        yield server
    finally:
        await server.stop()
        if clip is not None:
            await engine.stop()
