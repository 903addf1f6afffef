"""Object detection end to end: the test camera's person and box scenes are the ground truth.

One engine (in-process, so the test reads its bus and counters) with the real model records
four cameras fed by two RTSP test cameras:

- the *person* camera (1280x720, its substream 640x360): a person walks in from the left edge
  from t=15 s to t=19 s of scene time and then stands still; the box moves from 31 s to 35 s,
  behind the person, who has stood still for more than the tracker's stationary time by then;
  - ``door``: the main stream only, decoded (no substream), events from objects, recording
    events only;
  - ``porch``: the substream, events from motion;
  both with a zone where the person stands that takes people, and one the box crosses that
  takes only cars;
- the *box* camera (640x360): only the box, moving from 15 s to 20 s;
  - ``yard``: events from motion; ``yard_objects``: events from objects, recording events only.

Scene time starts at 0 with each client's first frame: for ``door`` and the box cameras (whose
detection decodes the recorder's packets) that is the start of their first segment; ``porch``'s
substream, its own connection, starts within a second or two of its recorder.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt
import pytest

from tests.engine.conftest import SHARED_MODEL, enable_loopback_sockets
from tests.support.camera import RtspCamera, person_box
from tests.support.engine_thread import EngineThread
from vigil_engine.bus import BusMessage
from vigil_engine.config import parse_config
from vigil_engine.detection.regions import Box, iou

WALK = (15.0, 19.0)
BOX_NEAR_PERSON = (31.0, 35.0)
BOX_ONLY = (15.0, 20.0)
QUIET_S = 3.0
WIDTH, HEIGHT = 1280, 720
STEPS = "0.3,0.8 0.5,0.8 0.5,1 0.3,1"  # where the person stands (feet at 0.4, 0.9)
SKY = "0,0.1 1,0.1 1,0.5 0,0.5"  # the box crosses it; only cars enter it


@dataclass
class Scenario:
    run: EngineThread
    person: RtspCamera
    box: RtspCamera


def _of(kind: str, camera_id: str) -> Callable[[BusMessage], bool]:
    return lambda m: m.kind == kind and m.data.get("camera_id") == camera_id


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    enable_loopback_sockets()
    storage = tmp_path_factory.mktemp("objects")
    person = RtspCamera(width=WIDTH, height=HEIGHT, fps=15, keyint=1.0, person=WALK, motion=(BOX_NEAR_PERSON,)).start()
    box = RtspCamera(width=640, height=360, fps=15, keyint=1.0, motion=(BOX_ONLY,)).start()
    events = {"quiet_seconds": QUIET_S, "pre_capture": 2, "post_capture": 2}
    zones = [
        {"name": "steps", "polygon": STEPS, "objects": ["person"]},
        {"name": "sky", "polygon": SKY, "objects": ["car"]},
    ]
    config = parse_config(
        {
            "storage_path": str(storage),
            "segment_seconds": 4,
            "retention_interval": 1,
            "api_port": 0,
            "detector": {"model": str(SHARED_MODEL)},
            "cameras": [
                {
                    "id": "door",
                    "url": person.url("h264-noaudio"),
                    "events_from": "objects",
                    "events": events,
                    "record": "events",
                    "motion": {"zones": zones},
                },
                {
                    "id": "porch",
                    "url": person.url("h264-noaudio"),
                    "substream_url": person.url("sub"),
                    "events": events,
                    "motion": {"zones": zones},
                },
                {"id": "yard", "url": box.url("h264-noaudio"), "events": events},
                {
                    "id": "yard_objects",
                    "url": box.url("h264-noaudio"),
                    "events_from": "objects",
                    "events": events,
                    "record": "events",
                },
            ],
        }
    )
    run = EngineThread(config).start()
    try:
        run.wait_for(_of("segment", "door"), timeout=30)
        # The box event of ``yard``, the person's event of ``door``, the box's event of ``porch``.
        run.wait_for(_of("event_ended", "yard"), timeout=BOX_ONLY[1] + QUIET_S + 30)
        run.wait_for(_of("event_ended", "door"), timeout=30)
        run.wait_for(
            lambda m: _of("event_ended", "porch")(m) and m.data["event"]["start_ms"] > _scene_ms(run, "door", 25),
            timeout=BOX_NEAR_PERSON[1] + QUIET_S + 30,
        )
        yield Scenario(run, person, box)
    finally:
        run.stop()
        person.close()
        box.close()


def _scene_ms(run: EngineThread, camera_id: str, scene_s: float) -> int:
    """The UTC ms of a scene time of a camera whose detection decodes the recorded stream: its
    first segment starts at scene time 0 (read from the bus: in ``events`` recording mode that
    footage is deleted by now)."""
    first = run.wait_for(_of("segment", camera_id), timeout=30)
    return int(first.data["start_ms"]) + round(scene_s * 1000)


def _messages(scenario: Scenario, kind: str, camera_id: str) -> list[BusMessage]:
    return scenario.run.matching(_of(kind, camera_id))


def _event_messages(scenario: Scenario, camera_id: str) -> list[BusMessage]:
    kinds = ("event_started", "event_updated", "event_ended")
    return scenario.run.matching(lambda m: m.kind in kinds and m.data.get("camera_id") == camera_id)


def _published_utc_ms(scenario: Scenario, message: BusMessage) -> int:
    return round(scenario.run.engine.clock.utc_for_monotonic(message.published_mono) * 1000)


def _box(values: list[float]) -> Box:
    x1, y1, x2, y2 = values
    return (x1, y1, x2, y2)


def _normalised(box: Box) -> Box:
    return (box[0] / WIDTH, box[1] / HEIGHT, box[2] / WIDTH, box[3] / HEIGHT)


def boxed(picture: npt.NDArray[np.uint8], box: tuple[int, int, int, int]) -> bool:
    """Whether ``picture`` (Y, U, V planes) has the engine's green outline along ``box`` (pixels):
    each side drawn over most of its length, nothing inside."""
    x1, y1, x2, y2 = box
    drawn = (picture[1] < 60) & (picture[2] < 40)
    sides = (
        drawn[y1:y2, max(0, x1 - 3) : x1 + 5].any(axis=1),
        drawn[y1:y2, max(0, x2 - 5) : x2 + 3].any(axis=1),
        drawn[max(0, y1 - 3) : y1 + 5, x1:x2].any(axis=0),
        drawn[max(0, y2 - 5) : y2 + 3, x1:x2].any(axis=0),
    )
    inside = drawn[y1 + 8 : y2 - 8, x1 + 8 : x2 - 8]
    return min(float(side.mean()) for side in sides) > 0.9 and float(inside.mean()) < 0.01


def _decode_yuv(data: bytes) -> npt.NDArray[np.uint8]:
    assert data[:3] == b"\xff\xd8\xff"
    with av.open(io.BytesIO(data), "r", format="image2pipe") as container:
        frame = next(container.decode(video=0))
        return np.asarray(frame.reformat(format="yuv444p").to_ndarray(), dtype=np.uint8)  # (3, H, W)


def test_a_person_walking_in_is_a_person_event_within_a_second(scenario: Scenario) -> None:
    entering = _scene_ms(scenario.run, "door", WALK[0])
    labelled = next(m for m in _event_messages(scenario, "door") if "person" in m.data["event"]["labels"])
    event = labelled.data["event"]
    assert labelled.kind == "event_started"  # events from objects: an event is its objects'
    # Published within a second of the first moment the person is in the picture.
    delay = _published_utc_ms(scenario, labelled) - entering
    assert 0 < delay <= 1000, delay
    # The event starts with the first frame the person was seen in.
    assert 0 <= event["start_ms"] - entering <= 600, event["start_ms"] - entering
    (appeared,) = _messages(scenario, "object_appeared", "door")
    assert appeared.data["object"]["label"] == "person"
    assert 0 <= appeared.data["object"]["first_ms"] - entering <= 600
    # Frame to label: the time from the frame's decoding to the object's message.
    assert appeared.published_mono - appeared.data["frame_mono"] < 1.0


def test_the_person_event_has_the_person_its_zone_and_a_boxed_snapshot(scenario: Scenario) -> None:
    engine = scenario.run.engine
    ended = [m.data["event"] for m in _messages(scenario, "event_ended", "door")]
    person_event = next(e for e in ended if "person" in e["labels"])
    assert person_event["labels"] == ["person"]
    (obj,) = person_event["objects"]
    assert obj["label"] == "person"
    assert person_event["top_score"] == obj["score"] >= 0.7
    # Where the rig drew the person at some moment of the track (boxes are normalised).
    first_s = (obj["start_ms"] - _scene_ms(scenario.run, "door", 0)) / 1000
    seen_s = [first_s + step / 10 for step in range(round((obj["end_ms"] - obj["start_ms"]) / 100) + 1)]
    best = _box(obj["box"])
    assert max(iou(best, _normalised(person_box(WIDTH, HEIGHT, WALK, t))) for t in seen_s) > 0.6
    # The zone where the person stands counts (it takes people); the box's sky does not (cars only).
    assert "steps" in person_event["zones"]
    assert "steps" in obj["zones"]
    stored = engine.event(person_event["id"])
    assert stored is not None
    assert [o.id for o in stored.objects] == [obj["id"]]
    snapshot, thumbnail = engine.event_file(stored), engine.event_file(stored, thumbnail=True)
    assert snapshot is not None
    assert thumbnail is not None
    picture = _decode_yuv(snapshot.read_bytes())
    assert picture.shape == (3, HEIGHT, WIDTH)
    # The box drawn around the object: its four sides in saturated green (no bar of the test
    # pattern is that green), nothing drawn inside.
    x1, y1, x2, y2 = (round(v * size) for v, size in zip(obj["box"], (WIDTH, HEIGHT, WIDTH, HEIGHT), strict=True))
    assert boxed(picture, (x1, y1, x2, y2))
    # The thumbnail is the person, cropped: taller than wide, far smaller than the frame.
    small = _decode_yuv(thumbnail.read_bytes())
    assert small.shape[1] > small.shape[2]
    assert small.shape[1] < HEIGHT


def test_the_box_moving_behind_the_standing_person_is_an_event_without_objects(scenario: Scenario) -> None:
    """The box's motion makes a motion event (``porch`` takes events from motion); the person it
    passes behind is the same tracked object, by then stationary: no new object, no label."""
    ended = [m.data["event"] for m in _messages(scenario, "event_ended", "porch")]
    person_event, *box_events = ended
    assert person_event["labels"] == ["person"]  # the walk, a motion event labelled by its object
    assert "steps" in person_event["zones"]
    assert len(box_events) == 1
    assert box_events[0]["labels"] == []
    assert box_events[0]["objects"] == []
    # The sky's motion shows on its motion sensor, but it takes only cars: not an event zone.
    sky = [m for m in _messages(scenario, "motion", "porch") if m.data["zone"] == "sky" and m.data["active"]]
    assert sky
    assert "sky" not in box_events[0]["zones"]
    assert len(_messages(scenario, "object_appeared", "porch")) == 1
    assert _messages(scenario, "object_ended", "porch") == []
    stationary = [m for m in _messages(scenario, "object_updated", "porch") if m.data["object"]["stationary"]]
    assert len(stationary) == 1  # reported once


def test_a_person_standing_still_is_one_tracked_object_and_one_event(scenario: Scenario) -> None:
    appeared = _messages(scenario, "object_appeared", "door")
    assert [m.data["object"]["label"] for m in appeared] == ["person"]
    assert _messages(scenario, "object_ended", "door") == []
    (track_id,) = {m.data["object"]["id"] for m in appeared}
    updates = _messages(scenario, "object_updated", "door")
    assert all(m.data["object"]["id"] == track_id for m in updates)
    # Events from objects: the walk (and the standing that followed) is one event; the box
    # passing behind the standing person adds none.
    started = _messages(scenario, "event_started", "door")
    assert len(started) == 1
    (ended,) = [m.data["event"] for m in _messages(scenario, "event_ended", "door")]
    assert ended["labels"] == ["person"]
    assert [o["id"] for o in ended["objects"]] == [track_id]
    objects = scenario.run.engine.cameras["door"].objects
    assert objects is not None
    assert [t.id for t in objects.tracker.tracks] == [track_id]


def test_the_moving_box_is_motion_and_no_object(scenario: Scenario) -> None:
    for camera_id in ("yard", "yard_objects"):
        assert [m.data["active"] for m in _messages(scenario, "motion", camera_id) if m.data["zone"] is None][:2] == [
            True,
            False,
        ]
        assert [m for m in scenario.run.messages if m.kind.startswith("object_") and m.camera_id == camera_id] == []
        objects = scenario.run.engine.cameras[camera_id].objects
        assert objects is not None
        assert objects.frames_detected >= 10  # it was looked at, while it moved
    (event,) = [m.data["event"] for m in _messages(scenario, "event_ended", "yard")]
    assert event["labels"] == []
    assert event["top_score"] == 0
    # Events from objects: motion that no object explains is no event.
    assert _event_messages(scenario, "yard_objects") == []


def test_detection_state_and_the_run_time_switch(scenario: Scenario) -> None:
    run = scenario.run
    engine = run.engine
    state = engine.camera_state("door")
    assert state["objects_enabled"] is True
    assert state["events_from"] == "objects"
    assert state["detection"]["available"] is True
    assert state["detection"]["frames_detected"] > 0
    assert state["detection"]["latency_p95_ms"] < 1000
    assert engine.status()["detection"]["available"] is True
    run.call(engine.set_objects_enabled, "door", False)
    settings = run.wait_for(lambda m: _of("camera_settings", "door")(m) and m.data["objects_enabled"] is False, 5)
    assert settings.data["motion_enabled"] is True
    assert engine.objects_enabled("door") is False
    assert engine.camera_state("door")["detection"]["enabled"] is False
    index = engine.index
    assert index is not None
    assert index.camera_settings("door")["objects_enabled"] == "0"
    # Off, the camera's tracked objects end (the motion thread ends them at its next turn).
    run.wait_for(_of("object_ended", "door"), 5)
    run.call(engine.set_objects_enabled, "door", True)
    assert index.camera_settings("door")["objects_enabled"] == "1"
    assert engine.camera_state("door")["detection"]["enabled"] is True


def test_events_recording_keeps_the_object_events_footage_and_no_other(scenario: Scenario) -> None:
    """``record: events`` keeps the footage of events as ``events_from`` makes them: the
    person's event of ``door`` keeps its clip; the box, no event for ``yard_objects``, keeps
    nothing once it can no longer become part of one (EVENT_MODE_GRACE_MS and pre-capture)."""
    index = scenario.run.engine.index
    assert index is not None
    (event,) = [m.data["event"] for m in _messages(scenario, "event_ended", "door")]
    stored = index.event(event["id"])
    assert stored is not None
    clip = index.segments("door", stored.clip_start_ms, stored.clip_end_ms(0))
    assert clip[0].start_ms <= stored.clip_start_ms
    assert clip[-1].end_ms >= stored.clip_end_ms(0)
    assert all(b.start_ms - a.end_ms <= 1 for a, b in itertools.pairwise(clip))
    # The box camera recorded from the start in continuous mode (yard); in events mode its
    # early footage, the box's motion included, is gone.
    box_moved = _scene_ms(scenario.run, "yard", BOX_ONLY[0])
    assert index.segments("yard", None, box_moved)
    assert index.segments("yard_objects", None, box_moved + 1000) == []
