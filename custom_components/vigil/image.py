"""Image entities: the snapshot of each camera's latest event, and of its latest event per label group.

"Latest person" (vehicle, animal) shows the snapshot of the camera's newest event that saw an
object of the group: the engine's picture of the event's best object, with its box drawn. The
picture is fetched through the integration's authenticated client, and Home Assistant serves
it behind its own access token: no signed link is in the state.
"""

from __future__ import annotations

from datetime import datetime

from homeassistant.components.image import ImageEntity, ImageEntityDescription
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .client import Event, NotFoundError, VigilError
from .const import LOGGER
from .entity import VigilCameraEntity, async_add_camera_entities, async_add_group_entities
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
    async_add_group_entities(
        hass,
        entry,
        async_add_entities,
        Platform.IMAGE,
        group_snapshot_key,
        lambda camera_id, group: VigilGroupSnapshotImage(hass, hub, camera_id, group),
    )


def group_snapshot_key(group: str) -> str:
    return f"{group}_snapshot"


class VigilEventSnapshotImage(VigilCameraEntity, ImageEntity):
    """The JPEG of the newest event that has one; its state is when it changed."""

    _attr_content_type = "image/jpeg"

    def __init__(
        self, hass: HomeAssistant, hub: VigilHub, camera_id: str, description: ImageEntityDescription = EVENT_SNAPSHOT
    ) -> None:
        VigilCameraEntity.__init__(self, hub, camera_id, description)
        ImageEntity.__init__(self, hass)
        self._image: tuple[str, bytes] | None = None  # (event id and update time, JPEG)

    def _snapshot(self) -> tuple[Event | None, datetime | None]:
        """The event whose snapshot to show, and when it changed."""
        state = self.state_of_camera
        return state.snapshot_event, state.snapshot_updated

    @callback
    def _async_update_attrs(self) -> None:
        if self.camera_id in self.hub.cameras:
            self._attr_image_last_updated = self._snapshot()[1]

    async def async_image(self) -> bytes | None:
        if self.camera_id not in self.hub.cameras:
            return None
        event, updated = self._snapshot()
        if event is None:
            return None
        key = f"{event.id}@{updated}"
        if self._image is not None and self._image[0] == key:
            return self._image[1]
        try:
            image = await self.hub.client.event_snapshot(event.id)
        except NotFoundError:
            return None  # the event expired meanwhile
        except VigilError as err:
            LOGGER.debug("Cannot fetch the snapshot of event %s: %s", event.id, err)
            return None
        self._image = (key, image)
        return image


class VigilGroupSnapshotImage(VigilEventSnapshotImage):
    """The JPEG of the newest event that saw an object of one label group (person, vehicle, animal)."""

    def __init__(self, hass: HomeAssistant, hub: VigilHub, camera_id: str, group: str) -> None:
        key = group_snapshot_key(group)
        super().__init__(hass, hub, camera_id, ImageEntityDescription(key=key, translation_key=key))
        self.label_group = group

    def _snapshot(self) -> tuple[Event | None, datetime | None]:
        found = self.state_of_camera.group_snapshots.get(self.label_group)
        return found if found is not None else (None, None)
