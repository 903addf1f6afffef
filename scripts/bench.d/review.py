"""Review benchmark: the Vigil card over a full day of footage, in Chromium through Home Assistant.

The day (one camera, Home Assistant's local day, today): **8,640 segments, 500 events, 20 gaps**.

* Footage: one real segment (8 s of the demo scene, 640x360 15 fps H.264 + AAC, cut by the engine's
  own segment writer: ``tests/api/footage.py``) is hard-linked 8,640 times into the engine's storage
  layout (``recordings/<camera>/<day>/<hour>/<mm.ss>.mp4``) and indexed as 8,640 segments that fill
  the day with 20 gaps of equal length between them (the day's 24 hours minus 19.2 hours of
  footage: 14.4 min each), with an outage's reason. Every row has its file, so the engine's
  start-up reconcile keeps them all; the camera is configured but disabled, so nothing else is
  recorded. The day is today's because the card opens on today: footage "in the future" hours
  plays like any other.
* 500 events over the footage (motion with zones, manual with a label, camera events of a person),
  each with a thumbnail (one JPEG, hard-linked).

Then ``scripts/develop`` runs with that engine config (no RTSP test camera): the engine, and Home
Assistant onboarded with the integration. Debian's Chromium (Playwright) logs in and opens a
dashboard with the card alone, and measures, on the page:

1. **timeline**: ``vigil/timeline`` for the day sent over Home Assistant's WebSocket by the page
   (``hass.callWS``, what the card does), ``--timelines`` times: the round trip, the answer's size.
   Goal: p95 <= 300 ms.
2. **first render**: the dashboard loaded ``--loads`` times: from the card attached to the page to
   its first render with the day's timeline (``card.metrics.firstRenderMs``); also from the page's
   navigation start (Home Assistant's frontend booting included). Goal: p95 <= 1 s.
3. **click to first frame**: ``--clicks`` clicks at random places on the bar (whole day shown):
   from the click (pointer up) to the first frame of the footage asked for, as presented by the
   browser (``requestVideoFrameCallback``; ``card.metrics.seekToFrameMs``). "Far" clicks mostly
   need a new playlist (the card loads an hour at a time); "near" clicks (within a few minutes of
   the playhead, on a bar zoomed to 30 min) are seeks in the loaded playlist. Goal: p95 <= 1.5 s.

Work files (the engine's storage, Home Assistant's folder and logs) stay in ``.bench/review/``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import av
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "addon"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PIL import Image
from playwright.sync_api import Page, sync_playwright

from tests.api.footage import record_footage
from tests.support.develop_stack import DevelopStack, free_port
from tests.support.media import make_clip
from tests.ui.card_driver import TimelineCard, wait_until
from tests.ui.frontend import DESKTOP, launch_chromium, log_in
from tests.ui.recorded_frames import Engine
from vigil_engine.events.model import EventKind, EventRecord
from vigil_engine.storage.index import GapRecord, Index, SegmentRecord
from vigil_engine.storage.layout import segment_path

REPO = Path(__file__).resolve().parents[2]
WORK = REPO / ".bench" / "review"
CAMERA_ID = "bench"
CAMERA_NAME = "Bench camera"
SEGMENTS = 8640
EVENTS = 500
GAPS = 20
SEGMENT_SECONDS = 8.0
GOAL_TIMELINE_MS = 300
GOAL_RENDER_MS = 1000
GOAL_FRAME_MS = 1500
GAP_REASONS = (
    "camera offline: no answer from the camera within 5 s",
    "camera offline: Connection refused",
    "recording off",
    "camera offline: the camera stopped sending (stream ended)",
)
DASHBOARD = "review-bench"


@dataclass(frozen=True, slots=True)
class Day:
    date: date
    start_ms: int
    end_ms: int


def log(message: str) -> None:
    print(f"review: {message}", file=sys.stderr, flush=True)


def local_day(zone: ZoneInfo) -> Day:
    today = datetime.now(zone).date()
    start = datetime(today.year, today.month, today.day, tzinfo=zone)
    following = today + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=zone)
    return Day(today, round(start.timestamp() * 1000), round(end.timestamp() * 1000))


def one_segment(scratch: Path) -> tuple[SegmentRecord, Path]:
    """A real segment file, as a camera worker writes it, and its row."""
    clip = make_clip(scratch / "clip.mkv", SEGMENT_SECONDS + 2, keyframe_seconds=2.0)
    index = Index(scratch / "scratch.db")
    try:
        footage = record_footage(index, scratch / "recordings", CAMERA_ID, clip, 0, segment_seconds=SEGMENT_SECONDS)
    finally:
        index.close()
    first = footage.segments[0]
    return first, scratch / "recordings" / first.path


def thumbnail(scratch: Path) -> Path:
    """One JPEG of the scene, for every event's snapshot and thumbnail."""
    with av.open(str(scratch / "clip.mkv")) as container:
        frame = next(container.decode(video=0))
    path = scratch / "event.jpg"
    Image.fromarray(frame.to_ndarray(format="rgb24")).resize((320, 180)).save(path, quality=80)
    return path


