"""The engine's event bus: every change (motion, events, cameras, recording, storage) in one stream.

Publishers are worker threads and the event loop; ``publish`` is thread-safe and never
blocks. Two kinds of consumers:

- *listeners*: plain callbacks run in the publishing thread (tests, the status cache);
  they must be quick, and an exception in one is logged and ignored;
- *subscriptions*: bounded asyncio queues read on the event loop (API clients). A
  subscriber that falls ``maxsize`` messages behind is cut off (its next ``get`` raises
  :class:`SubscriptionOverflow`) so a slow client can never hold memory or the engine.

Message kinds and their data are listed in ``KINDS``; the API documents them for clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_LOGGER = logging.getLogger(__name__)

KINDS = (
    "camera_online",  # {camera_id}
    "camera_offline",  # {camera_id, error}
    "recording",  # {camera_id, recording}: on change only
    "segment",  # {camera_id, start_ms, end_ms}
    "motion",  # {camera_id, zone (None = whole camera), active, score, at_ms, first_seen_mono, detected_mono}
    "event_started",  # {camera_id, event}
    "event_updated",  # {camera_id, event}
    "event_ended",  # {camera_id, event}
    "camera_settings",  # {camera_id, record_mode, motion_enabled}
    "storage_warning",  # {code, message, active}
    "camera_event",  # {camera_id, detection, topic, active, at_ms}: what an ONVIF camera itself reports
    "cameras_changed",  # {added, removed, cameras}: a camera was added or removed at run time
)
DEFAULT_QUEUE = 1000

Listener = Callable[["BusMessage"], None]


@dataclass(frozen=True, slots=True)
class BusMessage:
    kind: str
    data: dict[str, Any]
    # time.monotonic() when published: lets clients and benchmarks measure delivery latency.
    published_mono: float = field(default_factory=time.monotonic)

    @property
    def camera_id(self) -> str | None:
        value = self.data.get("camera_id")
        return value if isinstance(value, str) else None


class SubscriptionOverflow(Exception):
    """The subscriber fell too far behind and was cut off."""


class Subscription:
    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[BusMessage | None] = asyncio.Queue(maxsize + 1)
        self.maxsize = maxsize
        self.overflowed = False
        self.closed = False

    def _deliver(self, message: BusMessage) -> None:
        if self.closed:
            return
        if self._queue.qsize() >= self.maxsize:
            # Cut the subscriber off; the extra slot holds the wake-up marker.
            self.overflowed = True
            self.close()
            return
        self._queue.put_nowait(message)

    async def get(self) -> BusMessage:
        message = await self._queue.get()
        if message is None:
            if self.overflowed:
                raise SubscriptionOverflow(f"fell more than {self.maxsize} messages behind")
            raise asyncio.CancelledError  # closed by its owner
        return message

    def pending(self) -> int:
        return self._queue.qsize()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._bus._remove(self)
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)


class EventBus:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscriptions: list[Subscription] = []
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return remove

    def subscribe(self, maxsize: int = DEFAULT_QUEUE) -> Subscription:
        """A new subscription (call on the event loop)."""
        subscription = Subscription(self, maxsize)
        with self._lock:
            self._subscriptions.append(subscription)
        return subscription

    def _remove(self, subscription: Subscription) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._subscriptions.remove(subscription)

    def publish(self, kind: str, data: dict[str, Any]) -> BusMessage:
        """Publish from any thread; never blocks."""
        message = BusMessage(kind, data)
        with self._lock:
            listeners = list(self._listeners)
            has_subscribers = bool(self._subscriptions)
        for listener in listeners:
            try:
                listener(message)
            except Exception:  # a listener's bug must not reach a camera's packet loop
                _LOGGER.exception("Bus listener failed for %s", kind)
        loop = self._loop
        if has_subscribers and loop is not None and not loop.is_closed():
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                self._fan_out(message)
            else:
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    loop.call_soon_threadsafe(self._fan_out, message)
        return message

    def _fan_out(self, message: BusMessage) -> None:
        with self._lock:
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription._deliver(message)
