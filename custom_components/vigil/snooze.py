"""Snoozed notifications: per camera, until a time; kept across restarts; one tap on a notification sets it.

Home Assistant's side only (the engine records and detects as ever): a notification automation
(the blueprint) checks the camera's "Notifications snoozed until" sensor and stays silent until
then. The time is set by the vigil.snooze_notifications action (a duration; 0 ends the snooze)
or by the companion app's ``mobile_app_notification_action`` event for the action id the
blueprint puts on its notifications' "Snooze" button (:func:`snooze_action`), so one tap
snoozes the camera with no automation of the user's own. The times are kept in the config
entry's store (``.storage/vigil.snooze.<entry id>``), and an expired one is dropped when due.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import probatio
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_DEVICE_ID, ATTR_ENTITY_ID
from homeassistant.core import CALLBACK_TYPE, Event, HassJob, HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import target as target_helpers
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import ATTR_DURATION, DOMAIN, LOGGER, MAX_SNOOZE_MINUTES, SNOOZE_ACTION_PREFIX

if TYPE_CHECKING:
    from .hub import VigilHub

STORAGE_VERSION: Final = 1
SAVE_DELAY_SECONDS: Final = 1
# The companion apps' event for a tapped notification button (both apps send the action id as "action").
NOTIFICATION_ACTION_EVENT: Final = "mobile_app_notification_action"
_ACTION = re.compile(rf"^{SNOOZE_ACTION_PREFIX}:(?P<entry>[A-Za-z0-9]+):(?P<camera>[a-z0-9_]+):(?P<minutes>\d{{1,6}})$")


def snooze_action(entry_id: str, camera_id: str, minutes: int) -> str:
    """The notification action id that snoozes the camera for ``minutes`` (what the blueprint builds)."""
    return f"{SNOOZE_ACTION_PREFIX}:{entry_id}:{camera_id}:{minutes}"


class Snoozes:
    """The snooze times of one engine's cameras, persisted; ``notify(camera_id)`` when one changes."""

    def __init__(self, hass: HomeAssistant, entry_id: str, notify: Callable[[str], None]) -> None:
        self.hass = hass
        self._notify = notify
        self._store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, f"{DOMAIN}.snooze.{entry_id}")
        self._until: dict[str, datetime] = {}
        self._timers: dict[str, CALLBACK_TYPE] = {}
        self._dirty = False  # changed since the store last wrote

    async def async_load(self) -> None:
        """Read the times kept; those that have passed are dropped."""
        data = await self._store.async_load() or {}
        cameras = data.get("cameras")
        now = dt_util.utcnow()
        for camera_id, text in (cameras if isinstance(cameras, dict) else {}).items():
            until = dt_util.parse_datetime(text) if isinstance(text, str) else None
            if until is not None and until.tzinfo is not None and until > now:
                self._until[str(camera_id)] = until
                self._schedule(str(camera_id), until)

    async def async_stop(self) -> None:
        """Stop the expiry timers and write what changed (an entry reload reads it back at once)."""
        for cancel in self._timers.values():
            cancel()
        self._timers.clear()
        if self._dirty:
            await self._store.async_save(self._data())

    def until(self, camera_id: str) -> datetime | None:
        """When the camera's notifications resume (None: they are not snoozed)."""
        until = self._until.get(camera_id)
        return until if until is not None and until > dt_util.utcnow() else None

    def snapshot(self) -> dict[str, str]:
        """The snoozes in force, for diagnostics."""
        return {camera_id: until.isoformat() for camera_id in self._until if (until := self.until(camera_id))}

    @callback
    def async_snooze(self, camera_id: str, duration: timedelta) -> datetime | None:
        """Snooze for ``duration`` from now (zero or less: resume now); when they resume."""
        if (cancel := self._timers.pop(camera_id, None)) is not None:
            cancel()
        if duration <= timedelta(0):
            self._until.pop(camera_id, None)
            until = None
        else:
            until = dt_util.utcnow() + duration
            self._until[camera_id] = until
            self._schedule(camera_id, until)
        self._save()
        self._notify(camera_id)
        return until

    @callback
    def async_forget(self, camera_id: str) -> None:
        """A removed camera's snooze goes with it."""
        if camera_id in self._until:
            self.async_snooze(camera_id, timedelta(0))

    def _save(self) -> None:
        self._dirty = True
        self._store.async_delay_save(self._data, SAVE_DELAY_SECONDS)

    def _data(self) -> dict[str, Any]:
        self._dirty = False
        return {"cameras": {camera_id: until.isoformat() for camera_id, until in self._until.items()}}

    def _schedule(self, camera_id: str, until: datetime) -> None:
        @callback
        def expired(_now: datetime) -> None:
            self._timers.pop(camera_id, None)
            if self._until.get(camera_id) == until:
                self._until.pop(camera_id)
                self._save()
                self._notify(camera_id)

        self._timers[camera_id] = async_track_point_in_utc_time(
            self.hass, HassJob(expired, cancel_on_shutdown=True), until
        )


