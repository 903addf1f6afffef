"""Objects, event types and snoozes: what the real engine cannot be made to send on cue, and the snooze's edges.

The hub runs connected to the package's real engine (its box camera: motion, no objects). The
object and event messages below are handed to it the way the client hands it real ones
(``on_event``), to cover objects of several groups, objects that ended while Home Assistant
was not listening (the engine's next poll corrects them), and events whose objects are
recognised while they run. The person scene itself is ``test_objects_entities.py``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import probatio
import pytest
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Event as HassEvent
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.vigil import labels
from custom_components.vigil.client import Event, EventEnded, EventStarted, EventUpdated
from custom_components.vigil.const import BUS_EVENT, DOMAIN
from custom_components.vigil.protocol import (
    EventObject,
    ObjectAppeared,
    ObjectDetection,
    ObjectEnded,
    ObjectUpdated,
    TrackedObject,
)
from custom_components.vigil.snooze import snooze_action
from tests.components.vigil.conftest import FRONT, YARD, EngineRig, SetupEntry, state_of
from vigil_engine.detection import labels as engine_labels

PERSON = "binary_sensor.front_person_detected"
VEHICLE = "binary_sensor.front_vehicle_detected"
PEOPLE = "sensor.front_people_in_view"
VEHICLES = "sensor.front_vehicles_in_view"
EVENTS = "event.front_events"
SNOOZED = "sensor.front_notifications_snoozed_until"


def _tracked(object_id: str, label: str, **changes: Any) -> TrackedObject:
    return TrackedObject(id=object_id, label=label, score=0.8, best_score=0.8, first_ms=1, last_ms=2, **changes)


def _event(event_id: str, start_ms: int = 2**42, **changes: Any) -> Event:
    return Event(id=event_id, camera_id=FRONT, kind="motion", start_ms=start_ms, **changes)


def _seen(label: str, score: float) -> EventObject:
    return EventObject(id=f"{label}-1", label=label, score=score, start_ms=2**42, end_ms=2**42 + 1000, zones=("path",))


def test_the_groups_are_the_engines() -> None:
    """The integration cannot import the add-on: its copy of the label groups must not drift."""
    assert labels.GROUPS == engine_labels.GROUPS
    assert labels.groups_of(["dog", "car", "person", "truck", "kite"]) == ("person", "vehicle", "animal")
    assert labels.group_of("vehicle") == "vehicle"  # what an ONVIF camera reports
    assert labels.group_of("kite") is None


async def test_objects_follow_the_messages_and_the_engines_count(
    hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry()
    hub = entry.runtime_data
    state = hub.cameras[FRONT]
    # The engine detects objects where there is motion; without a model it says why (unavailable).
    state.camera = replace(state.camera, detection=ObjectDetection(enabled=True, available=False, error="no model"))
    hub.on_event(ObjectAppeared(camera_id="ghost", object=_tracked("g", "person")))  # not a camera of ours
    hub._notify(FRONT)
    assert state_of(hass, PERSON).state == STATE_UNAVAILABLE
    # An object found is proof the detector works.
    hub.on_event(ObjectAppeared(camera_id=FRONT, object=_tracked("p1", "person")))
    hub.on_event(ObjectAppeared(camera_id=FRONT, object=_tracked("c1", "car")))
    hub.on_event(ObjectAppeared(camera_id=FRONT, object=_tracked("t1", "truck")))
    assert state_of(hass, PERSON).state == STATE_ON
    assert state_of(hass, PEOPLE).state == "1"
    assert state_of(hass, VEHICLE).state == STATE_ON
    assert state_of(hass, VEHICLES).state == "2"
    # Parked: in view (counted), not "detected".
    hub.on_event(ObjectUpdated(camera_id=FRONT, object=_tracked("c1", "car", stationary=True)))
    hub.on_event(ObjectUpdated(camera_id=FRONT, object=_tracked("t1", "truck", stationary=True)))
    assert state_of(hass, VEHICLE).state == STATE_OFF
    assert state_of(hass, VEHICLES).state == "2"
    hub.on_event(ObjectEnded(camera_id=FRONT, object=_tracked("p1", "person")))
    hub.on_event(ObjectEnded(camera_id=FRONT, object=_tracked("p1", "person")))  # twice: no harm
    assert state_of(hass, PERSON).state == STATE_OFF
    assert state_of(hass, PEOPLE).state == "0"
    # The vehicles ended while Home Assistant was not listening: the engine's poll says it
    # tracks none (its box is no object), and they are forgotten.
    await hub._async_poll_stats()
    assert state.objects == {}
    assert state_of(hass, VEHICLES).state in ("0", STATE_UNAVAILABLE)
    # Offline, nothing is in view.
    hub.on_event(ObjectAppeared(camera_id=FRONT, object=_tracked("p2", "person")))
    state.camera = replace(state.camera, objects_enabled=True)
    hub._on_settings(FRONT, state.camera.record_mode, state.camera.motion_enabled, objects=False)
    assert state.objects == {}
    assert state_of(hass, PERSON).state == STATE_UNAVAILABLE


async def test_event_types_by_what_the_event_saw(
    hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry
) -> None:
    """Motion first, person when she is recognised, the better picture on the bus only, then the end."""
    entry = await setup_entry()
    hub = entry.runtime_data
    bus: list[HassEvent[Any]] = []
    hass.bus.async_listen(BUS_EVENT, callback(lambda event: bus.append(event)))  # noqa: PLW0108 - a bound builtin cannot be marked a callback
    fired: list[str] = []

    @callback  # on the event loop, in order (a plain function would run in the executor)
    def record(event: HassEvent[Any]) -> None:
        if event.data["entity_id"] == EVENTS and (new := event.data["new_state"]) is not None:
            fired.append(new.attributes.get("event_type"))

    hass.bus.async_listen("state_changed", record)
    event = _event("a" * 32)
    hub.on_event(EventStarted(camera_id=FRONT, event=event))
    person = replace(
        event, labels=("person",), top_score=0.6, has_snapshot=True, objects=(_seen("person", 0.6),), zones=("path",)
    )
    hub.on_event(EventUpdated(camera_id=FRONT, event=person))
    hub.on_event(EventUpdated(camera_id=FRONT, event=replace(person, top_score=0.62)))  # not markedly better
    better = replace(person, top_score=0.8, objects=(_seen("person", 0.8),))
    hub.on_event(EventUpdated(camera_id=FRONT, event=better))
    both = replace(better, labels=("dog", "person"), objects=(_seen("person", 0.8), _seen("dog", 0.9)))
    hub.on_event(EventUpdated(camera_id=FRONT, event=both))
    hub.on_event(EventEnded(camera_id=FRONT, event=replace(both, end_ms=2**42 + 5000)))
    await hass.async_block_till_done()
    assert fired == ["motion", "person", "animal", "motion_ended"]
    assert [(e.data["phase"], e.data["event_type"], e.data["new_groups"]) for e in bus] == [
        ("start", "motion", []),
        ("update", "person", ["person"]),
        ("update", "person", []),  # the better snapshot
        ("update", "animal", ["animal"]),
        ("end", "motion_ended", []),
    ]
    end = bus[-1].data
    assert end["groups"] == ["person", "animal"]
    assert end["labels"] == ["dog", "person"]
    assert end["top_score"] == 0.8
    assert end["object_count"] == 2
    assert end["objects"] == [
        {"label": "person", "group": "person", "score": 0.8, "zones": ["path"]},
        {"label": "dog", "group": "animal", "score": 0.9, "zones": ["path"]},
    ]
    assert end["event_entity_id"] == EVENTS
    assert end["snooze_entity_id"] == SNOOZED
    # An event that starts with its object (events from objects) starts as what it saw.
    car = _event("b" * 32, start_ms=2**43, labels=("car",), objects=(_seen("car", 0.7),), has_snapshot=True)
    hub.on_event(EventStarted(camera_id=FRONT, event=car))
    assert state_of(hass, EVENTS).attributes["event_type"] == "vehicle"
    assert hub.cameras[FRONT].group_snapshots["vehicle"][0].id == "b" * 32
    assert hub.cameras[FRONT].group_snapshots["person"][0].id == "a" * 32


async def test_snooze_action_targets_and_errors(
    hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry()
    assert state_of(hass, SNOOZED).state == STATE_UNKNOWN
    assert state_of(hass, SNOOZED).attributes["device_class"] == "timestamp"
    await hass.services.async_call(
        DOMAIN, "snooze_notifications", {"duration": "00:10:00"}, target={ATTR_ENTITY_ID: "camera.front"}, blocking=True
    )
    until = dt_util.parse_datetime(state_of(hass, SNOOZED).state)
    assert until is not None
    assert timedelta(minutes=9) < until - dt_util.utcnow() <= timedelta(minutes=10)
    assert state_of(hass, "sensor.yard_notifications_snoozed_until").state == STATE_UNKNOWN
    with pytest.raises(ServiceValidationError) as raised:
        await hass.services.async_call(
            DOMAIN, "snooze_notifications", {"duration": 60}, target={ATTR_ENTITY_ID: "sun.sun"}, blocking=True
        )
    assert raised.value.translation_key == "no_camera_targeted"
    with pytest.raises(probatio.Invalid):  # at most a week
        await hass.services.async_call(
            DOMAIN, "snooze_notifications", {"duration": {"days": 8}}, target={ATTR_ENTITY_ID: SNOOZED}, blocking=True
        )

    # The companion app's button: only a well-formed action for a camera of a loaded engine.
    for action in (
        "something_else",
        "vigil_snooze:bad",
        snooze_action("not-an-entry", YARD, 30),
        snooze_action(entry.entry_id, "ghost", 30),
        snooze_action(entry.entry_id, YARD, 0),
        f"vigil_snooze:{entry.entry_id}:{YARD}:999999",
    ):
        hass.bus.async_fire("mobile_app_notification_action", {"action": action})
    hass.bus.async_fire("mobile_app_notification_action", {"action": None})
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.yard_notifications_snoozed_until").state == STATE_UNKNOWN
    hass.bus.async_fire("mobile_app_notification_action", {"action": snooze_action(entry.entry_id, YARD, 45)})
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.yard_notifications_snoozed_until").state != STATE_UNKNOWN

    # It survives a reload (a restart) of the integration, and expires by itself.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert dt_util.parse_datetime(state_of(hass, SNOOZED).state) == until
    async_fire_time_changed(hass, until + timedelta(seconds=1))
    await hass.async_block_till_done()
    assert state_of(hass, SNOOZED).state == STATE_UNKNOWN


async def test_a_snooze_that_passed_while_stopped_is_dropped(
    hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry, hass_client: ClientSessionGenerator
) -> None:
    entry = await setup_entry()
    future = (dt_util.utcnow() + timedelta(hours=1)).replace(microsecond=0)
    assert await hass.config_entries.async_unload(entry.entry_id)
    store: Store[dict[str, Any]] = Store(hass, 1, f"{DOMAIN}.snooze.{entry.entry_id}")
    past = dt_util.utcnow() - timedelta(minutes=1)
    await store.async_save({"cameras": {FRONT: past.isoformat(), YARD: future.isoformat(), "bad": 5}})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert state_of(hass, SNOOZED).state == STATE_UNKNOWN
    assert dt_util.parse_datetime(state_of(hass, "sensor.yard_notifications_snoozed_until").state) == future
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["cameras"][YARD]["notifications_snoozed_until"] == future.isoformat()
    front = diagnostics["cameras"][FRONT]
    assert front["objects"]["groups"] == ["person", "vehicle", "animal"]
    assert front["objects"]["tracked"] == []
    assert "detection" in front["camera"]
    assert engine.token not in json.dumps(diagnostics)
