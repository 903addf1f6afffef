"""Footage in Home Assistant's Media panel, clicked down to and played as a user does.

The development stack records its cameras; Chromium opens *Media → Vigil NVR → Test camera*
and clicks its way down. What the user sees is what is checked: the tiles' titles and their
pictures (fetched through Home Assistant), the video playing in the panel's own player, and
the instant it shows, read from what the page itself fetched (the playlist's first
``EXT-X-PROGRAM-DATE-TIME``, an event clip's ``X-Vigil-Start-Ms``). The engine's API is asked
only for the truth to compare with (its day summary, the event).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import Page

from tests.support.develop_stack import DevelopStack, wait_for
from tests.ui.conftest import TIME_ZONE
from tests.ui.engine_api import Engine
from tests.ui.frontend import (
    Fetched,
    MediaPanel,
    Steps,
    close_player,
    heading,
    play_folder,
    playlist_start,
    visible,
    wait_playing,
    wait_thumbnails,
)

CAMERA_ID = "test_camera"
ZONE = ZoneInfo(TIME_ZONE)
DAY_TILE = re.compile(r"\w{3} \d{1,2} \w{3} · \d.*")
HOUR_TILE = re.compile(r"\d{2}:00(?: \([+-]\d{2}:\d{2}\))? · \d.*")
EVENT_TILE = re.compile(r"\d{2}:\d{2}:\d{2} · .+")
# The test camera's keyframes are 2 s apart: a clip starts at the keyframe at or before the instant asked for.
KEYFRAME_INTERVAL_MS = 2000


def _wait_for_footage(stack: DevelopStack, seconds: float = 60) -> None:
    """Until the test camera has a finished segment and an event (its box moves every 30 s)."""
    api = stack.api()

    def ready() -> bool:
        events = api.websocket({"type": "logbook/get_events", "start_time": "2000-01-01T00:00:00Z"})
        return any("test_camera" in str(entry.get("entity_id", "")) and "event" in str(entry) for entry in events)

    wait_for(ready, seconds, "an event of the test camera")


def _local(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(ZONE)


def _play_from(ms: int) -> str:
    """How a tile names where footage resumes: ``Play from 16:14`` on the minute, else with seconds."""
    local = _local(ms)
    return f"Play from {local:%H:%M}" if local.second == 0 and ms % 1000 == 0 else f"Play from {local:%H:%M:%S}"


def _open_recordings(media: MediaPanel, steps: Steps) -> None:
    media.open()
    steps.shot(media.page, "media sources")
    for title in ("Vigil NVR", "Test camera", "Recordings"):
        media.click(title)
        steps.shot(media.page, title)


def _hour_of(summary: dict[str, Any], ms: int) -> dict[str, Any]:
    return next(hour for hour in summary["hours"] if hour["start_ms"] <= ms < hour["end_ms"])


def test_a_recording_hour_plays_in_the_media_panel(page: Page, stack: DevelopStack, steps: Steps) -> None:
    _wait_for_footage(stack)
    engine = Engine(stack)
    fetched = Fetched(page)
    media = MediaPanel(page, stack.ha_url)
    _open_recordings(media, steps)

    # The days with footage, each with a picture of it (fetched through Home Assistant).
    days = media.tiles()
    assert days, "no day with footage"
    assert all(DAY_TILE.fullmatch(title) for title in days), days
    wait_thumbnails(media)
    stills = fetched.matching(rf"/api/vigil/\w+/cameras/{CAMERA_ID}/still\.jpg\?")
    assert stills, "no still of the day was fetched"
    assert all(still.status == 200 and still.headers["content-type"] == "image/jpeg" for still in stills)

    # The newest day: only its hours with footage, ``16:00 · 48 min``.
    media.click_first()
    steps.shot(page, "day")
    day = datetime.now(ZONE).date().isoformat()
    assert heading(media).startswith(f"Test camera · {datetime.now(ZONE):%a} {datetime.now(ZONE).day} ")
    hours = media.tiles()
    assert all(HOUR_TILE.fullmatch(title) for title in hours), hours
    summary = engine.summary(CAMERA_ID, day, TIME_ZONE)
    with_footage = {hour["label"] for hour in summary["hours"] if hour["recorded_ms"] > 0}
    now_label = f"{datetime.now(ZONE):%H}:00"
    listed = {title.split(" · ")[0] for title in hours}
    # The hour now running is listed once its first segment is indexed (seconds into the hour).
    assert with_footage - {now_label} <= listed <= with_footage | {now_label}, (hours, summary["hours"])
    wait_thumbnails(media)

    # The newest hour opens; its heading says what it holds, and it plays.
    media.click(hours[-1])
    steps.shot(page, "hour")
    assert heading(media).startswith("Test camera · ")
    details = media.tiles()
    assert details[0].startswith("Play from "), details
    wait_thumbnails(media)
    hour_start_ms = next(hour["start_ms"] for hour in summary["hours"] if hour["label"] == hours[-1].split(" · ")[0])
    play_folder(media)
    video = wait_playing(page)
    steps.shot(page, "hour playing")
    assert video["width"] == 640, video

    # It shows the hour's first footage: where the played playlist starts (the page's own fetch).
    playlist = fetched.wait_for(rf"/api/vigil/\w+/cameras/{CAMERA_ID}/playlist\.m3u8\?")
    assert playlist.status == 200
    fresh = engine.summary(CAMERA_ID, day, TIME_ZONE)
    hour = _hour_of(fresh, hour_start_ms)
    first_ms = min(
        max(start["start_ms"], hour["start_ms"]) for start in fresh["recorded"] if start["end_ms"] > hour["start_ms"]
    )
    shown = playlist_start(playlist.text())
    assert abs(shown - datetime.fromtimestamp(first_ms / 1000, UTC)) <= timedelta(seconds=1), (shown, first_ms)
    close_player(page)


def test_an_event_plays_in_the_media_panel(page: Page, stack: DevelopStack, steps: Steps) -> None:
    _wait_for_footage(stack)
    engine = Engine(stack)
    fetched = Fetched(page)
    media = MediaPanel(page, stack.ha_url)
    media.open()
    for title in ("Vigil NVR", "Test camera", "Events"):
        media.click(title)
    wait_thumbnails(media)
    media.click_first()  # the newest day with events
    steps.shot(page, "events of the day")
    events = media.tiles()
    assert all(EVENT_TILE.fullmatch(title) for title in events), events
    wait_thumbnails(media)
    media.click_first()  # its newest event
    video = wait_playing(page)
    steps.shot(page, "playing")
    assert video["width"] == 640, video

    # It starts at the event's pre-capture: the clip's first frame is the keyframe at or before it.
    clip = fetched.wait_for(r"/api/vigil/\w+/events/[0-9a-f]{32}/clip\.mp4\?")
    event_id = re.search(r"/events/([0-9a-f]{32})/", clip.url)
    assert event_id is not None
    event = engine.get(f"/api/events/{event_id.group(1)}")["event"]
    first_frame_ms = int(clip.headers["x-vigil-start-ms"])
    assert 0 <= event["start_ms"] - event["pre_ms"] - first_frame_ms <= KEYFRAME_INTERVAL_MS + 100, (
        event,
        clip.headers,
    )
    assert events[0].startswith(_local(event["start_ms"]).strftime("%H:%M:%S"))


def test_an_outage_is_listed_with_its_reason(page: Page, stack: DevelopStack, steps: Steps) -> None:
    """Recording off for a while, from its Home Assistant entity: the hour lists the gap and why."""
    _wait_for_footage(stack)
    engine = Engine(stack)
    api = stack.api()
    select = "select.test_camera_record_mode"
    wait_for(lambda: engine.camera(CAMERA_ID)["recording"], 30, "the test camera recording")
    api.json("/api/services/select/select_option", {"entity_id": select, "option": "off"})
    try:
        wait_for(lambda: not engine.camera(CAMERA_ID)["recording"], 30, "recording stopped")
        stopped_ms = int(engine.camera(CAMERA_ID)["last_segment_end_ms"])
        time.sleep(12)
    finally:
        api.json("/api/services/select/select_option", {"entity_id": select, "option": "continuous"})
    wait_for(lambda: engine.camera(CAMERA_ID)["recording"], 30, "recording again")
    day = _local(stopped_ms).date().isoformat()

    def written_down() -> dict[str, Any] | None:
        return next(
            (gap for gap in engine.summary(CAMERA_ID, day, TIME_ZONE)["gaps"] if gap["start_ms"] == stopped_ms), None
        )

    gap = wait_for(written_down, 30, "the outage in the engine's index")
    assert gap["end_ms"] - gap["start_ms"] >= 10_000, gap
    # The reason a user reads is the true one: recording was switched off (the engine was running).
    assert re.search(r"\boff\b|recording", gap["reason"], re.IGNORECASE), gap
    # Footage after it plays once its first segment is indexed (10 s segments).
    wait_for(
        lambda: engine.camera(CAMERA_ID)["last_segment_end_ms"] > gap["end_ms"], 30, "footage after the outage indexed"
    )

    fetched = Fetched(page)
    media = MediaPanel(page, stack.ha_url)
    _open_recordings(media, steps)
    media.click(f"{_local(stopped_ms):%a} {_local(stopped_ms).day} {_local(stopped_ms):%b} · ")
    hour = _hour_of(engine.summary(CAMERA_ID, day, TIME_ZONE), stopped_ms)
    media.click(f"{hour['label']} · ")
    steps.shot(page, "hour with the outage")
    shown = (max(gap["start_ms"], hour["start_ms"]), min(gap["end_ms"], hour["end_ms"]))
    title = f"Gap {_local(shown[0]):%H:%M:%S}–{_local(shown[1]):%H:%M:%S} · {gap['reason']}"
    details = media.tiles()
    assert title in details, details
    assert " gap" in heading(media), heading(media)
    # Footage before and after it, each playable from where it starts.
    index = details.index(title)
    assert any(part.startswith("Play from ") for part in details[:index]) or shown[0] == hour["start_ms"], details
    assert _play_from(gap["end_ms"]) in details or shown[1] == hour["end_ms"], details
    wait_thumbnails(media)
    stills = fetched.matching(rf"/api/vigil/\w+/cameras/{CAMERA_ID}/still\.jpg\?")
    assert stills
    assert all(still.status == 200 for still in stills), [(still.url, still.status) for still in stills]
    # The outage has no video of its own: it opens, with its whole reason as the page's title (a
    # tile cuts it short), and plays from just before it, across it.
    media.click(title)
    steps.shot(page, "outage opened")
    assert visible(page.locator("ha-top-app-bar-fixed h1.page-title")).inner_text().strip() == title
    assert media.tiles() == [_play_from(shown[0] - 10_000)]
    media.click_first()
    video = wait_playing(page)
    steps.shot(page, "outage playing")
    assert video["width"] == 640, video
    close_player(page)
