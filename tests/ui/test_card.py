"""The Vigil timeline card, used as a person uses it in Home Assistant's frontend.

Everything runs for real: ``scripts/develop`` (the engine with the demo camera and the RTSP test
camera, Home Assistant with the integration), Debian's Chromium, Home Assistant's own pages. The
demo camera numbers its frames (``vigil_engine.ingest.demo``), so "the frame on screen is the one
recorded at that instant" is checked exactly: the card's frame is drawn onto a canvas and read,
and compared with the frame the engine's index and segment files say was recorded then
(``tests/ui/recorded_frames.py``, through the engine's own API: the test is a tool on the
engine's machine). Every test also watches all the page received (WebSocket frames, HTTP
responses with their bodies): the engine's token and address never reach the browser.
"""

from __future__ import annotations

import io
import itertools
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import av
import numpy as np
import pytest
from playwright.sync_api import Browser, Page

from tests.support.develop_stack import DevelopStack
from tests.ui.card_driver import TimelineCard, Traffic, horizontal_overflow, wait_until
from tests.ui.conftest import TIME_ZONE
from tests.ui.frontend import PHONE, Steps, log_in, visible
from tests.ui.recorded_frames import Engine, RecordedSegment
from vigil_engine.ingest.demo import read_timecode

DEMO, TEST = "Demo camera", "Test camera"
DEMO_ID, TEST_ID = "demo", "test_camera"
ZONE = ZoneInfo(TIME_ZONE)
TWO_MINUTES = 2 * 60_000
FRAME_MS = 1000 / 15  # both cameras run at 15 fps


def now_ms() -> int:
    return round(time.time() * 1000)


def today() -> str:
    return datetime.now(ZONE).date().isoformat()


def local_clock(ms: int, millis: bool = False) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC).astimezone(ZONE)
    return moment.strftime("%H:%M:%S") + (f".{ms % 1000:03d}" if millis else "")


@pytest.fixture
def engine(stack: DevelopStack) -> Engine:
    return Engine(stack)


@pytest.fixture
def traffic(page: Page, stack: DevelopStack, engine: Engine) -> Iterator[Traffic]:
    """Everything the page receives during the test; afterwards, no trace of the engine in it."""
    watched = Traffic(page)
    yield watched
    assert watched.assert_absent(engine.token, f"127.0.0.1:{stack.engine_port}") > 0


def wait_footage(engine: Engine, camera_id: str, seconds: float, *, events: int = 1, timeout: float = 180) -> None:
    """Until the camera has ``seconds`` of footage today and ``events`` finished events (it records as tests run)."""

    def enough() -> bool:
        summary = engine.summary(camera_id, today(), TIME_ZONE)
        recorded = int(summary["recorded_ms"])
        finished = [event for event in summary["events"] if event["end_ms"]]
        return recorded >= seconds * 1000 and len(finished) >= events

    wait_until(enough, timeout, f"{seconds} s of footage and {events} events of {camera_id}", interval=1)


def record_mode_select(stack: DevelopStack, camera_id: str) -> str:
    """The camera's "Record mode" select entity (Home Assistant's template API finds it by its integration)."""
    template = "{{ integration_entities('vigil') | select('match', 'select[.]') | join(',') }}"
    status, _, content = stack.api().request("/api/template", {"template": template})
    assert status == 200, content
    found = [entity for entity in content.decode().split(",") if camera_id in entity and "record_mode" in entity]
    assert len(found) == 1, content
    return found[0]


def last_footage(card: TimelineCard) -> tuple[int, int]:
    """The newest recorded range the bar shows."""
    newest = card.bar_items("recorded")[-1]
    return int(newest["startMs"]), int(newest["endMs"])


def longest_standstill(samples: list[tuple[float, int]]) -> float:
    """The longest time (s) the clock showed the same instant while playing."""
    longest, since = 0.0, samples[0]
    for sample in samples[1:]:
        if sample[1] != since[1]:
            since = sample
        longest = max(longest, sample[0] - since[0])
    return longest


def open_panel(page: Page, stack: DevelopStack) -> None:
    page.goto(f"{stack.ha_url}/vigil")
    page.locator("vigil-panel").wait_for()


