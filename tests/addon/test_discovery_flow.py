"""From the add-on's announcement to a working entry, with nothing hand-written in between.

The engine is started exactly as the add-on starts it (the s6 ``run`` script under the
stand-in for bashio, on an options.json made by the Supervisor's rules), and the payload is
the one the script's announcer sends through ``bashio::discovery``. Home Assistant's side is
what its ``hassio`` integration does with a Supervisor discovery message
(``homeassistant/components/hassio/discovery.py``): add the add-on's name to the config and
start the service's config flow with a ``HassioServiceInfo``. The flow must end in a loaded
entry whose camera serves a still image from the engine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from aiohttp.resolver import AsyncResolver
from homeassistant.components.camera import async_get_image
from homeassistant.config_entries import SOURCE_HASSIO, ConfigEntryState
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import discovery_flow
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.service_info.hassio import HassioServiceInfo

import custom_components.vigil  # noqa: F401 - imported before any hass fixture (see the HA dev notes)
from custom_components.vigil.const import CONF_TOKEN, DOMAIN
from tests.addon.test_run_script import DEMO_CAMERA, AddonProcess, _addon_options, _config
from tests.support.engine_process import EngineProcess

# The Supervisor's slug for an add-on from a repository: the first 8 hex digits of the SHA-1
# of the repository's URL, then the add-on's own slug (supervisor/store/utils.py).
REPOSITORY_URL = "https://github.com/vigil-nvr/vigil"
ADDON_SLUG = f"{hashlib.sha1(REPOSITORY_URL.lower().encode()).hexdigest()[:8]}_vigil"
DISCOVERY_UUID = "0c4d2b6f6f4e4a9c8a0e5f3b2d1c7e9a"


class _Resolver(AsyncResolver):
    """aiohttp's c-ares resolver, closed the way Home Assistant closes its own (``real_close``)."""

    async def real_close(self) -> None:
        await super().close()


@pytest.fixture
def host_names() -> Iterator[None]:
    """Let Home Assistant resolve host names as it does outside tests (for the announced host).

    The test plugin swaps Home Assistant's resolver for one made once per session, on the
    session's event loop, which cannot serve a test's own loop: every name that is not an IP
    address then fails. This gives Home Assistant a resolver of the test's own, the one its
    resolver uses for names outside ``.local`` (c-ares, which reads /etc/hosts). Home
    Assistant closes it when it stops.
    """
    with patch("homeassistant.helpers.aiohttp_client._async_make_resolver", side_effect=lambda hass: _Resolver()):
        yield


@pytest.fixture
def announced(tmp_path: Path) -> Iterator[tuple[AddonProcess, dict[str, Any]]]:
    """The add-on running with the demo camera, and what it announced (once its API took the token)."""
    options = _addon_options(tmp_path, cameras=[DEMO_CAMERA], segment_seconds=2, min_free="10MB")
    addon = AddonProcess(tmp_path / "addon", options)
    addon.start()
    try:
        (announcement,) = addon.wait_for(addon.announcements, 30, "the discovery announcement")
        # A camera that has recorded, so that its still image exists.
        addon.wait_for(lambda: addon.segments("demo"), 30, "a recorded segment")
        yield addon, announcement
    finally:
        addon.stop()
        addon.kill_leftovers()


async def test_the_add_on_announcement_creates_a_working_entry(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    host_names: None,
    announced: tuple[AddonProcess, dict[str, Any]],
) -> None:
    addon, announcement = announced
    assert announcement["service"] == DOMAIN
    payload = dict(announcement["config"])
    # The announced host is the add-on container's host name, here this machine's: Home
    # Assistant resolves it with its own resolver (which reads /etc/hosts; the test plugin
    # blocks only the socket module's look-ups) and must reach the engine through it.
    token = payload["token"]

    # What the hassio integration does with the Supervisor's discovery message.
    addon_name = _config()["name"]
    payload["addon"] = addon_name
    discovery_key = discovery_flow.DiscoveryKey(domain="hassio", key=DISCOVERY_UUID, version=1)
    discovery_flow.async_create_flow(
        hass,
        announcement["service"],
        context={"source": SOURCE_HASSIO},
        data=HassioServiceInfo(config=payload, name=addon_name, slug=ADDON_SLUG, uuid=DISCOVERY_UUID),
        discovery_key=discovery_key,
    )
    await hass.async_block_till_done(wait_background_tasks=True)  # the flow starts as a background task

    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["step_id"] == "hassio_confirm"
    assert flow["context"]["title_placeholders"] == {"name": addon_name}
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY, (
        f"{result.get('errors')}: the engine listens on 127.0.0.1 here, so {payload['host']} must resolve to it"
    )
    assert result["title"] == addon_name
    engine_url = f"http://{payload['host']}:{payload['port']}"
    assert result["data"] == {CONF_URL: engine_url, CONF_TOKEN: token}
    entry = result["result"]
    try:
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        assert entry.unique_id == _instance_id(addon)

        # The demo camera as an entity with a still image from the engine.
        entity_id = er.async_get(hass).async_get_entity_id("camera", DOMAIN, f"{entry.unique_id}-demo-camera")
        assert entity_id is not None
        state = hass.states.get(entity_id)
        assert state is not None
        assert state.state == "recording"
        image = await async_get_image(hass, entity_id)
        assert image.content_type == "image/jpeg"
        assert image.content[:2] == b"\xff\xd8"
        assert len(image.content) > 1000

        # The Supervisor announces again on every start of the add-on: nothing new then. (The
        # flow directly, as discovery_flow starts it: its background task cannot be waited for
        # now that the entry's own connection runs as one.)
        again = await hass.config_entries.flow.async_init(
            DOMAIN,
            context={"source": SOURCE_HASSIO, "discovery_key": discovery_key},
            data=HassioServiceInfo(config=payload, name=addon_name, slug=ADDON_SLUG, uuid=DISCOVERY_UUID),
        )
        assert again["type"] is FlowResultType.ABORT
        assert again["reason"] == "already_configured"
        assert [e.entry_id for e in hass.config_entries.async_entries(DOMAIN)] == [entry.entry_id]
        assert entry.data == {CONF_URL: engine_url, CONF_TOKEN: token}
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


def _instance_id(addon: EngineProcess) -> str:
    rows = addon.query("SELECT value FROM meta WHERE key = 'instance_id'")
    assert rows, "the engine's index has no instance id"
    return str(rows[0]["value"])
