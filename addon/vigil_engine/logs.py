"""Logging for the engine process: one format, and every record scrubbed of secrets.

The redactor removes the secrets the engine knows (passwords, tokens). It cannot know what
the ONVIF client derives from a password, so the client libraries stay at INFO whatever the
engine's level: at DEBUG, ``zeep.transports`` and ``onvif.zeep_aiohttp`` log every SOAP
request, whose WS-Security header holds the password digest with its nonce and creation
time (enough to guess the password offline), and ``httpcore`` logs response headers such
as an HTTP Digest challenge. ``httpx`` logs each request's URL at INFO only; it is pinned
too so that a future DEBUG line cannot slip through.
"""

from __future__ import annotations

import logging
import sys

import av.logging

from .redact import SecretFilter

# Loggers (with their children) that never log below INFO, see above.
QUIET_LOGGERS = ("zeep", "onvif", "httpx", "httpcore", "urllib3")


class _QuietLibraries(logging.Filter):
    """Drops DEBUG records of the quiet loggers even if a child logger was given its own level."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.INFO:
            return True
        return not any(record.name == name or record.name.startswith(f"{name}.") for name in QUIET_LOGGERS)


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_QuietLibraries())
    handler.addFilter(SecretFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in QUIET_LOGGERS:
        # The level spares formatting the records; the handler's filter is the guarantee.
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))
    # FFmpeg's own messages go through Python logging (and so through the filter) only when
    # debugging; otherwise they stay off: they repeat what our error classification says.
    if level == "debug":
        av.logging.set_level(av.logging.WARNING)
    else:
        av.logging.set_level(None)
