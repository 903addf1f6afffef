"""Run the engine inside the test process on file sources (faster than real time)."""

from __future__ import annotations

import asyncio
from typing import Any

from vigil_engine.clock import EngineClock
from vigil_engine.config import EngineConfig
from vigil_engine.engine import Engine


async def record_once(config: EngineConfig, clock: EngineClock | None = None, limit_s: float = 60) -> Engine:
    """Start an engine, wait until every camera's file has ended once, stop it."""
    engine = Engine(config, clock)
    loop = asyncio.get_running_loop()
    ended: set[str] = set()
    done = asyncio.Event()

    def on_change(kind: str, data: dict[str, Any]) -> None:
        if kind == "camera_offline":
            ended.add(data["camera_id"])
            if len(ended) == len(config.cameras):
                loop.call_soon_threadsafe(done.set)

    engine.add_listener(on_change)
    await engine.start()
    try:
        await asyncio.wait_for(done.wait(), limit_s)
    finally:
        await engine.stop()
    return engine
