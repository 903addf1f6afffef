"""What was seen, in the timeline card: a person's labelled marker, and the filter by label.

Its own development stack (``scripts/develop`` with an engine config, so the stack records these
cameras instead of the demo ones): the engine detects objects with the real model, ``porch`` is
the RTSP test camera's person scene (a person walks in and stands: one motion event labelled
``person``), ``yard`` its moving box (a motion event that saw nothing). Home Assistant's own
frontend in Chromium: the Cameras panel, at desktop size and on a phone in the dark theme.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_socket
import yaml
from playwright.sync_api import Browser, Page

from tests.components.vigil.object_scene import PORCH, STEPS, YARD, engine_config, start_cameras
from tests.support.develop_stack import DevelopStack, free_port
from tests.ui.card_driver import TimelineCard, Traffic, horizontal_overflow, wait_until
from tests.ui.conftest import ROOT, TIME_ZONE
from tests.ui.frontend import PHONE, Steps, log_in, visible
from tests.ui.recorded_frames import Engine


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevelopStack]:
    """This module's stack (it replaces the package's): the person and box cameras, objects detected."""
    pytest_socket.enable_socket()
    subprocess.run([str(ROOT / "scripts" / "setup"), "--dev"], cwd=ROOT, check=True, timeout=900)
    folder = tmp_path_factory.mktemp("ui-objects")
    cameras = start_cameras()
    try:
        config = engine_config(*cameras, port=0)
        del config["api_token"]  # the stack's own token (develop.json), as the other UI tests use
        config["storage_path"] = str(folder / "storage")
        config_file = folder / "cameras.yaml"
        config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
        run = DevelopStack(
            folder / "develop",
            free_port(),
            free_port(),
            folder / "develop.out",
            time_zone=TIME_ZONE,
            extra_args=(str(config_file),),
        )
        run.start()
        try:
            run.wait_ready()
            yield run
        finally:
            if run.proc is not None and run.proc.poll() is None:
                run.stop()
            run.kill_leftovers()
    finally:
        for camera in cameras:
            camera.close()


def today() -> str:
    return datetime.now(ZoneInfo(TIME_ZONE)).date().isoformat()


def finished_events(engine: Engine, camera_id: str) -> list[dict[str, Any]]:
    summary = engine.summary(camera_id, today(), TIME_ZONE)
    return [event for event in summary["events"] if event["end_ms"] is not None]


def wait_both_events(engine: Engine) -> dict[str, Any]:
    """Until the person's event and the box's have ended; the person's."""

    def ready() -> dict[str, Any] | None:
        person = [event for event in finished_events(engine, PORCH) if "person" in event["labels"]]
        return person[0] if person and finished_events(engine, YARD) else None

    found: dict[str, Any] = wait_until(ready, 120, "the person's and the box's events", interval=1)
    return found


def open_panel(page: Page, stack: DevelopStack) -> None:
    page.goto(f"{stack.ha_url}/vigil")
    page.locator("vigil-panel").wait_for()


def chips(card: TimelineCard) -> dict[str, dict[str, str]]:
    """The filter's chips by category: pressed or not, and their text."""
    found: list[dict[str, str]] = card.root.locator(".filter .chip").evaluate_all(
        """(chips) => chips.map((chip) => ({
          category: chip.dataset.category,
          pressed: chip.getAttribute('aria-pressed'),
          letter: chip.querySelector('.dot').textContent.trim(),
          count: chip.querySelector('.count').textContent.trim(),
          text: chip.textContent.replace(/\\s+/g, ' ').trim(),
        }))"""
    )
    return {chip["category"]: chip for chip in found}


def person_markers(card: TimelineCard) -> list[dict[str, str]]:
    return [marker for marker in card.bar_items("event") if marker["marker"] == "label:person"]