def frame_number(card: TimelineCard) -> int:
    number = read_timecode(card.frame_luma())
    assert number is not None, "the frame on screen carries no readable timecode"
    return number


def assert_frame_is_the_recorded_one(card: TimelineCard, engine: Engine) -> int:
    """The card is paused: the frame it shows is the one the engine recorded at the time it shows."""
    wall = card.settled_wall_ms()
    expected = engine.frame_at(DEMO_ID, wall)
    assert expected.number is not None
    assert frame_number(card) == expected.number, f"at {local_clock(wall, True)}"
    assert card.clock_text() == local_clock(wall, millis=True)  # Home Assistant's zone, to the millisecond
    return wall


# --- finding the cameras ------------------------------------------------------------------------


def test_cameras_are_in_the_sidebar_right_after_setup(
    page: Page, stack: DevelopStack, steps: Steps, engine: Engine, traffic: Traffic
) -> None:
    """No dashboard to edit: a "Cameras" panel shows every Vigil camera, live and with its day."""
    wait_footage(engine, TEST_ID, 30)
    page.goto(stack.ha_url)
    visible(page.locator("ha-sidebar").get_by_text("Cameras", exact=True)).click()
    page.wait_for_url("**/vigil")
    test, demo = TimelineCard.named(page, TEST), TimelineCard.named(page, DEMO)
    steps.shot(page, "cameras panel")

    # Both cameras live, through Home Assistant's own stream (the RTSP camera's, the engine's live HLS of the demo).
    for card in (test, demo):
        card.wait_mode("live")
        card.wait_video_advancing(45)
        assert card.video_state()["width"] == 640
        assert card.root.locator("vigil-player .badge").inner_text() == "LIVE"
        assert abs(card.wait_frame() - now_ms()) < 30_000
    steps.shot(page, "live")

    for card in (test, demo):
        card.wait_day()
        assert card.bar_items("recorded"), "no footage on the bar"
        markers = card.bar_items("event")
        assert markers
        assert {marker["kind"] for marker in markers} == {"motion"}
        assert {marker["marker"] for marker in markers} == {"kind:motion"}
        assert "00:00" in card.ruler()
        assert "recorded" in card.info()
        rows = card.root.locator("vigil-event-list li")
        assert rows.count() == len(markers)
        card.image_loaded(rows.first.locator("img"))
        metrics = card.metrics()
        assert metrics["firstRenderMs"] is not None
        assert metrics["timelineMs"]


def test_live_view_falls_back_to_the_cameras_picture(
    page: Page, stack: DevelopStack, steps: Steps, traffic: Traffic
) -> None:
    """Without a stream (here Home Assistant's HLS answers 404: a fault injected in the browser, since
    both cameras stream), the card shows the camera entity's picture, refreshed, and says so."""
    page.route("**/api/hls/**", lambda route: route.fulfill(status=404, body="no stream"))
    open_panel(page, stack)
    test = TimelineCard.named(page, TEST)
    test.wait_mode("still", 45)
    still = test.root.locator("vigil-player img.still")
    test.image_loaded(still)
    assert test.root.locator("vigil-player .badge").inner_text() == "STILL"
    first = still.get_attribute("src")
    assert first is not None
    assert "/api/camera_proxy/camera.test_camera?token=" in first
    wait_until(lambda: still.get_attribute("src") != first, 15, "the picture to refresh")
    steps.shot(page, "still picture")


