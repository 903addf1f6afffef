"""The Vigil card in Home Assistant's frontend: served, loaded on every page, and given a sidebar panel.

The bundle (``frontend/vigil-timeline-card.js``, built from ``frontend/`` at the
repository's root and shipped with the integration) defines:

* the ``custom:vigil-timeline-card`` card, listed in the card picker with a preview and a
  visual editor;
* the ``custom:vigil`` dashboard strategy ("Vigil cameras" under *Settings → Dashboards →
  Add dashboard*): a view with a card per Vigil camera;
* the ``vigil-panel`` element of the *Cameras* sidebar panel registered here.

Home Assistant serves the bundle from a static path and adds it to every page
(``frontend.add_extra_js_url``), so no dashboard resource has to be added by hand. The URL
carries a hash of the bundle's content: a new version is fetched at once, an unchanged one
comes from the browser's cache (the static path is served with long cache headers).

The panel is there because a fresh install must show the cameras somewhere obvious:
Home Assistant's default dashboard lists only devices assigned to an area, and Vigil's
camera devices have none until the user assigns them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final

from homeassistant.components import frontend, panel_custom
from homeassistant.components.http.server import StaticPathConfig
from homeassistant.core import HomeAssistant

from .const import DOMAIN

BUNDLE: Final = Path(__file__).parent / "frontend" / "vigil-timeline-card.js"
STATIC_URL: Final = "/vigil-frontend"
PANEL_URL_PATH: Final = DOMAIN
PANEL_ELEMENT: Final = "vigil-panel"
PANEL_TITLE: Final = "Cameras"
PANEL_ICON: Final = "mdi:cctv"


def bundle_version(path: Path = BUNDLE) -> str:
    """A short hash of the bundle: its URL changes exactly when its content does (runs in the executor)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def bundle_url(version: str) -> str:
    return f"{STATIC_URL}/{BUNDLE.name}?v={version}"


async def async_register_frontend(hass: HomeAssistant) -> None:
    """Serve the bundle, load it on every page and add the sidebar panel (once per Home Assistant).

    Nothing is done without Home Assistant's frontend (always loaded in a real installation,
    before any integration; a headless test instance may not have it).
    """
    if "frontend" not in hass.config.components:
        return
    version = await hass.async_add_executor_job(bundle_version, BUNDLE)
    await hass.http.async_register_static_paths([StaticPathConfig(STATIC_URL, str(BUNDLE.parent), True)])
    url = bundle_url(version)
    frontend.add_extra_js_url(hass, url)
    await panel_custom.async_register_panel(
        hass,
        frontend_url_path=PANEL_URL_PATH,
        webcomponent_name=PANEL_ELEMENT,
        sidebar_title=PANEL_TITLE,
        sidebar_icon=PANEL_ICON,
        module_url=url,
        require_admin=False,
    )
