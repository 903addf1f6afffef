"""Diagnostics carry everything useful and no secret."""

from __future__ import annotations

import json

from homeassistant.components.diagnostics import REDACTED
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
    get_diagnostics_for_device,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.vigil.const import DOMAIN
from custom_components.vigil.diagnostics import redact_url
from tests.components.vigil.conftest import FRONT, EngineRig, SetupEntry


async def test_entry_and_device_diagnostics(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, engine: EngineRig, setup_entry: SetupEntry
) -> None:
    # A URL with credentials in it (a proxy's, say): it still works, and never shows.
    entry = await setup_entry(url=f"http://viewer:hunter2@127.0.0.1:{engine.port}")
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics)
    assert engine.token not in text
    assert "hunter2" not in text
    assert "viewer" not in text
    assert diagnostics["entry"]["data"] == {
        "url": f"http://{REDACTED}@127.0.0.1:{engine.port}",
        "token": REDACTED,
    }
    assert diagnostics["engine"]["available"] is True
    assert diagnostics["engine"]["server"]["instance_id"] == engine.instance_id
    assert diagnostics["engine"]["client_schema_version"] == 1
    assert diagnostics["cameras"][FRONT]["camera"]["online"] is True
    assert diagnostics["cameras"][FRONT]["camera"]["record_mode"] == "continuous"

    devices = dr.async_get(hass)
    front = devices.async_get_device_by_identifier((DOMAIN, f"{engine.instance_id}-{FRONT}"), entry.entry_id)
    hub = devices.async_get_device_by_identifier((DOMAIN, engine.instance_id), entry.entry_id)
    assert front is not None
    assert hub is not None
    camera = await get_diagnostics_for_device(hass, hass_client, entry, front)
    assert camera["camera_id"] == FRONT
    assert camera["camera"]["name"] == "Front"
    engine_diagnostics = await get_diagnostics_for_device(hass, hass_client, entry, hub)
    assert engine_diagnostics["engine"]["server"]["server_version"] == "0.1.0"
    assert engine.token not in json.dumps([camera, engine_diagnostics])


def test_redact_url() -> None:
    assert redact_url("http://127.0.0.1:8750") == "http://127.0.0.1:8750"
    assert redact_url("rtsp://admin:pw@10.0.0.2/stream") == f"rtsp://{REDACTED}@10.0.0.2/stream"
    assert redact_url("https://user@host:8443/x?y=1") == f"https://{REDACTED}@host:8443/x?y=1"
