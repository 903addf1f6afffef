"""The real engine, in-process on its own event-loop thread: tests see its bus and its objects.

Used where a test needs what a separate process hides (bus messages with their monotonic
timestamps, worker counters, thread CPU time). Everything else runs as ``EngineProcess``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

from vigil_engine.bus import BusMessage
from vigil_engine.config import EngineConfig
from vigil_engine.engine import Engine


class EngineThread:
    def __init__(self, config: EngineConfig) -> None:
        self.engine = Engine(config)
        self.messages: list[BusMessage] = []
        self._cond = threading.Condition()
        self.engine.bus.add_listener(self._record)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="engine-loop", daemon=True)

    def _record(self, message: BusMessage) -> None:
        with self._cond:
            self.messages.append(message)
            self._cond.notify_all()

    def start(self) -> EngineThread:
        self._thread.start()
        self.call(self.engine.start)
        return self

    def call[T](self, func: Callable[..., Coroutine[Any, Any, T]], *args: Any, timeout: float = 30) -> T:
        """Run an engine coroutine on the engine's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(func(*args), self._loop).result(timeout)

    def wait_for(self, predicate: Callable[[BusMessage], bool], timeout: float) -> BusMessage:
        """The first message (already seen or to come) that matches, or AssertionError."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for message in self.messages:
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    kinds = [m.kind for m in self.messages[-20:]]
                    raise AssertionError(f"no matching bus message within {timeout} s; last kinds: {kinds}")
                self._cond.wait(remaining)

    def matching(self, predicate: Callable[[BusMessage], bool]) -> list[BusMessage]:
        with self._cond:
            return [m for m in self.messages if predicate(m)]

    def stop(self) -> None:
        if self._thread.is_alive():
            try:
                self.call(self.engine.stop, timeout=60)
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(10)
        self._loop.close()
