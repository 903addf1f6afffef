"""No signed link is ever stored: not in a state, not in a bus event, not in the recorder's database.

A signed link opens its media without a login until it expires; every user can read the
states, and the recorder keeps states and bus events (and backups keep the recorder's
database) long after. Home Assistant runs with its real recorder here (an in-memory SQLite
database), the integration against the real engine; a manual event starts and ends, and
links are minted with vigil.get_event_media, the one place they may appear.
"""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.components.recorder.core import Recorder
from homeassistant.const import ATTR_ENTITY_ID, MATCH_ALL
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers.json import json_dumps
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done
from pytest_homeassistant_custom_component.typing import RecorderInstanceContextManager
from sqlalchemy import inspect, text

from custom_components.vigil.const import BUS_EVENT, DOMAIN
from tests.components.vigil.conftest import EngineRig, SetupEntry, state_of, wait_for

SIGNATURE = "authSig="
CAMERA = "camera.front"
EVENTS = "event.front_events"


@pytest.fixture
async def mock_recorder_before_hass(async_test_recorder: RecorderInstanceContextManager) -> None:
    """The recorder's database is prepared before Home Assistant starts (the plugin's rule)."""


def _database_text(recorder: Recorder) -> str:
    """Every row of every table of the recorder's database, as text (runs in the recorder's executor)."""
    session = recorder.get_session()
    try:
        tables = inspect(session.get_bind()).get_table_names()
        rows = [row for table in tables for row in session.execute(text(f'SELECT * FROM "{table}"'))]
        return "\n".join(repr(tuple(row)) for row in rows)
    finally:
        session.close()


async def test_no_signed_link_in_states_bus_events_or_the_database(
    recorder_mock: Recorder, hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry
) -> None:
    fired: list[Event] = []
    hass.bus.async_listen(MATCH_ALL, fired.append)
    await setup_entry()

    async def call(service: str, data: dict[str, Any], target: dict[str, str] | None = None) -> Any:
        return await hass.services.async_call(DOMAIN, service, data, target=target, blocking=True, return_response=True)

    started = (await call("start_event", {"label": "secret-check"}, {ATTR_ENTITY_ID: CAMERA}))[CAMERA]
    event_id = started["event_id"]
    await wait_for(lambda: state_of(hass, EVENTS).attributes.get("event_id") == event_id, 10, "the event entity")
    await call("end_event", {}, {ATTR_ENTITY_ID: CAMERA})
    await wait_for(lambda: state_of(hass, EVENTS).attributes.get("event_type") == "manual_ended", 10, "its end")
    # Links are minted (so the needle is real): they are in the action's answer, and only there.
    links = await call("get_event_media", {"event_id": event_id})
    assert SIGNATURE in links["snapshot_url"]
    assert SIGNATURE in links["clip_url"]
    await async_wait_recording_done(hass)

    # The event went through the entity and the bus, with what an automation needs.
    ours = [event for event in fired if event.event_type == BUS_EVENT and event.data["event_id"] == event_id]
    assert [event.data["phase"] for event in ours] == ["start", "end"]
    assert ours[-1].data["clip_media_content_id"].endswith(f"/event/{event_id}")

    # Every entity's state is checked: the object entities and the snooze sensor too.
    entity_ids = {state.entity_id for state in hass.states.async_all()}
    assert {
        "binary_sensor.front_person_detected",
        "sensor.front_people_in_view",
        "image.front_latest_person",
        "switch.front_object_detection",
        "sensor.front_notifications_snoozed_until",
    } <= entity_ids
    states = [json_dumps(state.as_dict()) for state in hass.states.async_all()]
    assert not [state for state in states if SIGNATURE in state]
    events = [json_dumps({"type": event.event_type, "data": event.data}) for event in fired]
    assert not [event for event in events if SIGNATURE in event]

    database = await recorder_mock.async_add_executor_job(_database_text, recorder_mock)
    assert event_id in database  # the recorder kept the bus event and the entity's state
    assert "clip_media_content_id" in database
    assert SIGNATURE not in database
