"""Object detection over the API: the engine process with the real model and the person scene.

One engine records the RTSP test camera's person scene (a person walks in from 3 s to 7 s and
then stands still, in a zone that takes people) with events from objects; a WebSocket client
subscribed before anything happened sees the objects appear, enter the zone, the event with
its objects, and the run-time switch. Every message is checked against the protocol's models.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.api.client import WsClient, shape_errors
from tests.api.conftest import TOKEN, Response, free_port, request
from tests.engine.conftest import SHARED_MODEL, enable_loopback_sockets
from tests.support.camera import RtspCamera
from tests.support.engine_process import EngineProcess
from vigil_engine.protocol import EVENTS, MIN_SCHEMA_VERSION, SCHEMA_VERSION, Camera, Event

WALK = (3.0, 7.0)
STEPS = "0.3,0.8 0.5,0.8 0.5,1 0.3,1"  # where the person stands (feet at 0.4, 0.9)


@dataclass
class Scene:
    engine: EngineProcess
    port: int
    ws: WsClient
    event: dict[str, object]

    def get(self, path: str) -> Response:
        return request(self.port, path, {"Authorization": f"Bearer {TOKEN}"})


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    enable_loopback_sockets()
    camera = RtspCamera(width=640, height=360, fps=15, keyint=1.0, person=WALK).start()
    port = free_port()
    engine = EngineProcess(
        tmp_path_factory.mktemp("objects-api"),
        {
            "segment_seconds": 3,
            "api_port": port,
            "api_token": TOKEN,
            "detector": {"model": str(SHARED_MODEL)},
            "cameras": [
                {
                    "id": "porch",
                    "url": camera.url("h264-noaudio"),
                    "events_from": "objects",
                    "events": {"quiet_seconds": 2, "pre_capture": 1, "post_capture": 1},
                    "motion": {"zones": [{"name": "steps", "polygon": STEPS, "objects": ["person"]}]},
                }
            ],
        },
    )
    engine.start()
    ws: WsClient | None = None
    try:
        engine.wait_for(lambda: _answers(port), 30, "the API")
        ws = WsClient(f"http://127.0.0.1:{port}", TOKEN)
        ws.connect()
        assert ws.result("subscribe")["events"]
        ended = ws.wait_event("event_ended", lambda d: d["camera_id"] == "porch", timeout=60)
        yield Scene(engine, port, ws, ended["data"]["event"])
    finally:
        if ws is not None:
            ws.close()
        engine.stop()
        camera.close()


def _answers(port: int) -> bool:
    try:
        return request(port, "/api/info", {"Authorization": f"Bearer {TOKEN}"}, timeout=2).status == 200
    except OSError:
        return False


def test_the_schema_version_says_objects_compatibly(scene: Scene) -> None:
    # Objects came with version 3; later versions keep them (compatible changes only).
    assert scene.ws.server_info["schema_version"] == SCHEMA_VERSION >= 3
    assert scene.ws.server_info["min_schema_version"] == MIN_SCHEMA_VERSION == 1


def test_an_object_appears_enters_its_zone_and_is_the_event(scene: Scene) -> None:
    (message,) = scene.ws.events("object_appeared")
    appeared = message["data"]
    assert shape_errors(appeared, EVENTS["object_appeared"]) == []
    tracked = appeared["object"]
    assert (appeared["camera_id"], tracked["label"], tracked["stationary"]) == ("porch", "person", False)
    assert len(tracked["box"]) == 4
    assert all(0 <= value <= 1 for value in tracked["box"])
    entered = [m["data"] for m in scene.ws.events("object_updated") if "steps" in m["data"]["zones_entered"]]
    assert [e["object"]["id"] for e in entered] == [tracked["id"]]
    assert shape_errors(entered[0], EVENTS["object_updated"]) == []
    # The event is the person's (events from objects), as the Event model has it.
    event = Event.parse(scene.event)
    assert event.labels == ("person",)
    assert event.top_score >= 0.7
    assert [obj.id for obj in event.objects] == [tracked["id"]]
    (obj,) = event.objects
    assert obj.zones == ("steps",)
    assert event.zones == ("steps",)
    assert obj.start_ms == event.start_ms == tracked["first_ms"]
    assert event.has_snapshot
    # The same over HTTP.
    stored = scene.get(f"/api/events/{event.id}").json()["event"]
    assert Event.parse(stored) == event


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ({"label": "person"}, True),
        ({"label": "PERSON"}, True),
        ({"label": "vehicle"}, False),
        ({"label": "car"}, False),
        ({"min_score": "0.5"}, True),
        ({"min_score": "1"}, False),
        ({"label": "person", "min_score": "0.6", "zone": "steps"}, True),
        ({"zone": "lawn"}, False),
    ],
)
def test_events_are_found_by_label_zone_and_score(scene: Scene, query: dict[str, str], found: bool) -> None:
    ws_args: dict[str, object] = {k: float(v) if k == "min_score" else v for k, v in query.items()}
    over_ws = scene.ws.result("list_events", {"camera_id": "porch", **ws_args})["events"]
    over_http = scene.get(f"/api/events?camera_id=porch&{urllib.parse.urlencode(query)}").json()["events"]
    assert over_ws == over_http
    assert [e["id"] for e in over_ws] == ([scene.event["id"]] if found else [])


@pytest.mark.parametrize(
    ("args", "wrong"),
    [({"label": "unicorn"}, "label"), ({"min_score": 1.5}, "min_score"), ({"min_score": "high"}, "min_score")],
)
def test_a_filter_that_makes_no_sense_is_an_invalid_argument(scene: Scene, args: dict[str, object], wrong: str) -> None:
    error = scene.ws.error("list_events", args)
    assert error["code"] == "invalid_argument"
    assert wrong in error["message"]
    answer = scene.get(f"/api/events?{urllib.parse.urlencode(args)}")
    assert answer.status == 400
    assert json.loads(answer.body)["error"]["code"] == "invalid_argument"


def test_the_camera_says_how_its_detection_keeps_up(scene: Scene) -> None:
    camera = Camera.parse(scene.ws.result("get_camera", {"camera_id": "porch"})["camera"])
    assert camera.objects_enabled
    assert camera.events_from == "objects"
    assert set(camera.objects) == {"cat", "dog", "car", "person"}
    detection = camera.detection
    assert detection is not None
    assert detection.enabled
    assert detection.available
    assert detection.error is None
    assert detection.frames_detected > 0
    assert detection.frames_skipped >= 0
    assert detection.objects_tracked == 1
    assert detection.latency_p95_ms is not None
    assert detection.latency_p95_ms < 1000


def test_object_detection_is_switched_at_run_time(scene: Scene) -> None:
    ws = scene.ws
    assert ws.result("get_object_detection", {"camera_id": "porch"}) == {"camera_id": "porch", "enabled": True}
    assert ws.result("set_object_detection", {"camera_id": "porch", "enabled": False}) == {
        "camera_id": "porch",
        "enabled": False,
    }
    settings = ws.wait_event("camera_settings", lambda d: d["objects_enabled"] is False, timeout=5)["data"]
    assert settings["motion_enabled"] is True
    ended = ws.wait_event("object_ended", lambda d: d["camera_id"] == "porch", timeout=5)["data"]
    assert shape_errors(ended, EVENTS["object_ended"]) == []
    camera = Camera.parse(ws.result("get_camera", {"camera_id": "porch"})["camera"])
    assert not camera.objects_enabled
    assert camera.detection is not None
    assert not camera.detection.enabled
    assert ws.error("set_object_detection", {"camera_id": "porch", "enabled": "no"})["code"] == "invalid_argument"
    assert ws.error("get_object_detection", {"camera_id": "nope"})["code"] == "camera_not_found"
    assert ws.result("set_object_detection", {"camera_id": "porch", "enabled": True})["enabled"] is True
