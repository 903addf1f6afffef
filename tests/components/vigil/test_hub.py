"""The hub's reactions to engine messages the real engine cannot be made to send on cue.

The hub runs connected to the real engine; the messages below are handed to it the way the
client hands it real ones (``on_event``), to cover storage warnings that clear, events of
cameras it does not know, and errors of the engine's HTTP side.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir

from custom_components.vigil.client import (
    CameraOffline,
    CameraOnline,
    CameraSettingsChanged,
    CannotConnect,
    CommandError,
    ConnectionClosed,
    Event,
    EventStarted,
    EventUpdated,
    InvalidMessage,
    MotionChanged,
    NotFoundError,
    RecordingChanged,
    RecordMode,
    SegmentWritten,
    Storage,
    StorageWarning,
    StorageWarningChanged,
    UnknownEvent,
    VigilError,
)
from custom_components.vigil.const import DOMAIN
from custom_components.vigil.errors import translate_error
from tests.components.vigil.conftest import FRONT, ZONE, EngineRig, SetupEntry, state_of, wait_state


def _event(event_id: str, camera_id: str = FRONT, start_ms: int = 1, kind: str = "motion", **changes: Any) -> Event:
    return Event(id=event_id, camera_id=camera_id, kind=kind, start_ms=start_ms, **changes)


async def test_storage_warnings(hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry) -> None:
    entry = await setup_entry()
    hub = entry.runtime_data
    issues = ir.async_get(hass)
    hub.on_event(StorageWarningChanged(code="storage_full", message="1 MB over"))
    hub.on_event(StorageWarningChanged(code="disk_on_fire", message="smoke"))
    full = issues.async_get_issue(DOMAIN, f"storage_storage_full_{entry.entry_id}")
    assert full is not None
    assert full.severity is ir.IssueSeverity.ERROR
    assert full.translation_placeholders == {"title": entry.title, "message": "1 MB over", "code": "storage_full"}
    other = issues.async_get_issue(DOMAIN, f"storage_disk_on_fire_{entry.entry_id}")
    assert other is not None
    assert other.translation_key == "storage_warning"
    assert hub.storage_warnings == {"storage_full": "1 MB over", "disk_on_fire": "smoke"}

    hub.on_event(StorageWarningChanged(code="storage_full", active=False))
    assert issues.async_get_issue(DOMAIN, f"storage_storage_full_{entry.entry_id}") is None
    assert hub.storage_warnings == {"disk_on_fire": "smoke"}

    # Warnings in force when (re)connecting come with the storage status, as the engine reports it.
    status = await hub.client.get_storage()
    hub._sync_storage_warnings(replace(status, warnings=(StorageWarning(code="retention_not_met", message="2 days"),)))
    assert hub.storage_warnings == {"retention_not_met": "2 days"}
    assert issues.async_get_issue(DOMAIN, f"storage_disk_on_fire_{entry.entry_id}") is None
    assert issues.async_get_issue(DOMAIN, f"storage_retention_not_met_{entry.entry_id}") is not None
    hub._sync_storage_warnings(status)  # the test engine's own status: no warnings
    assert status.warnings == ()
    assert hub.storage_warnings == {}
    parsed = Storage.parse({"warnings": [{"code": "storage_full", "message": "1 MB over"}]})
    assert parsed.warnings == (StorageWarning(code="storage_full", message="1 MB over"),)


async def test_messages_about_unknown_cameras_are_ignored(
    hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry()
    hub = entry.runtime_data
    before = {camera_id: state.camera for camera_id, state in hub.cameras.items()}
    for message in (
        CameraOnline(camera_id="ghost"),
        CameraOffline(camera_id="ghost", error="x"),
        RecordingChanged(camera_id="ghost", recording=True),
        SegmentWritten(camera_id="ghost", start_ms=1, end_ms=2),
        MotionChanged(camera_id="ghost", zone=None, active=True),
        CameraSettingsChanged(camera_id="ghost", record_mode=RecordMode.OFF, motion_enabled=False),
        EventStarted(camera_id="ghost", event=_event("a" * 32, camera_id="ghost")),
        UnknownEvent(name="future_thing"),
    ):
        hub.on_event(message)
    assert {camera_id: state.camera for camera_id, state in hub.cameras.items()} == before


async def test_zone_motion_and_event_updates(hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry) -> None:
    entry = await setup_entry()
    hub = entry.runtime_data
    state = hub.cameras[FRONT]
    newest = state.last_event
    hub.on_event(MotionChanged(camera_id=FRONT, zone=ZONE, active=True))
    assert state_of(hass, "binary_sensor.front_motion_path").state == STATE_ON
    hub.on_event(MotionChanged(camera_id=FRONT, zone=ZONE, active=False))
    assert state_of(hass, "binary_sensor.front_motion_path").state == STATE_OFF
    # An older event's update does not replace the newest one.
    if newest is not None:
        hub.on_event(EventUpdated(camera_id=FRONT, event=_event("b" * 32, start_ms=newest.start_ms - 1000)))
        assert state.last_event == newest
    # event_updated is not an automation trigger.
    before = state_of(hass, "event.front_events").state
    hub.on_event(EventUpdated(camera_id=FRONT, event=_event("c" * 32, start_ms=2**42)))
    assert state_of(hass, "event.front_events").state == before
    assert state.last_event is not None
    assert state.last_event.id == "c" * 32
    # Kinds the entity does not offer are not fired either.
    hub.on_event(EventStarted(camera_id=FRONT, event=_event("d" * 32, start_ms=2**42, kind="camera")))
    assert state_of(hass, "event.front_events").state == before

    # A snapshot event the engine has expired meanwhile: no picture, no error.
    hub.on_event(EventUpdated(camera_id=FRONT, event=_event("e" * 32, start_ms=2**43, has_snapshot=True)))
    image = hass.data["image"].get_entity("image.front_latest_event_snapshot")
    assert await image.async_image() is None
    with patch.object(hub.client, "event_snapshot", side_effect=CannotConnect("down")):
        assert await image.async_image() is None
    with patch.object(hub.client, "event_snapshot", return_value=b"\xff\xd8\xffjpeg"):
        assert await image.async_image() == b"\xff\xd8\xffjpeg"
    assert await image.async_image() == b"\xff\xd8\xffjpeg"  # cached


async def test_engine_errors_become_translated_errors(
    hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry
) -> None:
    """Fault injection: the engine's answers are replaced by the errors under test."""
    entry = await setup_entry()
    hub = entry.runtime_data
    camera = hass.data["camera"].get_entity("camera.front")
    with (
        patch.object(hub.client, "get_stream_url", side_effect=ConnectionClosed("gone")),
        pytest.raises(HomeAssistantError) as err,
    ):
        await camera.stream_source()
    assert err.value.translation_key == "not_connected"
    with (
        patch.object(hub.client, "camera_snapshot", side_effect=CommandError("internal_error", "oops")),
        pytest.raises(HomeAssistantError) as err,
    ):
        await camera.async_camera_image()
    assert err.value.translation_key == "command_failed"
    with patch.object(hub.client, "camera_snapshot", side_effect=NotFoundError("no_snapshot", "none yet")):
        assert await camera.async_camera_image() is None
    with (
        patch.object(hub.client, "set_record_mode", side_effect=InvalidMessage("bad answer")),
        pytest.raises(HomeAssistantError) as err,
    ):
        await hass.services.async_call(
            "select", "select_option", {ATTR_ENTITY_ID: "select.front_record_mode", "option": "off"}, blocking=True
        )
    assert err.value.translation_key == "engine_error"
    assert isinstance(translate_error(CommandError("range_too_long", "x")), ServiceValidationError)
    assert isinstance(translate_error(VigilError("x")), HomeAssistantError)


async def test_statistics_poll_survives_errors(hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry) -> None:
    entry = await setup_entry()
    hub = entry.runtime_data
    with patch.object(hub.client, "list_cameras", side_effect=CannotConnect("slow")):
        await hub._async_poll_stats()
    hub.available = False
    await hub._async_poll_stats()  # nothing to ask while disconnected
    hub.available = True
    await hub._async_poll_stats()
    await wait_state(hass, "camera.front", "recording")
