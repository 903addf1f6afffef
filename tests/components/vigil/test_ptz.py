"""ONVIF cameras in Home Assistant: the vigil.ptz action, preset buttons, the device's maker and model.

A real engine records two ONVIF cameras: ``porch`` is ipycam (a virtual ONVIF camera from
PyPI, on loopback with WS-Discovery off; its moves are read back from its own web API), and
``yard`` is the ONVIF TEST DOUBLE of tests/onvif (its stream is ipycam's): ipycam's preset
list is not valid XML, so preset buttons are tested against the double's, which records
what it is asked. ``demo`` has no ONVIF at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from homeassistant.components.button.const import DOMAIN as BUTTON_DOMAIN
from homeassistant.components.button.const import SERVICE_PRESS
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.vigil.const import DOMAIN, SERVICE_PTZ
from tests.components.vigil.conftest import (
    EngineRig,
    enable_loopback_sockets,
    entity_id,
    free_port,
    set_up_entry,
    start_engine_without_camera,
    wait_for,
)
from tests.onvif.ipycam_camera import IpyCam
from tests.onvif.onvif_double import OnvifDouble

PASSWORD = "Onvif-Pa55!"


def _onvif(port: int) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": port, "username": "admin", "password": PASSWORD}


type Onvif = tuple[EngineRig, IpyCam, OnvifDouble]


@pytest.fixture(scope="module")
def onvif_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Onvif]:
    enable_loopback_sockets()
    workdir = tmp_path_factory.mktemp("vigil-onvif")
    cam = IpyCam(workdir / "ipycam", password=PASSWORD, serial="VC-4711")
    cam.write_presets({"door": {"pan": 0.5, "tilt": -0.25, "zoom": 0.0}})
    cam.start()
    double = OnvifDouble(f"rtsp://127.0.0.1:{cam.rtsp_port}/video_sub", presets={"1": "Door", "2": "Garden"}).start()
    cameras = [
        {"id": "porch", "onvif": _onvif(cam.onvif_port), "motion": {"enabled": False}},
        {"id": "yard", "onvif": _onvif(double.port), "motion": {"enabled": False}},
        {"id": "demo", "url": "demo://", "motion": {"enabled": False}},
    ]
    rig = start_engine_without_camera(workdir / "engine", cameras)
    process = rig.process
    try:
        rig.wait_ready(("porch", "yard", "demo"))
        yield rig, cam, double
    finally:
        process.stop()
        double.stop()
        cam.stop()


@pytest.fixture
async def entry(hass: HomeAssistant, onvif_rig: Onvif) -> MockConfigEntry:
    """The rig's entry, set up (the package's autouse fixture unloads it)."""
    return await set_up_entry(hass, onvif_rig[0])


async def _ptz(hass: HomeAssistant, camera: str, **data: Any) -> None:
    await hass.services.async_call(DOMAIN, SERVICE_PTZ, {ATTR_ENTITY_ID: camera, **data}, blocking=True)


async def test_ptz_action_moves_the_camera(hass: HomeAssistant, onvif_rig: Onvif, entry: MockConfigEntry) -> None:
    rig, cam, double = onvif_rig
    porch = entity_id(hass, rig, "camera", "camera", "porch")
    await _ptz(hass, porch, pan=0.8)
    await wait_for(lambda: (s := cam.ptz_status())["moving"] and s["pan"] > 0.05, 10, "ipycam to pan")
    await _ptz(hass, porch, mode="stop")
    await wait_for(lambda: not cam.ptz_status()["moving"], 10, "ipycam to stop")
    await _ptz(hass, porch, mode="preset", preset="door")
    await wait_for(lambda: (s := cam.ptz_status())["pan"] == 0.5 and s["tilt"] == -0.25, 10, "the preset")
    await _ptz(hass, porch, mode="zoom", zoom=0.5)
    await wait_for(lambda: cam.ptz_status()["zoom"] == 0.5, 10, "the zoom step")
    await _ptz(hass, porch, tilt=0.5, seconds=0.3)
    await wait_for(lambda: not cam.ptz_status()["moving"] and cam.ptz_status()["tilt"] > -0.25, 10, "a timed move")

    yard = entity_id(hass, rig, "camera", "camera", "yard")
    await _ptz(hass, yard, mode="preset", preset="2")
    assert ("GotoPreset", "2") in double.ptz_requests

    for data, field in (({"mode": "preset"}, "preset"), ({"mode": "zoom"}, "zoom"), ({}, "pan, tilt or zoom")):
        with pytest.raises(ServiceValidationError) as info:
            await _ptz(hass, porch, **data)
        assert info.value.translation_key == "ptz_argument"
        assert info.value.translation_placeholders == {"mode": data.get("mode", "move"), "field": field}
    with pytest.raises(ServiceValidationError) as info:
        await _ptz(hass, entity_id(hass, rig, "camera", "camera", "demo"), mode="stop")
    assert info.value.translation_key == "no_ptz"
    assert info.value.translation_placeholders == {"camera": "Demo"}


async def test_camera_device_shows_maker_model_firmware_serial(
    hass: HomeAssistant, onvif_rig: Onvif, entry: MockConfigEntry
) -> None:
    rig = onvif_rig[0]
    registry = dr.async_get(hass)
    porch = registry.async_get_device_by_identifier((DOMAIN, f"{rig.instance_id}-porch"), entry.entry_id)
    assert porch is not None
    assert (porch.manufacturer, porch.model, porch.sw_version, porch.serial_number) == (
        "PythonCam",
        "VirtualCam-1",
        "1.3.0",
        "VC-4711",
    )
    demo = registry.async_get_device_by_identifier((DOMAIN, f"{rig.instance_id}-demo"), entry.entry_id)
    assert demo is not None
    assert demo.manufacturer == "Vigil NVR"


async def test_preset_buttons(
    hass: HomeAssistant,
    onvif_rig: Onvif,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig, _cam, double = onvif_rig
    registry = er.async_get(hass)
    door = await wait_for(
        lambda: registry.async_get_entity_id(BUTTON_DOMAIN, DOMAIN, f"{rig.instance_id}-yard-ptz_preset_1"),
        10,
        "the yard's preset buttons",
    )
    garden = registry.async_get_entity_id(BUTTON_DOMAIN, DOMAIN, f"{rig.instance_id}-yard-ptz_preset_2")
    assert garden is not None
    state = hass.states.get(door)
    assert state is not None
    assert state.attributes["friendly_name"] == "Yard Go to Door"
    await hass.services.async_call(BUTTON_DOMAIN, SERVICE_PRESS, {ATTR_ENTITY_ID: door}, blocking=True)
    assert double.ptz_requests[-1] == ("GotoPreset", "1")

    # ipycam's preset list cannot be read (not valid XML): no buttons, one clear warning.
    def warned() -> bool:
        records = caplog.get_records("setup") + caplog.get_records("call")  # setup: the entry fixture
        return any("Cannot read the PTZ presets of camera porch" in record.getMessage() for record in records)

    await wait_for(warned, 10, "the warning")
    buttons = [e.unique_id for e in er.async_entries_for_config_entry(registry, entry.entry_id) if e.domain == "button"]
    assert sorted(buttons) == [f"{rig.instance_id}-yard-ptz_preset_1", f"{rig.instance_id}-yard-ptz_preset_2"]


async def test_a_camera_found_later_gets_its_device_and_buttons(
    hass: HomeAssistant, onvif_rig: Onvif, tmp_path: Path
) -> None:
    """The ONVIF camera answers only after Home Assistant connected: its device and buttons follow."""
    cam = onvif_rig[1]
    double = OnvifDouble(f"rtsp://127.0.0.1:{cam.rtsp_port}/video_sub", presets={"7": "Gate"})
    double.port = free_port()  # known to the engine before the double listens there
    rig = start_engine_without_camera(tmp_path / "engine", [{"id": "late", "onvif": _onvif(double.port)}])
    process = rig.process
    try:
        await hass.async_add_executor_job(lambda: wait_for_api(rig))
        entry = await set_up_entry(hass, rig)
        registry = dr.async_get(hass)
        late = registry.async_get_device_by_identifier((DOMAIN, f"{rig.instance_id}-late"), entry.entry_id)
        assert late is not None
        assert late.manufacturer == "Vigil NVR"  # not connected yet: nothing known
        # Not connected yet: the camera is offline, which is what the user is told.
        with pytest.raises(ServiceValidationError) as info:
            await _ptz(hass, entity_id(hass, rig, "camera", "camera", "late"), mode="stop")
        assert info.value.translation_key == "camera_offline"
        await hass.async_add_executor_job(double.start)
        await wait_for(
            lambda: (
                (d := registry.async_get_device_by_identifier((DOMAIN, f"{rig.instance_id}-late"), entry.entry_id))
                and d.manufacturer == "Double"
            ),
            30,
            "the camera's own device information",
        )
        await wait_for(
            lambda: er.async_get(hass).async_get_entity_id(
                BUTTON_DOMAIN, DOMAIN, f"{rig.instance_id}-late-ptz_preset_7"
            ),
            10,
            "the late camera's preset button",
        )
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        process.stop()
        double.stop()


def wait_for_api(rig: EngineRig) -> None:
    rig.process.wait_for(lambda: _answers(rig), 30, "the API")


def _answers(rig: EngineRig) -> bool:
    try:
        rig.get("/api/info")
    except OSError:
        return False
    return True
