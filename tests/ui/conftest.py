"""Fixtures of the tests that go the user's way: Home Assistant's frontend in Chromium.

One development stack (``scripts/develop``: the engine with the demo camera and the RTSP test
camera, and a real Home Assistant with the integration) serves every test of this package; it
records for as long as the package runs, so later tests find more footage. Each test gets a new
browser context, logged in through Home Assistant's login page.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_socket
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.support.develop_stack import DevelopStack, free_port
from tests.support.outside_hass import verify_cleanup  # noqa: F401 - replaces Home Assistant's check
from tests.ui.frontend import DESKTOP, OUTPUT, Steps, launch_chromium, log_in

ROOT = Path(__file__).resolve().parents[2]
# A zone with daylight saving, so that local days and hours are not UTC's.
TIME_ZONE = "Europe/Berlin"


@pytest.fixture(autouse=True)
def configure_event_loop() -> None:
    """Replaces the Home Assistant plugin's async fixture of the same name: these tests run no
    event loop of their own (Playwright's synchronous API runs one in this thread), and an async
    fixture cannot start a loop inside it."""


@pytest.fixture(autouse=True)
def enable_event_loop_debug() -> None:
    """Likewise (see ``configure_event_loop``)."""


@pytest.fixture(autouse=True)
def _loopback_sockets() -> None:
    """The Home Assistant test plugin blocks sockets; these tests talk to the stack on loopback."""
    pytest_socket.enable_socket()
    pytest_socket.socket_allow_hosts(["127.0.0.1"])


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevelopStack]:
    pytest_socket.enable_socket()
    subprocess.run([str(ROOT / "scripts" / "setup"), "--dev"], cwd=ROOT, check=True, timeout=900)
    folder = tmp_path_factory.mktemp("ui-stack")
    run = DevelopStack(folder / "develop", free_port(), free_port(), folder / "develop.out", time_zone=TIME_ZONE)
    run.start()
    try:
        run.wait_ready()
        yield run
    finally:
        if run.proc is not None and run.proc.poll() is None:
            run.stop()
        run.kill_leftovers()


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = launch_chromium(playwright)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def steps(request: pytest.FixtureRequest) -> Steps:
    """Numbered screenshots under test-output/ui/<test name>/ (emptied first)."""
    folder = OUTPUT / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return Steps(folder)


@pytest.fixture
def page(browser: Browser, stack: DevelopStack, steps: Steps) -> Iterator[Page]:
    """A logged-in page at desktop size (the test may resize it)."""
    context = browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id=TIME_ZONE)
    try:
        logged_in = log_in(context, stack.ha_url, "dev", stack.password)
        yield logged_in
        steps.shot(logged_in, "end")
    finally:
        context.close()
