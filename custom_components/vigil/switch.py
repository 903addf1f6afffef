"""Switches: recording and motion detection of each camera (the engine keeps them across restarts)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .client import RecordMode
from .entity import VigilCameraEntity, async_add_camera_entities
from .hub import VigilConfigEntry, VigilHub

PARALLEL_UPDATES = 0

RECORDING = SwitchEntityDescription(key="recording", translation_key="recording", entity_category=EntityCategory.CONFIG)
MOTION_DETECTION = SwitchEntityDescription(
    key="motion_detection", translation_key="motion_detection", entity_category=EntityCategory.CONFIG
)


async def async_setup_entry(
    hass: HomeAssistant, entry: VigilConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Set up the switches of every camera, now and as cameras appear."""
    hub = entry.runtime_data
    async_add_camera_entities(
        entry,
        async_add_entities,
        lambda camera_id: (VigilRecordingSwitch(hub, camera_id), VigilMotionDetectionSwitch(hub, camera_id)),
    )


class VigilRecordingSwitch(VigilCameraEntity, SwitchEntity):
    """Recording on (the last mode that was not off, continuous at first) or off."""

    def __init__(self, hub: VigilHub, camera_id: str) -> None:
        super().__init__(hub, camera_id, RECORDING)
        self._mode_when_on = RecordMode.CONTINUOUS

    @callback
    def _async_update_attrs(self) -> None:
        if self.camera_id not in self.hub.cameras:
            return
        mode = self.camera.record_mode
        if mode is not RecordMode.OFF:
            self._mode_when_on = mode
        self._attr_is_on = mode is not RecordMode.OFF

    async def async_turn_on(self, **kwargs: Any) -> None:
        with self.engine_errors():
            await self.hub.async_set_record_mode(self.camera_id, self._mode_when_on)

    async def async_turn_off(self, **kwargs: Any) -> None:
        with self.engine_errors():
            await self.hub.async_set_record_mode(self.camera_id, RecordMode.OFF)


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
