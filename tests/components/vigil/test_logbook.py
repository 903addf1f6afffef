"""One motion event, as Home Assistant's logbook tells it: one line per fact, not five.

Home Assistant runs with its real recorder (in-memory SQLite) and logbook; the real engine sees
the test camera's box move. The logbook is read as its panel reads it (``logbook/get_events``
over the WebSocket API). It used to tell every event twice (the event entity and a "Last event"
sensor), and every change of recording twice (a "Recording" switch and the record mode select).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from homeassistant.components.recorder.core import Recorder
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done
from pytest_homeassistant_custom_component.typing import RecorderInstanceContextManager, WebSocketGenerator

from custom_components.vigil.const import DOMAIN
from tests.components.vigil.conftest import FRONT, EngineRig, SetupEntry, state_of, wait_engine, wait_for

EVENTS = "event.front_events"


@pytest.fixture
async def mock_recorder_before_hass(async_test_recorder: RecorderInstanceContextManager) -> None:
    """The recorder's database is prepared before Home Assistant starts (the plugin's rule)."""


async def _logbook(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, start: Any, end: Any
) -> list[dict[str, Any]]:
    """The logbook's lines of the Vigil entities between two instants, as the logbook panel asks for them."""
    await async_wait_recording_done(hass)
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "logbook/get_events", "start_time": start.isoformat(), "end_time": end.isoformat()}
    )
    answer = await client.receive_json()
    assert answer["success"], answer
    ours = {entry.entity_id for entry in er.async_entries_for_config_entry(er.async_get(hass), _entry_id(hass))}
    return [line for line in answer["result"] if line.get("entity_id") in ours]


def _entry_id(hass: HomeAssistant) -> str:
    return hass.config_entries.async_entries(DOMAIN)[0].entry_id


async def test_a_motion_event_is_one_line_per_fact(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    engine: EngineRig,
    setup_entry: SetupEntry,
) -> None:
    assert await async_setup_component(hass, "logbook", {})
    await setup_entry()
    since = dt_util.utcnow()
    ended: list[str] = []

    def one_whole_event() -> dict[str, Any] | None:
        """An event that started and ended after ``since`` (the box moves for 2 s every 10 s)."""
        attributes = state_of(hass, EVENTS).attributes
        start = dt_util.parse_datetime(str(attributes.get("start")))
        if attributes.get("event_type") == "motion_ended" and start is not None and start > since:
            ended.append(str(attributes["event_id"]))
            return dict(attributes)
        return None

    event = await wait_for(one_whole_event, 40, "a motion event from start to end", interval=0.1)
    start = dt_util.parse_datetime(event["start"])
    end = dt_util.parse_datetime(event["end"])
    assert start is not None
    assert end is not None
    # From before the motion until now (the event ends a quiet time after its last motion).
    lines = await _logbook(hass, hass_ws_client, start - timedelta(seconds=2), dt_util.utcnow() + timedelta(seconds=1))
    assert end > start
    print("\n".join(f"{line['when']} {line['entity_id']} {line.get('state')}" for line in lines))  # shown with -s
    by_entity = Counter(line["entity_id"] for line in lines)
    # The event entity says it started and that it ended: one line each.
    event_lines = [line for line in lines if line["entity_id"] == EVENTS]
    assert len(event_lines) == 2, lines
    # Motion, in the frame and in the zone, turned on and off: one line each (no more).
    for entity in ("binary_sensor.front_motion", "binary_sensor.front_motion_path"):
        states = [line["state"] for line in lines if line["entity_id"] == entity]
        assert states in (["on", "off"], ["on"], ["off"], []), (entity, lines)
    # Nothing else repeats it: no "last event" sensor, no picture (an image entity never writes lines).
    assert set(by_entity) <= {EVENTS, "binary_sensor.front_motion", "binary_sensor.front_motion_path"}, lines
    assert hass.states.get("sensor.front_last_event") is None


async def test_a_change_of_record_mode_is_one_line(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    engine: EngineRig,
    setup_entry: SetupEntry,
) -> None:
    assert await async_setup_component(hass, "logbook", {})
    await setup_entry()
    select = "select.front_record_mode"
    since = dt_util.utcnow()
    try:
        await hass.services.async_call(
            "select", "select_option", {ATTR_ENTITY_ID: select, "option": "events"}, blocking=True
        )
        await wait_engine(engine, FRONT, lambda camera: camera["record_mode"] == "events", "events mode")
    finally:
        await hass.services.async_call(
            "select", "select_option", {ATTR_ENTITY_ID: select, "option": "continuous"}, blocking=True
        )
    await wait_engine(engine, FRONT, lambda camera: camera["record_mode"] == "continuous", "continuous")
    lines = await _logbook(hass, hass_ws_client, since, dt_util.utcnow() + timedelta(seconds=1))
    modes = [line for line in lines if line["entity_id"] == select]
    assert [line["state"] for line in modes] == ["events", "continuous"], lines
    assert not [line for line in lines if line["entity_id"].startswith("switch.")], lines
