"""What an automation gets with each Vigil event: the event, what it saw, its camera and where its clip is.

The same data goes into the event entity's attributes and into a ``vigil_event`` on Home
Assistant's bus. Both are kept: every user can read the attributes, and the recorder writes
states and bus events into its database (and so into backups). So nothing here opens anything
by itself: no signed link, only ids. An automation that needs links for a notification asks
for them with the vigil.get_event_media action.

What an event is (its *type*): the label group of its best object (``person``, ``vehicle``,
``animal``), else its kind (``motion``, ``manual``). An event of Vigil's motion usually starts
before its objects are known: it starts as ``motion`` and becomes a ``person`` event when the
person is recognised, a moment later. So the engine's ``event_updated`` is announced too (the
bus's ``update`` phase, and the group's type on the event entity) when the event saw a group
for the first time, and (on the bus only) when its snapshot got markedly better: a notification
sent for the event can then be replaced with the better picture (same event id), not repeated.
Lists are lists and numbers are numbers, so that automations filter without parsing strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from homeassistant.components.camera.const import DOMAIN as CAMERA_DOMAIN
from homeassistant.components.event import DOMAIN as EVENT_DOMAIN
from homeassistant.components.sensor import DOMAIN as SENSOR_DOMAIN
from homeassistant.core import callback
from homeassistant.helpers import entity_registry as er
from homeassistant.util.json import JsonObjectType

from .client import Event
from .const import BUS_EVENT, DOMAIN, SNOOZE_KEY
from .labels import group_of, groups_of
from .media import event_clip_content_id

if TYPE_CHECKING:
    from .hub import VigilHub

# The engine's event notifications and the phase each one is.
PHASES: Final = {"event_started": "start", "event_updated": "update", "event_ended": "end"}
# A running event's snapshot is announced again once its best score rose by this much (or it
# got its first snapshot): enough for a visibly better picture, not one message per frame.
BETTER_SNAPSHOT_SCORE: Final = 0.05
# At most this many objects are listed in the data (a crowd would bloat every state written).
MAX_LISTED_OBJECTS: Final = 10


@dataclass(frozen=True, slots=True)
class EventNotice:
    """An event's start, end or update worth announcing, and the type it is announced as."""

    phase: str  # start, update or end
    event_type: str
    new_groups: tuple[str, ...] = ()  # label groups the event saw for the first time
    better_snapshot: bool = False


def event_groups(event: Event) -> tuple[str, ...]:
    """The label groups the event saw (person, vehicle, animal), in that order."""
    return groups_of(event.labels)


def primary_type(event: Event) -> str:
    """The group of the event's best object, else of its first label, else its kind."""
    best = max(event.objects, key=lambda seen: seen.score, default=None)
    if best is not None and (group := group_of(best.label)) is not None:
        return group
    groups = event_groups(event)
    return groups[0] if groups else event.kind


def event_notice(name: str, event: Event, announced: Event | None) -> EventNotice | None:
    """What to announce for the engine's ``name`` message, given the event as last announced (None: never)."""
    phase = PHASES.get(name)
    if phase is None:
        return None
    if phase == "start":
        return EventNotice("start", primary_type(event), new_groups=event_groups(event))
    if phase == "end":
        return EventNotice("end", f"{event.kind}_ended")
    known = event_groups(announced) if announced is not None else ()
    new_groups = tuple(group for group in event_groups(event) if group not in known)
    better = event.has_snapshot and (
        announced is None
        or not announced.has_snapshot
        or event.top_score >= announced.top_score + BETTER_SNAPSHOT_SCORE
    )
    if not new_groups and not better:
        return None
    return EventNotice(
        "update", new_groups[0] if new_groups else primary_type(event), new_groups=new_groups, better_snapshot=better
    )


def event_attributes(event: Event) -> JsonObjectType:
    """The event itself (times in ISO 8601, UTC) and what it saw."""
    return {
        "event_id": event.id,
        "kind": event.kind,
        "zones": list(event.zones),
        "start": event.start.isoformat(),
        "end": end.isoformat() if (end := event.end) is not None else None,
        "label": event.label,
        "peak_score": event.peak_score,
        "has_snapshot": event.has_snapshot,
        "labels": list(event.labels),
        "groups": list(event_groups(event)),
        "top_score": round(event.top_score, 3),
        "object_count": len(event.objects),
        "objects": [
            {
                "label": seen.label,
                "group": group_of(seen.label),
                "score": round(seen.score, 3),
                "zones": list(seen.zones),
            }
            for seen in event.objects[:MAX_LISTED_OBJECTS]
        ],
    }


@callback
def event_data(hub: VigilHub, event: Event) -> dict[str, Any]:
    """The event, its camera (name, camera entity, snooze sensor) and its clip's id in the Vigil media source.

    ``clip_media_content_id`` plays the clip on a media player or in the media browser (for
    a logged-in user); it grows until the event ends. ``snooze_entity_id`` is the camera's
    "Notifications snoozed until" sensor, which a notification automation checks.
    """
    state = hub.cameras.get(event.camera_id)
    registry = er.async_get(hub.hass)
    prefix = f"{hub.instance_id}-{event.camera_id}"
    return {
        **event_attributes(event),
        "camera_id": event.camera_id,
        "camera_name": state.camera.name if state is not None else event.camera_id,
        "camera_entity_id": registry.async_get_entity_id(CAMERA_DOMAIN, DOMAIN, f"{prefix}-camera"),
        "snooze_entity_id": registry.async_get_entity_id(SENSOR_DOMAIN, DOMAIN, f"{prefix}-{SNOOZE_KEY}"),
        "clip_media_content_id": event_clip_content_id(hub.entry.entry_id, event.id),
    }


@callback
def fire_bus_event(hub: VigilHub, notice: EventNotice, event: Event) -> None:
    """Fire ``vigil_event`` for an event's start, end or update worth announcing."""
    hub.hass.bus.async_fire(
        BUS_EVENT,
        {
            "event_type": notice.event_type,
            "phase": notice.phase,
            "new_groups": list(notice.new_groups),
            "better_snapshot": notice.better_snapshot,
            "entry_id": hub.entry.entry_id,
            # The camera's event entity: what a notification automation is set up with.
            "event_entity_id": er.async_get(hub.hass).async_get_entity_id(
                EVENT_DOMAIN, DOMAIN, f"{hub.instance_id}-{event.camera_id}-events"
            ),
            **event_data(hub, event),
        },
    )
