"""ONVIF cameras end to end against ipycam, a real virtual ONVIF camera from PyPI (nobody here
wrote it): bound to 127.0.0.1, WS-Discovery off (see ``ipycam_runner``), WS-Security login on.

The engine is given only the camera's ONVIF address and login; it finds the profiles and
stream URIs, records from the main stream it found, shows the device information, and
its PTZ commands reach ipycam (read back from ipycam's own web API). A wrong password is a
clear, password-free error, and it delays no other camera.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.onvif.engine_api import running_engine
from tests.onvif.ipycam_camera import IpyCam

PASSWORD = "Onvif-Pa55!"


def test_camera_added_by_onvif_address_records_and_moves(tmp_path: Path) -> None:
    cam = IpyCam(tmp_path / "ipycam", password=PASSWORD, serial="VC-4711")
    cam.write_presets({"door": {"pan": 0.5, "tilt": -0.25, "zoom": 0.0}})
    config = {
        "segment_seconds": 2,
        "cameras": [
            {
                "id": "porch",
                "onvif": {"host": "127.0.0.1", "port": cam.onvif_port, "username": "admin", "password": PASSWORD},
                "motion": {"enabled": False},
            }
        ],
    }
    with cam, running_engine(tmp_path / "engine", config) as (engine, ws):
        # Recorded from the stream URI the engine found: a segment lands in the index.
        engine.wait_for(lambda: engine.segments("porch"), 40, "a segment from ipycam's main stream")
        camera = ws.result("get_camera", {"camera_id": "porch"})["camera"]
        assert camera["online"]
        assert camera["onvif"]
        assert camera["ptz"]
        assert camera["device"] == {
            "manufacturer": "PythonCam",
            "model": "VirtualCam-1",
            "firmware_version": "1.3.0",
            "serial_number": "VC-4711",
            "hardware_id": "PY-HW-01",
        }
        assert (camera["width"], camera["height"]) == (640, 360)  # the larger profile is the main stream
        assert camera["has_substream"]  # the 320x180 profile feeds motion detection
        url = ws.result("get_stream_url", {"camera_id": "porch"})["url"]
        assert url == f"rtsp://admin:Onvif-Pa55%21@127.0.0.1:{cam.rtsp_port}/video_main"
        sub = ws.result("get_stream_url", {"camera_id": "porch", "substream": True})["url"]
        assert sub.endswith("/video_sub")

        # PTZ: a continuous move pans ipycam until stopped.
        ws.result("ptz_move", {"camera_id": "porch", "pan": 0.8})
        cam.wait_ptz(lambda s: s["moving"] and s["pan"] > 0.05)
        ws.result("ptz_stop", {"camera_id": "porch"})
        stopped = cam.wait_ptz(lambda s: not s["moving"])
        ws.result("ptz_zoom", {"camera_id": "porch", "zoom": 0.4})
        cam.wait_ptz(lambda s: abs(s["zoom"] - min(1.0, stopped["zoom"] + 0.4)) < 1e-6)
        ws.result("ptz_goto_preset", {"camera_id": "porch", "preset": "door"})
        cam.wait_ptz(lambda s: (s["pan"], s["tilt"], s["zoom"]) == (0.5, -0.25, 0.0))
        # A move with a duration stops by itself.
        ws.result("ptz_move", {"camera_id": "porch", "tilt": 0.5, "seconds": 0.5})
        cam.wait_ptz(lambda s: s["moving"])
        cam.wait_ptz(lambda s: not s["moving"], timeout=5)
        # ipycam's GetPresets answer uses namespace prefixes it never declares: not valid XML
        # for any ONVIF client. The engine says so instead of failing obscurely.
        error = ws.error("ptz_presets", {"camera_id": "porch"})
        assert error["code"] == "camera_error"
        assert "not valid ONVIF" in error["message"]
        # Range checks happen before anything is sent.
        assert ws.error("ptz_move", {"camera_id": "porch", "pan": 2})["code"] == "invalid_argument"
    assert PASSWORD not in engine.log()
    assert "Onvif-Pa55%21" not in engine.log()


def test_wrong_password_is_a_clear_error_and_delays_no_other_camera(tmp_path: Path) -> None:
    cam = IpyCam(tmp_path / "ipycam", password=PASSWORD)
    wrong = "Not-The-Pa55word"
    config = {
        "segment_seconds": 2,
        "cameras": [
            {
                "id": "porch",
                "onvif": {"host": "127.0.0.1", "port": cam.onvif_port, "username": "admin", "password": wrong},
            },
            {"id": "demo", "url": "demo://"},
        ],
    }
    with cam, running_engine(tmp_path / "engine", config) as (engine, ws):
        expected = f"ONVIF authentication failed at 127.0.0.1:{cam.onvif_port}: check the username and password"
        camera = engine.wait_for(
            lambda: (c := ws.result("get_camera", {"camera_id": "porch"})["camera"])["last_error"] and c,
            20,
            "the error",
        )
        assert camera["last_error"] == expected
        assert not camera["online"]
        assert camera["device"] is None
        assert not camera["ptz"]
        engine.wait_for(lambda: engine.segments("demo"), 30, "the other camera's first segment")
        assert ws.error("ptz_stop", {"camera_id": "porch"})["code"] == "camera_unavailable"
        assert ws.error("get_stream_url", {"camera_id": "porch"})["code"] == "camera_unavailable"
        assert ws.error("ptz_stop", {"camera_id": "demo"})["code"] == "camera_unavailable"
        everything = json.dumps(ws.messages)
    log = engine.log()
    assert expected in log
    assert log.count("ONVIF authentication failed") == 1  # retried with backoff, logged once
    assert wrong not in log
    assert wrong not in everything
