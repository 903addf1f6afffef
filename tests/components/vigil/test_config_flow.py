"""Config flow against the real engine: every step and every error path."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from homeassistant.config_entries import SOURCE_HASSIO, SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.hassio import HassioServiceInfo
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.vigil.const import (
    CONF_ARCHIVE_ISSUE_MINUTES,
    CONF_LINK_EXPIRY_MINUTES,
    CONF_OBJECT_ZONE_SENSORS,
    CONF_OFFLINE_ISSUE_MINUTES,
    CONF_RECORDING_THRESHOLD,
    CONF_TOKEN,
    CONF_ZONE_SENSORS,
    DOMAIN,
)
from tests.components.vigil.conftest import EngineRig, free_port, make_entry
from tests.components.vigil.servers import not_vigil


def _discovery(rig: EngineRig, port: int | None = None, token: str | None = None) -> HassioServiceInfo:
    return HassioServiceInfo(
        config={"host": "127.0.0.1", "port": port or rig.port, "token": token or rig.token},
        name="Vigil NVR",
        slug="abc123_vigil",
        uuid="1234",
    )


async def test_user_creates_the_entry(hass: HomeAssistant, engine: EngineRig) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}

    # A bare host:port is enough; the URL is stored in its normal form.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: f"127.0.0.1:{engine.port}", CONF_TOKEN: engine.token}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Vigil NVR (127.0.0.1)"
    assert result["data"] == {CONF_URL: engine.url, CONF_TOKEN: engine.token}
    entry = result["result"]
    assert entry.unique_id == engine.instance_id
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


@pytest.mark.parametrize(
    ("url", "token", "errors"),
    [
        ("http://", "x" * 20, {CONF_URL: "invalid_url"}),
        ("closed", "x" * 20, {CONF_URL: "cannot_connect"}),
        ("engine", "wrong-token-0000000000", {CONF_TOKEN: "invalid_auth"}),
    ],
)
async def test_user_errors_then_recovers(
    hass: HomeAssistant, engine: EngineRig, url: str, token: str, errors: dict[str, str]
) -> None:
    address = {"closed": f"http://127.0.0.1:{free_port()}", "engine": engine.url}.get(url, url)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_URL: address, CONF_TOKEN: token})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: engine.url, CONF_TOKEN: engine.token}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_user_wrong_server(hass: HomeAssistant, engine: EngineRig) -> None:
    """A real HTTP server that is not an engine (no /api/ws)."""
    async with not_vigil() as url:
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_URL: url, CONF_TOKEN: engine.token}
        )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_URL: "not_vigil"}


@pytest.mark.parametrize(("newer", "error"), [(True, "update_addon"), (False, "update_integration")])
async def test_user_schema_mismatch(hass: HomeAssistant, engine: EngineRig, newer: bool, error: str) -> None:
    """Fault injected: the integration pretends to speak a schema version the engine does not answer."""
    server_schema = engine.get("/api/info")["schema_version"]
    client_schema = server_schema + 1 if newer else 0
    with patch("custom_components.vigil.client.client.SCHEMA_VERSION", client_schema):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_URL: engine.url, CONF_TOKEN: engine.token}
        )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    assert result["description_placeholders"] == {
        "server_schema": str(server_schema),
        "client_schema": str(client_schema),
    }


async def test_user_unexpected_error(hass: HomeAssistant, engine: EngineRig) -> None:
    """Fault injected: connecting raises something no one expected."""
    with patch("custom_components.vigil.config_flow.VigilClient.connect", side_effect=RuntimeError("boom")):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_URL: engine.url, CONF_TOKEN: engine.token}
        )
    assert result["errors"] == {"base": "unknown"}


async def test_user_already_configured(hass: HomeAssistant, engine: EngineRig) -> None:
    make_entry(engine).add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: engine.url, CONF_TOKEN: engine.token}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_hassio_discovery_confirm(hass: HomeAssistant, engine: EngineRig) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_HASSIO}, data=_discovery(engine)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "hassio_confirm"
    assert result["description_placeholders"] == {"addon": "Vigil NVR"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Vigil NVR"
    assert result["data"] == {CONF_URL: engine.url, CONF_TOKEN: engine.token}
    assert result["result"].unique_id == engine.instance_id


async def test_hassio_discovery_updates_a_known_engine(hass: HomeAssistant, engine: EngineRig) -> None:
    """The add-on moved (new port, new token): the entry follows without asking."""
    entry = make_entry(engine, url="http://127.0.0.1:1", token="old-token-00000000000")
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_HASSIO}, data=_discovery(engine)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data == {CONF_URL: engine.url, CONF_TOKEN: engine.token}


async def test_hassio_discovery_engine_not_up_yet(hass: HomeAssistant, engine: EngineRig) -> None:
    """Discovered while the API is still down: the confirm step shows the error, then works."""
    port = free_port()
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_HASSIO}, data=_discovery(engine, port=port)
    )
    assert result["step_id"] == "hassio_confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_URL: "cannot_connect"}


async def test_hassio_confirm_aborts_when_configured_meanwhile(hass: HomeAssistant, engine: EngineRig) -> None:
    """The user added the engine by hand while the discovery waited: confirming updates that entry."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_HASSIO}, data=_discovery(engine)
    )
    assert result["step_id"] == "hassio_confirm"
    entry = make_entry(engine, url="http://127.0.0.1:1")
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_URL] == engine.url


