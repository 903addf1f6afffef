"""Event entity: every camera's events, by what they saw (person, vehicle, animal) or their kind, for automations.

An event fires its type when it starts (``person`` if it already saw one, else ``motion`` or
``manual``), the type of each label group it sees for the first time while it runs (a motion
event that turns out to be a person fires ``person`` a moment after ``motion``), and
``motion_ended``/``manual_ended`` when it ends. See ``event_data`` for what each carries.
"""

from __future__ import annotations

from homeassistant.components.event import EventDeviceClass, EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .client import Event
from .const import EVENT_MANUAL, EVENT_MANUAL_ENDED, EVENT_MOTION, EVENT_MOTION_ENDED
from .entity import VigilCameraEntity, async_add_camera_entities
from .event_data import EventNotice, event_attributes, event_data
from .hub import VigilConfigEntry, VigilHub
from .labels import GROUPS

__all__ = ["VigilEventEntity", "async_setup_entry", "event_attributes"]

PARALLEL_UPDATES = 0

EVENTS = EventEntityDescription(
    key="events",
    translation_key="events",
    device_class=EventDeviceClass.MOTION,
    event_types=[*GROUPS, EVENT_MOTION, EVENT_MOTION_ENDED, EVENT_MANUAL, EVENT_MANUAL_ENDED],
)


async def async_setup_entry(
    hass: HomeAssistant, entry: VigilConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Set up the event entity of every camera, now and as cameras appear."""
    hub = entry.runtime_data
    async_add_camera_entities(entry, async_add_entities, lambda camera_id: (VigilEventEntity(hub, camera_id),))


class VigilEventEntity(VigilCameraEntity, EventEntity):
    """Fires a group's type or the event's kind when an event starts or sees a group, ``*_ended`` when it ends."""

    def __init__(self, hub: VigilHub, camera_id: str) -> None:
        super().__init__(hub, camera_id, EVENTS)

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self.async_on_remove(self.hub.async_add_event_listener(self.camera_id, self._handle_event))

    @callback
    def _handle_event(self, notice: EventNotice, event: Event) -> None:
        # A better snapshot alone is for the bus (notifications to update) only.
        kinds = list(notice.new_groups) if notice.phase == "update" else [notice.event_type]
        # Kinds this entity does not offer (yet), e.g. camera events, are left out.
        for kind in kinds:
            if kind in self.event_types:
                # The event, its camera and its clip's media-source id (no signed link: see event_data).
                self._trigger_event(kind, event_data(self.hub, event))
                self.async_write_ha_state()
