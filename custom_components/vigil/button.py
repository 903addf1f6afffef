"""Buttons: one per PTZ preset of an ONVIF camera (press: the camera goes there)."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .client import Preset, VigilError
from .const import LOGGER
from .entity import VigilCameraEntity
from .hub import VigilConfigEntry, VigilHub

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant, entry: VigilConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Add the preset buttons of every camera with PTZ, now and when a camera turns out to have it."""
    hub = entry.runtime_data
    loaded: set[str] = set()

    async def add_presets(camera_id: str) -> None:
        try:
            presets = await hub.client.ptz_presets(camera_id)
        except VigilError as err:
            # Not fatal: the camera still moves through the vigil.ptz action.
            LOGGER.warning("Cannot read the PTZ presets of camera %s: %s", camera_id, err)
            return
        async_add_entities(PresetButton(hub, camera_id, preset) for preset in presets)

    @callback
    def look(camera_ids: list[str]) -> None:
        loaded.intersection_update(camera_ids)
        for camera_id in camera_ids:
            if camera_id in loaded or not hub.cameras[camera_id].camera.ptz:
                continue
            loaded.add(camera_id)
            entry.async_create_background_task(hass, add_presets(camera_id), f"vigil presets {camera_id}")

    look(list(hub.cameras))
    entry.async_on_unload(hub.async_add_cameras_listener(look))


class PresetButton(VigilCameraEntity, ButtonEntity):
    """Moves the camera to one of its presets."""

    def __init__(self, hub: VigilHub, camera_id: str, preset: Preset) -> None:
        description = ButtonEntityDescription(
            key=f"ptz_preset_{preset.token}",
            translation_key="ptz_preset",
            translation_placeholders={"preset": preset.name or preset.token},
        )
        super().__init__(hub, camera_id, description)
        self.preset = preset

    async def async_press(self) -> None:
        with self.engine_errors():
            await self.hub.client.ptz_goto_preset(self.camera_id, self.preset.token)
