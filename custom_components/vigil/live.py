"""Live view of cameras whose source Home Assistant cannot open itself (``demo://``, ``file://``).

Home Assistant's stream component plays a camera by opening its ``stream_source()`` with
FFmpeg. An RTSP (or HTTP) camera's own URL is the best source: no detour, the least delay. The
engine's other sources, its built-in demo scene and the files it replays, are nothing FFmpeg
could open from Home Assistant (``demo://`` fails with "Protocol not found" every few seconds
for as long as someone looks). For those the engine serves the fragments it writes as a live
HLS playlist, and the source is that playlist's URL, signed by the engine (FFmpeg cannot send
the API token).

The signature expires (the engine signs for a day at most), and Home Assistant keeps a
camera's stream, with the URL it was made with, for as long as the entity lives: it asks
``stream_source()`` only to make it. So the link is renewed before it expires, and the
stream is handed the new one: a running stream reconnects at once (``update_source``, as
the Nest integration renews its expiring RTSP links), a stopped one just starts with it.

The link never reaches a log of ours, and Home Assistant's stream logger for the camera
(which prints the source when it starts, and FFmpeg's error with the URL when it fails) gets
a filter that blanks the signature.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Final
from urllib.parse import urlsplit

from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later

from .client import VigilClient, VigilError
from .const import LOGGER

# What FFmpeg in Home Assistant opens by itself: the camera's own stream.
DIRECT_SCHEMES: Final = frozenset({"rtsp", "rtsps", "http", "https"})
# How long a link works (the engine's longest signature), and how long before it expires it is renewed.
LINK_SECONDS: Final = 24 * 3600
RENEW_BEFORE_SECONDS: Final = 3600
RETRY_SECONDS: Final = 60
# The engine's signature in a URL (``sig=<expiry>.<mac>``).
SIGNATURE: Final = re.compile(r"(\bsig=)[^&\s'\")]+")
STREAM_LOGGER: Final = "homeassistant.components.stream.stream"


def plays_directly(url: str) -> bool:
    """Home Assistant's stream component can open this camera URL itself."""
    return urlsplit(url).scheme.lower() in DIRECT_SCHEMES


def redact_signatures(text: str) -> str:
    return SIGNATURE.sub(r"\1****", text)


class RedactSignatures(logging.Filter):
    """Blank the engine's signatures in the records of one logger (the message is formatted first)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if SIGNATURE.search(message):
            record.msg, record.args = redact_signatures(message), None
        return True


class LiveLink:
    """The signed live-playlist URL of one camera, renewed before it expires."""

    def __init__(
        self,
        hass: HomeAssistant,
        client: VigilClient,
        camera_id: str,
        on_renewed: Callable[[str], Awaitable[None]],
        *,
        link_seconds: int = LINK_SECONDS,
        renew_before_seconds: int = RENEW_BEFORE_SECONDS,
    ) -> None:
        self._hass = hass
        self._client = client
        self._camera_id = camera_id
        self._on_renewed = on_renewed
        self._link_seconds = link_seconds
        self._renew_before = renew_before_seconds
        self._cancel: CALLBACK_TYPE | None = None

    async def url(self) -> str:
        """A fresh link (raises the client's errors); its renewal is scheduled."""
        url, _expires_ms = await self._client.signed_live_url(self._camera_id, self._link_seconds)
        # Counted from now rather than from the engine's expiry instant: the two machines'
        # clocks need not agree, the length of the signature does.
        self._schedule(max(RETRY_SECONDS, self._link_seconds - self._renew_before))
        return url

    def _schedule(self, delay: float) -> None:
        self.cancel()
        self._cancel = async_call_later(self._hass, delay, HassJob(self._renew, cancel_on_shutdown=True))

    @callback
    def _renew(self, _now: datetime) -> None:
        self._cancel = None
        self._hass.async_create_background_task(self._async_renew(), f"vigil live link {self._camera_id}")

    async def _async_renew(self) -> None:
        try:
            url = await self.url()
        except VigilError as err:
            LOGGER.debug("Cannot renew the live link of %s (retrying): %s", self._camera_id, type(err).__name__)
            self._schedule(RETRY_SECONDS)
            return
        await self._on_renewed(url)

    @callback
    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel()
            self._cancel = None
