"""``vigil.restore_from_archive``: a new machine gets its footage back from Home Assistant.

A real engine process records the RTSP test camera and copies every segment to a real S3 store
(SeaweedFS), then stops: that is the archive of a machine that was stolen. A NEW engine, on an
empty storage with the same archive options (its camera disabled: it records nothing), is set
up in a real Home Assistant, and the action is called as a user would:

* a time range in Home Assistant's local time (Asia/Kolkata, +05:30: a wrong conversion misses
  by hours) inside one segment restores exactly that segment, indexed with its exact times and
  kept only in the archive (nothing downloaded);
* then everything, downloaded, twice at once: one call starts it, the other is the translated
  ``restore_running`` error; the "Archive restore" sensor (pushed by the engine, no polling)
  goes to ``done`` with the counts, and the files are on the new machine's disk with the bytes
  the first machine recorded;
* an engine without an archive is a translated ``no_archive`` error, and an end before the
  start a translated ``end_before_start``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError

from custom_components.vigil.const import DOMAIN
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
    state_of,
    wait_for,
)
from tests.support.camera import RtspCamera
from tests.support.engine_process import EngineProcess

ACTION = "restore_from_archive"
SEGMENTS = 3
ZONE = "Asia/Kolkata"


@dataclass
class Restorable:
    rig: EngineRig  # the new machine's engine
    segments: list[dict[str, Any]]  # the first machine's archived segments, with their files' SHA-256


@pytest.fixture(scope="module")
def restorable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Restorable]:
    enable_loopback_sockets()
    workdir = tmp_path_factory.mktemp("vigil-restore")
    store = SeaweedFS(workdir / "seaweedfs")
    store.start()
    camera = RtspCamera(width=320, height=180, fps=10, keyint=1.0).start()
    archive = store.archive_options(store.make_bucket("ha-restore"), copy="all", encryption_key=bytes(range(32)).hex())
    first = EngineProcess(
        workdir / "first",
        {
            "api_token": TOKEN,
            "segment_seconds": 2,
            "archive": archive,
            "cameras": [camera_config(camera, FRONT, motion={"enabled": False})],
        },
    )
    second: EngineProcess | None = None
    try:
        first.start()
        done = "SELECT s.* FROM segments s JOIN archive_queue q ON q.segment_id = s.id WHERE q.state = 'done'"
        first.wait_for(lambda: len(first.query(done)) >= SEGMENTS, 60, "segments to be archived")
        assert first.stop() == 0
        segments = [
            {**dict(row), "sha256": hashlib.sha256((first.recordings / row["path"]).read_bytes()).hexdigest()}
            for row in first.query(f"{done} ORDER BY s.start_ms")
        ]
        port = free_port()
        second = EngineProcess(
            workdir / "second",
            {
                "api_port": port,
                "api_token": TOKEN,
                "segment_seconds": 2,
                "archive": archive,
                "cameras": [camera_config(camera, FRONT, enabled=False, motion={"enabled": False})],
            },
        )
        second.start()
        rig = EngineRig(None, second, port)
        second.wait_for(lambda: _answers(rig), 30, "the new engine's API")
        yield Restorable(rig, segments)
    finally:
        if second is not None:
            second.stop()
        first.stop()
        camera.close()
        store.stop()


def _answers(rig: EngineRig) -> bool:
    try:
        return bool(rig.instance_id)
    except OSError:
        return False


def _local(ms: int) -> datetime:
    """The naive wall-clock time in ``ZONE`` of a UTC instant, as a user types it."""
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(ZoneInfo(ZONE)).replace(tzinfo=None)


async def _restore(hass: HomeAssistant, data: dict[str, Any]) -> dict[str, Any]:
    response = await hass.services.async_call(DOMAIN, ACTION, data, blocking=True, return_response=True)
    assert isinstance(response, dict)
    return response


async def test_a_new_machine_restores_its_footage_from_home_assistant(
    hass: HomeAssistant, restorable: Restorable, setup_entry: SetupEntry
) -> None:
    await hass.config.async_set_time_zone(ZONE)
    rig, segments = restorable.rig, restorable.segments
    entry = await setup_entry(rig)
    sensor = entity_id(hass, rig, "sensor", "archive_restore", None)
    assert state_of(hass, sensor).state == "unknown"  # no restore since the engine started
    assert state_of(hass, sensor).attributes["options"] == ["running", "done", "failed"]

    # One segment, by a range in local time inside it: indexed, kept only in the archive.
    one = segments[1]
    middle = (one["start_ms"] + one["end_ms"]) // 2
    started = await _restore(
        hass, {ATTR_CONFIG_ENTRY_ID: entry.entry_id, "start": _local(middle), "end": _local(middle + 200)}
    )
    assert started["state"] == "running"
    assert started["download"] is False
    assert started["start"] == datetime.fromtimestamp(middle / 1000, UTC).isoformat()

    await wait_for(lambda: state_of(hass, sensor).state == "done", 20, "the restore to end")
    attributes = state_of(hass, sensor).attributes
    assert (attributes["selected"], attributes["restored"], attributes["errors"]) == (1, 1, 0)
    rows = rig.process.query("SELECT * FROM segments")
    assert [(r["start_ms"], r["end_ms"], r["path"], r["archived_only"]) for r in rows] == [
        (one["start_ms"], one["end_ms"], one["path"], 1)
    ]

    # Everything, downloaded, asked twice at once: one restore runs, the other call is refused.
    calls = [_restore(hass, {"camera_id": [FRONT], "download": True}) for _ in range(2)]
    results = await asyncio.gather(*calls, return_exceptions=True)
    refused = [result for result in results if isinstance(result, ServiceValidationError)]
    assert len(refused) == 1, results
    assert refused[0].translation_key == "restore_running"
    assert "restoring from its archive already" in str(refused[0])

    def ended() -> bool:
        state = state_of(hass, sensor)
        return state.state == "done" and state.attributes["download"] is True

    await wait_for(ended, 30, "the download to end")
    attributes = state_of(hass, sensor).attributes
    assert attributes["restored"] == len(segments) - 1
    assert attributes["present"] == 1  # the one indexed already
    assert attributes["errors"] == 0
    assert attributes["camera_ids"] == [FRONT]
    assert attributes["error"] is None
    for segment in segments:
        if segment is one:
            continue
        data = await hass.async_add_executor_job((rig.process.recordings / segment["path"]).read_bytes)
        assert hashlib.sha256(data).hexdigest() == segment["sha256"]
    times = [(r["start_ms"], r["end_ms"]) for r in rig.process.query("SELECT * FROM segments ORDER BY start_ms")]
    assert times == [(s["start_ms"], s["end_ms"]) for s in segments]

    text = json.dumps([dict(state.attributes) for state in hass.states.async_all()], default=str)
    for secret in (SECRET_KEY, ACCESS_KEY, TOKEN, bytes(range(32)).hex()):
        assert secret not in text

    with pytest.raises(ServiceValidationError) as err:
        await _restore(hass, {"start": _local(middle), "end": _local(middle - 1000)})
    assert err.value.translation_key == "end_before_start"


async def test_an_engine_without_an_archive_says_so(
    hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry
) -> None:
    await setup_entry(engine)
    with pytest.raises(ServiceValidationError) as err:
        await _restore(hass, {})
    assert err.value.translation_key == "no_archive"
    assert "has no off-site archive" in str(err.value)
    # And no restore sensor: it is one of the archive's entities.
    assert not [state for state in hass.states.async_all("sensor") if state.entity_id.endswith("archive_restore")]