def test_card_picker_and_visual_editor(page: Page, stack: DevelopStack, steps: Steps, traffic: Traffic) -> None:
    """Edit a dashboard, add a card, search "Vigil", pick the camera in the card's editor, save."""
    api = stack.api()
    api.websocket(
        {"type": "lovelace/dashboards/create", "url_path": "camera-review", "title": "Review", "mode": "storage"}
    )
    page.goto(f"{stack.ha_url}/camera-review")
    visible(page.get_by_role("button", name="Edit dashboard")).click()
    visible(page.get_by_role("button", name="Add card")).click()
    visible(page.get_by_role("tab", name="By card")).click()
    visible(page.get_by_placeholder("Search cards")).fill("Vigil")
    tile = visible(page.locator("hui-card-picker .card").filter(has_text="Vigil timeline"))
    tile.locator("vigil-timeline-card").wait_for()  # its preview: the card itself
    steps.shot(page, "card picker")
    tile.click()

    # The visual editor: a camera picker that offers the Vigil cameras, the first one chosen.
    editor = visible(page.locator("vigil-timeline-card-editor"))
    camera = visible(editor.locator("ha-selector-entity"))

    def chosen() -> str:
        value: str = camera.evaluate("(selector) => selector.value")  # the picker's value, as Home Assistant keeps it
        return value

    wait_until(lambda: chosen() == "camera.demo_camera", 10, "the first Vigil camera in the editor")
    steps.shot(page, "editor")
    camera.click()
    page.keyboard.type("Test")
    visible(page.locator("ha-combo-box-item").filter(has_text=TEST)).click()
    wait_until(lambda: chosen() == "camera.test_camera", 10, "the test camera chosen")
    TimelineCard.named(page, TEST)  # the editor's preview follows
    steps.shot(page, "test camera chosen")
    visible(page.get_by_role("button", name="Save")).click()
    visible(page.get_by_role("button", name="Done")).click()

    config = api.websocket({"type": "lovelace/config", "url_path": "camera-review"})
    cards = [card for view in config["views"] for section in view.get("sections", []) for card in section["cards"]]
    assert {"type": "custom:vigil-timeline-card", "entity": "camera.test_camera"} in cards  # defaults left out
    card = TimelineCard.named(page, TEST)
    card.wait_day()
    card.wait_mode("live")
    steps.shot(page, "on the dashboard")


def test_vigil_cameras_dashboard(page: Page, stack: DevelopStack, steps: Steps, traffic: Traffic) -> None:
    """Settings → Dashboards → Add dashboard offers "Vigil cameras": a card for every camera."""
    page.goto(f"{stack.ha_url}/config/lovelace/dashboards")
    visible(page.get_by_role("button", name="Add dashboard")).click()
    offer = visible(page.locator("dashboard-card").filter(has_text="Vigil cameras"))
    steps.shot(page, "add dashboard")
    offer.click()
    visible(page.get_by_role("textbox", name="Title")).fill("Vigil cameras")
    visible(page.get_by_role("button", name="Create")).click()
    visible(page.locator("ha-sidebar").get_by_text("Vigil cameras", exact=True)).click()
    page.wait_for_url("**/vigil-cameras**")
    for name in (DEMO, TEST):
        TimelineCard.named(page, name).wait_day()
    steps.shot(page, "vigil cameras dashboard")


# --- reviewing footage --------------------------------------------------------------------------


def test_scrubbing_shows_the_frame_recorded_at_that_instant(
    page: Page, stack: DevelopStack, steps: Steps, engine: Engine, traffic: Traffic
) -> None:
    wait_footage(engine, DEMO_ID, 60)
    open_panel(page, stack)
    demo = TimelineCard.named(page, DEMO)
    demo.wait_day()
    start, end = last_footage(demo)
    target = max(start + 10_000, end - 30_000)
    loaded_at = now_ms()  # the player's playlist lists what is indexed by then
    demo.look_at(target, TWO_MINUTES)  # paused there
    steps.shot(page, "paused")
    for offset in (0, -7_300, 4_100, -15_900):
        instant = target + offset
        demo.click_at(instant)
        demo.wait_wall_near(instant, 2_000, what="the seek")
        wall = assert_frame_is_the_recorded_one(demo, engine)
        # The frame shown is the one recorded at the instant clicked: within a pixel (and one frame) of it.
        assert abs(wall - instant) <= demo.ms_per_pixel() + FRAME_MS, (wall, instant)
        steps.shot(page, f"frame at {local_clock(wall)}")
    # Dragging plays from where the pointer is let go.
    demo.drag(target - 20_000, target - 10_000)
    demo.wait_wall_near(target - 10_000, 2_000, what="the dragged-to instant")
    assert_frame_is_the_recorded_one(demo, engine)

    # Footage indexed after the playlist was loaded: the card loads a new one, and stays paused.
    def newer() -> list[RecordedSegment]:
        return [
            segment
            for segment in engine.segments(DEMO_ID, loaded_at, now_ms() + 60_000)
            if segment.start_ms >= loaded_at
        ]

    segment = wait_until(newer, 40, "a segment indexed after the playlist", interval=1)[0]
    instant = (segment.start_ms + segment.end_ms) // 2
    while not demo.view()[0] <= instant <= demo.view()[1]:
        demo.button("Zoom out").click()
    demo.click_at(instant)
    demo.wait_wall_near(instant, demo.ms_per_pixel() + 1_000, what="the newer footage")
    assert_frame_is_the_recorded_one(demo, engine)
    assert demo.video_state()["paused"]
    steps.shot(page, "newer footage, paused")