# --- the action and the companion app's button ---------------------------------------------

SNOOZE_SCHEMA: Final = cv.make_entity_service_schema(
    {
        probatio.Required(ATTR_DURATION): probatio.All(
            cv.time_period, probatio.Range(min=timedelta(0), max=timedelta(minutes=MAX_SNOOZE_MINUTES))
        )
    }
)


def _hub_of_entry(hass: HomeAssistant, entry_id: str) -> VigilHub | None:
    """The hub of a loaded Vigil entry."""
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN or entry.state is not ConfigEntryState.LOADED:
        return None
    hub: VigilHub = entry.runtime_data
    return hub


@callback
def _targeted_cameras(hass: HomeAssistant, call: ServiceCall) -> list[tuple[Snoozes, str]]:
    """The Vigil cameras the call targets: their devices, or any entity of them (camera, events, snooze sensor)."""
    selected = target_helpers.async_extract_referenced_entity_ids(
        hass, target_helpers.TargetSelection(call.data), primary_entities_only=False
    )
    entities = er.async_get(hass)
    device_ids = set(selected.referenced_devices)
    for entity_id in selected.referenced | selected.indirectly_referenced:
        if (found := entities.async_get(entity_id)) is not None and found.platform == DOMAIN and found.device_id:
            device_ids.add(found.device_id)
    devices = dr.async_get(hass)
    cameras: list[tuple[Snoozes, str]] = []
    for device_id in sorted(device_ids):
        device = devices.async_get(device_id)
        if device is None:
            continue
        for entry_id in device.config_entries:
            if (hub := _hub_of_entry(hass, entry_id)) is not None:
                cameras.extend(
                    (hub.snoozes, camera_id)
                    for camera_id in hub.cameras
                    if hub.camera_identifier(camera_id) in device.identifiers
                )
    return cameras


async def async_snooze_notifications(call: ServiceCall) -> None:
    """vigil.snooze_notifications: snooze (or, with a zero duration, resume) the targeted cameras."""
    cameras = _targeted_cameras(call.hass, call)
    if not cameras:
        targets = {key: call.data[key] for key in (ATTR_ENTITY_ID, ATTR_DEVICE_ID) if key in call.data}
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="no_camera_targeted",
            translation_placeholders={"target": str(targets or "nothing")},
        )
    for snoozes, camera_id in cameras:
        snoozes.async_snooze(camera_id, call.data[ATTR_DURATION])


@callback
def async_setup_notification_actions(hass: HomeAssistant) -> None:
    """Snooze a camera when its notification's "Snooze" button is tapped in the companion app."""

    @callback
    def snooze_from_app(event: Event[dict[str, Any]]) -> None:
        action = event.data.get("action")
        if not isinstance(action, str) or not action.startswith(f"{SNOOZE_ACTION_PREFIX}:"):
            return  # another integration's or automation's button
        match = _ACTION.fullmatch(action)
        if match is None:
            LOGGER.debug("Ignoring a malformed snooze action from the companion app")
            return
        hub = _hub_of_entry(hass, match["entry"])
        minutes = int(match["minutes"])
        if hub is None or not 0 < minutes <= MAX_SNOOZE_MINUTES:
            LOGGER.debug("Ignoring a snooze action for an unknown engine or an out-of-range duration")
            return
        if match["camera"] not in hub.cameras:
            LOGGER.debug("Ignoring a snooze action for camera %s, which the engine no longer has", match["camera"])
            return
        until = hub.snoozes.async_snooze(match["camera"], timedelta(minutes=minutes))
        LOGGER.info("Notifications of camera %s snoozed until %s (from the companion app)", match["camera"], until)

    hass.bus.async_listen(NOTIFICATION_ACTION_EVENT, snooze_from_app)
