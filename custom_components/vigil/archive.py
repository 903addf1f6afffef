"""The engine's off-site archive in Home Assistant: its entities appear with it, and a repair issue
reports a store that has failed for too long.

The engine says how its archive is doing in ``Storage.archive`` (schema version 4; null when no
archive is configured, and from older engines), which the hub polls with the storage figures. A
short outage of the store is normal (the queue waits, nothing is lost, the "Archive problem"
sensor shows it at once), so the repair issue waits ``archive_issue_minutes`` from when the
failure began (the engine's ``failing_since_ms``): its text says what the user must fix (the
store refuses the credentials, or the bucket does not exist) or check (it cannot be reached). It
goes as soon as the store works again. The error the engine reports holds no credential (the
engine redacts it); it may name the store's address and bucket, which the user needs to see.
The restore from the archive (``archive_restore.py``: the action and its "Archive restore"
sensor) is one of the archive's entities too: ``async_add_archive_entities`` adds that sensor
with the sensor platform's figures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from .client import ArchiveStatus
from .const import DOMAIN, ISSUE_ARCHIVE, LOGGER

if TYPE_CHECKING:
    from .hub import VigilHub

# What the user must fix in the add-on's configuration: the other kinds are a store that does not answer.
REFUSED_KINDS = frozenset({"credentials", "bucket"})


def is_failing(status: ArchiveStatus | None) -> bool:
    """The archive's store fails as a whole (the queue waits for it)."""
    return status is not None and not status.reachable


class ArchiveWatch:
    """Raises and clears the repair issue of one engine's archive."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, threshold_ms: Callable[[], int]) -> None:
        self.hass = hass
        self.entry = entry
        self._threshold_ms = threshold_ms
        self._status: ArchiveStatus | None = None
        self._seen_failing_ms: int | None = None  # when Home Assistant first saw the failure
        self._timer: CALLBACK_TYPE | None = None
        self._raised: tuple[str, str] | None = None  # the issue's translation key and error, once raised

    @property
    def issue_id(self) -> str:
        return f"{ISSUE_ARCHIVE}_{self.entry.entry_id}"

    @property
    def failing_since_ms(self) -> int | None:
        """When the current failure began: the engine's time, or when it was first seen here."""
        if not is_failing(self._status):
            return None
        assert self._status is not None
        return self._status.failing_since_ms or self._seen_failing_ms

    @callback
    def update(self, status: ArchiveStatus | None, now_ms: int) -> None:
        """The archive as the engine last described it."""
        self._status = status
        if not is_failing(status):
            self._seen_failing_ms = None
            self._cancel_timer()
            if self._raised is not None:
                LOGGER.info("The Vigil engine's off-site archive works again")
                self._raised = None
                ir.async_delete_issue(self.hass, DOMAIN, self.issue_id)
            return
        if self._seen_failing_ms is None:
            self._seen_failing_ms = now_ms
        if self._raised is not None:
            self._raise()  # the error may have changed (credentials fixed, now unreachable)
            return
        since = self.failing_since_ms or now_ms
        remaining_ms = since + self._threshold_ms() - now_ms
        if remaining_ms <= 0:
            self._cancel_timer()
            self._raise()
        elif self._timer is None:
            self._timer = async_call_later(self.hass, remaining_ms / 1000, HassJob(self._due, cancel_on_shutdown=True))

    @callback
    def stop(self) -> None:
        self._cancel_timer()

    @callback
    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer()
            self._timer = None

    @callback
    def _due(self, _now: datetime) -> None:
        self._timer = None
        if is_failing(self._status):
            self._raise()

    @callback
    def _raise(self) -> None:
        status = self._status
        assert status is not None
        key = "archive_refused" if status.error_kind in REFUSED_KINDS else "archive_unreachable"
        error = status.last_error or "-"
        if self._raised == (key, error):
            return
        if self._raised is None:
            LOGGER.warning("The Vigil engine's off-site archive has failed for too long: %s", error)
        self._raised = (key, error)
        since = self.failing_since_ms
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self.issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR if key == "archive_refused" else ir.IssueSeverity.WARNING,
            translation_key=key,
            translation_placeholders={
                "title": self.entry.title,
                "since": "-"
                if since is None
                else dt_util.as_local(dt_util.utc_from_timestamp(since / 1000)).strftime("%Y-%m-%d %H:%M"),
                "error": error,
            },
        )


@callback
def async_add_archive_entities(
    hub: VigilHub,
    platform: Platform,
    keys: Iterable[str],
    add_entities: Callable[[Iterable[Entity]], None],
    make: Callable[[], Iterable[Entity]],
) -> None:
    """Add the archive's entities (of ``keys``) while the engine has an archive, and remove them
    from the registry while it has none: checked at setup and after every reconnection, as the
    engine's configuration changes only with a restart. An engine without an archive, an older
    one included, never gets them."""
    keys = list(keys)
    if platform == Platform.SENSOR:
        # The restore's sensor is an archive entity too (``archive_restore``). Imported here: that
        # module's entities import the hub, which imports this module.
        from .archive_restore import RESTORE_KEY, VigilArchiveRestoreSensor  # noqa: PLC0415

        keys.append(RESTORE_KEY)
        figures = make

        def make() -> Iterable[Entity]:
            return [*figures(), VigilArchiveRestoreSensor(hub)]

    unique_ids = {f"{hub.instance_id}-{key}" for key in keys}
    added = False

    @callback
    def check(_camera_ids: list[str] | None = None) -> None:
        nonlocal added
        if hub.storage.archive is not None:
            if not added:
                added = True
                add_entities(make())
            return
        added = False
        registry = er.async_get(hub.hass)
        for entry in er.async_entries_for_config_entry(registry, hub.entry.entry_id):
            if entry.domain == platform and entry.unique_id in unique_ids:
                LOGGER.debug("The Vigil engine has no off-site archive now: removing %s", entry.entity_id)
                registry.async_remove(entry.entity_id)

    check()
    hub.entry.async_on_unload(hub.async_add_cameras_listener(check))