def test_playing_across_a_segment_boundary_and_a_gap(
    page: Page, stack: DevelopStack, steps: Steps, engine: Engine, traffic: Traffic
) -> None:
    wait_footage(engine, DEMO_ID, 40)
    api = stack.api()
    select = record_mode_select(stack, DEMO_ID)
    # A gap for real: recording off for 12 s through Home Assistant's select entity, then on again.
    off_at = now_ms()
    api.json("/api/services/select/select_option", {"entity_id": select, "option": "off"})
    time.sleep(12)
    api.json("/api/services/select/select_option", {"entity_id": select, "option": "continuous"})

    def gap_with_footage_after() -> dict[str, Any] | None:
        gaps = [gap for gap in engine.summary(DEMO_ID, today(), TIME_ZONE)["gaps"] if gap["end_ms"] > off_at]
        if not gaps:
            return None
        after = engine.segments(DEMO_ID, gaps[-1]["end_ms"], gaps[-1]["end_ms"] + 60_000)
        return dict(gaps[-1]) if after and after[0].end_ms - after[0].start_ms >= 5_000 else None

    gap: dict[str, Any] = wait_until(gap_with_footage_after, 90, "the gap and footage after it", interval=1)
    assert gap["end_ms"] - gap["start_ms"] >= 10_000
    before = engine.segments(DEMO_ID, gap["start_ms"] - 60_000, gap["start_ms"])
    assert before[-1].end_ms == gap["start_ms"]
    boundary = before[-1].start_ms
    assert abs(before[-2].end_ms - boundary) <= 100, "two contiguous segments before the gap"

    open_panel(page, stack)
    demo = TimelineCard.named(page, DEMO)
    demo.wait_day()
    demo.look_at((boundary - 3_000 + gap["end_ms"] + 2_000) / 2, TWO_MINUTES)  # the boundary and the gap
    shown_gap = next(item for item in demo.bar_items("gap") if int(item["startMs"]) == gap["start_ms"])
    assert shown_gap["reason"] == gap["reason"]
    # Hovering (or tapping) the gap says why there is no footage.
    page.mouse.move(*demo.x_of((gap["start_ms"] + gap["end_ms"]) / 2))
    wait_until(lambda: gap["reason"] in demo.info(), 5, "the gap's reason")
    assert demo.info().startswith(f"No footage {local_clock(gap['start_ms'])}–{local_clock(gap['end_ms'])}")
    steps.shot(page, "gap reason")

    for name, start, resume in (("segment boundary", boundary, boundary), ("gap", gap["start_ms"], gap["end_ms"])):
        demo.click_at(start - 3_000)
        if demo.video_state()["paused"]:
            demo.button("Play").click()
        demo.wait_wall_near(start - 3_000, 1_500, what=f"playing before the {name}")
        # Played on across it: the clock never shows an instant in between, and never stops for long.
        samples: list[tuple[float, int]] = []
        began = time.monotonic()
        while time.monotonic() - began < 20:
            wall = demo.wall_ms() or 0
            samples.append((time.monotonic(), wall))
            if wall >= resume + 1_500:
                break
            time.sleep(0.1)
        assert samples[-1][1] >= resume + 1_500, f"did not play past the {name}: {samples[-5:]}"
        assert not [wall for _, wall in samples if start + 200 < wall < resume - 200], f"shown inside the {name}"
        played_ms = (start - samples[0][1]) + (samples[-1][1] - resume)
        took_s = samples[-1][0] - samples[0][0]
        assert took_s < played_ms / 1000 + 3, f"{took_s:.1f} s to play {played_ms / 1000:.1f} s of footage"
        assert longest_standstill(samples) < 1.5, f"the clock stood still at the {name}: {samples}"
        demo.pause()
        wall = assert_frame_is_the_recorded_one(demo, engine)
        assert wall > resume
        steps.shot(page, f"after the {name}")


