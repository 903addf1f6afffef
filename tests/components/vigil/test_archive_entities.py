"""The off-site archive in Home Assistant: its sensors, its problem sensor and its repair issue.

A real engine process records the RTSP test camera and copies every segment to a real S3 store
(SeaweedFS, ``tests/archive/seaweedfs.py``); the store is stopped for real, and started again.
Home Assistant polls the storage status every 30 s: the tests run that poll themselves, sooner.
The repair issue's threshold is a tenth of a minute here, in real time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterator

import pytest
from homeassistant.components.sensor import ATTR_STATE_CLASS
from homeassistant.const import ATTR_DEVICE_CLASS, ATTR_UNIT_OF_MEASUREMENT, STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.vigil.const import CONF_ARCHIVE_ISSUE_MINUTES, DOMAIN
from tests.archive.seaweedfs import ACCESS_KEY, SECRET_KEY, SeaweedFS
from tests.components.vigil.conftest import (
    FRONT,
    TOKEN,
    EngineRig,
    SetupEntry,
    camera_config,
    enable_loopback_sockets,
    entity_id,
    free_port,
    make_entry,
    state_of,
    wait_for,
)
from tests.support.camera import RtspCamera
from tests.support.engine_process import EngineProcess

BUCKET = "ha-archive"
ARCHIVE_KEYS = ("archive_backlog", "archive_backlog_size", "last_archive_upload")
SECRETS = (SECRET_KEY, ACCESS_KEY, TOKEN)
THRESHOLD_S = 6


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EngineRig, SeaweedFS]]:
    """An engine that copies all its footage to a SeaweedFS store of its own (stopped by a test)."""
    enable_loopback_sockets()
    workdir = tmp_path_factory.mktemp("vigil-archive")
    store = SeaweedFS(workdir / "seaweedfs")
    store.start()
    camera = RtspCamera(width=320, height=180, fps=10, keyint=1.0).start()
    port = free_port()
    process = EngineProcess(
        workdir,
        {
            "api_port": port,
            "api_token": TOKEN,
            "segment_seconds": 1,
            "archive": store.archive_options(store.make_bucket(BUCKET), copy="all"),
            "cameras": [camera_config(camera, FRONT, motion={"enabled": False})],
        },
    )
    process.start()
    rig = EngineRig(camera, process, port)
    try:
        rig.wait_ready((FRONT,))
        yield rig, store
    finally:
        process.stop()
        camera.close()
        store.stop()


async def _poll(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """The storage poll Home Assistant runs every 30 s, now (as test_hub does): the test does not
    move Home Assistant's clock, whose timers would also cut the client's requests short."""
    await entry.runtime_data._async_poll_stats()
    await hass.async_block_till_done()


async def _poll_until(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    entity: str,
    predicate: Callable[[State], bool],
    seconds: float,
    what: str,
) -> None:
    """Poll (as Home Assistant does every 30 s, sooner here) until the entity's state satisfies ``predicate``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await _poll(hass, entry)
        if predicate(state_of(hass, entity)):
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}: {entity} is {state_of(hass, entity).state}")


def _issue(hass: HomeAssistant, entry: MockConfigEntry) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"archive_failing_{entry.entry_id}")


