"""Logging for the engine process: one format, and every record scrubbed of secrets."""

from __future__ import annotations

import logging
import sys

import av.logging

from .redact import SecretFilter


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # FFmpeg's own messages go through Python logging (and so through the filter) only when
    # debugging; otherwise they stay off: they repeat what our error classification says.
    if level == "debug":
        av.logging.set_level(av.logging.WARNING)
    else:
        av.logging.set_level(None)