def build_storage(storage: Path, day: Day) -> dict[str, int]:
    """The day's index and files; counts of what was made."""
    scratch = WORK / "scratch"
    scratch.mkdir(parents=True)
    source, source_file = one_segment(scratch)
    picture = thumbnail(scratch)
    recordings = storage / "recordings"
    recordings.mkdir(parents=True)
    seg_ms = source.end_ms - source.start_ms
    gap_ms = (day.end_ms - day.start_ms - SEGMENTS * seg_ms) // GAPS
    runs = [SEGMENTS // (GAPS + 1) + (1 if index < SEGMENTS % (GAPS + 1) else 0) for index in range(GAPS + 1)]
    index = Index(storage / "vigil.db")
    footage: list[tuple[int, int]] = []
    started = time.monotonic()
    try:
        index.upsert_camera(CAMERA_ID, CAMERA_NAME, day.start_ms)
        cursor = day.start_ms
        for number, run in enumerate(runs):
            first = cursor
            for _ in range(run):
                path = segment_path(recordings, CAMERA_ID, cursor)
                path.parent.mkdir(parents=True, exist_ok=True)
                os.link(source_file, path)
                index.add_segment(
                    SegmentRecord(
                        CAMERA_ID,
                        cursor,
                        cursor + seg_ms,
                        source.bytes,
                        path.relative_to(recordings).as_posix(),
                        source.video_codec,
                        source.width,
                        source.height,
                        source.audio_codec,
                        source.frames,
                    )
                )
                cursor += seg_ms
            footage.append((first, cursor))
            if number < GAPS:
                index.add_gap(GapRecord(CAMERA_ID, cursor, cursor + gap_ms, GAP_REASONS[number % len(GAP_REASONS)]))
                cursor += gap_ms
        log(f"indexed {SEGMENTS} segments and {GAPS} gaps in {time.monotonic() - started:.1f} s")
        rng = random.Random(14)
        recorded_ms = sum(end - start for start, end in footage)
        keep = day.end_ms + 3650 * 86_400_000
        for number in range(EVENTS):
            # Spread over the footage, never across a gap.
            at = (number + 0.5) * recorded_ms / EVENTS
            for start, end in footage:
                if at < end - start:
                    break
                at -= end - start
            begin = min(round(start + at), end - 46_000)  # room for its length and post-capture
            length = rng.randint(5_000, 40_000)
            kind: EventKind = "motion"
            label: str | None = None
            zones: tuple[str, ...] = ("driveway",) if number % 3 else ()
            if number % 10 == 3:
                kind, label, zones = "manual", "doorbell", ()
            elif number % 10 == 7:
                kind, label, zones = "camera", "person", ()
            event_id = uuid.uuid4().hex
            relative = f"events/{CAMERA_ID}/{day.date.isoformat()}/{event_id}"
            for suffix in (".jpg", "_thumb.jpg"):
                target = storage / f"{relative}{suffix}"
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(picture, target)
            event = EventRecord(
                event_id, CAMERA_ID, kind, begin, begin + length, 5_000, 5_000, zones,
                round(rng.uniform(0.01, 0.2), 3), f"{relative}.jpg", f"{relative}_thumb.jpg", label,
            )  # fmt: skip
            index.save_event(event, keep)
    finally:
        index.close()
    shutil.rmtree(scratch)
    return {"segments": SEGMENTS, "gaps": GAPS, "events": EVENTS, "segment_ms": seg_ms, "gap_ms": gap_ms}


def engine_config(storage: Path) -> Path:
    config = {
        "storage_path": str(storage),
        "segment_seconds": SEGMENT_SECONDS,
        "disk_cap": "100GB",
        "min_free": "1GB",
        "cameras": [
            {
                "id": CAMERA_ID,
                "name": CAMERA_NAME,
                "url": "demo://",
                "enabled": False,  # the index is the day built here: nothing else is recorded
                "retention_days": 3650,
                "events": {"retention_days": 3650},
            }
        ],
    }
    path = WORK / "engine.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def summary_line(name: str, values: list[float], goal: float | None = None) -> str:
    if not values:
        return f"  {name:<34} no samples"
    p95 = percentile(values, 0.95)
    text = (
        f"  {name:<34} n={len(values):<3} p50 {statistics.median(values):7.1f} ms   p95 {p95:7.1f} ms"
        f"   max {max(values):7.1f} ms"
    )
    if goal is not None:
        text += f"   goal p95 <= {goal:.0f} ms: {'met' if p95 <= goal else 'NOT met'}"
    return text


def camera_entity(stack: DevelopStack) -> str:
    template = "{{ integration_entities('vigil') | select('match', 'camera[.]') | first }}"
    status, _, content = stack.api().request("/api/template", {"template": template})
    assert status == 200, content
    return content.decode().strip()


def measure_timeline(page: Page, entity: str, count: int) -> tuple[list[float], int]:
    """Round trips of vigil/timeline as the card sends it (the page's own Home Assistant connection)."""
    result: dict[str, Any] = page.evaluate(
        """async ({ entity, count }) => {
          const hass = document.querySelector('home-assistant').hass;
          const times = [];
          let size = 0;
          for (let i = 0; i < count; i += 1) {
            const started = performance.now();
            const day = await hass.callWS({ type: 'vigil/timeline', entity_id: entity });
            times.push(performance.now() - started);
            size = JSON.stringify(day).length;
          }
          return { times, size };
        }""",
        {"entity": entity, "count": count},
    )
    return [float(value) for value in result["times"]], int(result["size"])


def measure_first_render(page: Page, url: str, count: int) -> tuple[list[float], list[float]]:
    card_ms: list[float] = []
    page_ms: list[float] = []
    for _ in range(count):
        page.goto(url)
        card = TimelineCard(page, page.locator("vigil-timeline-card").first)
        card.root.wait_for()
        metrics = rendered_metrics(card)
        card_ms.append(float(metrics["firstRenderMs"]))
        page_ms.append(float(metrics["connectedAt"]) + float(metrics["firstRenderMs"]))
    return card_ms, page_ms


def rendered_metrics(card: TimelineCard) -> dict[str, Any]:
    def rendered() -> dict[str, Any] | None:
        metrics = card.metrics()
        return metrics if metrics["firstRenderMs"] is not None else None

    found: dict[str, Any] = wait_until(rendered, 30, "the card's first render")
    return found


def click_and_wait(card: TimelineCard, ms: float) -> float:
    before = len(card.metrics()["seekToFrameMs"])
    card.click_at(ms)
    metrics: dict[str, Any] = wait_until(
        lambda: (found := card.metrics())["seekToFrameMs"][before:] and found, 15, "the first frame"
    )
    return float(metrics["seekToFrameMs"][before])


def measure_clicks(card: TimelineCard, count: int, footage: list[tuple[int, int]]) -> tuple[list[float], list[float]]:
    rng = random.Random(7)
    far: list[float] = []
    for number in range(count):
        start, end = footage[rng.randrange(len(footage))]
        far.append(click_and_wait(card, rng.uniform(start, end - 1_000)))
        log(f"far click {number + 1}/{count}: {far[-1]:.0f} ms")
    near: list[float] = []
    card.zoom_in_to(30 * 60_000)
    for number in range(count):
        playhead = card.wall_ms() or 0
        start, end = card.view()
        candidates = [ms for ms in (playhead + rng.uniform(-180_000, 180_000) for _ in range(10)) if start < ms < end]
        if not candidates:
            continue
        near.append(click_and_wait(card, candidates[0]))
        log(f"near click {number + 1}/{count}: {near[-1]:.0f} ms")
    return far, near


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--zone", default="Europe/Berlin", help="Home Assistant's time zone (the day is its today)")
    parser.add_argument("--timelines", type=int, default=30, help="vigil/timeline round trips")
    parser.add_argument("--loads", type=int, default=10, help="dashboard loads (first render)")
    parser.add_argument("--clicks", type=int, default=20, help="clicks of each kind (far, near)")
    args = parser.parse_args()
    zone = ZoneInfo(args.zone)

    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    day = local_day(zone)
    storage = WORK / "storage"
    made = build_storage(storage, day)
    config = engine_config(storage)
    stack = DevelopStack(
        WORK / "develop", free_port(), free_port(), WORK / "develop.out", time_zone=args.zone, extra_args=(str(config),)
    )
    log("starting scripts/develop with the day's engine")
    stack.start()
    try:
        stack.wait_ready()
        engine = Engine(stack)
        summary = engine.summary(CAMERA_ID, day.date.isoformat(), args.zone)
        footage = [(item["start_ms"], item["end_ms"]) for item in summary["recorded"]]
        assert len(summary["gaps"]) == GAPS, summary["gaps"]
        assert len(summary["events"]) == EVENTS
        assert summary["recorded_ms"] == SEGMENTS * made["segment_ms"], summary["recorded_ms"]
        entity = camera_entity(stack)
        stack.api().websocket(
            {"type": "lovelace/dashboards/create", "url_path": DASHBOARD, "title": "Review bench", "mode": "storage"}
        )
        stack.api().websocket(
            {
                "type": "lovelace/config/save",
                "url_path": DASHBOARD,
                "config": {"views": [{"cards": [{"type": "custom:vigil-timeline-card", "entity": entity}]}]},
            }
        )
        with sync_playwright() as driver:
            browser = launch_chromium(driver)
            try:
                context = browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id=args.zone)
                page = log_in(context, stack.ha_url, "dev", stack.password)
                url = f"{stack.ha_url}/{DASHBOARD}"
                log("first render")
                card_ms, page_ms = measure_first_render(page, url, args.loads)
                log("timeline round trips")
                timeline_ms, size = measure_timeline(page, entity, args.timelines)
                card = TimelineCard(page, page.locator("vigil-timeline-card").first)
                card.wait_day()
                log("clicks")
                far, near = measure_clicks(card, args.clicks, footage)
            finally:
                browser.close()
    finally:
        stack.stop()
        stack.kill_leftovers()

    print()
    print(
        f"One camera, one local day ({day.date}, {args.zone}): {made['segments']} segments of"
        f" {made['segment_ms'] / 1000:g} s, {made['events']} events, {made['gaps']} gaps of"
        f" {made['gap_ms'] / 60_000:.1f} min; Home Assistant, Chromium {DESKTOP['width']}x{DESKTOP['height']}"
    )
    print(f"  vigil/timeline answer: {size / 1024:.0f} KiB of JSON")
    print(summary_line("timeline over HA's WebSocket", timeline_ms, GOAL_TIMELINE_MS))
    print(summary_line("first render (card attached)", card_ms, GOAL_RENDER_MS))
    print(summary_line("first render (from navigation)", page_ms))
    print(summary_line("click to first frame, far", far, GOAL_FRAME_MS))
    print(summary_line("click to first frame, near", near, GOAL_FRAME_MS))
    print(summary_line("click to first frame, all", far + near, GOAL_FRAME_MS))
    met = (
        percentile(timeline_ms, 0.95) <= GOAL_TIMELINE_MS
        and percentile(card_ms, 0.95) <= GOAL_RENDER_MS
        and percentile(far + near, 0.95) <= GOAL_FRAME_MS
    )
    print(f"Goals: {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
