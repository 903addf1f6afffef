"""WebSocket commands of the Vigil card: a camera's day, and where to play its footage.

The card (``frontend/`` in the repository, served by ``card.py``) asks Home Assistant, over
the WebSocket the frontend already holds, as the logged-in user; Home Assistant asks the
engine with the integration's token, which never leaves it. Media come back as paths of
Home Assistant's own views (``views.py``) signed for that user's login (the connection's
refresh token) for :data:`LINK_EXPIRY`: a ``<video>``, ``<img>`` or hls.js fetches them
without a header, and a link stops working when it expires or when the user's login is
revoked.

Commands (a camera is named by its Vigil ``camera`` entity):

* ``vigil/timeline`` ``{entity_id, date?}``: the local day (Home Assistant's time zone,
  ``hass.config.time_zone``; 23 or 25 hours when the clocks change) from the engine's day
  summary: its local hours, recorded ranges, gaps with their reasons and events with
  signed thumbnails, what they saw (``labels``, their ``groups``: person, vehicle, animal) and
  their ``top_score``, plus the days around it;
* ``vigil/playback`` ``{entity_id, start_ms, end_ms?}``: a signed HLS playlist of the
  camera's footage from ``start_ms`` (an hour by default), whose segments carry the
  recording's wall-clock time (``EXT-X-PROGRAM-DATE-TIME``) and breaks at gaps
  (``EXT-X-DISCONTINUITY``).

Errors: ``not_found`` (no such entity, not a Vigil camera, an engine that is not set up,
or a camera the engine no longer has), ``invalid_format`` (a malformed day or time, or a
range the engine refuses), ``engine_unavailable`` (the engine cannot be reached) and
``home_assistant_error`` (any other failure of the engine).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

import probatio
from homeassistant.components.camera.const import DOMAIN as CAMERA_DOMAIN
from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.const import (
    ERR_HOME_ASSISTANT_ERROR,
    ERR_INVALID_FORMAT,
    ERR_NOT_FOUND,
)
from homeassistant.components.websocket_api.decorators import async_response, websocket_command
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util

from .client import (
    CannotConnect,
    CommandError,
    ConnectionClosed,
    DaySummary,
    Event,
    NotFoundError,
    VigilError,
    datetime_to_ms,
)
from .const import DOMAIN
from .hub import VigilHub
from .labels import groups_of
from .signing import PLAYLIST, THUMBNAIL, camera_path, event_path, sign
from .timeline import HOUR_MS, parse_day

# Signed links live this long: the card asks again (a new day, a new playback) well before.
LINK_EXPIRY: Final = timedelta(minutes=30)
# Footage one playback covers by default; the card asks for the next stretch when it ends.
PLAYBACK_MS: Final = HOUR_MS
MAX_PLAYBACK_MS: Final = 24 * HOUR_MS  # the engine's longest playlist
# Times before 2000 or after 2200 are mistakes, not footage.
MIN_MS: Final = 946_684_800_000
MAX_MS: Final = 7_258_118_400_000
ERR_ENGINE_UNAVAILABLE: Final = "engine_unavailable"
ENTITY_KEY: Final = "camera"  # the camera entity's description key (its unique id ends with it)


@dataclass(frozen=True, slots=True)
class CameraTarget:
    """A Vigil camera entity resolved to its engine and the engine's camera id."""

    hub: VigilHub
    entry_id: str
    camera_id: str


