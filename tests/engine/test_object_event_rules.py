"""How tracked objects make and label events: the camera's events fed as the pipelines feed them.

A real index and event manager; frames are a real photograph (the shared person.jpg, decoded by
FFmpeg as a camera frame is); observations and object sightings are given as the motion thread
gives them, so the rules are checked frame by frame and time by time.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from tests.engine.conftest import SHARED_MODEL
from tests.engine.test_object_events import boxed
from vigil_engine.clock import EngineClock
from vigil_engine.config import parse_config
from vigil_engine.detection.images import read_picture
from vigil_engine.events.manager import CameraEvents, EventManager
from vigil_engine.events.model import EventObject, EventRecord
from vigil_engine.events.objects import ObjectsSeen
from vigil_engine.events.tracker import Observation
from vigil_engine.onvif.topics import object_labels
from vigil_engine.storage.index import Index

PHOTO = SHARED_MODEL.parent / "images" / "person.jpg"
# The woman in person.jpg (640x424), normalised.
WOMAN = (189.1 / 640, 97.0 / 424, 276.5 / 640, 384.6 / 424)
T0 = 1_800_000_000_000
STEP = 200


class Recorder:
    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        self.messages.append((kind, data))

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [data["event"] for k, data in self.messages if k == kind]


@pytest.fixture
def frame() -> av.VideoFrame:
    return read_picture(PHOTO)


@contextlib.contextmanager
def _camera(tmp_path: Path, events_from: str, **camera: Any) -> Iterator[tuple[CameraEvents, Recorder, Index]]:
    config = parse_config(
        {
            "storage_path": str(tmp_path),
            "cameras": [
                {
                    "id": "door",
                    "url": "demo://",
                    "events_from": events_from,
                    "events": {"quiet_seconds": 2, "confirm_seconds": 0.4},
                    **camera,
                }
            ],
        }
    )
    index = Index(config.db_path)
    recorder = Recorder()
    manager = EventManager(config, index, EngineClock(), recorder)
    try:
        yield manager.camera("door"), recorder, index
    finally:
        index.close()


def _person(at_ms: int, score: float = 0.8, first_ms: int = T0, zones: tuple[str, ...] = ()) -> EventObject:
    return EventObject("p1", "person", score, first_ms, at_ms, zones, WOMAN)


def _seen(
    frame: av.VideoFrame, at_ms: int, *objects: EventObject, best: bool = False, zones: frozenset[str] = frozenset()
) -> ObjectsSeen:
    return ObjectsSeen(
        at_ms=at_ms,
        mono=time.monotonic(),
        frame=frame,
        active=objects,
        moving_since_ms=min((obj.start_ms for obj in objects), default=at_ms),
        zones=zones,
        best=objects[0] if best and objects else None,
    )


def _motion(at_ms: int, moving: bool = True, zones: frozenset[str] = frozenset()) -> Observation:
    return Observation(at_ms, time.monotonic(), moving, 0.02 if moving else 0.0, zones)


def test_with_events_from_objects_motion_alone_is_no_event(tmp_path: Path, frame: av.VideoFrame) -> None:
    with _camera(tmp_path, "objects") as (events, recorder, _index):
        for step in range(30):
            events.observe(_motion(T0 + step * STEP), frame)
        events.idle(T0 + 40 * STEP)
        assert [k for k, _ in recorder.messages] == ["motion", "motion"]  # the sensor: on, then off
        assert recorder.events("event_started") == []


def test_with_events_from_objects_a_moving_person_is_the_event(tmp_path: Path, frame: av.VideoFrame) -> None:
    with _camera(tmp_path, "objects") as (events, recorder, index):
        events.observe(_motion(T0), frame)
        events.observe_objects(_seen(frame, T0 + STEP, _person(T0 + STEP), best=True))
        (started,) = recorder.events("event_started")
        assert started["start_ms"] == T0  # when the person was first seen, not when confirmed
        assert started["labels"] == ["person"]
        assert [o["id"] for o in started["objects"]] == ["p1"]
        for step in range(2, 10):
            events.observe(_motion(T0 + step * STEP), frame)
            events.observe_objects(_seen(frame, T0 + step * STEP, _person(T0 + step * STEP)))
        # Motion goes on without the person (it left the picture): the event ends 2 s after them.
        for step in range(10, 30):
            events.observe(_motion(T0 + step * STEP), frame)
        (ended,) = recorder.events("event_ended")
        assert ended["end_ms"] == T0 + 9 * STEP
        assert ended["objects"][0]["end_ms"] == T0 + 9 * STEP
        stored = index.event(started["id"])
        assert stored is not None
        assert stored.labels == ("person",)
        (person,) = stored.objects
        assert person.id == "p1"
        assert (person.start_ms, person.end_ms, person.score) == (T0, T0 + 9 * STEP, 0.8)
        assert person.box == pytest.approx(WOMAN, abs=1e-4)
        assert stored.top_score == 0.8
        _check_snapshot(tmp_path, stored)


def _check_snapshot(storage: Path, event: EventRecord) -> None:
    """The snapshot has the person boxed in green; the thumbnail is the person cropped."""
    assert event.snapshot is not None
    assert event.thumbnail is not None
    picture = _yuv((storage / event.snapshot).read_bytes())
    assert picture.shape == (3, 424, 640)
    assert boxed(picture, (188, 96, 276, 384))
    small = _yuv((storage / event.thumbnail).read_bytes())
    assert small.shape[1] > small.shape[2]  # taller than wide: the person, not the landscape


def _yuv(data: bytes) -> np.ndarray[Any, np.dtype[np.uint8]]:
    with av.open(io.BytesIO(data), "r", format="image2pipe") as container:
        return np.asarray(next(container.decode(video=0)).reformat(format="yuv444p").to_ndarray(), dtype=np.uint8)


def test_with_events_from_motion_objects_label_the_motion_event(tmp_path: Path, frame: av.VideoFrame) -> None:
    """The person is seen in the first moving frame, before motion is confirmed: the motion
    event, when it starts, is theirs; its snapshot becomes the person's, boxed."""
    with _camera(tmp_path, "motion") as (events, recorder, index):
        events.observe(_motion(T0), frame)
        events.observe_objects(_seen(frame, T0, _person(T0), best=True))
        assert recorder.events("event_started") == []  # not confirmed yet: motion must last 0.4 s
        for step in range(1, 4):
            events.observe(_motion(T0 + step * STEP), frame)
        (started,) = recorder.events("event_started")
        assert started["start_ms"] == T0
        assert started["labels"] == ["person"]
        assert started["top_score"] == 0.8
        for step in range(4, 20):
            events.observe(_motion(T0 + step * STEP, moving=step < 10), frame)
        (ended,) = recorder.events("event_ended")
        assert ended["end_ms"] == T0 + 9 * STEP  # motion, not the person, ends a motion event
        stored = index.event(ended["id"])
        assert stored is not None
        _check_snapshot(tmp_path, stored)


