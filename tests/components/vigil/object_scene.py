"""An engine that detects objects, for the tests of finding footage by what was seen.

Two RTSP test cameras, one engine process with the real model (``../shared/models``):

* ``porch``: the person scene. A person (cut from a real photograph) walks in from the left
  edge between 3 s and 7 s of scene time and then stands with her feet in the ``steps`` zone
  (a zone that takes people). Events come from motion (the default): the walk is one motion
  event, labelled ``person`` by the object tracked in it, whose thumbnail is the person's crop.
* ``yard``: the moving box (3 s to 6 s), across the ``path`` zone: motion and no object, a
  motion event without labels.

Each camera makes exactly one event (the person then stands still, the box parks), so what the
tests find is known: :func:`start_object_engine` returns once both events have ended and their
footage, post-capture included, is indexed.
"""

from __future__ import annotations

import time
import urllib.error
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.components.vigil.conftest import TOKEN, EngineRig, enable_loopback_sockets, free_port
from tests.engine.conftest import SHARED_MODEL
from tests.support.camera import RtspCamera
from tests.support.engine_process import EngineProcess

PORCH = "porch"
YARD = "yard"
STEPS = "steps"
PATH = "path"
WALK = (3.0, 7.0)
BOX = (3.0, 6.0)
STEPS_ZONE = "0.3,0.8 0.5,0.8 0.5,1 0.3,1"  # where the person stands (feet at 0.4, 0.9 of the frame)
PATH_ZONE = "0,0.1 1,0.1 1,0.8 0,0.8"  # the box sweeps the whole width between 15 % and 75 % height
READY_TIMEOUT_S = 90  # a loaded 2-core machine: the walk, quiet time and post-capture take ~15 s


@dataclass
class ObjectScene:
    """The running engine and the one event of each camera (as the engine's API gives them)."""

    rig: EngineRig
    cameras: tuple[RtspCamera, RtspCamera]
    person_event: dict[str, Any]
    box_event: dict[str, Any]

    def close(self) -> None:
        self.rig.process.stop()
        for camera in self.cameras:
            camera.close()


def engine_config(person: RtspCamera, box: RtspCamera, port: int) -> dict[str, Any]:
    """The engine's config (also what the UI tests hand ``scripts/develop``)."""
    events = {"quiet_seconds": 2, "pre_capture": 1, "post_capture": 1}
    return {
        "api_host": "127.0.0.1",
        "api_port": port,
        "api_token": TOKEN,
        "segment_seconds": 2,
        "detector": {"model": str(SHARED_MODEL)},
        "cameras": [
            {
                "id": PORCH,
                "name": "Porch",
                "url": person.url("h264-noaudio"),
                "events": events,
                "motion": {"fps": 5, "zones": [{"name": STEPS, "polygon": STEPS_ZONE, "objects": ["person"]}]},
            },
            {
                "id": YARD,
                "name": "Yard",
                "url": box.url("h264-noaudio"),
                "events": events,
                "motion": {"fps": 5, "zones": [{"name": PATH, "polygon": PATH_ZONE}]},
            },
        ],
    }


def start_cameras() -> tuple[RtspCamera, RtspCamera]:
    person = RtspCamera(width=640, height=360, fps=15, keyint=1.0, person=WALK).start()
    try:
        box = RtspCamera(width=640, height=360, fps=15, keyint=1.0, motion=(BOX,)).start()
    except BaseException:
        person.close()
        raise
    return person, box


def _finished(rig: EngineRig, camera_id: str) -> dict[str, Any] | None:
    """The camera's ended event once its footage (post-capture included) and snapshot are there."""
    events = rig.get(f"/api/events?camera_id={camera_id}&limit=5")["events"]
    indexed = rig.camera_state(camera_id)["last_segment_end_ms"] or 0
    for event in events:
        if event["end_ms"] is not None and event["has_snapshot"] and event["end_ms"] + event["post_ms"] <= indexed:
            return dict(event)
    return None


def start_object_engine(workdir: Path) -> ObjectScene:
    enable_loopback_sockets()
    cameras = start_cameras()
    port = free_port()
    process = EngineProcess(workdir, engine_config(*cameras, port))
    rig = EngineRig(cameras[0], process, port)
    try:
        process.start()
        rig.wait_ready((PORCH, YARD))
        deadline = time.monotonic() + READY_TIMEOUT_S
        found: dict[str, dict[str, Any]] = {}
        while len(found) < 2:
            if time.monotonic() > deadline:
                raise AssertionError(f"no finished events of both cameras: {found}\n{process.log()[-4000:]}")
            for camera_id in (PORCH, YARD):
                try:
                    if camera_id not in found and (event := _finished(rig, camera_id)) is not None:
                        found[camera_id] = event
                except (OSError, urllib.error.URLError) as err:
                    raise AssertionError(f"the engine stopped answering: {err}\n{process.log()[-4000:]}") from err
            time.sleep(0.5)
        return ObjectScene(rig, cameras, found[PORCH], found[YARD])
    except BaseException:
        process.stop()
        for camera in cameras:
            camera.close()
        raise
