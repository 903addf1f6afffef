"""Sensors: the engine's storage, retention horizon and off-site archive; a camera's statistics,
objects in view and snooze.

"People in view" (and vehicles, animals) counts the camera's tracked objects of the group,
stationary ones included (a parked car is in view); unavailable while object detection is off
or cannot work. "Notifications snoozed until" is Home Assistant's own (``snooze.py``): unknown
when the camera's notifications are not snoozed.

There is no "last event" sensor (there was): the camera's event entity has the time of the
last event as its state and the event's details as attributes, and a second entity changing
with every event wrote a second logbook line for the same fact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, Platform, UnitOfDataRate, UnitOfInformation
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .archive import async_add_archive_entities
from .client import ArchiveStatus, ms_to_datetime
from .const import SNOOZE_KEY
from .entity import (
    VigilCameraEntity,
    VigilEntity,
    VigilObjectEntity,
    async_add_camera_entities,
    async_add_group_entities,
    async_remove_retired_entities,
)
from .hub import VigilConfigEntry, VigilHub

PARALLEL_UPDATES = 0

type SensorValue = int | float | datetime | None


@dataclass(frozen=True, kw_only=True)
class VigilEngineSensorDescription(SensorEntityDescription):
    value_fn: Callable[[VigilHub], SensorValue]


@dataclass(frozen=True, kw_only=True)
class VigilCameraSensorDescription(SensorEntityDescription):
    value_fn: Callable[[VigilHub, str], SensorValue]
    live: bool = False  # unavailable while the camera is offline


# Footage sizes in GB with two decimals: a fresh install's first 26 MB reads 0.03 GB, not 0.0 GB,
# and a disk of terabytes stays readable (1,234.56 GB); one unit keeps the two sensors comparable.
ENGINE_SENSORS: tuple[VigilEngineSensorDescription, ...] = (
    VigilEngineSensorDescription(
        key="storage_used",
        translation_key="storage_used",
        device_class=SensorDeviceClass.DATA_SIZE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfInformation.BYTES,
        suggested_unit_of_measurement=UnitOfInformation.GIGABYTES,
        suggested_display_precision=2,
        value_fn=lambda hub: hub.storage.bytes_used,
    ),
    VigilEngineSensorDescription(
        key="storage_free",
        translation_key="storage_free",
        device_class=SensorDeviceClass.DATA_SIZE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfInformation.BYTES,
        suggested_unit_of_measurement=UnitOfInformation.GIGABYTES,
        suggested_display_precision=2,
        value_fn=lambda hub: hub.storage.bytes_free,
    ),
    VigilEngineSensorDescription(
        key="oldest_footage",
        translation_key="oldest_footage",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda hub: ms_to_datetime(hub.storage.oldest_footage_ms),
    ),
)


@dataclass(frozen=True, kw_only=True)
class VigilArchiveSensorDescription(SensorEntityDescription):
    value_fn: Callable[[ArchiveStatus], SensorValue]


# The off-site archive's queue: in MB, as a backlog is small unless the store fails for long.
ARCHIVE_SENSORS: tuple[VigilArchiveSensorDescription, ...] = (
    VigilArchiveSensorDescription(
        key="archive_backlog",
        translation_key="archive_backlog",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda archive: archive.backlog_items,
    ),
    VigilArchiveSensorDescription(
        key="archive_backlog_size",
        translation_key="archive_backlog_size",
        device_class=SensorDeviceClass.DATA_SIZE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfInformation.BYTES,
        suggested_unit_of_measurement=UnitOfInformation.MEGABYTES,
        suggested_display_precision=1,
        value_fn=lambda archive: archive.backlog_bytes,
    ),
    VigilArchiveSensorDescription(
        key="last_archive_upload",
        translation_key="last_archive_upload",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda archive: ms_to_datetime(archive.last_success_ms),
    ),
)

# Sensors of earlier versions, removed from the registry (see the module's docstring).
RETIRED_KEYS: tuple[str, ...] = ("last_event",)

CAMERA_SENSORS: tuple[VigilCameraSensorDescription, ...] = (
    VigilCameraSensorDescription(
        key="bitrate",
        translation_key="bitrate",
        device_class=SensorDeviceClass.DATA_RATE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfDataRate.BITS_PER_SECOND,
        suggested_unit_of_measurement=UnitOfDataRate.MEGABITS_PER_SECOND,
        suggested_display_precision=2,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda hub, camera_id: hub.cameras[camera_id].camera.bitrate,
        live=True,
    ),
    VigilCameraSensorDescription(
        key="frame_rate",
        translation_key="frame_rate",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement="fps",
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda hub, camera_id: hub.cameras[camera_id].camera.fps,
        live=True,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant, entry: VigilConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Set up the engine's sensors and those of every camera, now and as cameras appear."""
    hub = entry.runtime_data
    async_remove_retired_entities(hass, entry, Platform.SENSOR, RETIRED_KEYS)
    async_add_entities(VigilEngineSensor(hub, description) for description in ENGINE_SENSORS)
    async_add_archive_entities(
        hub,
        Platform.SENSOR,
        (description.key for description in ARCHIVE_SENSORS),
        async_add_entities,
        lambda: [VigilArchiveSensor(hub, description) for description in ARCHIVE_SENSORS],
    )
    async_add_camera_entities(
        entry,
        async_add_entities,
        lambda camera_id: (
            *(VigilCameraSensor(hub, camera_id, description) for description in CAMERA_SENSORS),
            VigilSnoozeSensor(hub, camera_id),
        ),
    )
    async_add_group_entities(
        hass,
        entry,
        async_add_entities,
        Platform.SENSOR,
        object_count_key,
        lambda camera_id, group: VigilObjectCountSensor(hub, camera_id, group),
    )


