"""Driving Home Assistant's own frontend in Debian's Chromium, as a user does.

Playwright (its Python package, with the system's Chromium: no browser download) opens the
development stack's Home Assistant, logs in on its login page, and clicks through its panels.
Home Assistant's frontend is made of web components: Playwright's CSS and text locators pierce
their open shadow roots, and the small scripts here walk them where a locator cannot (the media
elements' state). Every step can leave a screenshot in ``test-output/ui/<test>/``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Locator, Page, Playwright, Response, ViewportSize

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output" / "ui"
CHROMIUM = Path("/usr/bin/chromium")
# Headless Chromium as the machine's closed network needs it (no background connections, no
# component updates), allowed to autoplay the muted media the panels start.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
]
DESKTOP = ViewportSize(width=1280, height=900)
PHONE = ViewportSize(width=390, height=844)
UI_TIMEOUT_MS = 20_000

# Every <video> in the page, shadow roots included: its state as a player reports it.
_VIDEOS_JS = """
() => {
  const found = [];
  const walk = (root) => {
    for (const element of root.querySelectorAll('*')) {
      if (element.tagName === 'VIDEO') {
        found.push({
          readyState: element.readyState,
          currentTime: element.currentTime,
          paused: element.paused,
          error: element.error ? element.error.code : null,
          src: element.currentSrc || element.src || '',
          width: element.videoWidth,
          height: element.videoHeight,
        });
      }
      if (element.shadowRoot) walk(element.shadowRoot);
    }
  };
  walk(document);
  return found;
}
"""


def launch_chromium(playwright: Playwright) -> Browser:
    if not CHROMIUM.exists():
        raise AssertionError(f"{CHROMIUM} is missing: scripts/setup installs Debian's chromium package (as root)")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@dataclass
class Steps:
    """Numbered screenshots of one test's steps."""

    folder: Path
    count: int = 0

    def shot(self, page: Page, name: str) -> Path:
        self.count += 1
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        path = self.folder / f"{self.count:02d}-{slug}.png"
        page.screenshot(path=str(path))
        return path


def log_in(context: BrowserContext, url: str, username: str, password: str) -> Page:
    """Home Assistant's login page, filled in and submitted; the page after it (the default dashboard)."""
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    page.goto(url)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda current: "/auth/" not in current and "auth_callback" not in current, timeout=30_000)
    page.locator("home-assistant").wait_for(state="attached")
    return page


def visible(locator: Locator) -> Locator:
    """The first match that is visible (Home Assistant keeps hidden copies: tooltips, off-screen panels)."""
    deadline = time.monotonic() + UI_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        for index in range(locator.count()):
            candidate = locator.nth(index)
            if candidate.is_visible():
                return candidate
        time.sleep(0.2)
    raise AssertionError(f"nothing visible matches {locator}")


@dataclass
class MediaPanel:
    """Home Assistant's Media panel (``/media-browser``): its tiles, its player."""

    page: Page
    url: str
    trail: list[str] = field(default_factory=list)

    def open(self) -> None:
        self.page.goto(f"{self.url}/media-browser/browser")
        visible(self.page.locator("ha-media-player-browse"))

    def tiles(self) -> list[str]:
        """The titles of the items the current folder shows (grid tiles or list rows)."""
        visible(self.page.locator("ha-media-player-browse .child, ha-media-player-browse ha-list-item"))
        titles = self.page.locator("ha-media-player-browse .child .title, ha-media-player-browse ha-list-item")
        return [text.strip() for text in titles.all_inner_texts() if text.strip()]

    def item(self, title: str | re.Pattern[str]) -> Locator:
        items = self.page.locator("ha-media-player-browse .child, ha-media-player-browse ha-list-item")
        return visible(items.filter(has_text=title))

    def click(self, title: str | re.Pattern[str]) -> None:
        """Open a folder, or play an item, by (part of) its title."""
        self.item(title).click()
        self.trail.append(str(title))

    def click_first(self) -> str:
        """Open (or play) the first item of the current folder; its title."""
        item = visible(self.page.locator("ha-media-player-browse .child, ha-media-player-browse ha-list-item"))
        title = item.inner_text().strip()
        item.click()
        self.trail.append(title)
        return title

    def thumbnails(self) -> list[str]:
        """The image URLs of the current folder's thumbnails (as the frontend resolved them)."""
        images = self.page.locator("ha-media-player-browse ha-media-browser-thumbnail")
        urls: list[str] = []
        for index in range(images.count()):
            url = images.nth(index).evaluate(
                "(element) => { const img = element.shadowRoot && element.shadowRoot.querySelector('img');"
                " return img ? img.src : (element.url || ''); }"
            )
            urls.append(str(url))
        return urls


