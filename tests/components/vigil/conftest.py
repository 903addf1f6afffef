"""Fixtures of the integration's tests: Home Assistant against the *real* engine.

One engine process (``python -m vigil_engine``) records the RTSP test camera for the whole
package (``engine`` fixture): the camera's box moves for 2 s every 10 s of scene time
(scene time 0 = the recorder's first frame; motion is detected on the main stream, from the
recorder's packets, so it shares that clock). The detector lets the box go about half a
second after it parks (it only counts changes near recent changes), so motion ends by itself
between windows.

The Home Assistant test plugin blocks sockets before every test; these fixtures allow
loopback again (the engine, the camera and the test servers all listen on 127.0.0.1).
Mocks appear only where a fault must be injected, and the tests say so.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_socket
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.vigil  # noqa: F401 - imported before any hass fixture: see the dev notes
from custom_components.vigil.const import CONF_TOKEN, DOMAIN
from tests.support.camera import RtspCamera
from tests.support.engine_process import EngineProcess

TOKEN = "vigil-ha-test-token-7f3a9c1e"
FRONT = "front"
YARD = "yard"
ZONE = "path"
PATH_ZONE = "0,0.1 1,0.1 1,0.8 0,0.8"  # the box sweeps the whole width between 15 % and 75 % height
MOTION_PERIOD_S = 10
MOTION_WINDOWS = tuple((float(start), float(start + 2)) for start in range(8, 1800, MOTION_PERIOD_S))


def enable_loopback_sockets() -> None:
    pytest_socket.enable_socket()
    pytest_socket.socket_allow_hosts(["127.0.0.1"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def camera_config(camera: RtspCamera, camera_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "id": camera_id,
        "name": camera_id.replace("_", " ").title(),
        "url": camera.url("h264"),
        "record": "continuous",
        "motion": {"fps": 5, "zones": [{"name": ZONE, "polygon": PATH_ZONE}]},
        "events": {"quiet_seconds": 2, "pre_capture": 2, "post_capture": 1},
        **overrides,
    }


@dataclass
class EngineRig:
    """A running engine and what the tests need to reach it (``test_camera``: None when it records none)."""

    test_camera: RtspCamera | None
    process: EngineProcess
    port: int
    token: str = TOKEN

    @property
    def camera(self) -> RtspCamera:
        """The RTSP test camera the engine records."""
        assert self.test_camera is not None, "this engine records no RTSP test camera"
        return self.test_camera

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> Any:
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    @property
    def instance_id(self) -> str:
        return str(self.get("/api/info")["instance_id"])

    def camera_state(self, camera_id: str) -> dict[str, Any]:
        return dict(self.get(f"/api/cameras/{camera_id}")["camera"])

    def wait_ready(self, camera_ids: tuple[str, ...], timeout: float = 60) -> None:
        """Until the API answers and every camera has written a segment."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if not self.process.running:
                raise AssertionError(f"engine exited:\n{self.process.log()[-4000:]}")
            try:
                states = [self.camera_state(camera_id) for camera_id in camera_ids]
                if all(state["last_segment_end_ms"] for state in states):
                    return
            except (OSError, urllib.error.URLError, ValueError) as err:
                last = err
            time.sleep(0.2)
        raise AssertionError(f"engine not ready after {timeout} s ({last}):\n{self.process.log()[-4000:]}")

    def wait_down(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    pass
            except OSError:
                return
            time.sleep(0.1)
        raise AssertionError("the engine's API still answers")


def start_engine(workdir: Path, cameras: Callable[[RtspCamera], list[dict[str, Any]]]) -> EngineRig:
    enable_loopback_sockets()
    camera = RtspCamera(width=640, height=360, fps=15, keyint=1.0, motion=MOTION_WINDOWS).start()
    port = free_port()
    config: dict[str, Any] = {
        "api_host": "127.0.0.1",
        "api_port": port,
        "api_token": TOKEN,
        "segment_seconds": 2,
        "retention_interval": 2,
        "cameras": cameras(camera),
    }
    process = EngineProcess(workdir, config)
    process.start()
    rig = EngineRig(camera, process, port)
    try:
        rig.wait_ready(tuple(cam["id"] for cam in config["cameras"] if cam.get("enabled", True)))
    except BaseException:
        process.stop()
        camera.close()
        raise
    return rig


def start_engine_without_camera(workdir: Path, cameras: list[dict[str, Any]]) -> EngineRig:
    """An engine of other cameras (ONVIF, demo) than the RTSP test camera; not yet waited for."""
    port = free_port()
    config = {"api_host": "127.0.0.1", "api_port": port, "api_token": TOKEN, "segment_seconds": 2, "cameras": cameras}
    process = EngineProcess(workdir, config)
    process.start()
    return EngineRig(None, process, port)


@pytest.fixture(scope="package")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineRig]:
    """The package's engine: ``front`` records and detects motion, ``yard`` is configured but disabled."""
    rig = start_engine(
        tmp_path_factory.mktemp("vigil-engine"),
        lambda camera: [camera_config(camera, FRONT), camera_config(camera, YARD, enabled=False, name="Yard")],
    )
    try:
        yield rig
    finally:
        rig.process.stop()
        rig.camera.close()


