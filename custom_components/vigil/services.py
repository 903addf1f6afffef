"""Actions (vigil.*): registered once in async_setup.

Most run on the targeted Vigil camera entities (``camera.py``); vigil.get_event_media takes an
event id and its engine's entry (``event_media.py``); vigil.restore_from_archive takes an engine's
entry (``archive_restore.py``); vigil.snooze_notifications takes cameras'
devices or any of their entities (``snooze.py``, which also answers the companion app's
"Snooze" button).
"""

from __future__ import annotations

import re

import probatio
from homeassistant.components.camera.const import DOMAIN as CAMERA_DOMAIN
from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant, SupportsResponse, callback
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import service

from .archive_restore import RESTORE_SCHEMA, SERVICE_RESTORE_FROM_ARCHIVE, async_restore_from_archive
from .const import (
    ATTR_END,
    ATTR_EVENT_ID,
    ATTR_EXPIRES_IN,
    ATTR_LABEL,
    ATTR_MEDIA,
    ATTR_MODE,
    ATTR_PAN,
    ATTR_PRESET,
    ATTR_SECONDS,
    ATTR_START,
    ATTR_TILT,
    ATTR_ZOOM,
    DOMAIN,
    PTZ_MODES,
    SERVICE_END_EVENT,
    SERVICE_EXPORT_CLIP,
    SERVICE_GET_EVENT_MEDIA,
    SERVICE_PTZ,
    SERVICE_SNAPSHOT,
    SERVICE_SNOOZE_NOTIFICATIONS,
    SERVICE_START_EVENT,
)
from .event_media import async_get_event_media
from .search import async_setup_search_service
from .signing import EVENT_MEDIA_FILES
from .snooze import SNOOZE_SCHEMA, async_setup_notification_actions, async_snooze_notifications

_UNIT = probatio.All(probatio.Coerce(float), probatio.Range(min=-1, max=1))

_EVENT_ID = re.compile(r"^[0-9a-f]{32}$")


def _event_id(value: object) -> str:
    text = cv.string(value).strip().lower()
    if not _EVENT_ID.fullmatch(text):
        raise probatio.Invalid("an event id is 32 hexadecimal characters")
    return text


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions."""
    service.async_register_platform_entity_service(
        hass,
        DOMAIN,
        SERVICE_EXPORT_CLIP,
        entity_domain=CAMERA_DOMAIN,
        schema={
            probatio.Optional(ATTR_START): cv.datetime,
            probatio.Optional(ATTR_END): cv.datetime,
            probatio.Optional(ATTR_EVENT_ID): _event_id,
        },
        func="async_export_clip",
        supports_response=SupportsResponse.OPTIONAL,
    )
    service.async_register_platform_entity_service(
        hass,
        DOMAIN,
        SERVICE_SNAPSHOT,
        entity_domain=CAMERA_DOMAIN,
        schema=None,
        func="async_snapshot",
        supports_response=SupportsResponse.OPTIONAL,
    )
    service.async_register_platform_entity_service(
        hass,
        DOMAIN,
        SERVICE_START_EVENT,
        entity_domain=CAMERA_DOMAIN,
        schema={probatio.Optional(ATTR_LABEL): probatio.All(cv.string, probatio.Length(max=100))},
        func="async_start_event",
        supports_response=SupportsResponse.OPTIONAL,
    )
    service.async_register_platform_entity_service(
        hass,
        DOMAIN,
        SERVICE_PTZ,
        entity_domain=CAMERA_DOMAIN,
        schema={
            probatio.Optional(ATTR_MODE, default="move"): probatio.In(PTZ_MODES),
            probatio.Optional(ATTR_PAN): _UNIT,
            probatio.Optional(ATTR_TILT): _UNIT,
            probatio.Optional(ATTR_ZOOM): _UNIT,
            probatio.Optional(ATTR_SECONDS): probatio.All(probatio.Coerce(float), probatio.Range(min=0.1, max=30)),
            probatio.Optional(ATTR_PRESET): probatio.All(cv.string, probatio.Length(min=1, max=64)),
        },
        func="async_ptz",
    )
    service.async_register_platform_entity_service(
        hass,
        DOMAIN,
        SERVICE_END_EVENT,
        entity_domain=CAMERA_DOMAIN,
        schema=None,
        func="async_end_event",
        supports_response=SupportsResponse.OPTIONAL,
    )
    # Not an entity action: the event is found by its id on its engine (the entry), and the
    # links are the answer, so there is nothing to do without asking for it.
    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_EVENT_MEDIA,
        async_get_event_media,
        schema=probatio.Schema(
            {
                probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
                probatio.Required(ATTR_EVENT_ID): _event_id,
                probatio.Optional(ATTR_MEDIA, default=list(EVENT_MEDIA_FILES)): probatio.All(
                    cv.ensure_list, probatio.Length(min=1), [probatio.In(list(EVENT_MEDIA_FILES))]
                ),
                probatio.Optional(ATTR_EXPIRES_IN): cv.positive_time_period,
            }
        ),
        supports_response=SupportsResponse.ONLY,
    )
    # Not an entity action either: it is the engine's (the entry), and its footage may be of cameras
    # this machine does not have (yet). It starts the restore; the "Archive restore" sensor follows it.
    hass.services.async_register(
        DOMAIN,
        SERVICE_RESTORE_FROM_ARCHIVE,
        async_restore_from_archive,
        schema=RESTORE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(DOMAIN, SERVICE_SNOOZE_NOTIFICATIONS, async_snooze_notifications, schema=SNOOZE_SCHEMA)
    async_setup_notification_actions(hass)
    async_setup_search_service(hass)
