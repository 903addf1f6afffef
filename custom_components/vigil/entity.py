"""Base entities: one for the engine device, one for a camera device."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from homeassistant.core import callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .client import Camera, CannotConnect, CommandError, ConnectionClosed, NotFoundError, VigilError
from .const import DOMAIN
from .hub import CameraState, VigilConfigEntry, VigilHub


class VigilEntity(Entity):
    """An entity of the engine itself (storage, retention)."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, hub: VigilHub, description: EntityDescription) -> None:
        self.hub = hub
        self.entity_description = description
        self._attr_unique_id = f"{hub.instance_id}-{description.key}"
        self._attr_device_info = hub.engine_device_info
        self._listen_to: str | None = None

    @property
    def available(self) -> bool:
        return self.hub.available

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self.async_on_remove(self.hub.async_add_listener(self._listen_to, self._handle_hub_update))
        self._async_update_attrs()

    @callback
    def _async_update_attrs(self) -> None:
        """Copy the hub's state into the entity's ``_attr_*`` (subclasses)."""

    @callback
    def _handle_hub_update(self) -> None:
        self._async_update_attrs()
        self.async_write_ha_state()


class VigilCameraEntity(VigilEntity):
    """An entity of one camera; it stays available while the engine is reachable."""

    def __init__(self, hub: VigilHub, camera_id: str, description: EntityDescription) -> None:
        super().__init__(hub, description)
        self.camera_id = camera_id
        self._attr_unique_id = f"{hub.instance_id}-{camera_id}-{description.key}"
        self._attr_device_info = hub.camera_device_info(camera_id)
        self._listen_to = camera_id

    @property
    def state_of_camera(self) -> CameraState:
        return self.hub.cameras[self.camera_id]

    @property
    def camera(self) -> Camera:
        return self.hub.cameras[self.camera_id].camera

    @property
    def available(self) -> bool:
        if not (self.hub.available and self.camera_id in self.hub.cameras):
            return False
        # Descriptions marked live show what the camera sees: unavailable while it is offline.
        return self.camera.online or not getattr(self.entity_description, "live", False)


class VigilLiveEntity(VigilCameraEntity):
    """A camera entity that shows what the camera sees: unavailable while it is offline."""

    @property
    def available(self) -> bool:
        return super().available and self.camera.online


def translate_error(err: VigilError) -> HomeAssistantError:
    """A translated Home Assistant error for a failed engine command."""
    if isinstance(err, NotFoundError):
        return ServiceValidationError(
            translation_domain=DOMAIN, translation_key="not_found", translation_placeholders={"error": err.message}
        )
    if isinstance(err, CommandError) and err.code in (
        "event_state",
        "invalid_argument",
        "range_too_long",
        "camera_unavailable",
    ):
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=err.code,
            translation_placeholders={"error": err.message},
        )
    if isinstance(err, CommandError):
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_failed",
            translation_placeholders={"code": err.code, "error": err.message},
        )
    if isinstance(err, CannotConnect | ConnectionClosed):
        return HomeAssistantError(
            translation_domain=DOMAIN, translation_key="not_connected", translation_placeholders={"error": str(err)}
        )
    return HomeAssistantError(
        translation_domain=DOMAIN, translation_key="engine_error", translation_placeholders={"error": str(err)}
    )


@contextmanager
def engine_errors() -> Iterator[None]:
    """Turn the client's errors in an entity action into translated Home Assistant errors."""
    try:
        yield
    except VigilError as err:
        raise translate_error(err) from err


@callback
def async_add_camera_entities(
    entry: VigilConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    factory: Callable[[str], Iterable[Entity]],
) -> None:
    """Add ``factory(camera_id)`` for every camera now, and for cameras that appear later."""
    hub = entry.runtime_data
    added: set[str] = set()

    @callback
    def add_cameras(camera_ids: list[str]) -> None:
        added.intersection_update(camera_ids)  # a camera removed and added again gets new entities
        new = [camera_id for camera_id in camera_ids if camera_id not in added]
        added.update(new)
        async_add_entities([entity for camera_id in new for entity in factory(camera_id)])

    add_cameras(list(hub.cameras))
    entry.async_on_unload(hub.async_add_cameras_listener(add_cameras))
