"""Camera events into the engine: the PullPoint TEST DOUBLE (``onvif_double``, written for these
tests because ipycam has no event service) reports motion on a schedule; the engine records
the GStreamer test camera whose stream URI the double hands out, publishes every change as a
``camera_event`` and, with ``motion.source: camera``, starts and ends an event from it exactly
as its own detector would (kind ``camera``, labelled with what the camera saw)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.onvif.engine_api import running_engine
from tests.onvif.onvif_double import Notification, OnvifDouble
from tests.support.camera import RtspCamera

MOTION = "tns1:RuleEngine/CellMotionDetector/Motion"
PEOPLE = "tns1:RuleEngine/MyRuleDetector/PeopleDetect"


def test_camera_events_start_events_like_the_detector(tmp_path: Path, rtsp_camera: RtspCamera) -> None:
    double = OnvifDouble(
        rtsp_camera.url("h264"),
        schedule=[
            (3.0, Notification(MOTION, "IsMotion", "true")),
            (4.5, Notification(PEOPLE, "IsPeople", "true")),
            (5.0, Notification(PEOPLE, "IsPeople", "false")),
            (5.5, Notification(MOTION, "IsMotion", "false")),
        ],
    ).start()
    config = {
        "segment_seconds": 2,
        "cameras": [
            {
                "id": "yard",
                "onvif": {"host": "127.0.0.1", "port": double.port, "username": "admin", "password": "pw-123456"},
                "motion": {"source": "camera"},
                "events": {"quiet_seconds": 1, "pre_capture": 1, "post_capture": 1},
            }
        ],
    }
    try:
        with running_engine(tmp_path / "engine", config) as (engine, ws):
            ws.result(
                "subscribe", {"events": ["camera_event", "event_started", "event_updated", "event_ended", "motion"]}
            )
            on = ws.wait_event("camera_event", lambda d: d["detection"] == "motion" and d["active"], timeout=30)
            assert on["data"]["camera_id"] == "yard"
            assert on["data"]["topic"] == "RuleEngine/CellMotionDetector/Motion"
            started = ws.wait_event("event_started", timeout=10)["data"]["event"]
            assert started["kind"] == "camera"
            assert started["label"] == "motion"
            ws.wait_event("motion", lambda d: d["zone"] is None and d["active"], timeout=10)
            ws.wait_event("camera_event", lambda d: d["detection"] == "person" and d["active"], timeout=10)
            updated = ws.wait_event("event_updated", timeout=10)["data"]["event"]
            assert (updated["id"], updated["label"]) == (started["id"], "motion, person")
            ended = ws.wait_event("event_ended", timeout=15)["data"]["event"]
            assert ended["id"] == started["id"]
            assert ended["end_ms"] - ended["start_ms"] >= 2000  # the camera reported motion for 2.5 s
            rows = engine.query("SELECT kind, label FROM events WHERE id = ?", (started["id"],))
            assert [tuple(row) for row in rows] == [("camera", "motion, person")]
            camera = ws.result("get_camera", {"camera_id": "yard"})["camera"]
            assert camera["motion_source"] == "camera"
            assert camera["device"]["manufacturer"] == "Double"

            # Motion detection switched off at run time: the camera's events still reach the
            # bus, but start no event.
            ws.result("set_motion_detection", {"camera_id": "yard", "enabled": False})
            double.emit(Notification(MOTION, "IsMotion", "true"))
            ws.wait_event("camera_event", lambda d: d["active"] and d["at_ms"] > ended["end_ms"], timeout=10)
            time.sleep(2)  # well past confirm_seconds (0.4 s)
            assert len(ws.events("event_started")) == 1
    finally:
        double.stop()
    assert double.created >= 1
