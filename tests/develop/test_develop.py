"""``scripts/develop`` for real: the engine, the RTSP test camera and Home Assistant, started by
the script in a temporary folder on free ports, checked through Home Assistant's HTTP and
WebSocket APIs as a browser or a tool would use them, then stopped with Ctrl-C (SIGINT) and, on a
second run over the same folder, with SIGTERM. A first run must look clean to a contributor: no
failed integration, no repair, nothing in Home Assistant's log but the warnings every such
instance prints, and nothing written outside the folder."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_socket

from tests.support.camera import gstreamer_problem

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "develop"
START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 45
# The machine's time zone as the script sees it ($TZ): a half-hour zone, whose country is not the
# one a zone without a country gets, so that the settings are visibly derived from it.
TIME_ZONE = "America/St_Johns"
COUNTRY = "CA"
# Home Assistant picks /media as its media folder wherever that exists; nothing may land there.
SYSTEM_MEDIA = Path("/media")
# What Home Assistant's log may hold at WARNING and above, whole records (a traceback appended
# to one of these is not allowed): each is printed at every start of such an instance.
ALLOWED_LOG_RECORDS = (
    # --skip-pip: the development instance never installs packages into .venv.
    re.compile(
        r"WARNING \(MainThread\) \[homeassistant\.bootstrap\] "
        r"Skipping pip installation of required modules\. This may cause issues"
    ),
    # Every custom integration is announced so.
    re.compile(
        r"WARNING \(SyncWorker_\d+\) \[homeassistant\.loader\] We found a custom integration vigil which has "
        r"not been tested by Home Assistant\. This component might cause stability problems, be sure to disable "
        r"it if you experience issues with Home Assistant"
    ),
    # The isal integration's package, which --skip-pip leaves out (Home Assistant then uses zlib).
    re.compile(
        r"WARNING \(MainThread\) \[aiohttp_fast_zlib\] zlib_ng and isal are not available, "
        r"falling back to zlib, performance will be degraded\."
    ),
)
LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ (?P<level>[A-Z]+) ")


@pytest.fixture(autouse=True)
def _loopback_sockets() -> None:
    """The Home Assistant test plugin blocks sockets; this test talks to Home Assistant on loopback."""
    pytest_socket.enable_socket()
    pytest_socket.socket_allow_hosts(["127.0.0.1"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _descendants(pid: int) -> set[int]:
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


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class Develop:
    """One run of ``scripts/develop``."""

    folder: Path
    ha_port: int
    engine_port: int
    output: Path
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    children: set[int] = field(default_factory=set)

    def start(self) -> None:
        env = {
            **os.environ,
            "VIGIL_DEVELOP_DIR": str(self.folder),
            "VIGIL_DEVELOP_HA_PORT": str(self.ha_port),
            "VIGIL_DEVELOP_ENGINE_PORT": str(self.engine_port),
            "TZ": TIME_ZONE,
        }
        env.pop("VIGIL_DEVELOP_PASSWORD", None)
        self.started = time.monotonic()
        with self.output.open("wb") as out:
            # Its own session: a leftover (should the test fail) can be killed as a group.
            self.proc = subprocess.Popen(
                [str(SCRIPT)], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                cwd=ROOT, start_new_session=True,
            )  # fmt: skip

    def text(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self) -> float:
        """Until the script prints the URL to open; the seconds that took."""
        assert self.proc is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if f"open http://127.0.0.1:{self.ha_port}" in self.text():
                return time.monotonic() - self.started
            if self.proc.poll() is not None:
                raise AssertionError(f"scripts/develop exited with {self.proc.returncode}:\n{self.text()[-6000:]}")
            time.sleep(0.25)
        raise AssertionError(f"scripts/develop not ready after {START_TIMEOUT_S} s:\n{self.text()[-6000:]}")

    def stop(self, sig: signal.Signals) -> tuple[int, float]:
        """Send ``sig`` to the script; its exit code and how long it took."""
        assert self.proc is not None
        self.children = _descendants(self.proc.pid)
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

        return asyncio.run(send())

    def action(self, action: str, data: dict[str, Any]) -> dict[str, Any]:
        """Run a Vigil action on the demo camera; what it answered for it."""
        body = {"entity_id": "camera.demo_camera", **data}
        answer = self.json(f"/api/services/vigil/{action}?return_response", body)
        response: dict[str, Any] = answer["service_response"]["camera.demo_camera"]
        return response

    def vigil_cameras(self) -> list[str]:
        """The camera entities the Vigil integration made (Home Assistant's own template API)."""
        template = "{{ integration_entities('vigil') | select('match', 'camera[.]') | sort | join(',') }}"
        status, _, content = self.request("/api/template", {"template": template})
        assert status == 200, content
        return [entity for entity in content.decode().split(",") if entity]


def _wait(predicate: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"timed out after {seconds} s waiting for {what} (last: {last!r})")


def _check_running_instance(run: Develop, expected_cameras: set[str]) -> HomeAssistantApi:
    token = (run.folder / "ha_token").read_text(encoding="utf-8").strip()
    assert (run.folder / "ha_token").stat().st_mode & 0o077 == 0
    api = HomeAssistantApi(run.ha_port, token)
    assert api.json("/api/config")["state"] == "RUNNING"

    # The frontend is served (the page the script tells the developer to open).
    status, content_type, page = api.request("/")
    assert status == 200
    assert content_type.startswith("text/html")
    assert b"<home-assistant" in page or b"home-assistant" in page

    # The service descriptions the frontend loads first (they need every base component
    # importable, the voice assistant's too: without them the frontend never gets past loading).
    services = {entry["domain"]: entry["services"] for entry in api.json("/api/services")}
    assert "snapshot" in services["vigil"]

    # A clean first run: onboarding done, every config entry loaded (none of the ones onboarding
    # would set up, whose packages are missing here), no repair (a country is set, over the API,
    # so the General settings stay editable), and the frontend not sent to onboarding.
    onboarding_status, _, onboarding = api.request("/api/onboarding")
    assert onboarding_status == 404 or all(step["done"] for step in json.loads(onboarding)), onboarding
    entries = api.json("/api/config/config_entries/entry")
    assert {entry["domain"]: entry["state"] for entry in entries} == {
        "analytics": "loaded",
        "backup": "loaded",
        "vigil": "loaded",
    }
    assert api.websocket({"type": "repairs/list_issues"}) == {"issues": []}
    config = api.json("/api/config")
    assert (config["country"], config["time_zone"], config["config_source"]) == (COUNTRY, TIME_ZONE, "storage")
    assert (config["unit_system"]["length"], config["language"]) == ("km", "en")
    assert config["location_name"] == "Vigil development"

    # Exactly one Vigil entry, loaded, and the camera entities with still images.
    entries = api.json("/api/config/config_entries/entry?domain=vigil")
    assert [entry["state"] for entry in entries] == ["loaded"]
    cameras = _wait(lambda: set(api.vigil_cameras()) >= expected_cameras and api.vigil_cameras(), 30, "the cameras")
    assert set(cameras) == expected_cameras

    def still(entity_id: str) -> bytes | None:
        status, content_type, body = api.request(f"/api/camera_proxy/{entity_id}")
        return body if status == 200 and content_type == "image/jpeg" and body[:2] == b"\xff\xd8" else None

    for entity_id in sorted(expected_cameras):
        image = _wait(functools.partial(still, entity_id), 30, f"a still image of {entity_id}")
        assert len(image) > 1000
    return api


def _check_in_media_folder(run: Develop, response: dict[str, Any], kind: str, magic: tuple[int, bytes]) -> Path:
    """An action's file: in the folder's media/vigil/<kind>/, with the content it says."""
    path = Path(response["path"])
    assert path.parent == run.folder / "media" / "vigil" / kind, response
    offset, expected = magic
    assert path.read_bytes()[offset : offset + len(expected)] == expected
    assert response["local_media_content_id"] == f"media-source://media_source/local/vigil/{kind}/{path.name}"
    return path


def _tree(folder: Path) -> set[str] | None:
    """Every path below ``folder`` (None when it does not exist)."""
    if not folder.exists():
        return None
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


def _check_log(run: Develop) -> None:
    """Home Assistant's log (both runs): no warning or error but the allowed ones."""
    records: list[list[str]] = []
    for line in (run.folder / "ha.log").read_text(encoding="utf-8", errors="replace").splitlines():
        if LOG_RECORD.match(line) or not records:
            records.append([line])
        else:
            records[-1].append(line)  # a traceback, or what a component printed
    unexpected = []
    for record in records:
        found = LOG_RECORD.match(record[0])
        text = "\n".join(record)
        if found is None or found["level"] not in {"DEBUG", "INFO"}:
            message = text[found.start("level") :] if found else text
            if not any(pattern.fullmatch(message) for pattern in ALLOWED_LOG_RECORDS):
                unexpected.append(text)
        elif "Traceback (most recent call last)" in text:
            unexpected.append(text)
    assert not unexpected, "unexpected in ha.log:\n" + "\n".join(unexpected)


def _check_stopped(run: Develop, code: int, seconds: float, sent_ms: int) -> None:
    output = run.text()
    assert code == 0, output[-4000:]
    assert seconds < STOP_TIMEOUT_S
    # Home Assistant, the engine and the camera were children of the script: all gone.
    assert len(run.children) == (3 if gstreamer_problem() is None else 2), f"children: {run.children}"
    assert not [pid for pid in run.children if _alive(pid)]
    assert re.search(r"Home Assistant stopped \(0\)", output), output[-3000:]
    assert re.search(r"engine stopped \(0\)", output), output[-3000:]
    assert "Vigil engine stopped" in output

    # The footage was finalised: the open segments were finished and indexed on the way out,
    # so every file on disk has its row and the newest ends just before the signal (at the
    # last complete fragment; segments are 10 s, so an unfinished one would lag up to 10 s).
    db = sqlite3.connect(f"file:{run.folder / 'storage' / 'vigil.db'}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT path, end_ms FROM segments WHERE camera_id = 'demo'").fetchall()
    finally:
        db.close()
    recordings = run.folder / "storage" / "recordings"
    on_disk = {str(path.relative_to(recordings)) for path in (recordings / "demo").rglob("*.mp4")}
    assert on_disk == {path for path, _ in rows}
    assert max(end_ms for _, end_ms in rows) >= sent_ms - 3000


def _utc(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(ms / 1000))


@pytest.fixture(scope="module")
def _dev_requirements() -> None:
    """``scripts/setup --dev`` beforehand (the script runs it too, then in about a second), so
    that a first install of Home Assistant's frontend (268 MB) is not timed as start-up."""
    subprocess.run([str(ROOT / "scripts" / "setup"), "--dev"], cwd=ROOT, check=True, timeout=900)


@pytest.fixture
def develop(tmp_path: Path, _dev_requirements: None) -> Iterator[Callable[[], Develop]]:
    runs: list[Develop] = []
    ports = (_free_port(), _free_port())

    def start() -> Develop:
        run = Develop(tmp_path / "develop", *ports, tmp_path / f"develop-{len(runs)}.out")
        runs.append(run)
        run.start()
        return run

    yield start
    for run in runs:
        run.kill_leftovers()


def test_develop_runs_the_engine_and_home_assistant_and_stops_cleanly(
    develop: Callable[[], Develop], capsys: pytest.CaptureFixture[str]
) -> None:
    expected = {"camera.demo_camera"} | ({"camera.test_camera"} if gstreamer_problem() is None else set())
    system_media = _tree(SYSTEM_MEDIA)

    run = develop()
    ready_s = run.wait_ready()
    ha_ready = re.search(r"Home Assistant ready in ([\d.]+) s", run.text())
    assert ha_ready is not None
    password = re.search(r"login dev / (\S+)", run.text())
    assert password is not None
    assert json.loads((run.folder / "develop.json").read_text())["ha_password"] == password.group(1)
    api = _check_running_instance(run, expected)
    assert api.token not in run.text()
    _check_in_media_folder(run, api.action("snapshot", {}), "snapshots", (0, b"\xff\xd8"))
    sent_ms = int(time.time() * 1000)
    code, stop_s = run.stop(signal.SIGINT)
    _check_stopped(run, code, stop_s, sent_ms)

    # Again over the same folder: the same user and entry (no second of either), stopped by SIGTERM.
    again = develop()
    again_ready_s = again.wait_ready()
    assert "created the Home Assistant user" not in again.text()
    assert "added the Vigil integration" not in again.text()
    assert f"login dev / {password.group(1)}" in again.text()
    api = _check_running_instance(again, expected)
    users = json.loads((run.folder / "ha" / ".storage" / "auth").read_text())["data"]["users"]
    assert [user["name"] for user in users if not user["system_generated"]] == ["Developer"]
    # The first run's last 10 s of footage, exported: into the folder too.
    end_ms = sent_ms - 1000
    clip = api.action("export_clip", {"start": _utc(end_ms - 10_000), "end": _utc(end_ms)})
    assert _check_in_media_folder(run, clip, "clips", (4, b"ftyp")).stat().st_size == clip["size"] > 10_000
    sent_ms = int(time.time() * 1000)
    code, again_stop_s = again.stop(signal.SIGTERM)
    _check_stopped(again, code, again_stop_s, sent_ms)
    _check_log(again)
    assert _tree(SYSTEM_MEDIA) == system_media

    with capsys.disabled():
        print(
            f"\nscripts/develop: ready in {ready_s:.1f} s (Home Assistant {ha_ready.group(1)} s), "
            f"stopped in {stop_s:.1f} s (SIGINT); again: ready in {again_ready_s:.1f} s, "
            f"stopped in {again_stop_s:.1f} s (SIGTERM)"
        )