def test_an_event_plays_from_its_pre_capture(
    page: Page, stack: DevelopStack, steps: Steps, engine: Engine, traffic: Traffic
) -> None:
    wait_footage(engine, DEMO_ID, 45, events=2)
    open_panel(page, stack)
    demo = TimelineCard.named(page, DEMO)
    demo.wait_day()
    summary = engine.summary(DEMO_ID, today(), TIME_ZONE)
    events = sorted((event for event in summary["events"] if event["end_ms"]), key=lambda event: event["start_ms"])

    def plays_whole(event: dict[str, Any]) -> bool:
        return engine.indexed(DEMO_ID, event["start_ms"] - event["pre_ms"], event["end_ms"] + event["post_ms"])

    # An event whose footage is all indexed, and so is its next one's: footage of another test's gap
    # would start where it resumes, and the segment being written is live, not a recording yet.
    event, following = next(
        (event, after)
        for event, after in reversed(list(itertools.pairwise(events)))
        if plays_whole(event) and plays_whole(after)
    )
    pre_capture = event["start_ms"] - event["pre_ms"]
    row = demo.root.locator(f'vigil-event-list button[data-event-id="{event["id"]}"]')
    row.click()
    demo.wait_mode("playback")
    first = wait_until(lambda: demo.metrics()["lastSeekFrameWallMs"], 15, "the event's first frame")
    assert pre_capture - FRAME_MS <= first <= pre_capture + FRAME_MS, (first, pre_capture)
    wait_until(lambda: "active" in (row.get_attribute("class") or ""), 5, "the event marked as playing")
    steps.shot(page, "event playing")
    # Paused, the event shows its first frame of footage and stays there.
    demo.pause()
    row.click()
    demo.wait_wall_near(pre_capture, FRAME_MS, what="the pre-capture frame")
    assert_frame_is_the_recorded_one(demo, engine)
    steps.shot(page, "event pre-capture")
    # Previous and next event from there.
    demo.button("Next event").click()
    demo.wait_wall_near(following["start_ms"] - following["pre_ms"], FRAME_MS, what="the next event")
    assert_frame_is_the_recorded_one(demo, engine)  # still paused: its first frame
    demo.button("Live").click()
    demo.wait_mode("live")
    demo.wait_video_advancing(45)


def test_export_a_range_and_download_it(
    page: Page, stack: DevelopStack, steps: Steps, engine: Engine, traffic: Traffic, tmp_path: Path
) -> None:
    wait_footage(engine, DEMO_ID, 60)
    open_panel(page, stack)
    demo = TimelineCard.named(page, DEMO)
    demo.wait_day()
    start, end = last_footage(demo)
    a = max(start + 5_000, end - 40_000)
    demo.look_at(a, TWO_MINUTES)
    demo.button("Select a range to export").click()
    demo.drag(a, a + 20_000)
    wait_until(lambda: "Export" in demo.info(), 5, "the selection")
    selected = demo.info()
    steps.shot(page, "selection")
    demo.root.get_by_role("button", name="Export", exact=True).click()
    link = demo.root.locator("a[download]")
    link.wait_for(timeout=60_000)
    steps.shot(page, "exported")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith(".mp4")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)

    data = saved.read_bytes()
    assert data[4:8] == b"ftyp"
    with av.open(io.BytesIO(data), "r") as container:
        video = container.streams.video[0]
        frames = list(container.decode(video))
        assert container.duration is not None
        duration_s = container.duration / 1_000_000
    # 20 s asked for; the clip starts at the keyframe at or before the start (every 2 s).
    assert 19.5 <= duration_s <= 23, (duration_s, selected)
    numbers = [
        read_timecode(np.asarray(frame.to_ndarray(format="gray"), np.uint8)) for frame in (frames[0], frames[-1])
    ]
    assert None not in numbers
    at_start = engine.frame_at(DEMO_ID, round(a + demo.ms_per_pixel())).number
    assert at_start is not None
    assert numbers[0] is not None
    assert 0 <= at_start - numbers[0] <= 2 * 15 + 5  # the keyframe before the start
    assert numbers[1] is not None
    assert numbers[1] - numbers[0] == len(frames) - 1  # every frame of the range, none missing


