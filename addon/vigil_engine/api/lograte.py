"""Log lines that strangers can cause, at most one per kind per interval.

Anyone who can reach the API's port can make it fail a request, refuse a connection or
reject a WebSocket, as often as they like. Each such kind of line goes through one
:class:`RateLimitedLog`: the first line of an interval is written, the rest are counted, and
the count is told in the next line written (``... (and 523 more like it in the last 60 s)``).
A flood therefore costs a few lines a minute, and none of what happened is hidden.

:class:`RateLimitFilter` does the same for the lines aiohttp itself writes (``aiohttp.server``,
``aiohttp.websocket``), keyed by their message template: those are bounded as well, whatever
path through aiohttp a client finds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

INTERVAL_S: Final = 60.0
# Distinct templates kept apart; beyond this (aiohttp formats a few messages itself), one window
# serves all the rest of a logger.
MAX_TEMPLATES: Final = 64
AIOHTTP_LOGGERS: Final = ("aiohttp.server", "aiohttp.websocket", "aiohttp.web")


class _Window:
    """When the next line of one kind may be written, and how many were held back meanwhile."""

    __slots__ = ("held_back", "next_at")

    def __init__(self) -> None:
        self.next_at = float("-inf")
        self.held_back = 0

    def admit(self, now: float, interval_s: float) -> int | None:
        """The number of lines held back since the last one if a line may be written now, else None."""
        if now < self.next_at:
            self.held_back += 1
            return None
        held_back, self.held_back = self.held_back, 0
        self.next_at = now + interval_s
        return held_back


class RateLimitedLog:
    """One kind of log line, written at most once per ``interval_s``."""

    def __init__(
        self,
        logger: logging.Logger,
        level: int,
        interval_s: float = INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._level = level
        self._interval_s = interval_s
        self._clock = clock
        self._window = _Window()

    def __call__(self, message: str, *args: Any) -> None:
        if not self._logger.isEnabledFor(self._level):
            return
        held_back = self._window.admit(self._clock(), self._interval_s)
        if held_back is None:
            return
        if held_back:
            message = f"{message} (and %d more like it in the last %d s)"
            args = (*args, held_back, round(self._interval_s))
        self._logger.log(self._level, message, *args)


class RateLimitFilter(logging.Filter):
    """Lets through at most one record per logger and message template per ``interval_s``.

    The templates are aiohttp's own constant strings, so the table stays small.
    """

    def __init__(self, interval_s: float = INTERVAL_S, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._interval_s = interval_s
        self._clock = clock
        self._windows: dict[tuple[str, str], _Window] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        if key not in self._windows and len(self._windows) >= MAX_TEMPLATES:
            key = (record.name, "")
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window()
        held_back = window.admit(self._clock(), self._interval_s)
        if held_back is None:
            return False
        if held_back and not isinstance(record.args, Mapping):
            record.msg = f"{record.msg} (and %d more like it in the last %d s)"
            record.args = (*_as_tuple(record.args), held_back, round(self._interval_s))
        return True

    def install(self) -> None:
        for name in AIOHTTP_LOGGERS:
            logging.getLogger(name).addFilter(self)

    def uninstall(self) -> None:
        for name in AIOHTTP_LOGGERS:
            logging.getLogger(name).removeFilter(self)


def _as_tuple(args: Any) -> tuple[Any, ...]:
    if args is None:
        return ()
    if isinstance(args, tuple):
        return args
    return (args,)