def test_a_motion_event_without_objects_keeps_the_motion_snapshot(tmp_path: Path, frame: av.VideoFrame) -> None:
    with _camera(tmp_path, "motion") as (events, recorder, index):
        for step in range(20):
            events.observe(_motion(T0 + step * STEP, moving=step < 10), frame)
        (ended,) = recorder.events("event_ended")
        assert (ended["labels"], ended["objects"], ended["top_score"]) == ([], [], 0.0)
        stored = index.event(ended["id"])
        assert stored is not None
        assert stored.snapshot is not None
        picture = _yuv((tmp_path / stored.snapshot).read_bytes())
        assert not boxed(picture, (188, 96, 276, 384))  # nothing boxed


def test_zones_that_take_objects_count_only_with_such_an_object(tmp_path: Path, frame: av.VideoFrame) -> None:
    zones = [
        {"name": "drive", "polygon": "0,0.5 1,0.5 1,1", "objects": ["vehicle"]},
        {"name": "path", "polygon": "0,0.5 1,0.5 1,1", "objects": ["person"]},
        {"name": "lawn", "polygon": "0,0.5 1,0.5 1,1"},
    ]
    with _camera(tmp_path, "motion", motion={"zones": zones}) as (events, recorder, _index):
        moving = frozenset({"drive", "path", "lawn"})
        for step in range(4):
            events.observe(_motion(T0 + step * STEP, zones=moving), frame)
        (started,) = recorder.events("event_started")
        # The motion in all three: only the zone that takes anything counts for the event.
        assert started["zones"] == ["lawn"]
        events.observe_objects(_seen(frame, T0 + 4 * STEP, _person(T0 + 4 * STEP, zones=("path",))))
        updated = recorder.events("event_updated")[-1]
        assert updated["zones"] == ["lawn", "path"]
        assert updated["objects"][0]["zones"] == ["path"]