def object_count_key(group: str) -> str:
    return f"{group}_count"


class VigilEngineSensor(VigilEntity, SensorEntity):
    """A figure of the engine's storage."""

    entity_description: VigilEngineSensorDescription

    @callback
    def _async_update_attrs(self) -> None:
        self._attr_native_value = self.entity_description.value_fn(self.hub)


class VigilArchiveSensor(VigilEntity, SensorEntity):
    """A figure of the engine's off-site archive (unavailable if the engine no longer has one)."""

    entity_description: VigilArchiveSensorDescription

    @property
    def available(self) -> bool:
        return super().available and self.hub.storage.archive is not None

    @callback
    def _async_update_attrs(self) -> None:
        if (archive := self.hub.storage.archive) is not None:
            self._attr_native_value = self.entity_description.value_fn(archive)


class VigilCameraSensor(VigilCameraEntity, SensorEntity):
    """A figure of one camera."""

    entity_description: VigilCameraSensorDescription

    @callback
    def _async_update_attrs(self) -> None:
        if self.camera_id in self.hub.cameras:
            self._attr_native_value = self.entity_description.value_fn(self.hub, self.camera_id)


class VigilObjectCountSensor(VigilObjectEntity, SensorEntity):
    """How many objects of one label group the camera tracks now (stationary ones too)."""

    _attr_state_class = SensorStateClass.MEASUREMENT

    def __init__(self, hub: VigilHub, camera_id: str, group: str) -> None:
        key = object_count_key(group)
        super().__init__(hub, camera_id, group, SensorEntityDescription(key=key, translation_key=key))

    @callback
    def _async_update_attrs(self) -> None:
        if self.camera_id in self.hub.cameras:
            self._attr_native_value = len(self.objects_in_view())


SNOOZE = SensorEntityDescription(key=SNOOZE_KEY, translation_key=SNOOZE_KEY, device_class=SensorDeviceClass.TIMESTAMP)


class VigilSnoozeSensor(VigilCameraEntity, SensorEntity):
    """Until when the camera's notifications are snoozed (unknown: they are not)."""

    def __init__(self, hub: VigilHub, camera_id: str) -> None:
        super().__init__(hub, camera_id, SNOOZE)

    @property
    def available(self) -> bool:
        # Home Assistant's own state: it does not depend on reaching the engine.
        return self.camera_id in self.hub.cameras

    @callback
    def _async_update_attrs(self) -> None:
        self._attr_native_value = self.hub.snoozes.until(self.camera_id)