def test_a_person_has_a_labelled_marker_and_the_filter_hides_and_shows_it(
    page: Page, stack: DevelopStack, steps: Steps
) -> None:
    engine = Engine(stack)
    traffic = Traffic(page)
    person = wait_both_events(engine)
    open_panel(page, stack)
    porch, yard = TimelineCard.named(page, "Porch"), TimelineCard.named(page, "Yard")
    porch.wait_day()
    yard.wait_day()
    wait_until(lambda: person_markers(porch), 20, "the person's marker")
    steps.shot(page, "cameras panel")

    # The person's marker: its own colour and letter, and a tooltip that says what, where and how sure.
    (marker,) = person_markers(porch)
    assert (marker["eventId"], marker["labels"], marker["kind"]) == (person["id"], "person", "motion")
    element = porch.root.locator(f'vigil-timeline .event[data-event-id="{person["id"]}"]')
    assert element.inner_text().strip() == "P"
    score = round(person["top_score"] * 100)
    title = element.get_attribute("title")
    assert title is not None
    assert title.startswith(f"Person · {STEPS} · {score} % · "), title
    assert visible(porch.root.locator("vigil-event-list li").filter(has_text=f"Person · {STEPS} · {score} %"))

    # The filter: a chip for what the day holds; off hides the person's marker and row, on shows them again.
    assert set(chips(porch)) == {"person"}
    assert chips(porch)["person"]["pressed"] == "true"
    chip = chips(porch)["person"]
    assert (chip["letter"], chip["count"]) == ("P", "1")
    assert "Person" in chip["text"]
    porch.root.locator('.filter .chip[data-category="person"]').click()
    wait_until(lambda: not person_markers(porch), 5, "the person's marker to go")
    assert chips(porch)["person"]["pressed"] == "false"
    assert porch.root.locator("vigil-event-list li").count() == 0
    assert porch.root.locator("vigil-event-list .none").inner_text() == "The filter hides this day's events."
    steps.shot(page, "person hidden")
    porch.root.locator('.filter .chip[data-category="person"]').click()
    wait_until(lambda: person_markers(porch), 5, "the person's marker to come back")
    assert porch.root.locator("vigil-event-list li").count() == 1
    steps.shot(page, "person shown")

    # The box saw nothing: a motion marker without a letter, and no filter to offer.
    markers = yard.bar_items("event")
    assert markers
    assert {marker["marker"] for marker in markers} == {"kind:motion"}
    assert {marker["labels"] for marker in markers} == {""}
    assert chips(yard) == {}
    assert traffic.assert_absent(engine.token, f"127.0.0.1:{stack.engine_port}") > 0


def test_the_filter_on_a_phone_in_the_dark(browser: Browser, stack: DevelopStack, steps: Steps) -> None:
    engine = Engine(stack)
    wait_both_events(engine)
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
        locale="en-GB",
        timezone_id=TIME_ZONE,
        color_scheme="dark",
    )
    try:
        page = log_in(context, stack.ha_url, "dev", stack.password)
        open_panel(page, stack)
        porch = TimelineCard.named(page, "Porch")
        porch.wait_day()
        wait_until(lambda: person_markers(porch), 20, "the person's marker")
        chip = visible(porch.root.locator('.filter .chip[data-category="person"]'))
        box = chip.bounding_box()
        assert box is not None
        assert box["height"] >= 32  # a finger's target
        assert horizontal_overflow(page) == []
        # The dark theme: light text on the dark card.
        color = chip.evaluate("(chip) => getComputedStyle(chip).color")
        channels = [int(value) for value in color[color.index("(") + 1 : color.index(")")].split(",")[:3]]
        assert sum(channels) / 3 > 128, color
        steps.shot(page, "phone dark")
        chip.tap()
        wait_until(lambda: not person_markers(porch), 5, "the person's marker to go")
        assert chips(porch)["person"]["pressed"] == "false"
        assert horizontal_overflow(page) == []
        steps.shot(page, "phone dark, person hidden")
    finally:
        context.close()
