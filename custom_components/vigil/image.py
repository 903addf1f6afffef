"""Image entity: the snapshot of each camera's latest event."""

from __future__ import annotations

from homeassistant.components.image import ImageEntity, ImageEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .client import NotFoundError, VigilError
from .const import LOGGER
from .entity import VigilCameraEntity, async_add_camera_entities
from .hub import VigilConfigEntry, VigilHub

PARALLEL_UPDATES = 0

EVENT_SNAPSHOT = ImageEntityDescription(key="event_snapshot", translation_key="event_snapshot")


async def async_setup_entry(
    hass: HomeAssistant, entry: VigilConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Set up the latest event snapshot of every camera, now and as cameras appear."""
    hub = entry.runtime_data
    async_add_camera_entities(
        entry, async_add_entities, lambda camera_id: (VigilEventSnapshotImage(hass, hub, camera_id),)
    )


class VigilEventSnapshotImage(VigilCameraEntity, ImageEntity):
    """The JPEG of the newest event that has one; its state is when it changed."""

    _attr_content_type = "image/jpeg"

    def __init__(self, hass: HomeAssistant, hub: VigilHub, camera_id: str) -> None:
        VigilCameraEntity.__init__(self, hub, camera_id, EVENT_SNAPSHOT)
        ImageEntity.__init__(self, hass)
        self._image: tuple[str, bytes] | None = None  # (event id and update time, JPEG)

    @callback
    def _async_update_attrs(self) -> None:
        if self.camera_id in self.hub.cameras:
            self._attr_image_last_updated = self.state_of_camera.snapshot_updated

    async def async_image(self) -> bytes | None:
        state = self.hub.cameras.get(self.camera_id)
        if state is None or state.snapshot_event is None:
            return None
        key = f"{state.snapshot_event.id}@{state.snapshot_updated}"
        if self._image is not None and self._image[0] == key:
            return self._image[1]
        try:
            image = await self.hub.client.event_snapshot(state.snapshot_event.id)
        except NotFoundError:
            return None  # the event expired meanwhile
        except VigilError as err:
            LOGGER.debug("Cannot fetch the snapshot of event %s: %s", state.snapshot_event.id, err)
            return None
        self._image = (key, image)
        return image
