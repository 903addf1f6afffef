"""Adding an ONVIF camera found by discovery from Home Assistant's options flow, and removing it.

Real parts only: Home Assistant, the engine process, ipycam (a virtual ONVIF camera from
PyPI on loopback) as the camera, and a loopback WS-Discovery responder that answers with
ipycam's own ProbeMatch for that camera. Every search in these tests is a probe to the
responder's loopback address: nothing is multicast. The lost engine connection is caused
for real (the hub's client is disconnected), and so is the unloaded entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from homeassistant.config_entries import ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.vigil.const import DOMAIN
from tests.api.client import WsClient
from tests.components.vigil.conftest import (
    TOKEN,
    EngineRig,
    enable_loopback_sockets,
    free_port,
    set_up_entry,
    start_engine_without_camera,
    wait_for,
)
from tests.onvif.discovery_responder import Responder
from tests.onvif.ipycam_camera import IpyCam

PASSWORD = "Onvif-Pa55!"


type Rig = tuple[EngineRig, IpyCam, Responder]


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    enable_loopback_sockets()
    workdir = tmp_path_factory.mktemp("vigil-add-camera")
    cam = IpyCam(workdir / "ipycam", password=PASSWORD, serial="VC-2024").start()
    responder = Responder(onvif_port=cam.onvif_port, name="Garden_Cam")
    engine = start_engine_without_camera(
        workdir / "engine", [{"id": "demo", "url": "demo://", "motion": {"enabled": False}}]
    )
    process = engine.process
    try:
        engine.wait_ready(("demo",))
        yield engine, cam, responder
    finally:
        process.stop()
        responder.close()
        cam.stop()


@pytest.fixture
async def entry(hass: HomeAssistant, rig: Rig) -> MockConfigEntry:
    """The rig's entry, set up (the package's autouse fixture unloads it)."""
    return await set_up_entry(hass, rig[0])


async def _menu(hass: HomeAssistant, entry: MockConfigEntry, step: str) -> ConfigFlowResult:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    return await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": step})


async def _configure(hass: HomeAssistant, result: ConfigFlowResult, data: dict[str, Any]) -> ConfigFlowResult:
    return await hass.config_entries.options.async_configure(result["flow_id"], data)


def _suggested(result: ConfigFlowResult) -> dict[str, Any]:
    schema = result["data_schema"]
    assert schema is not None
    return {str(key): (key.description or {}).get("suggested_value") for key in schema.schema}


def _select_options(result: ConfigFlowResult) -> list[dict[str, str]]:
    schema = result["data_schema"]
    assert schema is not None
    selector = next(iter(schema.schema.values()))
    options: list[dict[str, str]] = selector.config["options"]
    return options


def _camera_entity(hass: HomeAssistant, rig: EngineRig, camera_id: str) -> str | None:
    return er.async_get(hass).async_get_entity_id("camera", DOMAIN, f"{rig.instance_id}-{camera_id}-camera")


def _device(hass: HomeAssistant, entry: MockConfigEntry, rig: EngineRig, camera_id: str) -> dr.DeviceEntry | None:
    registry = dr.async_get(hass)
    return registry.async_get_device_by_identifier((DOMAIN, f"{rig.instance_id}-{camera_id}"), entry.entry_id)


async def test_add_a_discovered_camera_then_remove_it(hass: HomeAssistant, rig: Rig, entry: MockConfigEntry) -> None:
    engine, cam, responder = rig
    result = await _menu(hass, entry, "add_camera")
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "add_camera")

    result = await _configure(hass, result, {"address": "not-an-address"})
    assert result["errors"] == {"address": "invalid_address"}

    # The probe goes to the loopback responder, which answers for ipycam.
    result = await _configure(hass, result, {"address": f"127.0.0.1:{responder.port}"})
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "pick_device")
    assert result["description_placeholders"] == {"count": "1"}
    found, manual = _select_options(result)
    assert found["value"] == "0"
    assert found["label"].startswith("Garden_Cam")
    assert found["label"].endswith(f"(127.0.0.1:{cam.onvif_port})")
    assert manual["value"] == "manual"

    result = await _configure(hass, result, {"device": "0"})
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "camera")
    suggested = _suggested(result)
    assert (suggested[CONF_HOST], suggested[CONF_PORT], suggested[CONF_NAME]) == (
        "127.0.0.1",
        cam.onvif_port,
        "Garden_Cam",
    )
    form = {CONF_HOST: "127.0.0.1", CONF_PORT: cam.onvif_port, CONF_USERNAME: "admin", CONF_NAME: "Garden"}

    # The engine tries the login before it adds anything.
    result = await _configure(hass, result, {**form, CONF_PASSWORD: "Wrong-Pa55word"})
    assert result["errors"] == {CONF_PASSWORD: "camera_auth_failed"}
    assert CONF_PASSWORD not in _suggested(result) or _suggested(result)[CONF_PASSWORD] is None
    result = await _configure(hass, result, {**form, CONF_PASSWORD: PASSWORD, CONF_NAME: "Demo"})
    assert result["errors"] == {CONF_NAME: "camera_exists"}
    result = await _configure(hass, result, {**form, CONF_PASSWORD: PASSWORD, CONF_NAME: "G" * 101})
    assert result["errors"] == {"base": "camera_error"}
    placeholders = result["description_placeholders"] or {}
    assert placeholders["error"].startswith("camera.name: length of value must be at most 100")
    result = await _configure(hass, result, {**form, CONF_PASSWORD: PASSWORD, CONF_NAME: "!!!"})
    assert result["errors"] == {CONF_NAME: "invalid_name"}

    result = await _configure(hass, result, {**form, CONF_PASSWORD: PASSWORD})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "camera_added"
    assert result["description_placeholders"] == {"name": "Garden"}

    # No reload: the camera's device and entities appear, and the camera comes online.
    camera_entity = await wait_for(lambda: _camera_entity(hass, engine, "garden"), 10, "the camera entity")
    await wait_for(
        lambda: (state := hass.states.get(camera_entity)) is not None and state.state != "unavailable",
        40,
        "the new camera online",
    )
    device = await wait_for(
        lambda: (d := _device(hass, entry, engine, "garden")) is not None and d.serial_number == "VC-2024" and d,
        40,
        "the device with what ipycam says it is",
    )
    assert (device.name, device.manufacturer, device.model) == ("Garden", "PythonCam", "VirtualCam-1")
    assert entry.runtime_data.cameras["garden"].camera.removable

    # Remove it again: only cameras added here are offered.
    result = await _menu(hass, entry, "remove_camera")
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "remove_camera")
    assert _select_options(result) == [{"value": "garden", "label": "Garden"}]
    result = await _configure(hass, result, {"camera": "garden"})
    assert result["type"] is FlowResultType.ABORT
    assert (result["reason"], result["description_placeholders"]) == ("camera_removed", {"name": "Garden"})
    await wait_for(lambda: _device(hass, entry, engine, "garden") is None, 10, "the device removed")
    assert _camera_entity(hass, engine, "garden") is None
    assert "garden" not in entry.runtime_data.cameras
    assert engine.process.segments("garden")  # the footage stays for retention to delete


async def test_manual_address_and_lost_engine(hass: HomeAssistant, rig: Rig, entry: MockConfigEntry) -> None:
    engine, _cam, responder = rig
    result = await _menu(hass, entry, "remove_camera")
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "no_removable_cameras")

    # Typed in: an address nobody answers at.
    result = await _menu(hass, entry, "add_camera")
    result = await _configure(hass, result, {"address": f"127.0.0.1:{responder.port}"})
    result = await _configure(hass, result, {"device": "manual"})
    assert (result["step_id"], _suggested(result)[CONF_HOST]) == ("camera", None)
    closed = free_port()
    camera_form = {CONF_HOST: "127.0.0.1", CONF_PORT: closed, CONF_NAME: "Shed"}
    result = await _configure(hass, result, camera_form)
    assert result["errors"] == {CONF_HOST: "camera_unreachable"}

    # A camera added by another API client shows up too (the engine's cameras_changed event).
    ws = WsClient(engine.url, TOKEN)
    await hass.async_add_executor_job(ws.connect)
    try:
        yard = {"id": "yard", "url": "demo://", "motion": {"enabled": False}}
        await hass.async_add_executor_job(ws.result, "add_camera", {"camera": yard})
        await wait_for(lambda: _camera_entity(hass, engine, "yard"), 10, "the yard camera's entity")

        # The engine connection drops: every step says so.
        await entry.runtime_data.client.disconnect()
        result = await _configure(hass, result, camera_form)
        assert result["errors"] == {"base": "engine_unavailable"}
        search = await _menu(hass, entry, "add_camera")
        search = await _configure(hass, search, {"address": "127.0.0.1"})
        assert search["errors"] == {"base": "engine_unavailable"}
        remove = await _menu(hass, entry, "remove_camera")
        remove = await _configure(hass, remove, {"camera": "yard"})
        assert remove["errors"] == {"base": "engine_unavailable"}

        # Without a loaded entry there is no engine to ask.
        assert await hass.config_entries.async_unload(entry.entry_id)
        result = await _configure(hass, result, camera_form)
        assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "engine_unavailable")
        for step in ("add_camera", "remove_camera"):
            aborted = await _menu(hass, entry, step)
            assert (aborted["type"], aborted["reason"]) == (FlowResultType.ABORT, "engine_unavailable")
    finally:
        await hass.async_add_executor_job(ws.result, "remove_camera", {"camera_id": "yard"})
        await hass.async_add_executor_job(ws.close)
