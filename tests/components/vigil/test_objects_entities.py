"""Object detection in Home Assistant: the real engine with the real model, the person scene and the box.

One engine process (``python -m vigil_engine``, the shared YOLOX-Nano model) for the module
records two RTSP test cameras:

* ``porch``: the person scene. A person cut from a real photograph walks in from the left edge
  between 4 s and 8 s of scene time and then stands still, feet in the ``steps`` zone; the box
  moves behind her from 22 s to 26 s, when the detector (which looks only where something
  moves) finds that she has not moved for 10 s: stationary (still in view, no longer "detected");
* ``yard``: the moving box (4 s to 7 s): motion, and no object.

Scene time starts with each client connection's first frame, so a test makes a fresh walk
(and a fresh box sweep) by restarting the camera's RTSP server on its port: the engine
reconnects and the scene starts over (``ObjectRig.walk``). What Home Assistant shows is read from its state
machine; the engine's own view from its HTTP API.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
from homeassistant.components.image import async_get_image
from homeassistant.const import ATTR_ENTITY_ID, MATCH_ALL, STATE_OFF, STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.json import json_dumps
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service

from custom_components.vigil.const import BUS_EVENT, CONF_OBJECT_ZONE_SENSORS, DOMAIN
from tests.components.vigil.conftest import (
    TOKEN,
    EngineRig,
    enable_loopback_sockets,
    free_port,
    make_entry,
    state_of,
    wait_engine,
    wait_for,
    wait_state,
)
from tests.components.vigil.test_blueprint import (  # noqa: F401 - config_dir is a fixture
    AUTOMATION_LOGGERS,
    BLUEPRINT_PATH,
    TIME,
    config_dir,
    setup_automations,
    tags,
)
from tests.engine.conftest import SHARED_MODEL
from tests.support.camera import RtspCamera
from tests.support.engine_process import EngineProcess

PORCH = "porch"
YARD = "yard"
WALK = (4.0, 8.0)
# The box moves behind her once she has stood still for longer than the tracker's stationary
# time (10 s): detection runs again (it runs only where there is motion) and finds her stationary.
BEHIND = (22.0, 26.0)
BOX = (4.0, 7.0)
STEPS_ZONE = "0.3,0.8 0.5,0.8 0.5,1 0.3,1"  # where the person stands (feet at 0.4, 0.9 of the frame)
PATH_ZONE = "0,0.1 1,0.1 1,0.8 0,0.8"
# A walk: the engine reconnects (~1 s), the person enters at 4 s, is found within a second or
# two; generous for a loaded 2-core machine.
WALK_TIMEOUT_S = 40
SIGNATURE = "authSig="

PERSON = "binary_sensor.porch_person_detected"
PERSON_ON_STEPS = "binary_sensor.porch_person_in_steps"  # per zone and group (an option)
VEHICLE_ON_STEPS = "binary_sensor.porch_vehicle_in_steps"
PERSON_ON_PATH = "binary_sensor.yard_person_in_path"
PEOPLE = "sensor.porch_people_in_view"
PERSON_IMAGE = "image.porch_latest_person"
OBJECTS_SWITCH = "switch.porch_object_detection"
PORCH_EVENTS = "event.porch_events"
SNOOZED = "sensor.porch_notifications_snoozed_until"
YARD_EVENTS = "event.yard_events"
YARD_MOTION = "binary_sensor.yard_motion"
YARD_OBJECTS = (
    "binary_sensor.yard_person_detected",
    "binary_sensor.yard_vehicle_detected",
    "binary_sensor.yard_animal_detected",
)


class ObjectRig:
    """The module's engine and its two cameras."""

    def __init__(self, rig: EngineRig, person: RtspCamera, box: RtspCamera) -> None:
        self.rig = rig
        self.person = person
        self.box = box

    async def walk(self, hass: HomeAssistant) -> None:
        """The person walks in again (and the box sweeps again): both scenes start over.

        The person of the last walk may still be tracked: she stood still, and the detector
        looks only where something moves. Switching detection off and on ends her track, so
        that the new walk is a new object, not her old track found again; after the restart,
        while the new scene's first seconds (before she enters) are all there is to see.
        """
        await hass.async_add_executor_job(self.person.restart)
        await hass.async_add_executor_job(self.box.restart)
        for service in ("turn_off", "turn_on"):
            await hass.services.async_call("switch", service, {ATTR_ENTITY_ID: OBJECTS_SWITCH}, blocking=True)


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectRig]:
    enable_loopback_sockets()
    person = RtspCamera(width=640, height=360, fps=15, keyint=1.0, person=WALK, motion=(BEHIND,)).start()
    box = RtspCamera(width=640, height=360, fps=15, keyint=1.0, motion=(BOX,)).start()
    port = free_port()
    events = {"quiet_seconds": 2, "pre_capture": 1, "post_capture": 1}
    process = EngineProcess(
        tmp_path_factory.mktemp("vigil-objects"),
        {
            "api_host": "127.0.0.1",
            "api_port": port,
            "api_token": TOKEN,
            "segment_seconds": 2,
            "detector": {"model": str(SHARED_MODEL)},
            "cameras": [
                {
                    "id": PORCH,
                    "name": "Porch",
                    "url": person.url("h264-noaudio"),
                    "events": events,
                    "motion": {"fps": 5, "zones": [{"name": "steps", "polygon": STEPS_ZONE, "objects": ["person"]}]},
                },
                {
                    "id": YARD,
                    "name": "Yard",
                    "url": box.url("h264-noaudio"),
                    "events": events,
                    "motion": {"fps": 5, "zones": [{"name": "path", "polygon": PATH_ZONE}]},
                },
            ],
        },
    )
    rig = EngineRig(person, process, port)
    try:
        process.start()
        rig.wait_ready((PORCH, YARD))
        yield ObjectRig(rig, person, box)
    finally:
        process.stop()
        person.close()
        box.close()


