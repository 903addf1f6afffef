"""Driving the Vigil timeline card in Home Assistant's frontend, as a user does, and watching what the page gets.

The card's parts are web components with open shadow roots: Playwright's CSS locators pierce
them, so ``card.locator("vigil-timeline .track")`` finds the bar inside the card. Positions on
the bar are computed from the instants the bar says it shows (``data-start-ms``,
``data-end-ms``), and clicks are real mouse clicks at those pixels. The frame on screen is read
by drawing the card's ``<video>`` onto a canvas, as a page script could.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from playwright.sync_api import Locator, Page, Response, WebSocket

from tests.ui.frontend import UI_TIMEOUT_MS, visible

# Draws the video's current frame at its own size and returns the luma of its top ``rows`` rows.
_FRAME_LUMA_JS = """
(video, rows) => {
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  context.drawImage(video, 0, 0);
  const data = context.getImageData(0, 0, canvas.width, rows).data;
  const luma = new Array(canvas.width * rows);
  for (let i = 0; i < luma.length; i += 1) {
    luma[i] = Math.round(0.299 * data[4 * i] + 0.587 * data[4 * i + 1] + 0.114 * data[4 * i + 2]);
  }
  return { width: canvas.width, height: canvas.height, luma, currentTime: video.currentTime, paused: video.paused };
}
"""


def wait_until(predicate: Callable[[], Any], seconds: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + seconds
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {seconds} s waiting for {what} (last: {last!r})")


@dataclass
class TimelineCard:
    """One ``vigil-timeline-card`` on the page."""

    page: Page
    root: Locator

    @classmethod
    def named(cls, page: Page, name: str) -> TimelineCard:
        """The card whose header says ``name`` (a camera's name)."""
        cards = page.locator("vigil-timeline-card")
        wait_until(lambda: cards.count() > 0, UI_TIMEOUT_MS / 1000, "a Vigil timeline card")
        for index in range(cards.count()):
            card = cards.nth(index)
            if card.locator(".header .title").inner_text().strip() == name:
                return cls(page, card)
        raise AssertionError(f"no card of {name!r} on the page")

    # --- the bar -----------------------------------------------------------------------------

    @property
    def track(self) -> Locator:
        return self.root.locator("vigil-timeline .track")

    def wait_day(self, seconds: float = 20) -> None:
        """Until the bar shows a day (it has a span) and footage."""
        wait_until(lambda: self.track.get_attribute("data-start-ms") is not None, seconds, "the day on the bar")

    def view(self) -> tuple[int, int]:
        start, end = self.track.get_attribute("data-start-ms"), self.track.get_attribute("data-end-ms")
        assert start is not None
        assert end is not None
        return round(float(start)), round(float(end))

    def x_of(self, ms: float) -> tuple[float, float]:
        """The page coordinates of the instant ``ms`` on the bar (its vertical middle)."""
        box = self.track.bounding_box()
        assert box is not None
        start, end = self.view()
        assert start <= ms <= end, f"{ms} is not on the bar ({start}..{end})"
        return box["x"] + (ms - start) / (end - start) * box["width"], box["y"] + box["height"] / 2

    def ms_per_pixel(self) -> float:
        box = self.track.bounding_box()
        assert box is not None
        start, end = self.view()
        return (end - start) / box["width"]

    def click_at(self, ms: float) -> None:
        x, y = self.x_of(ms)
        self.page.mouse.click(x, y)

    def drag(self, from_ms: float, to_ms: float) -> None:
        x0, y = self.x_of(from_ms)
        x1, _ = self.x_of(to_ms)
        self.page.mouse.move(x0, y)
        self.page.mouse.down()
        for step in range(1, 11):
            self.page.mouse.move(x0 + (x1 - x0) * step / 10, y)
        self.page.mouse.up()

    def button(self, name: str) -> Locator:
        return self.root.locator(f'button[aria-label="{name}"]')

    def zoom_in_to(self, span_ms: float) -> None:
        """Click "Zoom in" until the bar shows at most ``span_ms`` (the card zooms around the playhead, or now)."""
        while True:
            before = self.view()
            if before[1] - before[0] <= span_ms:
                return
            self.button("Zoom in").click()
            self._wait_view_change(before)

    def _wait_view_change(self, before: tuple[int, int]) -> None:
        wait_until(lambda: self.view() != before, 5, "the bar to zoom")

    def look_at(self, ms: float, span_ms: float) -> int:
        """Zoom to ``span_ms`` around ``ms`` as a person does: a click there at a coarse zoom, pause,
        then the zoom buttons (they centre the playhead). The player stays paused there; the time
        of the frame it shows."""
        self.zoom_in_to(max(span_ms, 30 * 60_000))
        self.click_at(ms)
        self.wait_mode("playback")
        self.wait_frame()
        wall = self.pause()
        self.zoom_in_to(span_ms)
        start, end = self.view()
        assert start <= ms <= end, f"{ms} is not on the bar ({start}..{end}) after zooming"
        return wall

    def bar_items(self, kind: str) -> list[dict[str, str]]:
        """The bar's items of a kind ("recorded", "gap", "event") with their data attributes."""
        found: list[dict[str, str]] = self.root.locator(f"vigil-timeline .track > .{kind}").evaluate_all(
            "(items) => items.map((item) => ({ ...item.dataset }))"
        )
        return found

    def ruler(self) -> list[str]:
        return [label.strip() for label in self.root.locator("vigil-timeline .ruler .label").all_inner_texts()]

    # --- the player --------------------------------------------------------------------------

    @property
    def player(self) -> Locator:
        return self.root.locator("vigil-player")

    @property
    def video(self) -> Locator:
        return self.root.locator("vigil-player video")

    def mode(self) -> str | None:
        return self.player.get_attribute("mode")

    def wall_ms(self) -> int | None:
        """The wall-clock time the player shows for the frame on screen (UTC ms), or None."""
        clock = self.root.locator("vigil-player .clock")
        if clock.count() == 0:
            return None
        value = clock.get_attribute("data-wall-ms")
        return int(value) if value else None

    def wait_wall_near(self, ms: float, tolerance_ms: float, seconds: float = 10, what: str = "the frame") -> int:
        """Until the frame on screen is within ``tolerance_ms`` of ``ms``; its time."""

        def near() -> int | None:
            wall = self.wall_ms()
            return wall if wall is not None and abs(wall - ms) <= tolerance_ms else None

        found: int = wait_until(near, seconds, f"{what} near {ms}")
        return found

    def image_loaded(self, image: Locator, seconds: float = 20) -> None:
        wait_until(lambda: image.evaluate("(element) => element.naturalWidth") > 0, seconds, "a picture to load")

    def clock_text(self) -> str:
        return self.root.locator("vigil-player .clock").inner_text().strip()

    def video_state(self) -> dict[str, Any]:
        state: dict[str, Any] = self.video.evaluate(
            "(v) => ({ readyState: v.readyState, currentTime: v.currentTime, paused: v.paused, width: v.videoWidth,"
            " error: v.error ? v.error.code : null })"
        )
        return state

    def wait_mode(self, mode: str, seconds: float = 20) -> None:
        wait_until(lambda: self.mode() == mode, seconds, f"the player in {mode} mode")

    def wait_video_advancing(self, seconds: float = 30, by: float = 1.0) -> None:
        """Until the video's time moves on by ``by`` seconds: it plays."""
        first = float(self.video_state()["currentTime"])
        wait_until(lambda: self.video_state()["currentTime"] > first + by, seconds, "the video to play")

    def wait_frame(self, seconds: float = 20) -> int:
        """Until the player shows a frame with a wall-clock time; that time."""
        found: int = wait_until(self.wall_ms, seconds, "a frame with its time")
        return found

    def pause(self) -> int:
        """Pause (the card's button) and wait until the frame and its time stand still; that time."""
        self.button("Pause").click()
        wait_until(lambda: self.video_state()["paused"], 10, "the video to pause")
        return self.settled_wall_ms()

    def settled_wall_ms(self, seconds: float = 10) -> int:
        """The frame's time once it stops changing (after a pause or a seek while paused)."""
        previous: list[int | None] = [None]

        def steady() -> int | None:
            now = self.wall_ms()
            stable = now is not None and now == previous[0] and self.video_state()["readyState"] >= 2
            previous[0] = now
            return now if stable else None

        found: int = wait_until(steady, seconds, "the frame to settle", interval=0.3)
        return found

    def frame_luma(self) -> npt.NDArray[np.uint8]:
        """The frame on screen as the browser draws it, as a luma plane (only its top rows filled)."""
        rows = 48  # the demo's timecode lies within its top 24 rows at 640x360
        drawn: dict[str, Any] = self.video.evaluate(_FRAME_LUMA_JS, rows)
        width, height = int(drawn["width"]), int(drawn["height"])
        assert width > 0, "the video has no frame"
        luma = np.zeros((height, width), np.uint8)
        luma[:rows, :] = np.asarray(drawn["luma"], np.uint8).reshape(rows, width)
        return luma

    def info(self) -> str:
        return visible(self.root.locator(".info")).inner_text().strip()

    def metrics(self) -> dict[str, Any]:
        found: dict[str, Any] = self.root.evaluate("(card) => ({ ...card.metrics })")
        return found


@dataclass
class Traffic:
    """Everything the page received: WebSocket frames both ways, and every HTTP response with its body."""

    page: Page
    frames: list[str] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("websocket", self._socket)
        self.page.on("response", self._response)  # a method: Playwright cannot wrap a builtin like list.append

    def _response(self, response: Response) -> None:
        self.responses.append(response)

    def _socket(self, socket: WebSocket) -> None:
        socket.on("framereceived", lambda payload: self.frames.append(_text(payload)))
        socket.on("framesent", lambda payload: self.frames.append(_text(payload)))

    def assert_absent(self, *secrets: str) -> int:
        """No frame, URL, header or body holds any of ``secrets``; how many bodies were read."""
        bodies = 0
        for frame in self.frames:
            for secret in secrets:
                assert secret not in frame, f"a WebSocket frame holds {secret[:4]}…: {frame[:200]}"
        for response in self.responses:
            headers = " ".join(f"{name}: {value}" for name, value in response.headers.items())
            for secret in secrets:
                assert secret not in response.url, response.url
                assert secret not in headers, response.url
            try:
                body = response.body()
            except Exception:  # a redirect, or a stream the browser did not keep: no body to read
                continue
            bodies += 1
            for secret in secrets:
                assert secret.encode() not in body, f"{response.url} holds {secret[:4]}…"
        return bodies


def _text(payload: str | bytes) -> str:
    return payload if isinstance(payload, str) else payload.decode("utf-8", errors="replace")


def horizontal_overflow(page: Page) -> list[str]:
    """What sticks out sideways: the page scrolling sideways, a card wider than the window, or a
    part of a card outside the card (the bar's own items are clipped by the bar and left out)."""
    found: list[str] = page.locator("vigil-timeline-card").evaluate_all(
        """(cards) => {
          const width = window.innerWidth;
          const out = [];
          const page = document.scrollingElement;
          if (page.scrollWidth > width) out.push(`page ${page.scrollWidth} > ${width}`);
          for (const card of cards) {
            const box = card.getBoundingClientRect();
            if (box.left < -1 || box.right > width + 1) out.push(`card ${box.left}..${box.right}`);
            const walk = (root) => {
              for (const element of root.querySelectorAll('*')) {
                const inner = element.getBoundingClientRect();
                const clipped = element.closest('.ruler, .track');
                if (!clipped && inner.width > 0 && (inner.left < box.left - 1 || inner.right > box.right + 1)) {
                  out.push(`${element.tagName.toLowerCase()}.${element.className} ${inner.left}..${inner.right}`);
                }
                if (element.shadowRoot) walk(element.shadowRoot);
              }
            };
            walk(card.shadowRoot);
          }
          return out;
        }"""
    )
    return found
