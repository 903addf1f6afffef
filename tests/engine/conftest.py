"""Engine test fixtures: the real engine process, recording real RTSP from the test camera."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_socket

from tests.support.engine_process import EngineProcess
from tests.support.outside_hass import verify_cleanup  # noqa: F401 - replaces Home Assistant's check

EngineFactory = Callable[..., EngineProcess]


@pytest.fixture(autouse=True)
def _loopback_sockets() -> None:
    """Engine tests talk to real servers on loopback.

    The Home Assistant test plugin (installed for the integration's tests) blocks Python
    sockets before every test; engine tests allow them again, still only to 127.0.0.1.
    Module-scoped fixtures that open sockets call ``enable_loopback_sockets`` themselves,
    because they are set up before any function-scoped fixture.
    """
    enable_loopback_sockets()


def enable_loopback_sockets() -> None:
    pytest_socket.enable_socket()
    pytest_socket.socket_allow_hosts(["127.0.0.1"])


@pytest.fixture
def engine_factory(tmp_path: Path) -> Iterator[EngineFactory]:
    """Start engine processes on a config; every one is stopped at teardown."""
    started: list[EngineProcess] = []

    def make(config: dict[str, Any], name: str = "engine", start: bool = True) -> EngineProcess:
        engine = EngineProcess(tmp_path / name, config)
        started.append(engine)
        if start:
            engine.start()
        return engine

    yield make
    for engine in started:
        engine.stop()


# The detection model for tests: the shared copy beside the checkout (the product never reads it;
# a test engine is given it as its configured model).
SHARED_MODEL = Path(__file__).resolve().parents[3] / "shared" / "models" / "yolox_nano.onnx"
