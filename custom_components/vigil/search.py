"""Finding events by what was seen: the label groups, and the vigil.search_events action.

The engine labels events by the objects it tracked in them (COCO labels: ``person``, ``car``,
``dog``...) and by what an ONVIF camera reported itself (``person``, ``vehicle``, ``animal``);
its ``list_events`` filters by one label or group, one zone and a minimum score at a time.
The media browser's *People*, *Vehicles* and *Animals* folders and the card's label filter use
the groups of ``labels.py``; the action asks the engine once per camera (or engine), label and
zone asked for, and merges the answers: several labels or zones mean any of them.

The answer is data, never a link: each event's clip and snapshot are named by their
media-source content ids (``media-source://vigil/<entry>/event/<id>``), which Home Assistant
resolves, for whoever plays them, into a short-lived signed link. So a script's or a
conversation's answer can be kept or shown anywhere without giving footage away.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import probatio
from homeassistant.components.camera.const import DOMAIN as CAMERA_DOMAIN
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import target as target_helpers
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonValueType

from .client import Event, VigilError, datetime_to_ms
from .const import ATTR_END, ATTR_START, DOMAIN
from .errors import translate_error, user_error
from .hub import VigilConfigEntry
from .labels import GROUPS, groups_of
from .protocol.labels import COCO_LABELS

SERVICE_SEARCH_EVENTS: Final = "search_events"
ATTR_CAMERA_ID: Final = "camera_id"
ATTR_LABELS: Final = "labels"
ATTR_ZONES: Final = "zones"
ATTR_MIN_SCORE: Final = "min_score"
ATTR_LIMIT: Final = "limit"
DEFAULT_LIMIT: Final = 20
MAX_LIMIT: Final = 500  # the engine's largest page
# Questions asked of the engines at once (each takes 32 commands at a time).
QUERY_CONCURRENCY: Final = 6
MEDIA_SOURCE_ROOT: Final = f"media-source://{DOMAIN}"


def event_groups(event: Event) -> list[str]:
    """The groups of what the event saw, in the order of :data:`GROUPS`."""
    return list(groups_of(event.labels))


def normalize_label(text: str) -> str:
    """``Traffic_Light `` → ``traffic light``: the engine's own spelling of a label."""
    return " ".join(text.strip().lower().replace("_", " ").split())


def event_content_id(entry_id: str, event_id: str, media: str | None = None) -> str:
    """The media-source content id of an event's clip (or of its ``snapshot``)."""
    base = f"{MEDIA_SOURCE_ROOT}/{entry_id}/event/{event_id}"
    return base if media is None else f"{base}/{media}"


@dataclass(frozen=True, slots=True)
class Scope:
    """Where to look: one engine, and one of its cameras (None: all of them)."""

    entry: VigilConfigEntry
    camera_id: str | None


