"""Restoring an engine's footage from its off-site archive, from Home Assistant: the
``vigil.restore_from_archive`` action and the "Archive restore" sensor.

A restore can take minutes (hours, downloading a large archive), so the action does what Home
Assistant's own long jobs do (a backup): it starts the restore on the engine (the engine's
``restore_archive`` command, schema version 5), answers at once with the restore as it starts,
and an entity tells how it goes. The engine pushes each change (``archive_restore``: when it
starts, at most once a second while it runs, when it ends), and its storage status carries the
last one (``ArchiveStatus.restore``), so the sensor is right after a reconnection too.

The sensor's state is ``running``, ``done`` or ``failed`` (unknown before the engine's first
restore since it started); its attributes are the counters and times, and the error, one
sentence the engine wrote without credentials. It is one of the archive's entities: there
only while the engine has an archive.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import probatio
from homeassistant.components.sensor import SensorDeviceClass, SensorEntity, SensorEntityDescription
from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import ServiceCall, ServiceResponse, callback
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import service
from homeassistant.util import dt as dt_util

from .client import ArchiveRestoreChanged, CommandError, EngineEvent, RestoreStatus, VigilError, datetime_to_ms
from .const import ATTR_END, ATTR_START, DOMAIN
from .entity import VigilEntity
from .errors import translate_error, user_error
from .hub import VigilConfigEntry, VigilHub

SERVICE_RESTORE_FROM_ARCHIVE: Final = "restore_from_archive"
ATTR_CAMERA_ID: Final = "camera_id"
ATTR_DOWNLOAD: Final = "download"
RESTORE_KEY: Final = "archive_restore"
# The engine's schema version with restore_archive.
SCHEMA_RESTORE: Final = 5
RESTORE_STATES: Final = ["running", "done", "failed"]
# Engine refusals the user can act on (wait, or configure an archive), each its own translation.
_REFUSALS: Final = frozenset({"no_archive", "restore_running"})

RESTORE_SCHEMA: Final = probatio.Schema(
    {
        probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        probatio.Optional(ATTR_CAMERA_ID): probatio.All(cv.ensure_list, [cv.string]),
        probatio.Optional(ATTR_START): cv.datetime,
        probatio.Optional(ATTR_END): cv.datetime,
        probatio.Optional(ATTR_DOWNLOAD, default=False): cv.boolean,
    }
)


def _utc_ms(hub: VigilHub, moment: datetime) -> int:
    """A datetime without a zone is Home Assistant's local time (a person's wall clock)."""
    if moment.tzinfo is None:
        zone = dt_util.get_time_zone(hub.hass.config.time_zone) or dt_util.get_default_time_zone()
        moment = moment.replace(tzinfo=zone)
    return datetime_to_ms(dt_util.as_utc(moment))


def _iso(ms: int | None) -> str | None:
    return None if ms is None else dt_util.utc_from_timestamp(ms / 1000).isoformat()


def restore_attributes(restore: RestoreStatus) -> dict[str, Any]:
    """The restore as the action answers it and as the sensor's attributes (times in ISO 8601, UTC)."""
    return {
        "state": restore.state,
        "download": restore.download,
        "camera_ids": list(restore.camera_ids),
        "start": _iso(restore.from_ms),
        "end": _iso(restore.to_ms),
        "selected": restore.selected,
        "restored": restore.restored,
        "present": restore.present,
        "errors": restore.errors,
        "bytes": restore.bytes,
        "gaps": restore.gaps,
        "started": _iso(restore.started_ms),
        "finished": _iso(restore.finished_ms),
        "error": restore.error,
    }


async def async_restore_from_archive(call: ServiceCall) -> ServiceResponse:
    """Start a restore on the engine (the only loaded one, or ``config_entry_id``'s); the restore as it starts."""
    entry: VigilConfigEntry = service.async_get_config_entry(call.hass, DOMAIN, call.data.get(ATTR_CONFIG_ENTRY_ID))
    hub = entry.runtime_data
    start = _utc_ms(hub, call.data[ATTR_START]) if ATTR_START in call.data else None
    end = _utc_ms(hub, call.data[ATTR_END]) if ATTR_END in call.data else None
    if start is not None and end is not None and end <= start:
        raise user_error("end_before_start", start=str(call.data[ATTR_START]), end=str(call.data[ATTR_END]))
    if hub.available and hub.info.schema_version < SCHEMA_RESTORE:
        raise user_error("restore_unsupported", engine=entry.title)
    if hub.available and hub.storage.archive is None:
        raise user_error("no_archive", engine=entry.title)
    try:
        restore = await hub.client.restore_archive(
            camera_ids=call.data.get(ATTR_CAMERA_ID) or None,
            from_ms=start,
            to_ms=end,
            download=call.data[ATTR_DOWNLOAD],
        )
    except CommandError as err:
        if err.code in _REFUSALS:
            raise user_error(err.code, engine=entry.title) from err
        raise translate_error(err) from err
    except VigilError as err:
        raise translate_error(err) from err
    return restore_attributes(restore)


class VigilArchiveRestoreSensor(VigilEntity, SensorEntity):
    """The engine's restore from its archive: running, done or failed, and how far it got."""

    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options = RESTORE_STATES

    def __init__(self, hub: VigilHub) -> None:
        super().__init__(hub, SensorEntityDescription(key=RESTORE_KEY, translation_key=RESTORE_KEY))
        self._restore: RestoreStatus | None = None

    @property
    def available(self) -> bool:
        return super().available and self.hub.storage.archive is not None

    async def async_added_to_hass(self) -> None:
        self.async_on_remove(self.hub.client.add_event_listener(self._on_event))
        await super().async_added_to_hass()

    @callback
    def _on_event(self, event: EngineEvent) -> None:
        if isinstance(event, ArchiveRestoreChanged):
            self._restore = event.restore
            self._async_update_attrs()
            self.async_write_ha_state()

    @callback
    def _async_update_attrs(self) -> None:
        archive = self.hub.storage.archive
        if archive is not None and archive.restore is not None:
            # The storage status (a reconnection, the poll): as new as the last event, or newer.
            self._restore = archive.restore
        restore = self._restore
        self._attr_native_value = None if restore is None else restore.state
        if restore is not None and restore.state not in RESTORE_STATES:
            self._attr_native_value = None  # a state a newer engine added: unknown here, told in the attributes
        self._attr_extra_state_attributes = {} if restore is None else restore_attributes(restore)
