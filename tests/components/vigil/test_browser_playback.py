"""Footage served by Home Assistant plays in a real browser.

The real engine records the RTSP test camera (H.264); Home Assistant's real HTTP app (its
auth middleware and the integration's views) is served on 127.0.0.1 by the harness's aiohttp
test server; Debian's Chromium, driven by ``playwright-core`` (``tests/browser/play.mjs``),
loads a signed URL the integration hands out (to automations, or to the media browser) and
plays it in a page of its own. That proves the media, not the Media panel: the panel itself
is driven in tests/ui. ``scripts/setup`` installs both Chromium and the node modules, so their
absence is a failure, not a skip.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from homeassistant.components.media_source import async_resolve_media
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.vigil.const import DOMAIN
from tests.components.vigil.conftest import FRONT, EngineRig, SetupEntry, state_of, wait_for

ROOT = Path(__file__).resolve().parents[3]
BROWSER_DIR = ROOT / "tests" / "browser"
PLAYER = BROWSER_DIR / "play.mjs"
CHROMIUM = Path("/usr/bin/chromium")
CAMERA = "camera.front"
EVENTS = "event.front_events"
# The test camera's main stream (camera_config in the conftest): what the browser must decode.
WIDTH, HEIGHT = 640, 360
MIN_ADVANCE_S = 0.5
BROWSER_TIMEOUT_S = 20


def require_browser() -> str:
    """node, Chromium and the pinned node modules, or a failure that says how to get them."""
    node = shutil.which("node")
    missing = []
    if node is None:
        missing.append("node (Debian's nodejs package)")
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (Debian's chromium package)")
    if not (BROWSER_DIR / "node_modules" / "playwright-core" / "package.json").is_file():
        missing.append("tests/browser/node_modules (npm ci in tests/browser)")
    if missing:
        pytest.fail(f"browser playback needs {', '.join(missing)}: run scripts/setup (as root for apt)", pytrace=False)
    assert node is not None
    return node


async def play(node: str, url: str, *, hls: bool = False) -> dict[str, Any]:
    """Run the player on ``url``; its JSON report (asserted on by the caller)."""
    args = [str(PLAYER), "--url", url, "--advance", str(MIN_ADVANCE_S), "--timeout", str(BROWSER_TIMEOUT_S)]
    if hls:
        args.append("--hls")
    process = await asyncio.create_subprocess_exec(
        node, *args, cwd=BROWSER_DIR, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), BROWSER_TIMEOUT_S + 15)
    except TimeoutError:
        # SIGTERM first: playwright-core closes the browser it started on SIGTERM (a SIGKILL
        # would leave Chromium running).
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            process.kill()
            await process.wait()
        raise AssertionError(f"the browser did not finish within {BROWSER_TIMEOUT_S + 15} s") from None
    lines = stdout.decode().strip().splitlines()
    assert lines, f"no report from the player (exit {process.returncode}): {stderr.decode()[-2000:]}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert process.returncode in (0, 1), f"the player could not run: {result.get('error')} {stderr.decode()[-2000:]}"
    return result


def assert_played(result: dict[str, Any]) -> None:
    summary = json.dumps(result, indent=1)
    print(f"player: {json.dumps(result)}")  # measurements, shown with -s
    assert result["ok"], f"playback failed: {summary}"
    assert result["maxReadyState"] == 4, summary  # HAVE_ENOUGH_DATA
    assert result["advanced"] >= MIN_ADVANCE_S, summary
    assert (result["videoWidth"], result["videoHeight"]) == (WIDTH, HEIGHT), summary
    assert result["decodedFrames"] > 0, summary
    assert result["error"] is None, summary
    assert result["failedRequests"] == [], summary


async def test_event_clip_plays_in_chromium(
    hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry, aiohttp_client: ClientSessionGenerator
) -> None:
    """A manual event's clip, by the signed ``clip_url`` of vigil.get_event_media, plays in Chromium."""
    node = require_browser()
    entry = await setup_entry()
    server = await aiohttp_client(hass.http.app)  # Home Assistant's HTTP app on 127.0.0.1:<port>

    response = await hass.services.async_call(
        DOMAIN,
        "start_event",
        {"label": "browser"},
        target={ATTR_ENTITY_ID: CAMERA},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    started = response[CAMERA]
    assert isinstance(started, dict)
    event_id = started["event_id"]
    await asyncio.sleep(3)  # a few seconds of event (plus the 2 s of pre-capture)
    await hass.services.async_call(DOMAIN, "end_event", target={ATTR_ENTITY_ID: CAMERA}, blocking=True)
    await wait_for(lambda: state_of(hass, EVENTS).attributes.get("event_type") == "manual_ended", 5, "the end")
    assert state_of(hass, EVENTS).attributes["event_id"] == event_id
    links = await hass.services.async_call(
        DOMAIN, "get_event_media", {"event_id": event_id, "media": ["clip"]}, blocking=True, return_response=True
    )
    assert links is not None
    clip_url = str(links["clip_url"])
    assert clip_url.startswith(f"/api/vigil/{entry.entry_id}/events/{event_id}/clip.mp4?authSig=")

    # The signature is what lets the browser in (it sends no Authorization header).
    unsigned = await server.get(clip_url.split("?", 1)[0])
    assert unsigned.status == 401
    result = await play(node, str(server.make_url(clip_url)))
    assert_played(result)
    assert result["duration"] is not None, result
    assert result["duration"] >= 3, result  # pre-capture, the event, post-capture


async def test_hls_playlist_plays_in_chromium_with_hls_js(
    hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry, aiohttp_client: ClientSessionGenerator
) -> None:
    """The last seconds of the camera as the media browser resolves them: HLS (fMP4 segments) through hls.js.

    Resolved as the Media panel resolves an item, with the type it gets: the panel plays HLS
    only as ``application/x-mpegURL`` (the end-to-end check in the panel itself is tests/ui).
    """
    node = require_browser()
    assert await async_setup_component(hass, "media_source", {})
    entry = await setup_entry()
    server = await aiohttp_client(hass.http.app)
    await wait_for(lambda: engine.camera_state(FRONT)["last_segment_end_ms"], 10, "footage", interval=0.2)
    end_ms = int(engine.camera_state(FRONT)["last_segment_end_ms"])
    start_ms = end_ms - 8000  # about 4 segments of 2 s
    media = await async_resolve_media(
        hass, f"media-source://{DOMAIN}/{entry.entry_id}/camera/{FRONT}/play/{start_ms}/{end_ms}", None
    )
    assert media.mime_type == "application/x-mpegURL"
    playlist = await server.get(media.url)
    assert playlist.status == 200, await playlist.text()
    body = await playlist.text()
    assert body.startswith("#EXTM3U"), body
    assert "#EXT-X-MAP:" in body, body  # fMP4 segments
    assert "#EXT-X-PROGRAM-DATE-TIME:" in body, body  # wall-clock time
    assert "authSig=" in body, body  # each segment signed for the player

    result = await play(node, str(server.make_url(media.url)), hls=True)
    assert_played(result)
    assert result["mode"] == "hls.js"