@pytest.fixture(autouse=True)
def _loopback_sockets() -> None:
    enable_loopback_sockets()


@pytest.fixture(autouse=True)
def _custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load the repository's integration."""


@pytest.fixture(autouse=True)
async def _unload_entries(hass: HomeAssistant) -> AsyncIterator[None]:
    """Unload every Vigil entry a test left loaded: its connection must not outlive the test."""
    yield
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.state is ConfigEntryState.LOADED:
            await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.fixture
def media_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """The media folder the actions write to."""
    folder = tmp_path / "media"
    folder.mkdir()
    hass.config.media_dirs = {"local": str(folder)}
    return folder


def make_entry(rig: EngineRig, *, options: dict[str, Any] | None = None, **data: Any) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Vigil NVR (127.0.0.1)",
        unique_id=rig.instance_id,
        data={CONF_URL: rig.url, CONF_TOKEN: rig.token, **data},
        options=options or {},
    )


async def set_up_entry(hass: HomeAssistant, rig: EngineRig) -> MockConfigEntry:
    """An entry for ``rig``, added and set up."""
    entry = make_entry(rig)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


type SetupEntry = Callable[..., Awaitable[MockConfigEntry]]


@pytest.fixture
async def setup_entry(hass: HomeAssistant, engine: EngineRig) -> AsyncIterator[SetupEntry]:
    """Add and set up a config entry for the package's engine; unloaded at teardown."""
    entries: list[MockConfigEntry] = []

    async def setup(rig: EngineRig = engine, *, options: dict[str, Any] | None = None, **data: Any) -> MockConfigEntry:
        entry = make_entry(rig, options=options, **data)
        entry.add_to_hass(hass)
        entries.append(entry)
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        return entry

    yield setup
    for entry in entries:
        if entry.state is ConfigEntryState.LOADED:
            assert await hass.config_entries.async_unload(entry.entry_id)


async def wait_for(predicate: Callable[[], Any], seconds: float, what: str, interval: float = 0.05) -> Any:
    """Poll ``predicate`` on the event loop (the engine pushes; Home Assistant applies)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


async def wait_state(hass: HomeAssistant, entity_id: str, state: str, seconds: float = 20) -> None:
    def check() -> bool:
        current = hass.states.get(entity_id)
        return current is not None and current.state == state

    try:
        await wait_for(check, seconds, f"{entity_id} == {state}")
    except AssertionError:
        current = hass.states.get(entity_id)
        raise AssertionError(f"{entity_id} is {current.state if current else None}, expected {state}") from None


def entity_id(hass: HomeAssistant, rig: EngineRig, domain: str, key: str, camera_id: str | None = FRONT) -> str:
    """The entity id of a Vigil entity, from its unique id (``<instance>-<camera>-<key>``)."""
    unique_id = f"{rig.instance_id}-{key}" if camera_id is None else f"{rig.instance_id}-{camera_id}-{key}"
    found = er.async_get(hass).async_get_entity_id(domain, DOMAIN, unique_id)
    assert found is not None, f"no {domain} entity with unique id {unique_id}"
    return found


async def wait_engine(rig: EngineRig, camera_id: str, predicate: Callable[[dict[str, Any]], bool], what: str) -> None:
    """Until the engine's own view of the camera (over its HTTP API) satisfies ``predicate``."""
    await wait_for(lambda: predicate(rig.camera_state(camera_id)), 20, what, interval=0.2)


def state_of(hass: HomeAssistant, entity_id: str) -> State:
    """The entity's state (it must exist)."""
    state = hass.states.get(entity_id)
    assert state is not None, f"{entity_id} has no state"
    return state


async def read_file(hass: HomeAssistant, path: Path) -> bytes:
    return await hass.async_add_executor_job(path.read_bytes)


def entry_state(entry: MockConfigEntry) -> ConfigEntryState:
    """The entry's state now (a call, so that type checkers do not keep an earlier narrowing)."""
    state: ConfigEntryState = entry.state
    return state