@pytest.fixture
async def entry(hass: HomeAssistant, objects: ObjectRig) -> AsyncIterator[MockConfigEntry]:
    config_entry = make_entry(objects.rig, options={CONF_OBJECT_ZONE_SENSORS: True})
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    # The detector is known to work once the engine says so (at the latest its next poll).
    await wait_for(lambda: state_of(hass, PERSON).state != STATE_UNAVAILABLE, 10, "person detection available")
    yield config_entry
    await hass.config_entries.async_unload(config_entry.entry_id)


class History:
    """Every state the watched entities took, in order (the state machine's own changes)."""

    def __init__(self, hass: HomeAssistant, *entity_ids: str) -> None:
        self.states: dict[str, list[str]] = {entity_id: [] for entity_id in entity_ids}
        self.events: list[dict[str, Any]] = []  # event entities' attributes when they fired

        @callback  # on the event loop, in order (a plain function would run in the executor)
        def record(event: Event[Any]) -> None:
            entity_id = event.data["entity_id"]
            new = event.data.get("new_state")
            if entity_id in self.states and new is not None:
                self.states[entity_id].append(new.state)
                if entity_id.startswith("event.") and new.state not in (STATE_UNKNOWN, STATE_UNAVAILABLE):
                    self.events.append({"entity_id": entity_id, **new.attributes})

        hass.bus.async_listen("state_changed", record)

    def fired(self, entity_id: str, event_type: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["entity_id"] == entity_id and e.get("event_type") == event_type]


