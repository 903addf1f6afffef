"""Cameras added and removed at run time through the engine API (``add_camera``/``remove_camera``).

The real engine process and ipycam (a real virtual ONVIF camera on loopback) as the camera:
the added camera is connected to first (a wrong password is refused, and nothing is added),
records into the index without disturbing the configured camera, survives an engine
restart (``cameras.json``, mode 0600), and is removed again with its footage kept. Cameras
of the config file cannot be removed, and a config camera wins over a run-time one of the
same id. Retention goes on ageing out a removed camera's footage.
"""

from __future__ import annotations

import json
import stat
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.api.client import WsClient, shape_errors
from tests.onvif.engine_api import TOKEN, api_answers, running_engine
from tests.onvif.ipycam_camera import IpyCam, free_port
from tests.support.engine_process import EngineProcess
from tests.support.inprocess import record_once
from tests.support.media import make_clip
from vigil_engine.clock import EngineClock
from vigil_engine.config import parse_config
from vigil_engine.retention.enforcer import RetentionEnforcer
from vigil_engine.status import StorageStatus
from vigil_engine.storage.index import Index

PASSWORD = "Onvif-Pa55!"
WRONG = "Wrong-Pa55word"


def _porch(port: int, password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
    onvif = {"host": "127.0.0.1", "port": port, "username": "admin", "password": password}
    return {"id": "porch", "name": "Porch", "onvif": onvif, "motion": {"enabled": False}, **extra}


def _ids(ws: WsClient) -> dict[str, str]:
    return {c["camera_id"]: c["origin"] for c in ws.result("list_cameras")["cameras"]}


def test_add_record_restart_remove(tmp_path: Path) -> None:
    cam = IpyCam(tmp_path / "ipycam", password=PASSWORD, serial="VC-0815")
    config = {"segment_seconds": 2, "cameras": [{"id": "demo", "url": "demo://", "motion": {"enabled": False}}]}
    with cam, running_engine(tmp_path / "engine", config) as (engine, first):
        ws = first  # running_engine closes it; the client after the restart is closed here
        port = int(engine.config["api_port"])
        ws.result("subscribe", {"events": ["cameras_changed"]})

        # Refused before anything changes: a wrong password, an address nobody answers at.
        error = ws.error("add_camera", {"camera": _porch(cam.onvif_port, WRONG)})
        assert error["code"] == "camera_auth_failed"
        assert error["message"] == (
            f"ONVIF authentication failed at 127.0.0.1:{cam.onvif_port}: check the username and password"
        )
        closed = free_port()
        assert ws.error("add_camera", {"camera": _porch(closed)})["code"] == "camera_unreachable"
        assert _ids(ws) == {"demo": "config"}

        added = ws.result("add_camera", {"camera": _porch(cam.onvif_port)})["camera"]
        assert shape_errors(added, "Camera") == []
        assert (added["camera_id"], added["name"], added["onvif"], added["origin"]) == ("porch", "Porch", True, "api")
        changed = ws.wait_event("cameras_changed", timeout=5)["data"]
        assert (changed["added"], changed["removed"]) == (["porch"], [])
        assert [c["camera_id"] for c in changed["cameras"]] == ["demo", "porch"]

        # It records from the stream the engine found; the configured camera goes on recording.
        engine.wait_for(lambda: engine.segments("porch"), 40, "a segment of the added camera")
        demo_before = len(engine.segments("demo"))
        engine.wait_for(lambda: len(engine.segments("demo")) > demo_before, 15, "the demo camera's next segment")
        porch = ws.result("get_camera", {"camera_id": "porch"})["camera"]
        assert porch["device"]["serial_number"] == "VC-0815"

        # Duplicates, bad input and the config's own cameras are refused with clear errors.
        assert ws.error("add_camera", {"camera": _porch(cam.onvif_port)})["code"] == "camera_exists"
        error = ws.error("add_camera", {"camera": {"id": "demo", "url": "demo://"}})
        assert error == {
            "code": "camera_exists",
            "message": "a camera with id 'demo' exists already (in the configuration)",
        }
        for camera, message in (
            ({"id": "Front Door", "url": "demo://"}, "camera.id: must be a slug"),
            ({"id": "gate", "url": "demo://", "record": "sometimes"}, "camera.record: value must be one of"),
            ({"id": "gate", "onvif": {"host": "127.0.0.1", "port": 70000}}, "camera.onvif.port: value must be at most"),
            ({"id": "gate"}, "camera.url: is required"),
            ({"id": "gate", "url": "demo://", "realtime": False}, "camera.realtime: unknown key"),
            ({"id": "gate", "url": "file:///etc/passwd"}, "camera.url: file:// sources can only be set"),
        ):
            error = ws.error("add_camera", {"camera": camera})
            assert error["code"] == "invalid_argument", error
            assert error["message"].startswith(message), error
        assert ws.error("add_camera", {})["code"] == "invalid_argument"
        error = ws.error("remove_camera", {"camera_id": "demo"})
        assert error["code"] == "camera_in_config"
        assert "configuration file" in error["message"]
        assert ws.error("remove_camera", {"camera_id": "nope"})["code"] == "camera_not_found"

        # Kept beside the index, readable by the engine's user only.
        saved = engine.db_path.parent / "cameras.json"
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600
        assert [c["id"] for c in json.loads(saved.read_text())["cameras"]] == ["porch"]

        # Back after a restart, after the configured camera.
        engine.stop()
        engine.start()
        ws = _reconnect(engine, port)
        assert _ids(ws) == {"demo": "config", "porch": "api"}
        ws.result("subscribe", {"events": ["cameras_changed"]})

        recorded = len(engine.segments("porch"))
        assert ws.result("remove_camera", {"camera_id": "porch"}) == {"camera_id": "porch"}
        changed = ws.wait_event("cameras_changed", timeout=5)["data"]
        assert (changed["added"], changed["removed"]) == ([], ["porch"])
        assert _ids(ws) == {"demo": "config"}
        assert ws.error("get_camera", {"camera_id": "porch"})["code"] == "camera_not_found"
        assert json.loads(saved.read_text())["cameras"] == []
        # The footage stays (retention deletes it at the camera's retention_days).
        assert len(engine.segments("porch")) >= recorded > 0
        everything = json.dumps(first.messages + ws.messages)
        ws.close()
    log = engine.log()
    assert "Camera porch added at run time" in log
    assert "Camera porch removed; its footage is kept until retention deletes it" in log
    for secret in (PASSWORD, WRONG, "Onvif-Pa55%21"):
        assert secret not in log
        assert secret not in everything


def _reconnect(engine: EngineProcess, port: int) -> WsClient:
    """A client of the restarted engine."""
    engine.wait_for(lambda: api_answers(port), 30, "the API after the restart")
    client = WsClient(f"http://127.0.0.1:{port}", TOKEN)
    client.connect()
    return client


def test_config_camera_wins_over_a_runtime_camera_of_the_same_id(tmp_path: Path) -> None:
    storage = tmp_path / "engine" / "storage"
    storage.mkdir(parents=True)
    runtime = {"version": 1, "cameras": [{"id": "demo", "name": "Run-time demo", "url": "demo://"}], "removed": {}}
    (storage / "cameras.json").write_text(json.dumps(runtime), encoding="utf-8")
    config = {"cameras": [{"id": "demo", "name": "Configured demo", "url": "demo://", "motion": {"enabled": False}}]}
    with running_engine(tmp_path / "engine", config) as (engine, ws):
        cameras = ws.result("list_cameras")["cameras"]
        assert [(c["camera_id"], c["name"], c["origin"]) for c in cameras] == [("demo", "Configured demo", "config")]
        assert "Camera demo added at run time is dropped: the configuration has a camera with that id" in engine.log()
        assert json.loads((storage / "cameras.json").read_text())["cameras"] == []


async def test_footage_of_a_removed_camera_ages_out_at_its_retention(tmp_path: Path) -> None:
    """Retention goes on deleting a removed camera's footage by the camera's own retention_days."""
    clip = make_clip(tmp_path / "clip.mkv", 6, fps=10, keyframe_seconds=1.0)
    camera = {"url": f"file://{clip}", "realtime": False, "loop": False, "motion": {"enabled": False}}
    cameras = [{"id": "gone", "retention_days": 1, **camera}, {"id": "kept", "retention_days": 1, **camera}]
    config = parse_config({"storage_path": str(tmp_path), "segment_seconds": 2, "min_free": "1MB", "cameras": cameras})
    await record_once(config)
    index = Index(config.db_path)
    try:
        # The engine now has only "kept"; "gone" was removed with its retention of 1 day.
        remaining = replace(config, cameras=tuple(c for c in config.cameras if c.id == "kept"))
        later = EngineClock(wall=lambda: time.time() + 0.5 * 86400)
        enforcer = RetentionEnforcer(remaining, index, later, StorageStatus())
        enforcer.retire("gone", 1.0)
        enforcer.run_once()
        assert index.segments("gone"), "younger than its retention: kept"
        much_later = EngineClock(wall=lambda: time.time() + 1.5 * 86400)
        enforcer = RetentionEnforcer(remaining, index, much_later, StorageStatus())
        enforcer.run_once()
        assert index.segments("gone"), "not retired: nothing ages it out"
        enforcer.retire("gone", 1.0)
        enforcer.run_once()
        assert index.segments("gone") == []
        assert index.segments("kept") == []  # its own retention is up too
    finally:
        index.close()
