"""Base entities: one for the engine device, one for a camera device, one for what a camera's
detector sees of one label group (person, vehicle, animal) now."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .client import Camera, VigilError
from .errors import translate_error
from .hub import CameraState, VigilConfigEntry, VigilHub
from .labels import GROUPS
from .protocol import TrackedObject


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

    @contextmanager
    def engine_errors(self, event_id: str | None = None) -> Iterator[None]:
        """Turn the client's errors in an action of this camera into translated Home Assistant errors.

        The camera's state is read when the error happens (the command may have failed
        because the camera just went offline), so the message can say so.
        """
        try:
            yield
        except VigilError as err:
            state = self.hub.cameras.get(self.camera_id)
            raise translate_error(err, state.camera if state is not None else None, event_id) from err


class VigilLiveEntity(VigilCameraEntity):
    """A camera entity that shows what the camera sees: unavailable while it is offline."""

    @property
    def available(self) -> bool:
        return super().available and self.camera.online


class VigilObjectEntity(VigilLiveEntity):
    """What the camera's detector sees of one label group now ("Person detected", "People in view").

    Unavailable while the camera is offline and while object detection is off or cannot work
    (no model): then "off" or "0" would say "none there" without anyone having looked.
    The entity of the group's latest picture is not one: that picture stays true when detection stops.
    """

    def __init__(self, hub: VigilHub, camera_id: str, group: str, description: EntityDescription) -> None:
        super().__init__(hub, camera_id, description)
        self.label_group = group

    @property
    def available(self) -> bool:
        return super().available and self.state_of_camera.detecting

    def objects_in_view(self, *, moving_only: bool = False) -> list[TrackedObject]:
        """The camera's tracked objects of the group (``moving_only``: not the stationary ones)."""
        return self.state_of_camera.objects_of(self.label_group, moving_only=moving_only)


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


@callback
def async_add_group_entities(
    hass: HomeAssistant,
    entry: VigilConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    domain: str,
    key: Callable[[str], str],
    factory: Callable[[str, str], Entity],
) -> None:
    """Add ``factory(camera_id, group)`` for every label group every camera tracks, now and later.

    A camera's groups follow the labels the engine reports for it, which change with its
    configuration (seen on a reconnection): entities of groups no longer tracked leave the
    registry (their unique id ends with ``key(group)``).
    """
    hub = entry.runtime_data
    added: set[tuple[str, str]] = set()
    keys = {key(group) for group in GROUPS}

    @callback
    def add_cameras(camera_ids: list[str]) -> None:
        wanted = {(camera_id, group) for camera_id in camera_ids for group in hub.cameras[camera_id].groups}
        new = sorted(wanted - added)
        added.clear()
        added.update(wanted)
        wanted_ids = {f"{hub.instance_id}-{camera_id}-{key(group)}" for camera_id, group in wanted}
        registry = er.async_get(hass)
        for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
            if (
                entity.domain == domain
                and entity.unique_id.rpartition("-")[2] in keys
                and entity.unique_id not in wanted_ids
            ):
                registry.async_remove(entity.entity_id)
        async_add_entities([factory(camera_id, group) for camera_id, group in new])

    add_cameras(list(hub.cameras))
    entry.async_on_unload(hub.async_add_cameras_listener(add_cameras))


@callback
def async_remove_retired_entities(
    hass: HomeAssistant, entry: VigilConfigEntry, domain: str, keys: Iterable[str]
) -> None:
    """Registry entries of entities the integration no longer makes (by key) are removed.

    Otherwise they would stay behind as "unavailable" entities of the user's devices,
    forever. The key is the last part of the unique id (``<instance>-<camera>-<key>``).
    """
    registry = er.async_get(hass)
    retired = set(keys)
    for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
        if entity.domain == domain and entity.unique_id.rpartition("-")[2] in retired:
            registry.async_remove(entity.entity_id)
