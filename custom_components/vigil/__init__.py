"""The Vigil NVR integration: an engine's cameras, motion, events and recording in Home Assistant."""

from __future__ import annotations

from homeassistant.const import CONF_URL, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType

from .card import async_register_frontend
from .client import CannotConnect, InvalidAuth, InvalidServer, SchemaVersionMismatch, VigilClient
from .const import CONF_TOKEN, DOMAIN, ISSUE_ARCHIVE, ISSUE_CAMERA_OFFLINE, ISSUE_SCHEMA_MISMATCH, ISSUE_STORAGE
from .hub import VigilConfigEntry, VigilHub, schema_issue
from .services import async_setup_services
from .views import async_register_views
from .websocket_api import async_register_commands

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.CAMERA,
    Platform.EVENT,
    Platform.IMAGE,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions, the media views and the card with its commands (once, whatever the number of engines)."""
    async_setup_services(hass)
    async_register_views(hass)
    async_register_commands(hass)
    await async_register_frontend(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: VigilConfigEntry) -> bool:
    """Connect to the engine, then set up its devices and entities."""
    client = VigilClient(async_get_clientsession(hass), entry.data[CONF_URL], entry.data[CONF_TOKEN])
    placeholders = {"url": client.base_url}
    try:
        info = await client.connect()
    except InvalidAuth as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="invalid_auth", translation_placeholders=placeholders
        ) from err
    except SchemaVersionMismatch as err:
        schema_issue(hass, entry, err)
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="schema_mismatch",
            translation_placeholders={**placeholders, "error": str(err)},
        ) from err
    except (CannotConnect, InvalidServer) as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders={**placeholders, "error": str(err)},
        ) from err
    ir.async_delete_issue(hass, DOMAIN, f"{ISSUE_SCHEMA_MISMATCH}_{entry.entry_id}")
    if entry.unique_id is not None and info.instance_id != entry.unique_id:
        await client.disconnect()
        raise ConfigEntryError(
            translation_domain=DOMAIN, translation_key="wrong_engine", translation_placeholders=placeholders
        )
    hub = VigilHub(hass, entry, client, info)
    entry.runtime_data = hub
    await hub.async_start()
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: VigilConfigEntry) -> bool:
    """Unload the entities, then close the connection."""
    unload_ok = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unload_ok:
        await entry.runtime_data.async_stop()
    return unload_ok


async def async_remove_entry(hass: HomeAssistant, entry: VigilConfigEntry) -> None:
    """Drop the entry's repair issues with it."""
    registry = ir.async_get(hass)
    prefixes = (ISSUE_SCHEMA_MISMATCH, ISSUE_CAMERA_OFFLINE, ISSUE_STORAGE, ISSUE_ARCHIVE)
    for domain, issue_id in list(registry.issues):
        if domain == DOMAIN and issue_id.startswith(prefixes) and entry.entry_id in issue_id:
            ir.async_delete_issue(hass, DOMAIN, issue_id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: VigilConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Allow removing a camera's device only once the engine no longer has the camera."""
    hub = entry.runtime_data
    if hub.engine_identifier in device.identifiers:
        return False
    return not any(hub.camera_identifier(camera_id) in device.identifiers for camera_id in hub.cameras)