async def test_a_person_walks_in_and_the_box_is_no_object(
    hass: HomeAssistant, objects: ObjectRig, entry: MockConfigEntry
) -> None:
    """Person detected on while she walks, off once she stands still; count, event and picture follow.

    The box on the other camera is motion and nothing else.
    """
    assert state_of(hass, PERSON).attributes["device_class"] == "occupancy"
    assert state_of(hass, PERSON).attributes["friendly_name"] == "Porch Person detected"
    assert state_of(hass, OBJECTS_SWITCH).state == STATE_ON
    assert state_of(hass, PERSON_ON_STEPS).attributes["friendly_name"] == "Porch Person in steps"
    assert state_of(hass, PERSON_ON_STEPS).attributes["device_class"] == "occupancy"
    history = History(
        hass, PERSON, PEOPLE, PORCH_EVENTS, YARD_EVENTS, YARD_MOTION, PERSON_ON_STEPS, PERSON_ON_PATH, *YARD_OBJECTS
    )
    await objects.walk(hass)
    await wait_state(hass, PERSON, STATE_ON, WALK_TIMEOUT_S)
    assert state_of(hass, PEOPLE).state == "1"
    # She ends her walk on the steps: the zone's person sensor turns on (the vehicle one never).
    await wait_state(hass, PERSON_ON_STEPS, STATE_ON, WALK_TIMEOUT_S)
    # The event: a motion event at first, a person event once she is recognised.
    person = await wait_for(lambda: history.fired(PORCH_EVENTS, "person"), 20, "the person event")
    data = person[0]
    assert data["groups"] == ["person"]
    assert data["labels"] == ["person"]
    assert isinstance(data["top_score"], float)
    assert data["top_score"] >= 0.5
    assert data["object_count"] == 1
    assert data["objects"][0]["label"] == "person"
    assert data["camera_id"] == PORCH
    assert data["snooze_entity_id"] == SNOOZED
    # Standing still for 10 s she is stationary: still in view (counted), no longer "detected".
    await wait_state(hass, PERSON, STATE_OFF, BEHIND[1] + 15)
    assert state_of(hass, PEOPLE).state == "1"
    assert history.states[PERSON][-2:] == [STATE_ON, STATE_OFF]
    await wait_state(hass, PERSON_ON_STEPS, STATE_OFF, 5)  # stationary there: no longer "in steps"
    assert state_of(hass, VEHICLE_ON_STEPS).state == STATE_OFF
    assert STATE_ON not in history.states[PERSON_ON_PATH]

    # The picture of the person's event (the engine boxed her in it), served by Home Assistant.
    await wait_for(lambda: state_of(hass, PERSON_IMAGE).state not in (STATE_UNKNOWN, STATE_UNAVAILABLE), 20, "image")
    image = await async_get_image(hass, PERSON_IMAGE)
    assert image.content.startswith(b"\xff\xd8\xff")
    assert image.content_type == "image/jpeg"
    hub = entry.runtime_data
    shown, _updated = hub.cameras[PORCH].group_snapshots["person"]
    # The newest event that saw her: the walk's, or a later one when the box passing behind her
    # (partly hiding her) made the tracker see her move again.
    assert shown.id in {event["event_id"] for event in history.fired(PORCH_EVENTS, "person")}
    assert "person" in shown.labels
    assert SIGNATURE not in json_dumps(state_of(hass, PERSON_IMAGE).as_dict())

    # The box moved (its motion sensor saw it) and made a motion event, and nothing more.
    assert STATE_ON in history.states[YARD_MOTION]
    assert [e["event_type"] for e in history.events if e["entity_id"] == YARD_EVENTS][:1] == ["motion"]
    assert not [e for e in history.events if e["entity_id"] == YARD_EVENTS and e["groups"]]
    for entity_id in YARD_OBJECTS:
        assert STATE_ON not in history.states[entity_id], entity_id
        assert state_of(hass, entity_id).state == STATE_OFF
    assert state_of(hass, "sensor.yard_people_in_view").state == "0"
    assert state_of(hass, "image.yard_latest_person").state == STATE_UNKNOWN


async def test_the_object_detection_switch_turns_it_off_and_on_in_the_engine(
    hass: HomeAssistant, objects: ObjectRig, entry: MockConfigEntry
) -> None:
    await hass.services.async_call("switch", "turn_off", {ATTR_ENTITY_ID: OBJECTS_SWITCH}, blocking=True)
    assert state_of(hass, OBJECTS_SWITCH).state == STATE_OFF
    await wait_engine(objects.rig, PORCH, lambda camera: not camera["objects_enabled"], "object detection off")
    # Off: unknown, not "nobody there".
    assert state_of(hass, PERSON).state == STATE_UNAVAILABLE
    assert state_of(hass, PEOPLE).state == STATE_UNAVAILABLE
    assert state_of(hass, "binary_sensor.porch_motion").state != STATE_UNAVAILABLE  # motion goes on
    await hass.services.async_call("switch", "turn_on", {ATTR_ENTITY_ID: OBJECTS_SWITCH}, blocking=True)
    await wait_engine(objects.rig, PORCH, lambda camera: camera["objects_enabled"], "object detection on")
    await wait_state(hass, PERSON, STATE_OFF, 10)
    # Switching off ended every tracked object: none is counted until one is seen again.
    assert state_of(hass, PEOPLE).state == "0"
    # The engine keeps the setting: a new connection reads it back.
    assert (await entry.runtime_data.client.get_object_detection(PORCH)) is True


