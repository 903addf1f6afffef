"""Entities against the real engine: states follow it, and controls change what it does."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from homeassistant.components.camera import async_get_image as async_get_camera_image
from homeassistant.components.camera import async_get_stream_source
from homeassistant.components.image import async_get_image
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.vigil.const import DOMAIN, STATS_INTERVAL_SECONDS
from tests.components.vigil.conftest import (
    FRONT,
    YARD,
    ZONE,
    EngineRig,
    SetupEntry,
    entity_id,
    make_entry,
    state_of,
    wait_engine,
    wait_for,
    wait_state,
)

JPEG = b"\xff\xd8\xff"


async def _switch(hass: HomeAssistant, entity: str, on: bool) -> None:
    await hass.services.async_call("switch", "turn_on" if on else "turn_off", {ATTR_ENTITY_ID: entity}, blocking=True)


async def _select(hass: HomeAssistant, entity: str, option: str) -> None:
    await hass.services.async_call("select", "select_option", {ATTR_ENTITY_ID: entity, "option": option}, blocking=True)


async def test_devices_and_unique_ids(hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry) -> None:
    entry = await setup_entry()
    instance = engine.instance_id
    devices = dr.async_get(hass)
    hub = devices.async_get_device_by_identifier((DOMAIN, instance), entry.entry_id)
    assert hub is not None
    assert hub.manufacturer == "Vigil NVR"
    assert hub.sw_version == "0.1.0"
    # A name of its own, not the entry's title (the engine's address): its entity ids carry no IP address.
    assert hub.name == "Vigil NVR"
    assert entity_id(hass, engine, "sensor", "storage_used", None) == "sensor.vigil_nvr_storage_used"
    for camera_id, name in ((FRONT, "Front"), (YARD, "Yard")):
        device = devices.async_get_device_by_identifier((DOMAIN, f"{instance}-{camera_id}"), entry.entry_id)
        assert device is not None
        assert device.name == name
        assert device.via_device_id == hub.id

    registry = er.async_get(hass)
    unique_ids = {entity.unique_id: entity for entity in er.async_entries_for_config_entry(registry, entry.entry_id)}
    expected = {f"{instance}-{key}" for key in ("storage_used", "storage_free", "oldest_footage")}
    for camera_id in (FRONT, YARD):
        expected |= {
            f"{instance}-{camera_id}-{key}"
            for key in (
                "camera",
                "motion",
                f"motion_zone-{ZONE}",
                "connectivity",
                "recording_problem",
                "events",
                "event_snapshot",
                "motion_detection",
                "record_mode",
                "bitrate",
                "frame_rate",
                "object_detection",
                "notifications_snoozed_until",
                # Per label group of the labels the camera tracks (the engine's default: person, car, dog, cat).
                *(
                    f"{group}_{what}"
                    for group in ("person", "vehicle", "animal")
                    for what in ("detected", "count", "snapshot")
                ),
            )
        }
    assert set(unique_ids) == expected
    # Diagnostics that cost a poll are there, but off until the user wants them.
    assert unique_ids[f"{instance}-{FRONT}-bitrate"].disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert unique_ids[f"{instance}-{FRONT}-frame_rate"].disabled_by is er.RegistryEntryDisabler.INTEGRATION
    # Translated names make the entity ids.
    assert entity_id(hass, engine, "binary_sensor", "recording_problem") == "binary_sensor.front_recording_problem"
    assert entity_id(hass, engine, "binary_sensor", f"motion_zone-{ZONE}") == "binary_sensor.front_motion_path"
    assert entity_id(hass, engine, "select", "record_mode") == "select.front_record_mode"
    assert entity_id(hass, engine, "binary_sensor", "person_detected") == "binary_sensor.front_person_detected"
    assert entity_id(hass, engine, "sensor", "vehicle_count") == "sensor.front_vehicles_in_view"
    assert entity_id(hass, engine, "image", "animal_snapshot") == "image.front_latest_animal"
    assert entity_id(hass, engine, "switch", "object_detection") == "switch.front_object_detection"
    assert (
        entity_id(hass, engine, "sensor", "notifications_snoozed_until") == "sensor.front_notifications_snoozed_until"
    )

    assert state_of(hass, "binary_sensor.front_connectivity").state == STATE_ON
    assert state_of(hass, "binary_sensor.front_recording_problem").state == STATE_OFF
    assert state_of(hass, "camera.front").state == "recording"
    # The disabled camera: known, offline, not a recording problem (it should not record).
    assert state_of(hass, "binary_sensor.yard_connectivity").state == STATE_OFF
    assert state_of(hass, "binary_sensor.yard_motion").state == STATE_UNAVAILABLE
    assert state_of(hass, "binary_sensor.yard_recording_problem").state == STATE_OFF
    assert state_of(hass, "camera.yard").state == "idle"


async def test_motion_follows_the_box(hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry) -> None:
    """Motion on when the box moves; off when detection is switched off (which the engine obeys)."""
    await setup_entry()
    detection = "switch.front_motion_detection"
    # Start from a fresh background: the box parked by the last window is not motion then.
    await _switch(hass, detection, False)
    await wait_engine(engine, FRONT, lambda camera: not camera["motion_enabled"], "detection off")
    await wait_state(hass, "binary_sensor.front_motion", STATE_OFF)
    await wait_state(hass, "binary_sensor.front_motion_path", STATE_OFF)
    await _switch(hass, detection, True)
    assert state_of(hass, detection).state == STATE_ON
    assert state_of(hass, "camera.front").attributes["motion_detection"] is True
    events: list[str] = []

    def listen() -> None:
        state = hass.states.get("event.front_events")
        if state is not None and state.state not in (STATE_UNKNOWN, *events):
            events.append(state.state)

    unsub = hass.bus.async_listen("state_changed", lambda _event: listen())
    try:
        await wait_state(hass, "binary_sensor.front_motion", STATE_ON, seconds=25)
        await wait_state(hass, "binary_sensor.front_motion_path", STATE_ON)
        event_state = await wait_for(
            lambda: (
                (state := hass.states.get("event.front_events"))
                and state.attributes.get("event_type") == "motion"
                and state
            ),
            10,
            "a motion event",
        )
        attributes = event_state.attributes
        assert attributes["kind"] == "motion"
        assert len(attributes["event_id"]) == 32
        assert attributes["zones"] == [ZONE]
        assert attributes["end"] is None
        start = dt_util.parse_datetime(attributes["start"])
        assert start is not None
        assert abs((dt_util.utcnow() - start).total_seconds()) < 30

        await _switch(hass, detection, False)
        await wait_state(hass, "binary_sensor.front_motion", STATE_OFF)
        ended = await wait_for(
            lambda: (
                (state := hass.states.get("event.front_events"))
                and state.attributes.get("event_type") == "motion_ended"
                and state
            ),
            10,
            "the event's end",
        )
        assert ended.attributes["event_id"] == attributes["event_id"]
        assert ended.attributes["end"] is not None
    finally:
        unsub()
        await _switch(hass, detection, True)

    # The event's snapshot is the image entity's picture.
    assert state_of(hass, "image.front_latest_event_snapshot").state not in (STATE_UNKNOWN, STATE_UNAVAILABLE)
    image = await async_get_image(hass, "image.front_latest_event_snapshot")
    assert image.content.startswith(JPEG)
    assert image.content_type == "image/jpeg"


async def test_record_mode(hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry) -> None:
    """One control for recording: the record mode (continuous, events only, off)."""
    await setup_entry()
    select = "select.front_record_mode"
    assert state_of(hass, select).state == "continuous"
    assert state_of(hass, select).attributes["options"] == ["continuous", "events", "off"]
    assert hass.states.get("switch.front_recording") is None
    try:
        await _select(hass, select, "events")
        assert state_of(hass, select).state == "events"
        await wait_engine(engine, FRONT, lambda camera: camera["record_mode"] == "events", "events mode")

        await _select(hass, select, "off")
        assert state_of(hass, select).state == "off"
        # The engine stops writing footage (no segment ends after the one open when it was told).
        await wait_engine(engine, FRONT, lambda camera: camera["record_mode"] == "off", "off")
        assert state_of(hass, "camera.front").state == "streaming"
        await asyncio.sleep(3)  # the open segment ends at the next keyframe (1 s)
        last_end = engine.camera_state(FRONT)["last_segment_end_ms"]
        await asyncio.sleep(3)  # longer than a segment (2 s)
        assert engine.camera_state(FRONT)["last_segment_end_ms"] == last_end
        # Off is what the user asked for: no recording problem.
        assert state_of(hass, "binary_sensor.front_recording_problem").state == STATE_OFF

        await _select(hass, select, "continuous")
        await wait_engine(engine, FRONT, lambda camera: camera["last_segment_end_ms"] > last_end, "footage again")
    finally:
        await _select(hass, select, "continuous")
    await wait_engine(engine, FRONT, lambda camera: camera["record_mode"] == "continuous", "continuous")
    await wait_state(hass, "camera.front", "recording")


async def test_camera_stream_and_still(hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry) -> None:
    await setup_entry()
    assert await async_get_stream_source(hass, "camera.front") == engine.camera.url("h264")
    image = await async_get_camera_image(hass, "camera.front")
    assert image.content.startswith(JPEG)
    small = await async_get_camera_image(hass, "camera.front", width=160)
    assert small.content.startswith(JPEG)
    assert len(small.content) < len(image.content)
    attributes = state_of(hass, "camera.front").attributes
    assert attributes["brand"] == "Vigil NVR"
    assert attributes["model_name"] == "H264 640x360" if "model_name" in attributes else True

    # The camera's own motion detection services drive the engine too.
    await hass.services.async_call(
        "camera", "disable_motion_detection", {ATTR_ENTITY_ID: "camera.front"}, blocking=True
    )
    await wait_engine(engine, FRONT, lambda camera: not camera["motion_enabled"], "detection off")
    assert state_of(hass, "switch.front_motion_detection").state == STATE_OFF
    await hass.services.async_call("camera", "enable_motion_detection", {ATTR_ENTITY_ID: "camera.front"}, blocking=True)
    await wait_engine(engine, FRONT, lambda camera: camera["motion_enabled"], "detection on")
    assert state_of(hass, "camera.front").attributes["motion_detection"] is True


async def test_sensors(hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry) -> None:
    entry = await setup_entry()
    registry = er.async_get(hass)
    for camera_id, key in ((FRONT, "bitrate"), (FRONT, "frame_rate"), (YARD, "bitrate")):
        registry.async_update_entity(entity_id(hass, engine, "sensor", key, camera_id), disabled_by=None)
    # Home Assistant reloads the entry a while after entities are enabled.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=31))
    await hass.async_block_till_done()
    await wait_for(
        lambda: entry.state is ConfigEntryState.LOADED and hass.states.get("sensor.front_frame_rate"), 10, "reload"
    )

    # Sizes of footage: data sizes in bytes, shown in GB with two decimals (26 MB reads 0.03 GB, not 0.0 GB).
    storage = entry.runtime_data.storage
    for key, value in (("storage_used", storage.bytes_used), ("storage_free", storage.bytes_free)):
        state = state_of(hass, f"sensor.vigil_nvr_{key}")
        assert state.attributes["device_class"] == "data_size"
        assert state.attributes["unit_of_measurement"] == "GB"
        assert float(state.state) == pytest.approx(value / 1e9, rel=1e-6)
        options = registry.async_get(f"sensor.vigil_nvr_{key}")
        assert options is not None
        assert options.options["sensor"]["suggested_display_precision"] == 2
    oldest = dt_util.parse_datetime(state_of(hass, "sensor.vigil_nvr_oldest_footage").state)
    assert oldest is not None
    assert oldest < dt_util.utcnow()

    # Statistics are polled: let the interval pass.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=31 + STATS_INTERVAL_SECONDS + 1))
    await wait_for(
        lambda: state_of(hass, "sensor.front_frame_rate").state not in (STATE_UNKNOWN, "0", "0.0"), 10, "fps"
    )
    assert 10 <= float(state_of(hass, "sensor.front_frame_rate").state) <= 20
    assert float(state_of(hass, "sensor.front_bitrate").state) > 0
    assert state_of(hass, "sensor.yard_bitrate").state == STATE_UNAVAILABLE


async def test_retired_entities_leave_the_registry(hass: HomeAssistant, engine: EngineRig) -> None:
    """The "Last event" sensor and the "Recording" switch of earlier versions do not stay behind as unavailable."""
    entry = make_entry(engine)
    entry.add_to_hass(hass)
    registry = er.async_get(hass)
    instance = engine.instance_id
    retired = [
        registry.async_get_or_create("sensor", DOMAIN, f"{instance}-{FRONT}-last_event", config_entry=entry),
        registry.async_get_or_create("switch", DOMAIN, f"{instance}-{FRONT}-recording", config_entry=entry),
        registry.async_get_or_create("switch", DOMAIN, f"{instance}-{YARD}-recording", config_entry=entry),
    ]
    # Another integration's entity with the same key is not ours to remove.
    foreign = registry.async_get_or_create("switch", "other", f"{instance}-{FRONT}-recording")
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    for old in retired:
        assert registry.async_get(old.entity_id) is None, old.entity_id
    assert registry.async_get(foreign.entity_id) is not None
    assert state_of(hass, "binary_sensor.front_recording_problem").state == STATE_OFF
    assert state_of(hass, "switch.front_motion_detection").state in (STATE_ON, STATE_OFF)