class TargetError(Exception):
    """The command cannot go on: a WebSocket error code and a message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _day(value: Any) -> str:
    text = cv.string(value)
    try:
        return parse_day(text).isoformat()
    except ValueError as err:
        raise probatio.Invalid("expected a date as YYYY-MM-DD") from err


_MS = probatio.All(int, probatio.Range(min=MIN_MS, max=MAX_MS))


@callback
def resolve_camera(hass: HomeAssistant, entity_id: str) -> CameraTarget:
    """The engine and camera behind a Vigil camera entity; ``TargetError`` if there is none."""
    entry = er.async_get(hass).async_get(entity_id)
    if entry is None or entry.platform != DOMAIN or entry.domain != CAMERA_DOMAIN or entry.config_entry_id is None:
        raise TargetError(ERR_NOT_FOUND, f"{entity_id} is not a Vigil camera")
    config_entry = hass.config_entries.async_get_entry(entry.config_entry_id)
    if config_entry is None or config_entry.state is not ConfigEntryState.LOADED:
        raise TargetError(ERR_NOT_FOUND, f"the Vigil engine of {entity_id} is not set up")
    hub: VigilHub = config_entry.runtime_data
    # Unique ids are <instance>-<camera>-camera and camera ids are slugs (no "-"): exact.
    prefix, suffix = f"{hub.instance_id}-", f"-{ENTITY_KEY}"
    unique_id = entry.unique_id
    camera_id = unique_id[len(prefix) : -len(suffix)] if unique_id.startswith(prefix) else ""
    if not unique_id.endswith(suffix) or camera_id not in hub.cameras:
        raise TargetError(ERR_NOT_FOUND, f"the Vigil engine no longer has the camera of {entity_id}")
    return CameraTarget(hub, config_entry.entry_id, camera_id)


def _engine_error(err: VigilError) -> TargetError:
    """What the card is told of an engine failure (the engine's messages carry no secrets)."""
    if isinstance(err, NotFoundError):
        return TargetError(ERR_NOT_FOUND, err.message)
    if isinstance(err, CommandError) and err.code in ("invalid_argument", "range_too_long"):
        return TargetError(ERR_INVALID_FORMAT, err.message)
    if isinstance(err, CannotConnect | ConnectionClosed):
        return TargetError(ERR_ENGINE_UNAVAILABLE, "the Vigil engine cannot be reached")
    if isinstance(err, CommandError):
        return TargetError(ERR_HOME_ASSISTANT_ERROR, f"the Vigil engine failed: {err.message}")
    # Other errors may name the engine's address (the client's messages do): not for the browser.
    return TargetError(ERR_HOME_ASSISTANT_ERROR, "the Vigil engine gave an answer that cannot be used")


def timeline_result(
    hass: HomeAssistant,
    target: CameraTarget,
    entity_id: str,
    summary: DaySummary,
    today: date,
    refresh_token_id: str | None,
) -> dict[str, Any]:
    """The card's view of a DaySummary: compact ranges, and events with signed thumbnails."""
    day = parse_day(summary.date)
    now = dt_util.utcnow()
    expires = now + LINK_EXPIRY

    def thumbnail(event: Event) -> str | None:
        if not event.has_snapshot:
            return None
        path = event_path(target.entry_id, event.id, THUMBNAIL)
        return sign(hass, path, LINK_EXPIRY, refresh_token_id=refresh_token_id)

    events = [
        {
            "id": event.id,
            "kind": event.kind,
            "label": event.label,
            "zones": list(event.zones),
            "start_ms": event.start_ms,
            "end_ms": event.end_ms,
            "pre_ms": event.pre_ms,
            "post_ms": event.post_ms,
            "peak_score": event.peak_score,
            # What it saw (labels.py): the card's markers and label filter.
            "labels": list(event.labels),
            "groups": list(groups_of(event.labels)),
            "top_score": event.top_score,
            "thumbnail": thumbnail(event),
        }
        for event in summary.events
    ]
    following = day + timedelta(days=1)
    return {
        "entity_id": entity_id,
        "camera_id": target.camera_id,
        "name": target.hub.cameras[target.camera_id].camera.name,
        "date": day.isoformat(),
        "time_zone": summary.time_zone,
        "start_ms": summary.start_ms,
        "end_ms": summary.end_ms,
        "now_ms": datetime_to_ms(now),
        "today": today.isoformat(),
        "previous_date": (day - timedelta(days=1)).isoformat(),
        "next_date": following.isoformat() if following <= today else None,
        "hours": [
            {
                "start_ms": hour.start_ms,
                "end_ms": hour.end_ms,
                "label": hour.label,
                "utc_offset": hour.utc_offset,
                "events": hour.events,
                "recorded_ms": hour.recorded_ms,
            }
            for hour in summary.hours
        ],
        # [start, end] pairs: a day of 10 s segments is a few ranges, but keep them small anyway.
        "recorded": [[footage.start_ms, footage.end_ms] for footage in summary.recorded],
        "recorded_ms": summary.recorded_ms,
        # The last range is the segment being written (engines that say so): its end is "now".
        "live": summary.live,
        "gaps": [{"start_ms": gap.start_ms, "end_ms": gap.end_ms, "reason": gap.reason} for gap in summary.gaps],
        "events": events,
        "events_truncated": summary.events_truncated,
        "links_expire_ms": datetime_to_ms(expires),
    }


@websocket_command(
    {
        probatio.Required("type"): "vigil/timeline",
        probatio.Required("entity_id"): cv.entity_id,
        probatio.Optional("date"): _day,
    }
)
@async_response
async def ws_timeline(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """A camera's local day in Home Assistant's time zone: hours, footage, gaps, events."""
    entity_id: str = msg["entity_id"]
    zone_name = hass.config.time_zone
    zone = dt_util.get_time_zone(zone_name)
    today = dt_util.now(zone).date()
    day: str = msg.get("date") or today.isoformat()
    try:
        target = resolve_camera(hass, entity_id)
        try:
            summary = await target.hub.client.get_day_summary(target.camera_id, day, zone_name)
        except VigilError as err:
            raise _engine_error(err) from err
    except TargetError as err:
        connection.send_error(msg["id"], err.code, err.message)
        return
    result = timeline_result(hass, target, entity_id, summary, today, connection.refresh_token_id)
    connection.send_result(msg["id"], result)


@websocket_command(
    {
        probatio.Required("type"): "vigil/playback",
        probatio.Required("entity_id"): cv.entity_id,
        probatio.Required("start_ms"): _MS,
        probatio.Optional("end_ms"): _MS,
    }
)
@callback
def ws_playback(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """A signed HLS playlist of the camera's footage from ``start_ms`` (to ``end_ms``, an hour by default).

    The engine's playlist starts with the segment that holds ``start_ms`` and tells the
    player to start at that instant (``EXT-X-START``); in a gap it starts where the footage
    resumes. Nothing is asked of the engine here: the player's first request is.
    """
    entity_id: str = msg["entity_id"]
    start_ms: int = msg["start_ms"]
    end_ms: int = msg.get("end_ms", start_ms + PLAYBACK_MS)
    if not 0 < end_ms - start_ms <= MAX_PLAYBACK_MS:
        connection.send_error(msg["id"], ERR_INVALID_FORMAT, "end_ms must be after start_ms, by 24 h at most")
        return
    try:
        target = resolve_camera(hass, entity_id)
    except TargetError as err:
        connection.send_error(msg["id"], err.code, err.message)
        return
    path = camera_path(target.entry_id, target.camera_id, PLAYLIST, start_ms, end_ms)
    connection.send_result(
        msg["id"],
        {
            "entity_id": entity_id,
            "url": sign(hass, path, LINK_EXPIRY, refresh_token_id=connection.refresh_token_id),
            "start_ms": start_ms,
            "end_ms": end_ms,
            "expires_ms": datetime_to_ms(dt_util.utcnow() + LINK_EXPIRY),
        },
    )


@callback
def async_register_commands(hass: HomeAssistant) -> None:
    """Register the card's commands (once per Home Assistant)."""
    async_register_command(hass, ws_timeline)
    async_register_command(hass, ws_playback)
