"""The vigil.get_event_media action: signed links to an event's media, minted when asked for.

A signed link opens its snapshot, thumbnail or clip for anyone who holds it, without a login,
until it expires: just what a phone needs to show a notification's picture. So links are
never stored where others could read them later (states, bus events, the recorder's
database, backups); an automation asks for them at the moment it notifies, and gets them in
the action's response only. The event is looked up on its engine first: no link is made for
an event that does not exist.
"""

from __future__ import annotations

from datetime import timedelta

from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse
from homeassistant.helpers import service
from homeassistant.util import dt as dt_util

from .client import VigilError
from .const import ATTR_EVENT_ID, ATTR_EXPIRES_IN, ATTR_MEDIA, DOMAIN, MIN_LINK_EXPIRY_MINUTES
from .errors import translate_error, user_error
from .hub import VigilConfigEntry
from .signing import link_expiry, signed_event_links


def _expiry(hass: HomeAssistant, entry_id: str, asked: timedelta | None) -> timedelta:
    """How long the links work: the entry's option, or less if asked (at least 5 minutes)."""
    longest = link_expiry(hass, entry_id)
    if asked is None:
        return longest
    shortest = timedelta(minutes=MIN_LINK_EXPIRY_MINUTES)
    if not shortest <= asked <= longest:
        raise user_error(
            "expiry_out_of_range",
            expires_in=str(asked),
            min_minutes=str(MIN_LINK_EXPIRY_MINUTES),
            max_minutes=str(round(longest.total_seconds() / 60)),
        )
    return asked


async def async_get_event_media(call: ServiceCall) -> ServiceResponse:
    """Check the event exists; return signed links to the media asked for and when they expire."""
    # Without config_entry_id: the only loaded Vigil entry (Home Assistant's own checks and errors).
    entry: VigilConfigEntry = service.async_get_config_entry(call.hass, DOMAIN, call.data.get(ATTR_CONFIG_ENTRY_ID))
    hub = entry.runtime_data
    event_id: str = call.data[ATTR_EVENT_ID]
    expiry = _expiry(call.hass, entry.entry_id, call.data.get(ATTR_EXPIRES_IN))
    try:
        event = await hub.client.get_event(event_id)
    except VigilError as err:
        raise translate_error(err, event_id=event_id) from err
    # Rounded down, before signing: the links work at least until then.
    expires = (dt_util.utcnow() + expiry).replace(microsecond=0)
    media = list(dict.fromkeys(call.data[ATTR_MEDIA]))  # in the order asked, once each
    return {
        "event_id": event.id,
        "camera_id": event.camera_id,
        "has_snapshot": event.has_snapshot,
        "expires": expires.isoformat(),
        **signed_event_links(call.hass, entry.entry_id, event.id, media, expiry),
    }