def test_what_an_onvif_camera_reports_labels_events_like_vigils_objects(tmp_path: Path, frame: av.VideoFrame) -> None:
    with _camera(tmp_path, "objects") as (events, recorder, index):
        # The camera's own motion alarm: motion, but no object, so no event.
        for step in range(5):
            events.observe_camera(_motion(T0 + step * STEP), frozenset({"motion"}), frame, object_labels({"motion"}))
        assert recorder.events("event_started") == []
        # Its face detection: a person, so an event labelled as Vigil's detector would.
        for step in range(5, 10):
            seen = frozenset({"motion", "face"})
            events.observe_camera(_motion(T0 + step * STEP), seen, frame, object_labels(seen))
        (started,) = recorder.events("event_started")
        assert started["labels"] == ["person"]
        assert started["kind"] == "camera"
        events.observe_camera(_motion(T0 + 10 * STEP), frozenset({"vehicle"}), frame, object_labels({"vehicle"}))
        assert recorder.events("event_updated")[-1]["labels"] == ["person", "vehicle"]
        # Filtering by label finds it, by the group too ("vehicle" as the camera said it).
        assert [e.id for e in index.events(label="vehicle")] == [started["id"]]
        assert index.events(label="car") == []


def test_events_are_found_by_label_group_and_score(tmp_path: Path, frame: av.VideoFrame) -> None:
    with _camera(tmp_path, "objects") as (events, _recorder, index):
        car = EventObject("c1", "car", 0.9, T0, T0 + STEP, (), (0.1, 0.5, 0.4, 0.8))
        events.observe_objects(_seen(frame, T0 + STEP, car, best=True))
        events.idle(T0 + 20 * STEP)
        dog = EventObject("d1", "dog", 0.55, T0 + 30 * STEP, T0 + 31 * STEP, (), (0.1, 0.5, 0.4, 0.8))
        events.observe_objects(_seen(frame, T0 + 31 * STEP, dog, best=True))
        events.idle(T0 + 60 * STEP)
        car_event, dog_event = sorted(index.events(), key=lambda e: e.start_ms)
        assert [(o.id, o.label, o.score) for o in car_event.objects] == [("c1", "car", 0.9)]
        assert [e.id for e in index.events(label="car")] == [car_event.id]
        assert [e.id for e in index.events(label="vehicle")] == [car_event.id]
        assert [e.id for e in index.events(label="animal")] == [dog_event.id]
        assert index.events(label="person") == []
        assert [e.id for e in index.events(min_score=0.8)] == [car_event.id]
        assert [e.id for e in index.events(label="dog", min_score=0.5)] == [dog_event.id]
        # An expired event goes with its objects.
        index.delete_event(car_event.id)
        assert index.event(car_event.id) is None
        assert [e.id for e in index.events()] == [dog_event.id]
