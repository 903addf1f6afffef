"""Switches: motion and object detection of each camera (the engine keeps them across restarts).

Recording has one control, the *Record mode* select (continuous, events only, off). There was
also a *Recording* switch: its "on" could only mean "the last mode that was not off", and
every change wrote two logbook lines, the switch's and the select's. It is retired.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import VigilCameraEntity, async_add_camera_entities, async_remove_retired_entities
from .hub import VigilConfigEntry, VigilHub

PARALLEL_UPDATES = 0

MOTION_DETECTION = SwitchEntityDescription(
    key="motion_detection", translation_key="motion_detection", entity_category=EntityCategory.CONFIG
)
OBJECT_DETECTION = SwitchEntityDescription(
    key="object_detection", translation_key="object_detection", entity_category=EntityCategory.CONFIG
)
# Switches of earlier versions, removed from the registry (see the module's docstring).
RETIRED_KEYS: tuple[str, ...] = ("recording",)


async def async_setup_entry(
    hass: HomeAssistant, entry: VigilConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Set up the switches of every camera, now and as cameras appear."""
    hub = entry.runtime_data
    async_remove_retired_entities(hass, entry, Platform.SWITCH, RETIRED_KEYS)
    async_add_camera_entities(
        entry,
        async_add_entities,
        lambda camera_id: (
            (VigilMotionDetectionSwitch(hub, camera_id), VigilObjectDetectionSwitch(hub, camera_id))
            if hub.has_objects
            else (VigilMotionDetectionSwitch(hub, camera_id),)
        ),
    )


class VigilMotionDetectionSwitch(VigilCameraEntity, SwitchEntity):
    """Motion detection of a camera."""

    def __init__(self, hub: VigilHub, camera_id: str) -> None:
        super().__init__(hub, camera_id, MOTION_DETECTION)

    @callback
    def _async_update_attrs(self) -> None:
        if self.camera_id in self.hub.cameras:
            self._attr_is_on = self.camera.motion_enabled

    async def async_turn_on(self, **kwargs: Any) -> None:
        with self.engine_errors():
            await self.hub.async_set_motion_detection(self.camera_id, True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        with self.engine_errors():
            await self.hub.async_set_motion_detection(self.camera_id, False)


class VigilObjectDetectionSwitch(VigilCameraEntity, SwitchEntity):
    """Object detection of a camera (where there is motion); the engine's ``camera_settings`` keep it current."""

    def __init__(self, hub: VigilHub, camera_id: str) -> None:
        super().__init__(hub, camera_id, OBJECT_DETECTION)

    @callback
    def _async_update_attrs(self) -> None:
        if self.camera_id in self.hub.cameras:
            self._attr_is_on = self.camera.objects_enabled

    async def async_turn_on(self, **kwargs: Any) -> None:
        with self.engine_errors():
            await self.hub.async_set_object_detection(self.camera_id, True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        with self.engine_errors():
            await self.hub.async_set_object_detection(self.camera_id, False)
