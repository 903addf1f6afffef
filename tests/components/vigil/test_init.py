"""Setting up and unloading an entry, and what happens when that cannot work."""

from __future__ import annotations

import asyncio
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.vigil import async_remove_config_entry_device
from custom_components.vigil.const import CONF_TOKEN, CONF_ZONE_SENSORS, DOMAIN
from custom_components.vigil.hub import VigilHub
from tests.components.vigil.conftest import FRONT, ZONE, EngineRig, SetupEntry, entry_state, free_port, make_entry


async def test_setup_and_unload(hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry) -> None:
    entry = await setup_entry()
    assert entry.state is ConfigEntryState.LOADED
    hub = entry.runtime_data
    assert isinstance(hub, VigilHub)
    assert hub.available
    assert hub.client.connected
    assert set(hub.cameras) == {FRONT, "yard"}

    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry_state(entry) is ConfigEntryState.NOT_LOADED
    assert not hub.client.connected


async def test_setup_retries_while_the_engine_is_unreachable(hass: HomeAssistant, engine: EngineRig) -> None:
    entry = make_entry(engine, url=f"http://127.0.0.1:{free_port()}")
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert "Cannot connect to the Vigil engine" in str(entry.reason)


async def test_refused_token_starts_reauth(hass: HomeAssistant, engine: EngineRig) -> None:
    entry = make_entry(engine, token="not-the-token-00000000")
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_schema_mismatch_raises_a_repair_issue(hass: HomeAssistant, engine: EngineRig) -> None:
    """Fault injected: the integration pretends to speak a schema newer than the engine's (the add-on
    must be updated), then 0 (older than the engine still answers: the integration must be)."""
    info = engine.get("/api/info")
    newer = info["schema_version"] + 1
    entry = make_entry(engine)
    entry.add_to_hass(hass)
    issue_id = f"schema_mismatch_{entry.entry_id}"
    registry = ir.async_get(hass)
    with patch("custom_components.vigil.client.client.SCHEMA_VERSION", newer):
        assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    issue = registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "update_addon"
    assert issue.translation_placeholders == {
        "title": entry.title,
        "server_schema": str(info["schema_version"]),
        "server_min_schema": str(info["min_schema_version"]),
        "client_schema": str(newer),
    }
    with patch("custom_components.vigil.client.client.SCHEMA_VERSION", 0):
        await hass.config_entries.async_reload(entry.entry_id)
    issue = registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "update_integration"

    # The right versions meet again (the add-on was updated): the issue goes away by itself.
    await hass.config_entries.async_reload(entry.entry_id)
    assert entry_state(entry) is ConfigEntryState.LOADED
    assert registry.async_get_issue(DOMAIN, issue_id) is None


async def test_another_engine_at_the_address(hass: HomeAssistant, engine: EngineRig) -> None:
    entry = MockConfigEntry(domain=DOMAIN, unique_id="0" * 32, data={CONF_URL: engine.url, CONF_TOKEN: engine.token})
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR


async def test_no_state_in_time_retries_later(hass: HomeAssistant, engine: EngineRig) -> None:
    """Fault injected: the engine accepts the connection but never answers ``subscribe``."""

    async def hang(*args: object, **kwargs: object) -> None:
        await asyncio.Event().wait()

    entry = make_entry(engine)
    entry.add_to_hass(hass)
    with (
        patch("custom_components.vigil.hub.SETUP_TIMEOUT_SECONDS", 0.5),
        patch("custom_components.vigil.client.client.VigilClient.subscribe", hang),
    ):
        assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_remove_devices(hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry) -> None:
    entry = await setup_entry()
    devices = dr.async_get(hass)
    hub = devices.async_get_device_by_identifier((DOMAIN, engine.instance_id), entry.entry_id)
    front = devices.async_get_device_by_identifier((DOMAIN, f"{engine.instance_id}-{FRONT}"), entry.entry_id)
    assert hub is not None
    assert front is not None
    # Devices of what the engine still has stay.
    assert not await async_remove_config_entry_device(hass, entry, hub)
    assert not await async_remove_config_entry_device(hass, entry, front)
    # A camera the engine no longer knows may go.
    gone = devices.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, f"{engine.instance_id}-gone")}, name="Gone"
    )
    assert await async_remove_config_entry_device(hass, entry, gone)


async def test_stale_devices_are_removed_at_setup(
    hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry
) -> None:
    entry = make_entry(engine)
    entry.add_to_hass(hass)
    devices = dr.async_get(hass)
    devices.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, f"{engine.instance_id}-gone")}, name="Gone"
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert devices.async_get_device_by_identifier((DOMAIN, f"{engine.instance_id}-gone"), entry.entry_id) is None
    assert devices.async_get_device_by_identifier((DOMAIN, f"{engine.instance_id}-{FRONT}"), entry.entry_id)


async def test_zone_sensors_can_be_turned_off(hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry) -> None:
    entry = await setup_entry()
    registry = er.async_get(hass)
    zone_unique_id = f"{engine.instance_id}-{FRONT}-motion_zone-{ZONE}"
    assert registry.async_get_entity_id("binary_sensor", DOMAIN, zone_unique_id)
    hass.config_entries.async_update_entry(entry, options={CONF_ZONE_SENSORS: False})
    await hass.config_entries.async_reload(entry.entry_id)
    assert entry.state is ConfigEntryState.LOADED
    assert registry.async_get_entity_id("binary_sensor", DOMAIN, zone_unique_id) is None
    assert hass.states.get("binary_sensor.front_motion_path") is None
    assert hass.states.get("binary_sensor.front_motion") is not None


async def test_removing_the_entry_drops_its_issues(
    hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry()
    other = "camera_offline_someotherentry_front"
    for issue_id in (f"camera_offline_{entry.entry_id}_{FRONT}", f"storage_storage_full_{entry.entry_id}", other):
        ir.async_create_issue(
            hass, DOMAIN, issue_id, is_fixable=False, severity=ir.IssueSeverity.WARNING, translation_key="x"
        )
    await hass.config_entries.async_remove(entry.entry_id)
    registry = ir.async_get(hass)
    assert [issue_id for (domain, issue_id) in registry.issues if domain == DOMAIN] == [other]
