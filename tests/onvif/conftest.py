"""ONVIF tests: loopback sockets only (ipycam, the PullPoint double, the discovery responder)."""

from __future__ import annotations

import pytest

from tests.engine.conftest import enable_loopback_sockets
from tests.support.outside_hass import verify_cleanup  # noqa: F401 - replaces Home Assistant's check


@pytest.fixture(autouse=True)
def _loopback_sockets() -> None:
    enable_loopback_sockets()