async def test_reauth(hass: HomeAssistant, engine: EngineRig) -> None:
    entry = make_entry(engine, token="old-token-00000000000")
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"]["url"] == engine.url

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_TOKEN: "still-wrong-0000000000"})
    assert result["errors"] == {CONF_TOKEN: "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_TOKEN: engine.token})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_TOKEN] == engine.token
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_reauth_other_engine(hass: HomeAssistant, engine: EngineRig) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id="0" * 32, data={CONF_URL: engine.url, CONF_TOKEN: "old-token-00000000000"}
    )
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_TOKEN: engine.token})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_engine"


async def test_reconfigure(hass: HomeAssistant, engine: EngineRig) -> None:
    entry = make_entry(engine, url="http://127.0.0.1:1")
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: f"http://127.0.0.1:{free_port()}", CONF_TOKEN: engine.token}
    )
    assert result["errors"] == {CONF_URL: "cannot_connect"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: f"ws://127.0.0.1:{engine.port}/api/ws", CONF_TOKEN: engine.token}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {CONF_URL: engine.url, CONF_TOKEN: engine.token}


async def test_reconfigure_other_engine(hass: HomeAssistant, engine: EngineRig) -> None:
    entry = MockConfigEntry(domain=DOMAIN, unique_id="0" * 32, data={CONF_URL: engine.url, CONF_TOKEN: engine.token})
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: engine.url, CONF_TOKEN: engine.token}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_engine"


async def test_options(hass: HomeAssistant, engine: EngineRig) -> None:
    entry = make_entry(engine)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "init"
    assert result["menu_options"] == ["settings", "add_camera", "remove_camera"]
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "settings"})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "settings"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_ZONE_SENSORS: False,
            CONF_RECORDING_THRESHOLD: 300.0,
            CONF_OFFLINE_ISSUE_MINUTES: 10.0,
            CONF_ARCHIVE_ISSUE_MINUTES: 5.0,
            CONF_LINK_EXPIRY_MINUTES: 60.0,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        CONF_ZONE_SENSORS: False,
        CONF_OBJECT_ZONE_SENSORS: False,  # off unless asked for
        CONF_RECORDING_THRESHOLD: 300,
        CONF_OFFLINE_ISSUE_MINUTES: 10,
        CONF_ARCHIVE_ISSUE_MINUTES: 5,
        CONF_LINK_EXPIRY_MINUTES: 60,
    }
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.recording_threshold_ms == 300_000
    assert entry.runtime_data.archive_issue_ms == 300_000


async def test_hassio_discovery_without_an_address(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_HASSIO},
        data=HassioServiceInfo(config={"token": "x" * 20}, name="Vigil NVR", slug="vigil", uuid="1"),
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "invalid_discovery_info"
