"""``scripts/develop`` for real: the engine, the RTSP test camera and Home Assistant, started by
the script in a temporary folder on free ports, checked through Home Assistant's HTTP and
WebSocket APIs as a browser or a tool would use them, then stopped with Ctrl-C (SIGINT) and, on a
second run over the same folder, with SIGTERM. A first run must look clean to a contributor: no
failed integration, no repair, nothing in Home Assistant's log but the warnings every such
instance prints, and nothing written outside the folder."""

from __future__ import annotations

import functools
import json
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_socket

from tests.support.camera import gstreamer_problem
from tests.support.develop_stack import DevelopStack, HomeAssistantApi, alive, free_port
from tests.support.develop_stack import wait_for as _wait

ROOT = Path(__file__).resolve().parents[2]
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


def _check_running_instance(run: DevelopStack, expected_cameras: set[str]) -> HomeAssistantApi:
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


def _check_in_media_folder(run: DevelopStack, response: dict[str, Any], kind: str, magic: tuple[int, bytes]) -> Path:
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


def _check_log(run: DevelopStack) -> None:
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


def _check_stopped(run: DevelopStack, code: int, seconds: float, sent_ms: int) -> None:
    output = run.text()
    assert code == 0, output[-4000:]
    assert seconds < 45
    # Home Assistant, the engine and the camera were children of the script: all gone.
    assert len(run.children) == (3 if gstreamer_problem() is None else 2), f"children: {run.children}"
    assert not [pid for pid in run.children if alive(pid)]
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
def develop(tmp_path: Path, _dev_requirements: None) -> Iterator[Callable[[], DevelopStack]]:
    runs: list[DevelopStack] = []
    ports = (free_port(), free_port())

    def start() -> DevelopStack:
        run = DevelopStack(tmp_path / "develop", *ports, tmp_path / f"develop-{len(runs)}.out", time_zone=TIME_ZONE)
        runs.append(run)
        run.start()
        return run

    yield start
    for run in runs:
        run.kill_leftovers()


def test_develop_runs_the_engine_and_home_assistant_and_stops_cleanly(
    develop: Callable[[], DevelopStack], capsys: pytest.CaptureFixture[str]
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
