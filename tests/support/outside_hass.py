"""For test packages that do not run Home Assistant: its per-test thread check does not apply.

pytest-homeassistant-custom-component installs an autouse ``verify_cleanup`` fixture in every
test, Home Assistant's or not. After each test it fails on any thread still alive that Home
Assistant does not expect, and it checks them on *its* event loop. The engine's tests run their
own loop per test (pytest-asyncio), whose default-executor threads (``asyncio_N``, from
``asyncio.to_thread``) that loop shuts down a moment later: the check then fails at random on a
thread that is already on its way out. A conftest imports this fixture to replace the check in
packages that test the engine, the add-on or scripts; the Home Assistant tests keep it.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def verify_cleanup() -> None:
    """Nothing to verify: no Home Assistant runs here (see the module docstring)."""