def _loaded(hass: HomeAssistant) -> list[VigilConfigEntry]:
    entries: list[VigilConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
    return entries


def _unknown(camera: str) -> ServiceValidationError:
    return user_error("unknown_camera", camera=camera)


@callback
def _scopes(hass: HomeAssistant, call: ServiceCall) -> list[Scope]:
    """The cameras the call names (targets, camera ids), or every camera of every engine."""
    entries = _loaded(hass)
    scopes: dict[tuple[str, str | None], Scope] = {}

    def add(entry: VigilConfigEntry, camera_id: str | None) -> None:
        scopes.setdefault((entry.entry_id, camera_id), Scope(entry, camera_id))

    for camera_id in call.data.get(ATTR_CAMERA_ID, []):
        found = [entry for entry in entries if camera_id in entry.runtime_data.cameras]
        if not found:
            raise _unknown(camera_id)
        for entry in found:
            add(entry, camera_id)
    selection = target_helpers.TargetSelection(call.data)
    if selection.has_any_target:
        selected = target_helpers.async_extract_referenced_entity_ids(hass, selection)
        by_entity = _camera_entities(hass, entries)
        by_device = _camera_devices(hass, entries)
        for entity_id in selected.referenced:
            if entity_id not in by_entity:
                raise _unknown(entity_id)
            add(*by_entity[entity_id])
        for entity_id in selected.indirectly_referenced:
            if entity_id in by_entity:
                add(*by_entity[entity_id])
        for device_id in selected.referenced_devices:
            if device_id in by_device:
                add(*by_device[device_id])
            elif selection.device_ids and device_id in selection.device_ids:
                raise _unknown(device_id)
        if not scopes:
            # An area or a label without any Vigil camera: asking for nothing is a mistake.
            raise _unknown(", ".join(sorted(selection.area_ids | selection.floor_ids | selection.label_ids)))
    elif not scopes:
        for entry in entries:
            add(entry, None)
    return list(scopes.values())


def _camera_entities(hass: HomeAssistant, entries: list[VigilConfigEntry]) -> dict[str, tuple[VigilConfigEntry, str]]:
    """The Vigil camera entities, and the engine and camera each one shows."""
    registry = er.async_get(hass)
    found: dict[str, tuple[VigilConfigEntry, str]] = {}
    for entry in entries:
        hub = entry.runtime_data
        for camera_id in hub.cameras:
            # Unique ids are <instance>-<camera>-camera (camera.py).
            entity_id = registry.async_get_entity_id(CAMERA_DOMAIN, DOMAIN, f"{hub.instance_id}-{camera_id}-camera")
            if entity_id is not None:
                found[entity_id] = (entry, camera_id)
    return found


def _camera_devices(
    hass: HomeAssistant, entries: list[VigilConfigEntry]
) -> dict[str, tuple[VigilConfigEntry, str | None]]:
    """The Vigil devices: a camera's device is that camera, an engine's device all its cameras."""
    registry = dr.async_get(hass)
    found: dict[str, tuple[VigilConfigEntry, str | None]] = {}
    for entry in entries:
        hub = entry.runtime_data
        cameras: dict[tuple[str, str], str | None] = {hub.engine_identifier: None}
        cameras.update((hub.camera_identifier(camera_id), camera_id) for camera_id in hub.cameras)
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
            for identifier in device.identifiers & cameras.keys():
                found[device.id] = (entry, cameras[identifier])
    return found


def _labels(names: list[str]) -> list[str]:
    labels: list[str] = []
    for name in names:
        label = normalize_label(name)
        if not label:
            continue
        if label not in GROUPS and label not in COCO_LABELS:
            raise user_error("unknown_label", label=name, groups=", ".join(GROUPS))
        if label not in labels:
            labels.append(label)
    return labels


def _utc_ms(hass: HomeAssistant, moment: datetime) -> int:
    """A datetime without a zone is Home Assistant's local time (a person's wall clock)."""
    if moment.tzinfo is None:
        zone = dt_util.get_time_zone(hass.config.time_zone) or dt_util.get_default_time_zone()
        moment = moment.replace(tzinfo=zone)
    return datetime_to_ms(dt_util.as_utc(moment))


def _iso(ms: int | None) -> str | None:
    return None if ms is None else dt_util.utc_from_timestamp(ms / 1000).isoformat()


def describe_event(entry: VigilConfigEntry, event: Event, now_ms: int) -> dict[str, Any]:
    """What the action tells of an event: facts and content ids, no link and no token."""
    state = entry.runtime_data.cameras.get(event.camera_id)
    end_ms = event.end_ms if event.end_ms is not None else now_ms
    return {
        "id": event.id,
        "camera_id": event.camera_id,
        "camera": state.camera.name if state is not None else event.camera_id,
        "kind": event.kind,
        "labels": list(event.labels),
        "groups": event_groups(event),
        "zones": list(event.zones),
        "start": _iso(event.start_ms),
        "end": _iso(event.end_ms),
        "running": event.end_ms is None,
        "length": round(max(0, end_ms - event.start_ms) / 1000, 1),
        "top_score": round(event.top_score, 3),
        "objects": len(event.objects),
        "clip": event_content_id(entry.entry_id, event.id),
        "snapshot": event_content_id(entry.entry_id, event.id, "snapshot") if event.has_snapshot else None,
    }


async def async_search_events(call: ServiceCall) -> ServiceResponse:
    """The events of the cameras asked for that saw any of the labels in any of the zones, newest first."""
    hass = call.hass
    data = call.data
    start_ms = _utc_ms(hass, data[ATTR_START]) if ATTR_START in data else None
    end_ms = _utc_ms(hass, data[ATTR_END]) if ATTR_END in data else None
    if start_ms is not None and end_ms is not None and end_ms <= start_ms:
        raise user_error("end_before_start", start=str(data[ATTR_START]), end=str(data[ATTR_END]))
    min_score: float | None = data.get(ATTR_MIN_SCORE)
    if min_score is not None and not 0 <= min_score <= 1:
        raise user_error("score_out_of_range", min_score=f"{min_score:g}")
    limit: int = data[ATTR_LIMIT]
    if not 1 <= limit <= MAX_LIMIT:
        raise user_error("limit_out_of_range", limit=str(limit), max=str(MAX_LIMIT))
    labels = _labels(data.get(ATTR_LABELS, []))
    zones = list(dict.fromkeys(zone.strip() for zone in data.get(ATTR_ZONES, []) if zone.strip()))
    scopes = _scopes(hass, call)
    if labels or min_score is not None:
        # An older engine neither labels nor scores events: none of its events can match.
        scopes = [scope for scope in scopes if scope.entry.runtime_data.has_objects]
    gate = asyncio.Semaphore(QUERY_CONCURRENCY)
    more: list[Scope] = []  # questions with more answers than the limit

    async def ask(scope: Scope, label: str | None, zone: str | None) -> list[tuple[VigilConfigEntry, Event]]:
        hub = scope.entry.runtime_data
        async with gate:
            try:
                page = await hub.client.list_events(
                    camera_id=scope.camera_id,
                    start_ms=start_ms,
                    end_ms=end_ms,
                    zone=zone,
                    label=label,
                    min_score=min_score,
                    limit=limit,
                )
            except VigilError as err:
                camera = hub.cameras[scope.camera_id].camera if scope.camera_id in hub.cameras else None
                raise translate_error(err, camera) from err
        if page.next_cursor is not None:
            more.append(scope)
        return [(scope.entry, event) for event in page.events]

    # Each question's newest ``limit`` events hold the newest ``limit`` of them all.
    any_label: list[str | None] = [*labels] or [None]
    any_zone: list[str | None] = [*zones] or [None]
    answers = await asyncio.gather(
        *(ask(scope, label, zone) for scope in scopes for label in any_label for zone in any_zone)
    )
    found: dict[tuple[str, str], tuple[VigilConfigEntry, Event]] = {}
    for answer in answers:
        for entry, event in answer:
            found[(entry.entry_id, event.id)] = (entry, event)
    newest = sorted(found.values(), key=lambda pair: (pair[1].start_ms, pair[1].id), reverse=True)[:limit]
    now_ms = datetime_to_ms(dt_util.utcnow())
    events: list[JsonValueType] = [describe_event(entry, event, now_ms) for entry, event in newest]
    # Truncated: there are more such events than these (older ones).
    return {"events": events, "count": len(events), "truncated": bool(more) or len(found) > limit}


SEARCH_SCHEMA: Final = probatio.Schema(
    {
        **cv.TARGET_SERVICE_FIELDS,
        probatio.Optional(ATTR_CAMERA_ID): probatio.All(cv.ensure_list, [cv.string]),
        probatio.Optional(ATTR_LABELS): probatio.All(cv.ensure_list, [cv.string]),
        probatio.Optional(ATTR_ZONES): probatio.All(cv.ensure_list, [cv.string]),
        probatio.Optional(ATTR_START): cv.datetime,
        probatio.Optional(ATTR_END): cv.datetime,
        # Ranges are checked by the action: a translated error says what is allowed.
        probatio.Optional(ATTR_MIN_SCORE): probatio.Coerce(float),
        probatio.Optional(ATTR_LIMIT, default=DEFAULT_LIMIT): probatio.Coerce(int),
    }
)


@callback
def async_setup_search_service(hass: HomeAssistant) -> None:
    """Register vigil.search_events: an answer only (it changes nothing)."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_SEARCH_EVENTS,
        async_search_events,
        schema=SEARCH_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
