"""Add-on packaging tests: config.yaml and friends, the s6 scripts, the engine as the add-on runs it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_socket
import yaml

from tests.support.outside_hass import verify_cleanup  # noqa: F401 - replaces Home Assistant's check

ROOT = Path(__file__).resolve().parents[2]
ADDON = ROOT / "addon"


@pytest.fixture(autouse=True)
def _loopback_sockets() -> None:
    """The Home Assistant test plugin blocks sockets; these tests talk to the engine on loopback."""
    pytest_socket.enable_socket()
    pytest_socket.socket_allow_hosts(["127.0.0.1"])


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def addon_config() -> dict[str, Any]:
    config: dict[str, Any] = load_yaml(ADDON / "config.yaml")
    return config