async def test_archive_sensors_problem_and_repair(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    archived: tuple[EngineRig, SeaweedFS],
    setup_entry: SetupEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig, store = archived
    caplog.set_level(logging.DEBUG, logger="custom_components.vigil")
    # The threshold in minutes (the options flow asks for whole minutes, 1 at least); the hub takes a
    # fraction, so that the test waits 6 s and not a minute.
    entry = await setup_entry(rig, options={CONF_ARCHIVE_ISSUE_MINUTES: THRESHOLD_S / 60})
    backlog = entity_id(hass, rig, "sensor", "archive_backlog", None)
    size = entity_id(hass, rig, "sensor", "archive_backlog_size", None)
    last_upload = entity_id(hass, rig, "sensor", "last_archive_upload", None)
    problem = entity_id(hass, rig, "binary_sensor", "archive_problem", None)
    # On the engine's device.
    registry = er.async_get(hass)
    engine_device = registry.async_get(problem)
    assert engine_device is not None
    assert engine_device.device_id == entry.runtime_data.engine_device_id

    # Segments are copied: the last upload has a time, the backlog is a number (bytes shown in MB).
    await _poll_until(hass, entry, last_upload, lambda s: s.state not in ("unknown", "unavailable"), 20, "an upload")
    uploaded_at = dt_util.parse_datetime(state_of(hass, last_upload).state)
    assert uploaded_at is not None
    assert abs((dt_util.utcnow() - uploaded_at).total_seconds()) < 30
    assert state_of(hass, last_upload).attributes[ATTR_DEVICE_CLASS] == "timestamp"
    assert int(state_of(hass, backlog).state) >= 0
    assert state_of(hass, backlog).attributes[ATTR_STATE_CLASS] == "measurement"
    assert state_of(hass, size).attributes[ATTR_DEVICE_CLASS] == "data_size"
    assert state_of(hass, size).attributes[ATTR_UNIT_OF_MEASUREMENT] == "MB"
    assert state_of(hass, problem).state == STATE_OFF
    assert _issue(hass, entry) is None

    store.stop()
    stopped_ms = time.time() * 1000
    try:
        # The problem sensor turns on at once; the repair issue waits for the threshold from when
        # the failure began (the engine's time of it).
        await _poll_until(hass, entry, problem, lambda s: s.state == STATE_ON, 20, "the problem sensor")
        failing_since_ms = entry.runtime_data.storage.archive.failing_since_ms
        assert failing_since_ms is not None
        assert abs(failing_since_ms - stopped_ms) < 3000
        issue = await wait_for(lambda: _issue(hass, entry), THRESHOLD_S + 10, "the repair issue")
        assert time.time() * 1000 - failing_since_ms >= THRESHOLD_S * 1000 - 100
        assert issue.translation_key == "archive_unreachable"
        assert issue.severity is ir.IssueSeverity.WARNING
        assert issue.translation_placeholders is not None
        assert "reach" in issue.translation_placeholders["error"]
        await _poll_until(hass, entry, backlog, lambda s: int(s.state) >= 2, 15, "a backlog")
        assert float(state_of(hass, size).state) > 0
        issue_text = json.dumps(issue.to_json())
    finally:
        store.start()

    # The store works again: the problem and the issue clear, and the backlog drains.
    await _poll_until(hass, entry, problem, lambda s: s.state == STATE_OFF, 30, "the problem to clear")
    assert _issue(hass, entry) is None
    await _poll_until(hass, entry, backlog, lambda s: s.state == "0", 30, "the backlog to drain")

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    archive = diagnostics["engine"]["storage"]["archive"]
    assert archive["enabled"] is True
    assert archive["reachable"] is True
    assert archive["uploaded"] > 0
    # Home Assistant's log (the test's own S3 client, which starts and stops the store, logs its requests).
    ours = ("custom_components", "homeassistant")
    ha_log = "\n".join(record.getMessage() for record in caplog.records if record.name.startswith(ours))
    states = json.dumps([(s.entity_id, s.state, dict(s.attributes)) for s in hass.states.async_all()], default=str)
    for secret in SECRETS:
        assert secret not in json.dumps(diagnostics)
        assert secret not in states
        assert secret not in issue_text
        assert secret not in ha_log
    for secret in (SECRET_KEY, ACCESS_KEY):
        assert secret not in rig.process.log()


async def test_no_archive_entities_without_an_archive(hass: HomeAssistant, engine: EngineRig) -> None:
    """The package's engine has no archive: no archive entity, and those left in the registry by a time
    when it had one (registered here as that time would have) are removed."""
    entry = make_entry(engine)
    entry.add_to_hass(hass)
    registry = er.async_get(hass)
    left = registry.async_get_or_create(
        "binary_sensor", DOMAIN, f"{engine.instance_id}-archive_problem", config_entry=entry
    ).entity_id
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.runtime_data.storage.archive is None
    assert registry.async_get(left) is None
    keys = {
        entity.unique_id.removeprefix(f"{engine.instance_id}-")
        for entity in er.async_entries_for_config_entry(registry, entry.entry_id)
    }
    assert keys.isdisjoint({*ARCHIVE_KEYS, "archive_problem"})
    assert "storage_used" in keys  # the engine's other entities are there
