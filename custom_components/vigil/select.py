"""Select: the record mode of each camera."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .client import RecordMode
from .entity import VigilCameraEntity, async_add_camera_entities
from .hub import VigilConfigEntry, VigilHub

PARALLEL_UPDATES = 0

RECORD_MODE = SelectEntityDescription(
    key="record_mode",
    translation_key="record_mode",
    entity_category=EntityCategory.CONFIG,
    options=[mode.value for mode in RecordMode],
)


async def async_setup_entry(
    hass: HomeAssistant, entry: VigilConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Set up the record mode select of every camera, now and as cameras appear."""
    hub = entry.runtime_data
    async_add_camera_entities(entry, async_add_entities, lambda camera_id: (VigilRecordModeSelect(hub, camera_id),))


class VigilRecordModeSelect(VigilCameraEntity, SelectEntity):
    """Continuous, events only, or off."""

    def __init__(self, hub: VigilHub, camera_id: str) -> None:
        super().__init__(hub, camera_id, RECORD_MODE)

    @callback
    def _async_update_attrs(self) -> None:
        if self.camera_id in self.hub.cameras:
            self._attr_current_option = self.camera.record_mode.value

    async def async_select_option(self, option: str) -> None:
        with self.engine_errors():
            await self.hub.async_set_record_mode(self.camera_id, RecordMode(option))
