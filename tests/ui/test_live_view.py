"""Live view of every camera, in Home Assistant's own more-info dialog, as a user opens it.

The demo camera's source (``demo://``) is nothing Home Assistant's stream component could open:
it used to log "Protocol not found" every few seconds and play nothing. Its live view now comes
from the engine's live playlist; the RTSP test camera keeps its own stream. Chromium opens each
camera from Home Assistant's search (the ``e`` key, as a user finds an entity), its live
``<video>`` must play, and Home Assistant's log must hold no stream error.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page

from tests.support.develop_stack import DevelopStack, wait_for
from tests.ui.engine_api import Engine
from tests.ui.frontend import Steps, visible, wait_playing

STREAM_ERRORS = ("Protocol not found", "Error from stream worker", "Error opening stream")


def _open_more_info(page: Page, name: str) -> None:
    """Home Assistant's entity search (the ``e`` key), the camera's name typed, the first match opened."""
    page.locator("home-assistant").click(position={"x": 640, "y": 450})  # focus the page, not a field
    page.keyboard.press("e")
    search = visible(page.locator("ha-quick-bar input, ha-quick-bar ha-textfield input"))
    search.fill(name)
    page.wait_for_timeout(500)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"more-info-entity-id=camera\."))
    visible(page.locator("ha-more-info-dialog ha-camera-stream"))


@pytest.mark.parametrize(
    ("name", "camera_id", "width"), [("Demo camera", "demo", None), ("Test camera", "test_camera", 640)]
)
def test_live_view_plays(
    page: Page, stack: DevelopStack, steps: Steps, name: str, camera_id: str, width: int | None
) -> None:
    engine = Engine(stack)
    # The camera records (and has for a segment): there is something live to see.
    wait_for(
        lambda: (camera := engine.camera(camera_id))["recording"] and camera["last_segment_end_ms"],
        60,
        f"{camera_id} recording",
    )
    ha_log = stack.folder / "ha.log"
    before = ha_log.read_text(encoding="utf-8", errors="replace") if ha_log.exists() else ""
    page.goto(stack.ha_url)
    page.locator("home-assistant").wait_for(state="attached")
    _open_more_info(page, name)
    steps.shot(page, f"{name} more-info")
    video = wait_playing(page, seconds=60, advance_s=2)
    steps.shot(page, f"{name} playing")
    if width is not None:
        assert video["width"] == width, video
    assert video["width"] > 0, video
    page.wait_for_timeout(3000)  # a stream that fails does so within seconds, and again
    after = ha_log.read_text(encoding="utf-8", errors="replace")[len(before) :]
    errors = [line for line in after.splitlines() if any(error in line for error in STREAM_ERRORS)]
    assert not errors, errors
    # Neither the engine's signed link nor its signature reaches the log.
    assert "sig=" not in after.replace("sig=****", "")