def videos(page: Page) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = page.evaluate(_VIDEOS_JS)
    return result


def wait_playing(page: Page, seconds: float = 30, advance_s: float = 0.5) -> dict[str, Any]:
    """Until a <video> in the page has enough data (readyState 4) and its time advances."""
    deadline = time.monotonic() + seconds
    start: float | None = None
    last: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        last = videos(page)
        ready = [video for video in last if video["readyState"] >= 4 and video["error"] is None]
        if ready:
            if start is None:
                start = ready[0]["currentTime"]
            elif ready[0]["currentTime"] >= start + advance_s:
                return ready[0]
        time.sleep(0.25)
    raise AssertionError(f"no video played within {seconds} s: {last}")


# --- The Media panel: its folder's heading, play buttons, thumbnails, and what the page fetched ---------
# (helpers of tests/ui/test_media_panel.py and test_live_view.py)


@dataclass
class Fetched:
    """The HTTP responses the page received (Home Assistant's and the media it plays), in order."""

    page: Page
    responses: list[Response] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("response", self._seen)

    def _seen(self, response: Response) -> None:
        self.responses.append(response)

    def matching(self, pattern: str) -> list[Response]:
        return [response for response in self.responses if re.search(pattern, response.url)]

    def wait_for(self, pattern: str, seconds: float = 20) -> Response:
        """The first response whose URL matches ``pattern`` (waiting for it)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if found := self.matching(pattern):
                return found[0]
            self.page.wait_for_timeout(200)
        raise AssertionError(f"the page fetched nothing matching {pattern} within {seconds} s")


def heading(media: MediaPanel) -> str:
    """The title of the folder being looked at (shown above its tiles when it can be played)."""
    return visible(media.page.locator("ha-media-player-browse .header-info h1.title")).inner_text().strip()


def play_folder(media: MediaPanel) -> None:
    """The Play button under the heading: plays the folder being looked at (a day, an hour)."""
    visible(media.page.locator("ha-media-player-browse .header-info ha-button")).click()


def close_player(page: Page) -> None:
    """Close the Media panel's player dialog (Escape), so that the browser shows again."""
    page.keyboard.press("Escape")
    page.locator("ha-dialog video").first.wait_for(state="detached", timeout=UI_TIMEOUT_MS)


def tile_thumbnails(media: MediaPanel) -> dict[str, str]:
    """Each visible tile's title and the picture its thumbnail shows (a ``data:`` URL once loaded, else '')."""
    tiles = media.page.locator("ha-media-player-browse .child")
    found: dict[str, str] = {}
    for index in range(tiles.count()):
        tile = tiles.nth(index)
        if not tile.is_visible():
            continue
        title = tile.locator(".title").inner_text().strip()
        thumbnail = tile.locator("ha-media-browser-thumbnail")
        found[title] = (
            str(
                thumbnail.first.evaluate(
                    "(element) => { const image = element.shadowRoot && element.shadowRoot.querySelector('.image');"
                    " return image ? image.style.backgroundImage : ''; }"
                )
            )
            if thumbnail.count()
            else ""
        )
    return found


def wait_thumbnails(media: MediaPanel, seconds: float = 20) -> dict[str, str]:
    """Until every visible tile that has a thumbnail shows its picture; title to picture."""
    deadline = time.monotonic() + seconds
    shown: dict[str, str] = {}
    while time.monotonic() < deadline:
        shown = tile_thumbnails(media)
        if shown and all(picture.startswith('url("data:image/') for picture in shown.values() if picture != ""):
            return shown
        time.sleep(0.25)
    raise AssertionError(f"thumbnails not shown within {seconds} s: { {k: v[:40] for k, v in shown.items()} }")


def playlist_start(body: str) -> datetime:
    """The instant an HLS playlist starts playing at: its first ``EXT-X-PROGRAM-DATE-TIME`` plus ``EXT-X-START``."""
    first = next(line for line in body.splitlines() if line.startswith("#EXT-X-PROGRAM-DATE-TIME:"))
    moment = datetime.fromisoformat(first.split(":", 1)[1].replace("Z", "+00:00"))
    offset = re.search(r"#EXT-X-START:TIME-OFFSET=([0-9.]+)", body)
    return moment + timedelta(seconds=float(offset.group(1)) if offset else 0.0)
