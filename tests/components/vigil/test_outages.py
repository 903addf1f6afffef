"""Outages for real: the engine restarts (with other cameras), a camera goes dark, the token changes.

This module runs its own engine and camera (module scope): it stops and reconfigures them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir

from custom_components.vigil.const import CONF_OFFLINE_ISSUE_MINUTES, CONF_RECORDING_THRESHOLD, DOMAIN
from tests.components.vigil.conftest import (
    FRONT,
    EngineRig,
    SetupEntry,
    camera_config,
    start_engine,
    state_of,
    wait_for,
    wait_state,
)

GARAGE = "garage"
OLD = "old_yard"


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineRig]:
    rig = start_engine(
        tmp_path_factory.mktemp("vigil-outages"),
        lambda camera: [camera_config(camera, FRONT), camera_config(camera, OLD, enabled=False)],
    )
    rig.process.config["read_timeout"] = 2
    try:
        yield rig
    finally:
        rig.process.stop()
        rig.camera.close()


def _restart(rig: EngineRig, **config: object) -> None:
    rig.process.stop()
    rig.wait_down()
    rig.process.config.update(config)
    rig.process.start()


async def test_engine_restart_with_other_cameras(
    hass: HomeAssistant, rig: EngineRig, setup_entry: SetupEntry, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await setup_entry(rig)
    devices = dr.async_get(hass)
    old = devices.async_get_device_by_identifier((DOMAIN, f"{rig.instance_id}-{OLD}"), entry.entry_id)
    assert old is not None
    assert state_of(hass, "camera.front").state == "recording"
    caplog.set_level(logging.INFO, logger="custom_components.vigil")

    rig.process.stop()
    await wait_state(hass, "camera.front", STATE_UNAVAILABLE)
    for entity in (
        "binary_sensor.front_connectivity",
        "sensor.vigil_nvr_storage_used",
        "select.front_record_mode",
    ):
        assert state_of(hass, entity).state == STATE_UNAVAILABLE

    rig.wait_down()
    rig.process.config["cameras"] = [camera_config(rig.camera, FRONT), camera_config(rig.camera, GARAGE, enabled=False)]
    # Room for a few seconds of footage more: then retention must cut into footage younger
    # than its 7 days, which the engine reports (while Home Assistant listens).
    used = rig.process.query("SELECT SUM(bytes) AS used FROM segments")[0]["used"]
    rig.process.config["disk_cap"] = used + 150_000
    rig.process.start()
    await wait_state(hass, "camera.front", "recording", seconds=40)
    assert state_of(hass, "binary_sensor.front_connectivity").state == STATE_ON

    # One line each way, however many attempts it took.
    lost = [r for r in caplog.records if "Lost the connection" in r.getMessage()]
    back = [r for r in caplog.records if "Reconnected" in r.getMessage()]
    assert [r.levelno for r in lost] == [logging.WARNING]
    assert [r.levelno for r in back] == [logging.INFO]

    # The new camera appears without a reload; the removed one leaves the device registry.
    await wait_for(lambda: hass.states.get("camera.garage"), 10, "the garage camera")
    assert state_of(hass, "binary_sensor.garage_connectivity").state == STATE_OFF
    garage = devices.async_get_device_by_identifier((DOMAIN, f"{rig.instance_id}-{GARAGE}"), entry.entry_id)
    assert garage is not None
    assert devices.async_get_device_by_identifier((DOMAIN, f"{rig.instance_id}-{OLD}"), entry.entry_id) is None
    assert hass.states.get("camera.old_yard") is None

    issue_id = f"storage_retention_not_met_{entry.entry_id}"
    try:
        await wait_for(lambda: ir.async_get(hass).async_get_issue(DOMAIN, issue_id), 30, "the retention issue")
    except AssertionError:
        raise AssertionError(rig.process.log()[-3000:] + str(rig.get("/api/storage"))) from None


async def test_camera_outage(hass: HomeAssistant, rig: EngineRig, setup_entry: SetupEntry) -> None:
    entry = await setup_entry(rig, options={CONF_RECORDING_THRESHOLD: 1, CONF_OFFLINE_ISSUE_MINUTES: 0.03})
    issue_id = f"camera_offline_{entry.entry_id}_{FRONT}"
    issues = ir.async_get(hass)
    assert state_of(hass, "binary_sensor.front_recording_problem").state == STATE_OFF

    rig.camera.stop()
    try:
        await wait_state(hass, "binary_sensor.front_connectivity", STATE_OFF, seconds=30)
        assert state_of(hass, "binary_sensor.front_motion").state == STATE_UNAVAILABLE
        assert state_of(hass, "camera.front").state == "idle"  # still there: its footage can be exported
        await wait_state(hass, "binary_sensor.front_recording_problem", STATE_ON, seconds=10)
        issue = await wait_for(lambda: issues.async_get_issue(DOMAIN, issue_id), 10, "the offline issue")
        assert issue.translation_key == "camera_offline"
        assert issue.translation_placeholders["camera"] == "Front"
    finally:
        rig.camera.start()
    await wait_state(hass, "binary_sensor.front_connectivity", STATE_ON, seconds=40)
    assert issues.async_get_issue(DOMAIN, issue_id) is None
    await wait_state(hass, "binary_sensor.front_recording_problem", STATE_OFF, seconds=20)


async def test_changed_token_starts_reauth(hass: HomeAssistant, rig: EngineRig, setup_entry: SetupEntry) -> None:
    entry = await setup_entry(rig)
    old_token = rig.token
    _restart(rig, api_token="a-brand-new-token-123456")
    await wait_for(
        lambda: any(
            flow["context"]["source"] == SOURCE_REAUTH
            for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        ),
        40,
        "a reauth flow",
    )
    assert state_of(hass, "camera.front").state == STATE_UNAVAILABLE
    assert not entry.runtime_data.client.connected
    rig.process.config["api_token"] = old_token


def test_engine_log_has_no_token(rig: EngineRig) -> None:
    assert rig.token not in rig.process.log()
    assert not list(Path(rig.process.workdir).glob("*.part"))
