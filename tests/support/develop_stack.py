"""``scripts/develop`` as a test rig: the engine, the RTSP test camera and a real Home Assistant.

The same stack a contributor runs (``scripts/develop``), started as a subprocess in a folder of
the test's on free loopback ports, in its own session so that a leftover can be killed as a
group. Tests reach it as a user or a tool would: Home Assistant's HTTP and WebSocket APIs with
the long-lived token the script keeps in the folder, and the ``dev`` user's password for a
browser. ``tests/develop`` checks the script itself with it; ``tests/ui`` drives Home
Assistant's frontend against it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "develop"
START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 45


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc: children of children too)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            parents[int(stat.parent.name)] = int(stat.read_text().rpartition(")")[2].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(predicate: Callable[[], Any], seconds: float, what: str, interval: float = 0.5) -> Any:
    """Poll ``predicate`` until it returns something truthy; that value, or an AssertionError."""
    deadline = time.monotonic() + seconds
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {seconds} s waiting for {what} (last: {last!r})")


@dataclass
class DevelopStack:
    """One run of ``scripts/develop`` over ``folder`` (a second run reuses the folder)."""

    folder: Path
    ha_port: int
    engine_port: int
    output: Path
    time_zone: str = "UTC"
    extra_args: tuple[str, ...] = ()
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    children: set[int] = field(default_factory=set)

    @property
    def ha_url(self) -> str:
        return f"http://127.0.0.1:{self.ha_port}"

    def start(self) -> None:
        env = {
            **os.environ,
            "VIGIL_DEVELOP_DIR": str(self.folder),
            "VIGIL_DEVELOP_HA_PORT": str(self.ha_port),
            "VIGIL_DEVELOP_ENGINE_PORT": str(self.engine_port),
            "TZ": self.time_zone,
        }
        env.pop("VIGIL_DEVELOP_PASSWORD", None)
        self.started = time.monotonic()
        with self.output.open("wb") as out:
            # Its own session: a leftover (should the test fail) can be killed as a group.
            self.proc = subprocess.Popen(
                [str(SCRIPT), *self.extra_args], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, cwd=ROOT, start_new_session=True,
            )  # fmt: skip

    def text(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self) -> float:
        """Until the script prints the URL to open; the seconds that took."""
        assert self.proc is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if f"open {self.ha_url}" in self.text():
                return time.monotonic() - self.started
            if self.proc.poll() is not None:
                raise AssertionError(f"scripts/develop exited with {self.proc.returncode}:\n{self.text()[-6000:]}")
            time.sleep(0.25)
        raise AssertionError(f"scripts/develop not ready after {START_TIMEOUT_S} s:\n{self.text()[-6000:]}")

    @property
    def password(self) -> str:
        """The ``dev`` user's password (what a contributor types into the login page)."""
        return str(json.loads((self.folder / "develop.json").read_text(encoding="utf-8"))["ha_password"])

    @property
    def ha_token(self) -> str:
        """A long-lived access token of the ``dev`` user, for Home Assistant's APIs."""
        return (self.folder / "ha_token").read_text(encoding="utf-8").strip()

    def api(self) -> HomeAssistantApi:
        return HomeAssistantApi(self.ha_port, self.ha_token)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> tuple[int, float]:
        """Send ``sig`` to the script; its exit code and how long it took."""
        assert self.proc is not None
        self.children = descendants(self.proc.pid)
        sent = time.monotonic()
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"scripts/develop still running {STOP_TIMEOUT_S} s after {sig.name}") from None
        return code, time.monotonic() - sent

    def kill_leftovers(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


class HomeAssistantApi:
    """Home Assistant's REST and WebSocket APIs, as a tool with a long-lived token uses them."""

    def __init__(self, port: int, token: str) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.token = token

    def request(self, path: str, body: Any = None) -> tuple[int, str, bytes]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.token}"}
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method="POST" if data else "GET")
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return response.status, response.headers.get("Content-Type", ""), response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.headers.get("Content-Type", ""), err.read()

    def json(self, path: str, body: Any = None) -> Any:
        status, _, content = self.request(path, body)
        assert status == 200, f"{path}: {status} {content[:300]!r}"
        return json.loads(content)

    def websocket(self, command: dict[str, Any]) -> Any:
        """One command of the WebSocket API, as the frontend sends it; its result."""

        async def send() -> Any:
            async with aiohttp.ClientSession() as session, session.ws_connect(f"{self.url}/api/websocket") as ws:
                assert (await ws.receive_json())["type"] == "auth_required"
                await ws.send_json({"type": "auth", "access_token": self.token})
                assert (await ws.receive_json())["type"] == "auth_ok"
                await ws.send_json({"id": 1, **command})
                reply = await ws.receive_json()
                assert reply["success"], reply
                return reply["result"]

        # In a thread of its own: the caller's thread may be running a loop already (Playwright's
        # synchronous API does), and asyncio.run cannot start one inside another.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, send()).result()

    def action(self, action: str, data: dict[str, Any], entity_id: str = "camera.demo_camera") -> dict[str, Any]:
        """Run a Vigil action on one camera; what it answered for it."""
        body = {"entity_id": entity_id, **data}
        answer = self.json(f"/api/services/vigil/{action}?return_response", body)
        response: dict[str, Any] = answer["service_response"][entity_id]
        return response

    def vigil_cameras(self) -> list[str]:
        """The camera entities the Vigil integration made (Home Assistant's own template API)."""
        template = "{{ integration_entities('vigil') | select('match', 'camera[.]') | sort | join(',') }}"
        status, _, content = self.request("/api/template", {"template": template})
        assert status == 200, content
        return [entity for entity in content.decode().split(",") if entity]
