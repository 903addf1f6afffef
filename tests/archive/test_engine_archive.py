"""The real engine recording the RTSP test camera into a real S3 store (SeaweedFS).

One engine records one test camera as two cameras: ``all_copy`` (its ``archive: all``
overrides the archive's ``copy: events``) and ``events_copy`` (the archive's default: only
what an event protects). While it records, the store is stopped for 60 s: the queue
grows, recording goes on without a gap, and when the store is back the queue drains with
every segment copied exactly once.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.archive.helpers import wait_until
from tests.archive.seaweedfs import SECRET_KEY, SeaweedFS
from tests.engine.conftest import enable_loopback_sockets
from tests.support.camera import RtspCamera
from tests.support.engine_thread import EngineThread
from vigil_engine.archive.keys import object_key
from vigil_engine.bus import BusMessage
from vigil_engine.config import parse_config
from vigil_engine.storage.index import Index, SegmentRecord

BUCKET = "footage"
MOTION_START_S, MOTION_END_S = 8.0, 11.0
OUTAGE_S = 60.0  # the outage: a minute of footage waits, the backoff reaches its 60 s cap


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def archive(self, level: int) -> list[str]:
        return [r.getMessage() for r in self.records if r.name.startswith("vigil_engine") and r.levelno == level]


@dataclass
class Scenario:
    run: EngineThread
    store: SeaweedFS
    log: _Records
    during_outage: dict[str, Any] = field(default_factory=dict)
    segments: dict[str, list[SegmentRecord]] = field(default_factory=dict)


def _of(kind: str, camera_id: str) -> Callable[[BusMessage], bool]:
    return lambda m: m.kind == kind and m.data.get("camera_id") == camera_id


def _index(run: EngineThread) -> Index:
    index = run.engine.index
    assert index is not None
    return index


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    enable_loopback_sockets()
    workdir = tmp_path_factory.mktemp("engine-archive")
    store = SeaweedFS(workdir / "seaweedfs")
    store.start()
    store.make_bucket(BUCKET)
    camera = RtspCamera(width=640, height=360, fps=15, keyint=1.0, motion=((MOTION_START_S, MOTION_END_S),)).start()
    events = {"quiet_seconds": 2, "pre_capture": 2, "post_capture": 2}
    config = parse_config(
        {
            "storage_path": str(workdir / "storage"),
            "segment_seconds": 2,
            "api_port": 0,
            "archive": store.archive_options(BUCKET),
            "cameras": [
                {"id": "all_copy", "url": camera.url("h264"), "archive": "all", "motion": {"enabled": False}},
                {"id": "events_copy", "url": camera.url("h264"), "events": events},
            ],
        }
    )
    log = _Records()
    logging.getLogger().addHandler(log)
    run = EngineThread(config).start()
    scenario = Scenario(run, store, log)
    try:
        run.wait_for(_of("event_ended", "events_copy"), timeout=MOTION_END_S + 30)
        wait_until(lambda: run.engine.archive_state()["uploaded_items"] >= 4, 20, "the first uploads")
        store.stop()
        outage_end = time.monotonic() + OUTAGE_S
        wait_until(lambda: not run.engine.archive_state()["store_reachable"], OUTAGE_S, "the outage to be seen")
        time.sleep(max(0.0, outage_end - time.monotonic()))
        scenario.during_outage = run.engine.archive_state()
        store.start()
        # Caught up: nothing waits, and every all_copy segment indexed so far is in the store.
        # The uploader tries again on its backoff (…, 32 s, 60 s): the store is found within a minute.
        wait_until(lambda: _caught_up(scenario), 90, "the archive to catch up")
        scenario.segments = {cam: _index(run).segments(cam) for cam in ("all_copy", "events_copy")}
        yield scenario
    finally:
        run.stop()
        logging.getLogger().removeHandler(log)
        camera.close()
        store.stop()


def _caught_up(scenario: Scenario) -> bool:
    state = scenario.run.engine.archive_state()
    if state["backlog_items"] or state["uploading"] is not None:
        return False
    indexed = _index(scenario.run).segments("all_copy")
    keys = {object_key("vigil", "all_copy", seg.start_ms, seg.path, encrypted=False) for seg in indexed}
    return keys <= set(scenario.store.objects(BUCKET, "vigil/all_copy/"))


def test_the_queue_grows_while_the_store_is_down_and_one_warning_says_so(scenario: Scenario) -> None:
    during = scenario.during_outage
    assert during["enabled"] is True
    assert during["store_reachable"] is False
    # ~30 segments of all_copy alone (2 s each) were closed during the outage.
    assert during["backlog_items"] >= 20, during
    assert during["backlog_bytes"] > 0
    assert "cannot reach the store" in during["last_error"]
    warnings = [m for m in scenario.log.archive(logging.WARNING) if m.startswith("Archive:")]
    assert len(warnings) == 1, warnings
    back = [m for m in scenario.log.archive(logging.INFO) if "the store works again" in m]
    assert len(back) == 1, back
    state = scenario.run.engine.archive_state()
    assert state["store_reachable"] is True
    assert state["last_error"] is None
    assert SECRET_KEY not in repr(state)
    assert all(SECRET_KEY not in record.getMessage() for record in scenario.log.records)


def test_recording_has_no_gap_while_the_store_is_down(scenario: Scenario) -> None:
    segments = scenario.segments["all_copy"]
    assert len(segments) >= 30  # the outage alone is 30 segments of 2 s
    assert _index(scenario.run).gaps("all_copy") == []
    assert all(b.start_ms - a.end_ms <= 1 for a, b in itertools.pairwise(segments))


def test_every_segment_is_copied_once_with_the_bytes_recorded(scenario: Scenario) -> None:
    recordings = scenario.run.engine.config.recordings_path
    objects = scenario.store.objects(BUCKET, "vigil/all_copy/")
    segments = scenario.segments["all_copy"]
    expected = {object_key("vigil", "all_copy", seg.start_ms, seg.path, encrypted=False): seg for seg in segments}
    assert set(expected) <= set(objects)
    # Nothing else: at most the segments closed since the snapshot of the index above.
    assert len(objects) - len(expected) <= 2
    client = scenario.store.client()
    for key, seg in expected.items():
        data = (recordings / seg.path).read_bytes()
        assert objects[key]["Size"] == len(data)
        assert objects[key]["ETag"].strip('"') == hashlib.md5(data, usedforsecurity=False).hexdigest()
    head = client.head_object(Bucket=BUCKET, Key=next(iter(expected)))
    first = next(iter(expected.values()))
    assert head["Metadata"]["vigil-camera"] == "all_copy"
    assert head["Metadata"]["vigil-start-ms"] == str(first.start_ms)
    assert head["Metadata"]["vigil-end-ms"] == str(first.end_ms)
    assert head["Metadata"]["vigil-sha256"] == hashlib.sha256((recordings / first.path).read_bytes()).hexdigest()
    # Each segment is one row of the queue, done once.
    rows = _index(scenario.run).query(
        "SELECT state, COUNT(*) AS n FROM archive_queue WHERE camera_id = 'all_copy' GROUP BY state"
    )
    assert {row["state"]: row["n"] for row in rows}.get("done", 0) >= len(expected)
    assert scenario.store.pending_uploads(BUCKET) == []


def test_only_event_footage_of_an_events_camera_is_copied(scenario: Scenario) -> None:
    run = scenario.run
    ended = run.matching(_of("event_ended", "events_copy"))
    assert len(ended) == 1
    event = run.engine.event(ended[0].data["event"]["id"])
    assert event is not None
    start, end = event.clip_start_ms, event.clip_end_ms(0)
    segments = scenario.segments["events_copy"]
    inside = {seg.path for seg in segments if seg.start_ms < end and seg.end_ms > start}
    outside = {seg.path for seg in segments} - inside
    archived = {key.removeprefix("vigil/events_copy/") for key in scenario.store.objects(BUCKET, "vigil/events_copy/")}

    def key_of(path: str) -> str:
        day, hour, name = path.split("/")[1:]
        return f"{day.replace('-', '/')}/{hour}/{name}"

    # The footage of the event, the pre-capture segment closed before the event was known included.
    assert {key_of(path) for path in inside} == archived
    assert min(seg.start_ms for seg in segments if seg.path in inside) <= start
    assert len(outside) >= 5
