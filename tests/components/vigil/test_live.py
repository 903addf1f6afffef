"""Live view of a camera Home Assistant cannot open itself: the engine's live playlist, by a signed link.

A real engine records its built-in demo scene (``demo://``: nothing FFmpeg could open from Home
Assistant). The camera entity's stream source is the engine's live HLS playlist, signed by the
engine; Home Assistant's real stream component keeps the stream it makes of it, and the link is
renewed before it expires. Time is moved with Home Assistant's test clock (a day), not waited for.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from homeassistant.components.camera import async_get_stream_source
from homeassistant.components.media_source import async_browse_media
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_component import EntityComponent
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.vigil.camera import VigilCamera
from custom_components.vigil.live import LINK_SECONDS, RENEW_BEFORE_SECONDS, plays_directly, redact_signatures
from tests.components.vigil.conftest import (
    EngineRig,
    SetupEntry,
    enable_loopback_sockets,
    start_engine_without_camera,
    wait_for,
)

DEMO = "camera.demo"


@pytest.fixture(scope="module")
def demo_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineRig]:
    enable_loopback_sockets()  # the plugin blocks sockets again before every test's fixtures
    rig = start_engine_without_camera(
        tmp_path_factory.mktemp("vigil-demo"), [{"id": "demo", "name": "Demo", "url": "demo://"}]
    )
    try:
        rig.process.wait_for(lambda: _segment_written(rig), 60, "the demo camera's first segment")
        yield rig
    finally:
        rig.process.stop()


def _segment_written(rig: EngineRig) -> bool:
    try:
        return bool(rig.camera_state("demo")["last_segment_end_ms"])
    except OSError, urllib.error.URLError:
        return False


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _camera(hass: HomeAssistant) -> VigilCamera:
    component: EntityComponent[VigilCamera] = hass.data["camera"]
    entity = component.get_entity(DEMO)
    assert isinstance(entity, VigilCamera)
    return entity


async def test_the_demo_camera_plays_through_the_engine(
    hass: HomeAssistant, demo_engine: EngineRig, setup_entry: SetupEntry, caplog: pytest.LogCaptureFixture
) -> None:
    assert await async_setup_component(hass, "stream", {})
    await setup_entry(demo_engine)
    source = await async_get_stream_source(hass, DEMO)
    assert source is not None
    assert source.startswith(f"{demo_engine.url}/api/cameras/demo/live.m3u8?")
    assert "sig=" in source
    assert demo_engine.token not in source
    # The link alone opens the live playlist (FFmpeg sends no token); what it lists is signed too.
    status, body = await hass.async_add_executor_job(_get, source)
    assert status == 200, body[:300]
    playlist = body.decode()
    assert playlist.startswith("#EXTM3U")
    assert "#EXT-X-ENDLIST" not in playlist  # live: it grows
    # A fresh signature each time the source is asked for.
    assert await async_get_stream_source(hass, DEMO) != source

    # A day on, before the link expires, it is renewed (with no stream yet, there is nothing to hand it to).
    camera = _camera(hass)
    renew_after = timedelta(seconds=LINK_SECONDS - RENEW_BEFORE_SECONDS + 1)
    later = dt_util.utcnow() + renew_after
    async_fire_time_changed(hass, later)
    await hass.async_block_till_done()
    assert camera.stream is None

    # Home Assistant keeps the stream it makes, with its source: a stopped stream just starts
    # with the renewed link next time.
    stream = await camera.async_create_stream()
    assert stream is not None
    first = stream.source
    later += renew_after
    async_fire_time_changed(hass, later)
    await wait_for(lambda: stream.source != first, 10, "the renewed link")
    assert stream.source.startswith(f"{demo_engine.url}/api/cameras/demo/live.m3u8?")
    assert camera.stream is stream

    # Someone watching: the running stream reconnects with the renewed link at once.
    stream.add_provider("hls")
    await stream.start()
    try:
        running = stream.source
        later += renew_after
        async_fire_time_changed(hass, later)
        await wait_for(lambda: stream.source != running, 10, "the renewed link of the running stream")
        await wait_for(lambda: stream.available, 10, "the stream reconnected")
    finally:
        await stream.stop()

    # The engine out of reach when the link is due: it is tried again a minute later, meanwhile
    # the stream keeps its link.
    await camera.hub.client.disconnect()
    kept = stream.source
    later += renew_after
    with caplog.at_level(logging.DEBUG, logger="custom_components.vigil"):
        async_fire_time_changed(hass, later)
        await hass.async_block_till_done()
        await wait_for(lambda: "Cannot renew the live link of demo" in caplog.text, 10, "the retry")
    assert stream.source == kept

    # The stream's own log lines (it prints its source, and FFmpeg's errors name the URL) carry no signature.
    with caplog.at_level(logging.DEBUG, logger=f"homeassistant.components.stream.stream.{DEMO}"):
        logging.getLogger(f"homeassistant.components.stream.stream.{DEMO}").error(
            "Error from stream worker: %s", f"Error opening stream (HTTP error 403 Forbidden, {stream.source})"
        )
    assert "sig=****" in caplog.text
    assert stream.source.split("sig=")[1] not in caplog.text


def test_which_sources_home_assistant_opens_itself() -> None:
    assert plays_directly("rtsp://user:secret@192.168.1.20:554/stream1")
    assert plays_directly("RTSPS://camera/stream")
    assert plays_directly("http://camera/video.mjpg")
    assert not plays_directly("demo://")
    assert not plays_directly("file:///media/clip.mp4")
    assert redact_signatures("http://h/api/cameras/x/live.m3u8?sig=1800000000000.abc-_DEF&x=1") == (
        "http://h/api/cameras/x/live.m3u8?sig=****&x=1"
    )


async def test_an_engine_without_live_playlists(
    hass: HomeAssistant, demo_engine: EngineRig, setup_entry: SetupEntry
) -> None:
    """An engine of schema version 1 (before live HLS and stills): no stream to fail, no broken pictures.

    Fault injection: no such engine is at hand, so the real engine's schema version is lowered
    in what the integration was told.
    """
    assert await async_setup_component(hass, "media_source", {})
    entry = await setup_entry(demo_engine)
    hub = entry.runtime_data
    hub.info = replace(hub.info, schema_version=1)
    assert await async_get_stream_source(hass, DEMO) is None
    top = await async_browse_media(hass, "media-source://vigil")
    camera = (top.children or [])[0]
    assert (camera.title, camera.thumbnail) == ("Demo", None)