@pytest.mark.usefixtures("config_dir")
async def test_person_notifications_snooze_and_expiry(
    hass: HomeAssistant, objects: ObjectRig, entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """The blueprint notifies for the person (critically at night), never for the box; a tap snoozes the camera."""
    caplog.set_level(logging.WARNING)
    fired: list[Event[Any]] = []
    hass.bus.async_listen(MATCH_ALL, callback(lambda event: fired.append(event)))  # noqa: PLW0108 - a bound builtin cannot be marked a callback
    people = async_mock_service(hass, "notify", "people")
    night = async_mock_service(hass, "notify", "night")
    yard = async_mock_service(hass, "notify", "yard")
    now = dt_util.now()

    def automation(alias: str, events: str, **inputs: Any) -> dict[str, Any]:
        return {"alias": alias, "use_blueprint": {"path": BLUEPRINT_PATH, "input": {"event_entity": events, **inputs}}}

    await setup_automations(
        hass,
        automation("people", PORCH_EVENTS, notify_service="notify.people", cooldown=0, event_types=["person"]),
        automation(
            "night",
            PORCH_EVENTS,
            notify_service="notify.night",
            cooldown=0,
            event_types=["person"],
            min_score=50,
            critical_at_night=True,
            night_start=(now - timedelta(hours=1)).strftime("%H:%M:%S"),
            night_end=(now + timedelta(hours=1)).strftime("%H:%M:%S"),
        ),
        automation("yard", YARD_EVENTS, notify_service="notify.yard", cooldown=0, event_types=["person", "vehicle"]),
    )
    await objects.walk(hass)
    await wait_for(lambda: people, WALK_TIMEOUT_S, "the person's notification")
    first = people[0]
    assert re.fullmatch(rf"Person( in steps)? at {TIME}", first.data["message"]), first.data["message"]
    assert first.data["title"] == "Porch"
    data = first.data["data"]
    event_id = data["tag"].removeprefix("vigil-")
    assert data["image"].startswith(f"/api/vigil/{entry.entry_id}/events/{event_id}/snapshot.jpg?authSig=")
    snooze = {"action": f"vigil_snooze:{entry.entry_id}:{PORCH}:30", "title": "Snooze 30 min"}
    assert data["actions"][-1] == snooze
    assert "push" not in data
    await wait_for(lambda: night, 5, "the night notification")
    critical = night[0].data["data"]
    assert critical["push"] == {
        "interruption-level": "critical",
        "sound": {"name": "default", "critical": 1, "volume": 1.0},
    }
    assert (critical["ttl"], critical["priority"], critical["channel"]) == (0, "high", "alarm_stream")
    # Updates (a better picture, the end) replace the notification: one tag, never a second one.
    await wait_for(
        lambda: state_of(hass, PORCH_EVENTS).attributes.get("event_type") == "motion_ended", 30, "the event's end"
    )
    await hass.async_block_till_done()
    assert set(tags(people)) == {data["tag"]}
    assert all(call.data["data"].get("alert_once") is True for call in people[1:])

    # One tap on "Snooze 30 min" in the companion app: the camera is snoozed for 30 minutes.
    hass.bus.async_fire("mobile_app_notification_action", {"action": snooze["action"], "device_id": "phone"})
    await hass.async_block_till_done()
    until = dt_util.parse_datetime(state_of(hass, SNOOZED).state)
    assert until is not None
    assert timedelta(minutes=29) < until - dt_util.utcnow() <= timedelta(minutes=30)
    sent = len(people)
    await objects.walk(hass)
    await wait_for(
        lambda: (
            state_of(hass, PORCH_EVENTS).attributes.get("event_id") not in (None, event_id)
            and state_of(hass, PORCH_EVENTS).attributes.get("groups") == ["person"]
        ),
        WALK_TIMEOUT_S,
        "the second walk's person event",
    )
    await asyncio.sleep(1)
    await hass.async_block_till_done()
    assert len(people) == sent  # snoozed

    # The action: a short snooze expires by itself; 0 ends one at once.
    await hass.services.async_call(
        DOMAIN,
        "snooze_notifications",
        {"duration": {"seconds": 1}},
        target={ATTR_ENTITY_ID: "camera.porch"},
        blocking=True,
    )
    assert state_of(hass, SNOOZED).state != STATE_UNKNOWN
    await wait_state(hass, SNOOZED, STATE_UNKNOWN, 5)
    await hass.services.async_call(
        DOMAIN,
        "snooze_notifications",
        {"duration": {"minutes": 5}},
        target={"device_id": _porch_device(hass, entry)},
        blocking=True,
    )
    assert state_of(hass, SNOOZED).state != STATE_UNKNOWN
    await hass.services.async_call(
        DOMAIN, "snooze_notifications", {"duration": 0}, target={ATTR_ENTITY_ID: SNOOZED}, blocking=True
    )
    assert state_of(hass, SNOOZED).state == STATE_UNKNOWN

    # The box: never a notification; nothing minted lands in a state or on the bus.
    assert yard == []
    assert not [state for state in hass.states.async_all() if SIGNATURE in json_dumps(state.as_dict())]
    # (The notify call itself carries the links to the phone: Home Assistant's call_service event of it does too.)
    assert not [
        event
        for event in fired
        if SIGNATURE in json_dumps(event.data)
        and not (event.event_type == "call_service" and event.data["domain"] == "notify")
    ]
    assert [event for event in fired if event.event_type == BUS_EVENT]
    problems = [r.getMessage() for r in caplog.records if r.name.startswith(AUTOMATION_LOGGERS)]
    assert not problems, problems


def _porch_device(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"{entry.runtime_data.instance_id}-{PORCH}"), entry.entry_id
    )
    assert device is not None
    return device.id
