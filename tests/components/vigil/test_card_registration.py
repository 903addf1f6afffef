"""The card's bundle, served and loaded on every page, and the Cameras panel: registered by the integration.

Home Assistant's own frontend component is set up here (a real installation always has it,
before any integration); the bundle is fetched the way the browser fetches it.
"""

from __future__ import annotations

import hashlib

from homeassistant.components.frontend import DATA_EXTRA_MODULE_URL, DATA_PANELS
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.vigil.card import BUNDLE, PANEL_ELEMENT, PANEL_URL_PATH, STATIC_URL, bundle_url
from tests.components.vigil.conftest import SetupEntry


async def test_bundle_is_served_and_loaded_on_every_page(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator, setup_entry: SetupEntry
) -> None:
    assert await async_setup_component(hass, "frontend", {})
    await setup_entry()

    bundle = BUNDLE.read_bytes()
    version = hashlib.sha256(bundle).hexdigest()[:16]
    url = bundle_url(version)
    assert url == f"{STATIC_URL}/vigil-timeline-card.js?v={version}"
    # On every page (the frontend's extra modules), no dashboard resource needed.
    assert url in hass.data[DATA_EXTRA_MODULE_URL].urls

    client = await hass_client_no_auth()
    response = await client.get(url)
    assert response.status == 200
    assert response.headers["Content-Type"] in ("text/javascript", "application/javascript")
    assert "max-age" in response.headers.get("Cache-Control", "")  # a new version changes the URL
    assert await response.read() == bundle

    panel = hass.data[DATA_PANELS][PANEL_URL_PATH]
    assert panel.sidebar_title == "Cameras"
    assert panel.sidebar_icon == "mdi:cctv"
    assert not panel.require_admin
    assert panel.config is not None
    custom = panel.config["_panel_custom"]
    assert (custom["name"], custom["module_url"]) == (PANEL_ELEMENT, url)


async def test_nothing_without_the_frontend(hass: HomeAssistant, setup_entry: SetupEntry) -> None:
    """A headless Home Assistant (no frontend component) sets the integration up all the same."""
    entry = await setup_entry()
    assert entry.state is ConfigEntryState.LOADED
    assert "frontend" not in hass.config.components
    assert DATA_EXTRA_MODULE_URL not in hass.data
    assert DATA_PANELS not in hass.data
