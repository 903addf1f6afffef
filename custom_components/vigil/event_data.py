"""What an automation gets with each Vigil event: the event, its camera and where its clip is.

The same data goes into the event entity's attributes and, on each start and end, into a
``vigil_event`` on Home Assistant's bus. Both are kept: every user can read the attributes,
and the recorder writes states and bus events into its database (and so into backups). So
nothing here opens anything by itself: no signed link, only ids. An automation that needs
links for a notification asks for them with the vigil.get_event_media action.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.camera.const import DOMAIN as CAMERA_DOMAIN
from homeassistant.core import callback
from homeassistant.helpers import entity_registry as er
from homeassistant.util.json import JsonObjectType

from .client import Event
from .const import BUS_EVENT, DOMAIN
from .media import event_clip_content_id

if TYPE_CHECKING:
    from .hub import VigilHub

# The engine's event notifications that start and end an event, and the phase each one is.
PHASES = {"event_started": "start", "event_ended": "end"}


def event_attributes(event: Event) -> JsonObjectType:
    """The event itself (times in ISO 8601, UTC)."""
    return {
        "event_id": event.id,
        "kind": event.kind,
        "zones": list(event.zones),
        "start": event.start.isoformat(),
        "end": end.isoformat() if (end := event.end) is not None else None,
        "label": event.label,
        "peak_score": event.peak_score,
        "has_snapshot": event.has_snapshot,
    }


def event_type(name: str, event: Event) -> str | None:
    """``motion``/``manual``/``camera`` when an event starts, ``*_ended`` when it ends, else None."""
    phase = PHASES.get(name)
    if phase is None:
        return None
    return event.kind if phase == "start" else f"{event.kind}_ended"


@callback
def event_data(hub: VigilHub, event: Event) -> dict[str, Any]:
    """The event, its camera (name and camera entity) and its clip's id in the Vigil media source.

    ``clip_media_content_id`` plays the clip on a media player or in the media browser (for
    a logged-in user); it grows until the event ends.
    """
    state = hub.cameras.get(event.camera_id)
    unique_id = f"{hub.instance_id}-{event.camera_id}-camera"
    return {
        **event_attributes(event),
        "camera_id": event.camera_id,
        "camera_name": state.camera.name if state is not None else event.camera_id,
        "camera_entity_id": er.async_get(hub.hass).async_get_entity_id(CAMERA_DOMAIN, DOMAIN, unique_id),
        "clip_media_content_id": event_clip_content_id(hub.entry.entry_id, event.id),
    }


@callback
def fire_bus_event(hub: VigilHub, name: str, event: Event) -> None:
    """Fire ``vigil_event`` for an event's start or end (nothing for its updates)."""
    kind = event_type(name, event)
    if kind is None:
        return
    hub.hass.bus.async_fire(
        BUS_EVENT,
        {"event_type": kind, "phase": PHASES[name], "entry_id": hub.entry.entry_id, **event_data(hub, event)},
    )
