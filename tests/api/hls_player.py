"""hls.js in Debian's Chromium, watching a playlist of the engine (``hls_watch.mjs``): what it played, and when."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
WATCHER = Path(__file__).with_name("hls_watch.mjs")
BROWSER_DIR = ROOT / "tests" / "browser"
CHROMIUM = Path("/usr/bin/chromium")


def require_browser() -> str:
    """node, Chromium and the pinned node modules, or a failure that says how to get them."""
    node = shutil.which("node")
    missing = []
    if node is None:
        missing.append("node (Debian's nodejs package)")
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (Debian's chromium package)")
    for module in ("playwright-core", "hls.js"):
        if not (BROWSER_DIR / "node_modules" / module / "package.json").is_file():
            missing.append(f"tests/browser/node_modules/{module} (npm ci in tests/browser)")
    if missing:
        pytest.fail(f"hls.js playback needs {', '.join(missing)}: run scripts/setup (as root for apt)", pytrace=False)
    assert node is not None
    return node


def watch(url: str, *, advance_s: float, start_s: float | None = None, timeout_s: float = 40) -> dict[str, Any]:
    """Play ``url`` (absolute, signed: the page sends no token) until the playhead advanced ``advance_s``."""
    node = require_browser()
    args = [node, str(WATCHER), "--url", url, "--advance", str(advance_s), "--timeout", str(timeout_s)]
    if start_s is not None:
        args += ["--start", str(start_s)]
    done = subprocess.run(args, cwd=BROWSER_DIR, capture_output=True, text=True, timeout=timeout_s + 30, check=False)
    lines = done.stdout.strip().splitlines()
    assert lines, f"no report from the watcher (exit {done.returncode}): {done.stderr[-2000:]}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert done.returncode in (0, 1), f"the browser could not run: {result.get('error')} {done.stderr[-2000:]}"
    return result


def stalls(result: dict[str, Any]) -> list[dict[str, Any]]:
    """``waiting``/``stalled`` events after playback started: the player ran out of media."""
    started = False
    found: list[dict[str, Any]] = []
    for entry in result.get("log", []):
        if entry["event"] == "playing":
            started = True
        elif started and entry["event"] in ("waiting", "stalled"):
            found.append(entry)
    return found


def longest_freeze_ms(result: dict[str, Any]) -> int:
    """The longest wall-clock time the playhead stood still once it had started moving."""
    samples = [s for s in result.get("samples", []) if s["readyState"] >= 2]
    longest = 0
    still_since: int | None = None
    moved = False
    for before, after in itertools.pairwise(samples):
        if after["t"] > before["t"]:
            moved = True
            still_since = None
        elif moved:
            still_since = before["at"] if still_since is None else still_since
            longest = max(longest, after["at"] - still_since)
    return longest
