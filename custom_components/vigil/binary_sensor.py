"""Binary sensors: motion (per camera and per zone), objects (per label group, and per zone when
asked), connectivity, recording problem; the engine's archive problem.

"Person detected" (and vehicle, animal) is on while an object of its group is tracked on the
camera and not stationary: a parked car or a sleeping cat is in view, but nothing happens. It
has one per group the camera tracks (the engine's ``Camera.objects``), and is unavailable while
object detection is off or cannot work (no model), so "off" always means "looked, none there".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import BinarySensorEntity, BinarySensorEntityDescription
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .archive import async_add_archive_entities, is_failing
from .entity import VigilCameraEntity, VigilEntity, VigilLiveEntity, VigilObjectEntity
from .hub import VigilConfigEntry, VigilHub
from .labels import GROUPS

PARALLEL_UPDATES = 0
ZONE_KEY_PREFIX = "motion_zone-"
ZONE_TRANSLATION_KEY = "zone_motion"
# "<group>_detected": its key and translation key.
OBJECT_TRANSLATION_KEYS = frozenset(f"{group}_detected" for group in GROUPS)
# "zone_<group>_detected": the translation key of a zone's object sensor (key "<group>_zone-<zone>").
ZONE_OBJECT_TRANSLATION_KEYS = frozenset(f"zone_{group}_detected" for group in GROUPS)


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
    groups_added: set[tuple[str, str]] = set()
    zone_groups_added: set[tuple[str, str, str]] = set()

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
        _remove_stale(
            hass, hub, {ZONE_TRANSLATION_KEY}, {zone_unique_id(hub, camera_id, zone) for camera_id, zone in wanted}
        )
        # Labels (and so groups) change with the engine's configuration, i.e. on a reconnection.
        groups = {(camera_id, group) for camera_id in camera_ids for group in hub.cameras[camera_id].groups}
        entities.extend(VigilObjectSensor(hub, camera_id, group) for camera_id, group in sorted(groups - groups_added))
        groups_added.clear()
        groups_added.update(groups)
        _remove_stale(
            hass,
            hub,
            OBJECT_TRANSLATION_KEYS,
            {f"{hub.instance_id}-{camera_id}-{group}_detected" for camera_id, group in groups},
        )
        zone_groups: set[tuple[str, str, str]] = set()
        if hub.object_zone_sensors:
            zone_groups = {
                (camera_id, zone, group) for camera_id, group in groups for zone in hub.cameras[camera_id].camera.zones
            }
        entities.extend(
            VigilZoneObjectSensor(hub, camera_id, zone, group)
            for camera_id, zone, group in sorted(zone_groups - zone_groups_added)
        )
        zone_groups_added.clear()
        zone_groups_added.update(zone_groups)
        _remove_stale(
            hass,
            hub,
            ZONE_OBJECT_TRANSLATION_KEYS,
            {zone_object_unique_id(hub, camera_id, zone, group) for camera_id, zone, group in zone_groups},
        )
        async_add_entities(entities)

    add_cameras(list(hub.cameras))
    entry.async_on_unload(hub.async_add_cameras_listener(add_cameras))
    async_add_archive_entities(
        hub,
        Platform.BINARY_SENSOR,
        (ARCHIVE_PROBLEM.key,),
        async_add_entities,
        lambda: [VigilArchiveProblemSensor(hub)],
    )


def zone_unique_id(hub: VigilHub, camera_id: str, zone: str) -> str:
    return f"{hub.instance_id}-{camera_id}-{ZONE_KEY_PREFIX}{zone}"


def zone_object_unique_id(hub: VigilHub, camera_id: str, zone: str, group: str) -> str:
    return f"{hub.instance_id}-{camera_id}-{group}_zone-{zone}"


@callback
def _remove_stale(
    hass: HomeAssistant, hub: VigilHub, translation_keys: set[str] | frozenset[str], wanted: set[str]
) -> None:
    """Sensors of zones (or label groups) the engine no longer has, or that were turned off, leave the registry."""
    registry = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(registry, hub.entry.entry_id):
        if (
            entity.domain == "binary_sensor"
            and entity.translation_key in translation_keys
            and entity.unique_id not in wanted
        ):
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


class VigilObjectSensor(VigilObjectEntity, BinarySensorEntity):
    """An object of one label group (person, vehicle, animal) moves in view of the camera."""

    _attr_device_class = BinarySensorDeviceClass.OCCUPANCY

    def __init__(
        self, hub: VigilHub, camera_id: str, group: str, description: BinarySensorEntityDescription | None = None
    ) -> None:
        key = f"{group}_detected"
        super().__init__(
            hub, camera_id, group, description or BinarySensorEntityDescription(key=key, translation_key=key)
        )

    @callback
    def _async_update_attrs(self) -> None:
        if self.camera_id in self.hub.cameras:
            self._attr_is_on = bool(self.objects_in_view(moving_only=True))


class VigilZoneObjectSensor(VigilObjectSensor):
    """An object of one label group moves in one zone of the camera (where it stands: the
    bottom of its box, as the engine decides zones): "Person in driveway"."""

    def __init__(self, hub: VigilHub, camera_id: str, zone: str, group: str) -> None:
        key, translation_key = f"{group}_zone-{zone}", f"zone_{group}_detected"
        description = BinarySensorEntityDescription(key=key, translation_key=translation_key)
        super().__init__(hub, camera_id, group, description)
        self._attr_translation_placeholders = {"zone": zone.replace("_", " ")}
        self.zone = zone

    @callback
    def _async_update_attrs(self) -> None:
        if self.camera_id in self.hub.cameras:
            moving = self.objects_in_view(moving_only=True)
            self._attr_is_on = any(self.zone in tracked.current_zones for tracked in moving)


ARCHIVE_PROBLEM = BinarySensorEntityDescription(
    key="archive_problem",
    translation_key="archive_problem",
    device_class=BinarySensorDeviceClass.PROBLEM,
    entity_category=EntityCategory.DIAGNOSTIC,
)


class VigilArchiveProblemSensor(VigilEntity, BinarySensorEntity):
    """On while the off-site archive's store fails (unreachable, refusing the credentials, no bucket):
    at once, unlike the repair issue, which waits for the option's minutes."""

    def __init__(self, hub: VigilHub) -> None:
        super().__init__(hub, ARCHIVE_PROBLEM)

    @property
    def available(self) -> bool:
        return super().available and self.hub.storage.archive is not None

    @callback
    def _async_update_attrs(self) -> None:
        self._attr_is_on = is_failing(self.hub.storage.archive)