def test_days_when_the_clocks_change(browser: Browser, stack: DevelopStack, steps: Steps) -> None:
    """Home Assistant's zone (Europe/Berlin): its spring day has 23 hours, its autumn day 25."""
    context = browser.new_context(
        # A wide screen: every hour of the bar gets its label. And a browser in another zone than Home Assistant's.
        viewport={"width": 3000, "height": 1000},
        locale="en-GB",
        timezone_id="America/New_York",
    )
    try:
        page = log_in(context, stack.ha_url, "dev", stack.password)
        traffic = Traffic(page)
        open_panel(page, stack)
        test = TimelineCard.named(page, TEST)
        test.wait_day()
        day = test.root.locator("input[type=date]")
        day.fill("2026-03-29")
        wait_until(lambda: "23-hour day" in test.root.locator(".day").inner_text(), 10, "the spring day")
        labels = test.ruler()
        assert len(labels) == 23, labels
        assert labels[:4] == ["00:00", "01:00", "03:00", "04:00"]  # not the browser's zone (New York)
        steps.shot(page, "23-hour day")
        day.fill("2026-10-25")
        wait_until(lambda: "25-hour day" in test.root.locator(".day").inner_text(), 10, "the autumn day")
        labels = test.ruler()
        assert len(labels) == 25, labels
        assert labels[:5] == ["00:00", "01:00", "02:00 +2", "02:00 +1", "03:00"]
        steps.shot(page, "25-hour day")
        test.button("Next day").click()
        wait_until(
            lambda: "Oct 2026" in test.root.locator(".day").inner_text() and len(test.ruler()) == 24, 10, "26 Oct"
        )
        assert "hour day" not in test.root.locator(".day").inner_text()
        assert traffic.assert_absent(Engine(stack).token, f"127.0.0.1:{stack.engine_port}") > 0
    finally:
        context.close()


def test_on_a_phone_in_the_dark(browser: Browser, stack: DevelopStack, steps: Steps, engine: Engine) -> None:
    wait_footage(engine, DEMO_ID, 30)
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
        traffic = Traffic(page)
        open_panel(page, stack)
        demo = TimelineCard.named(page, DEMO)
        demo.wait_day()
        steps.shot(page, "phone")
        assert horizontal_overflow(page) == []
        box = demo.track.bounding_box()
        assert box is not None
        assert box["width"] >= 300
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"]
        assert demo.track.is_visible()
        # Dark: Home Assistant's dark theme colours the card.
        background = demo.root.locator("ha-card").evaluate("(card) => getComputedStyle(card).backgroundColor")
        channels = [
            int(value) for value in background[background.index("(") + 1 : background.index(")")].split(",")[:3]
        ]
        assert sum(channels) / 3 < 80, background
        # A tap on the bar plays from there.
        start, end = last_footage(demo)
        demo.zoom_in_to(30 * 60_000)
        x, y = demo.x_of(max(start, end - 60_000))
        page.touchscreen.tap(x, y)
        demo.wait_mode("playback")
        demo.wait_frame()
        assert horizontal_overflow(page) == []
        steps.shot(page, "phone playing")
        page.locator("vigil-timeline-card").nth(1).scroll_into_view_if_needed()
        steps.shot(page, "phone second camera")
        assert traffic.assert_absent(engine.token, f"127.0.0.1:{stack.engine_port}") > 0
    finally:
        context.close()
