"""Diagnostics of an engine (config entry) and of one camera (device): never a secret."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from .client import SCHEMA_VERSION
from .const import CONF_TOKEN
from .hub import CameraState, VigilConfigEntry, VigilHub

# The archive's keys never reach Home Assistant; named here too in case an engine ever sent them.
TO_REDACT = {
    CONF_TOKEN,
    CONF_PASSWORD,
    CONF_USERNAME,
    "api_token",
    "access_token",
    "authorization",
    "access_key_id",
    "secret_access_key",
    "encryption_key",
}


def redact_url(url: str) -> str:
    """The URL without its user name and password."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{REDACTED}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _camera(hub: VigilHub, camera_id: str, state: CameraState) -> dict[str, Any]:
    return {
        "camera": state.camera.to_dict(),
        "last_event": state.last_event.to_dict() if state.last_event else None,
        "snapshot_event_id": state.snapshot_event.id if state.snapshot_event else None,
        "not_recording_since_ms": state.not_recording_since_ms,
        # Object detection as Home Assistant sees it (the engine's own view is camera.detection).
        "objects": {
            "detecting": state.detecting,
            "groups": list(state.groups),
            "tracked": [tracked.to_dict() for tracked in state.objects.values()],
            "snapshot_event_ids": {group: event.id for group, (event, _updated) in state.group_snapshots.items()},
        },
        "notifications_snoozed_until": until.isoformat() if (until := hub.snoozes.until(camera_id)) else None,
    }


def _engine(hub: VigilHub) -> dict[str, Any]:
    info = hub.info
    return {
        "available": hub.available,
        "client_schema_version": SCHEMA_VERSION,
        "server": {
            "server_version": info.server_version,
            "schema_version": info.schema_version,
            "min_schema_version": info.min_schema_version,
            "instance_id": info.instance_id,
            "time_zone": info.time_zone,
        },
        "storage": hub.storage.to_dict(),
        "storage_warnings": dict(hub.storage_warnings),
    }


async def async_get_config_entry_diagnostics(hass: HomeAssistant, entry: VigilConfigEntry) -> dict[str, Any]:
    """The entry, the engine and every camera."""
    hub = entry.runtime_data
    data = dict(entry.data)
    data[CONF_URL] = redact_url(str(data.get(CONF_URL, "")))
    return async_redact_data(
        {
            "entry": {"title": entry.title, "data": data, "options": dict(entry.options)},
            "engine": _engine(hub),
            "cameras": {camera_id: _camera(hub, camera_id, state) for camera_id, state in hub.cameras.items()},
        },
        TO_REDACT,
    )


async def async_get_device_diagnostics(
    hass: HomeAssistant, entry: VigilConfigEntry, device: dr.DeviceEntry
) -> dict[str, Any]:
    """The engine (for its own device) or one camera."""
    hub = entry.runtime_data
    for camera_id, state in hub.cameras.items():
        if hub.camera_identifier(camera_id) in device.identifiers:
            return async_redact_data({"camera_id": camera_id, **_camera(hub, camera_id, state)}, TO_REDACT)
    return async_redact_data({"engine": _engine(hub)}, TO_REDACT)
