"""Binary sensors: motion (per camera and per zone), connectivity, recording problem."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import BinarySensorEntity, BinarySensorEntityDescription
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import VigilCameraEntity, VigilLiveEntity
from .hub import VigilConfigEntry, VigilHub

PARALLEL_UPDATES = 0
ZONE_KEY_PREFIX = "motion_zone-"
ZONE_TRANSLATION_KEY = "zone_motion"


@dataclass(frozen=True, kw_only=True)
class VigilBinarySensorDescription(BinarySensorEntityDescription):
    """A camera's binary sensor, read from the hub."""

    is_on_fn: Callable[[VigilHub, str], bool]
    live: bool = False  # unavailable while the camera is offline


CAMERA_SENSORS: tuple[VigilBinarySensorDescription, ...] = (
    VigilBinarySensorDescription(
        key="motion",
        device_class=BinarySensorDeviceClass.MOTION,
        is_on_fn=lambda hub, camera_id: hub.cameras[camera_id].camera.motion_active,
        live=True,
    ),
    VigilBinarySensorDescription(
        key="connectivity",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        is_on_fn=lambda hub, camera_id: hub.cameras[camera_id].camera.online,
    ),
    VigilBinarySensorDescription(
        key="recording_problem",
        translation_key="recording_problem",
        device_class=BinarySensorDeviceClass.PROBLEM,
        entity_category=EntityCategory.DIAGNOSTIC,
        is_on_fn=lambda hub, camera_id: hub.recording_problem(camera_id),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant, entry: VigilConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Set up the binary sensors of every camera, now and as cameras (and zones) appear."""
    hub = entry.runtime_data
    cameras_added: set[str] = set()
    zones_added: set[tuple[str, str]] = set()

    @callback
    def add_cameras(camera_ids: list[str]) -> None:
        entities: list[BinarySensorEntity] = []
        cameras_added.intersection_update(camera_ids)
        for camera_id in camera_ids:
            if camera_id not in cameras_added:
                cameras_added.add(camera_id)
                entities.extend(VigilBinarySensor(hub, camera_id, description) for description in CAMERA_SENSORS)
        wanted: set[tuple[str, str]] = set()
        if hub.zone_sensors:
            wanted = {(camera_id, zone) for camera_id in camera_ids for zone in hub.cameras[camera_id].camera.zones}
        entities.extend(VigilZoneMotionSensor(hub, camera_id, zone) for camera_id, zone in sorted(wanted - zones_added))
        zones_added.clear()
        zones_added.update(wanted)
        _remove_stale_zones(hass, hub, {zone_unique_id(hub, camera_id, zone) for camera_id, zone in wanted})
        async_add_entities(entities)

    add_cameras(list(hub.cameras))
    entry.async_on_unload(hub.async_add_cameras_listener(add_cameras))


def zone_unique_id(hub: VigilHub, camera_id: str, zone: str) -> str:
    return f"{hub.instance_id}-{camera_id}-{ZONE_KEY_PREFIX}{zone}"


@callback
def _remove_stale_zones(hass: HomeAssistant, hub: VigilHub, wanted: set[str]) -> None:
    """Zone sensors of zones the engine no longer has (or that were turned off) leave the registry."""
    registry = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(registry, hub.entry.entry_id):
        if entity.translation_key == ZONE_TRANSLATION_KEY and entity.unique_id not in wanted:
            registry.async_remove(entity.entity_id)


class VigilBinarySensor(VigilCameraEntity, BinarySensorEntity):
    """Motion, connectivity or recording problem of a camera."""

    entity_description: VigilBinarySensorDescription

    @callback
    def _async_update_attrs(self) -> None:
        if self.camera_id in self.hub.cameras:
            self._attr_is_on = self.entity_description.is_on_fn(self.hub, self.camera_id)


class VigilZoneMotionSensor(VigilLiveEntity, BinarySensorEntity):
    """Motion in one zone of a camera."""

    _attr_device_class = BinarySensorDeviceClass.MOTION
    _attr_translation_key = ZONE_TRANSLATION_KEY

    def __init__(self, hub: VigilHub, camera_id: str, zone: str) -> None:
        super().__init__(hub, camera_id, BinarySensorEntityDescription(key=f"{ZONE_KEY_PREFIX}{zone}"))
        self.zone = zone
        self._attr_translation_placeholders = {"zone": zone.replace("_", " ")}

    @callback
    def _async_update_attrs(self) -> None:
        if self.camera_id in self.hub.cameras:
            self._attr_is_on = self.zone in self.camera.zones_active
