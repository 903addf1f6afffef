"""The card's day stays fast on a busy day: ``vigil/timeline`` over Home Assistant's WebSocket.

A real engine whose index holds a day of 8,640 segments, 500 events and 20 outages
(``tests/api/busy_day.py``), a real Home Assistant set up against it, and the command sent as
the card sends it: the engine's day summary, parsed by the client, turned into the card's
answer with a signed thumbnail link per event. Within 250 ms at the 95th percentile (a few
tens of milliseconds on an idle machine; the bound leaves room for a busy one).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from tests.api.busy_day import CAMERA_ID, EVENTS, GAPS, write_busy_day
from tests.components.vigil.conftest import (
    EngineRig,
    SetupEntry,
    enable_loopback_sockets,
    entity_id,
    start_engine_without_camera,
)

ROUNDS = 40
P95_MS = 250


def answers(rig: EngineRig) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return bool(rig.instance_id)
        except OSError:
            return False

    return check


@pytest.fixture(scope="module")
def busy_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EngineRig, date]]:
    enable_loopback_sockets()  # module fixtures are set up before the autouse fixture allows sockets
    workdir: Path = tmp_path_factory.mktemp("timeline-speed")
    day = write_busy_day(workdir / "storage")
    rig = start_engine_without_camera(
        workdir, [{"id": CAMERA_ID, "name": "Busy", "url": "demo://", "enabled": False, "retention_days": 30}]
    )
    try:
        rig.process.wait_for(answers(rig), 30, "the engine's API")
        yield rig, day
    finally:
        rig.process.stop()


async def test_a_busy_day_reaches_the_card_quickly(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    busy_engine: tuple[EngineRig, date],
    setup_entry: SetupEntry,
) -> None:
    rig, day = busy_engine
    await hass.config.async_set_time_zone("UTC")
    await setup_entry(rig)
    camera = entity_id(hass, rig, "camera", "camera", CAMERA_ID)
    client = await hass_ws_client(hass)
    message = {"type": "vigil/timeline", "entity_id": camera, "date": day.isoformat()}

    await client.send_json_auto_id(message)
    answer = await client.receive_json()
    assert answer["success"], answer
    result = answer["result"]
    assert len(result["events"]) == EVENTS
    assert len(result["gaps"]) == GAPS
    assert len(result["recorded"]) == GAPS + 1
    assert len(result["hours"]) == 24

    timings = []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        await client.send_json_auto_id(message)
        assert (await client.receive_json())["success"]
        timings.append((time.perf_counter() - began) * 1000)
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    median = statistics.median(timings)
    print(f"vigil/timeline over Home Assistant's WebSocket, 8,640 segments: median {median:.1f} ms, p95 {p95:.1f} ms")
    assert p95 <= P95_MS
