"""Every gap says why: footage that could not be written is one outage, one row, one log line.

Caused for real: the engine process records the RTSP test camera in 1 s segments; then its
open-file limit is lowered (``prlimit``, as root) below the descriptor its segment file uses, so
that opening the next segment file fails with EMFILE at every keyframe, as it did when the API
was flooded with connections (the abuse test of issue #13) and as a full disk can make it. A
few seconds later the limit is put back and recording resumes.

The engine used to write a gap row at every retry (same start, growing end, "engine was not
running" while it ran) and log "holds no playable footage" each second. Recording turned off
and on again left a gap that said the engine was not running, too.
"""

from __future__ import annotations

import asyncio
import os
import re
import resource
import time
from pathlib import Path

import aiohttp

from tests.engine.conftest import EngineFactory
from tests.support.engine_process import EngineProcess
from tests.support.fixtures import CameraFactory

OUTAGE_S = 4.0


def _segment_fd(pid: int, recordings: Path) -> int | None:
    """The descriptor of the segment file the engine is writing."""
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        if target.startswith(str(recordings)) and target.endswith(".mp4"):
            return int(name)
    return None


def _lowest_free_fd(pid: int) -> int:
    used = {int(name) for name in os.listdir(f"/proc/{pid}/fd")}
    return min(set(range(len(used) + 1)) - used)


def test_an_engine_out_of_descriptors_records_one_gap_and_logs_one_line(
    rtsp_camera_factory: CameraFactory, engine_factory: EngineFactory
) -> None:
    camera = rtsp_camera_factory(width=640, height=360, fps=15, keyint=1.0)
    engine = engine_factory(
        {
            "segment_seconds": 1,
            "min_free": "1MB",
            "cameras": [{"id": "cam", "url": camera.url("h264"), "motion": {"enabled": False}}],
        }
    )
    engine.wait_for(lambda: len(engine.segments("cam")) >= 3, 40, "three segments")
    assert engine.proc is not None
    pid = engine.proc.pid
    gaps_before = len(engine.gaps("cam"))
    writing = engine.wait_for(lambda: _segment_fd(pid, engine.recordings), 10, "a segment file open")
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    # Below the segment's own descriptor: once it is closed, no new file can be opened.
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (min(writing, _lowest_free_fd(pid)), hard))
    try:
        engine.wait_for(lambda: "cannot write footage" in engine.log(), 10, "the write error")
        failed_at = time.monotonic()
        last_before = engine.segments("cam")[-1]
        time.sleep(OUTAGE_S)
        assert len(engine.gaps("cam")) == gaps_before, "no gap row while footage still cannot be written"
    finally:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
    engine.wait_for(
        lambda: sum(s["start_ms"] > last_before["end_ms"] for s in engine.segments("cam")) >= 2,
        20,
        "recording to resume",
    )
    assert time.monotonic() - failed_at >= OUTAGE_S

    gaps = engine.gaps("cam")[gaps_before:]
    assert len(gaps) == 1, [dict(g) for g in gaps]
    gap = gaps[0]
    resumed = next(s for s in engine.segments("cam") if s["start_ms"] > last_before["end_ms"])
    assert (gap["start_ms"], gap["end_ms"]) == (last_before["end_ms"], resumed["start_ms"])
    assert gap["end_ms"] - gap["start_ms"] >= (OUTAGE_S - 1.5) * 1000
    assert gap["reason"] == "cannot write footage: Too many open files"

    log = engine.log()
    assert log.count("cannot write footage") == 1, log[-3000:]
    assert "holds no playable footage" not in log
    assert "Traceback" not in log
    assert engine.running


def test_recording_turned_off_is_a_gap_that_says_so(
    rtsp_camera_factory: CameraFactory, engine_factory: EngineFactory
) -> None:
    camera = rtsp_camera_factory(width=640, height=360, fps=15, keyint=1.0)
    engine = engine_factory(
        {
            "segment_seconds": 2,
            "min_free": "1MB",
            "api_token": TOKEN,
            "cameras": [{"id": "cam", "url": camera.url("h264"), "motion": {"enabled": False}}],
        }
    )
    engine.wait_for(lambda: len(engine.segments("cam")) >= 1, 40, "a segment")
    port = engine.wait_for(lambda: _api_port(engine), 20, "the API")
    gaps_before = len(engine.gaps("cam"))
    _set_record_mode(port, "off")
    time.sleep(3)
    _set_record_mode(port, "continuous")
    engine.wait_for(lambda: len(engine.gaps("cam")) > gaps_before, 20, "the gap when recording resumed")
    gap = engine.gaps("cam")[-1]
    assert gap["reason"] == "recording was turned off"
    assert gap["end_ms"] - gap["start_ms"] >= 2000


TOKEN = "write-failures-token-0c5e7a9b"


def _api_port(engine: EngineProcess) -> int | None:
    match = re.search(r"API listening on 127\.0\.0\.1:(\d+)", engine.log())
    return int(match.group(1)) if match else None


def _set_record_mode(port: int, mode: str) -> None:
    async def run() -> None:
        async with aiohttp.ClientSession() as session, session.ws_connect(f"ws://127.0.0.1:{port}/api/ws") as ws:
            await ws.send_json({"type": "auth", "token": TOKEN})
            assert (await ws.receive_json(timeout=10))["type"] == "server_info"
            await ws.send_json(
                {"message_id": "1", "command": "set_record_mode", "args": {"camera_id": "cam", "record_mode": mode}}
            )
            assert (await ws.receive_json(timeout=10))["type"] == "result"

    asyncio.run(run())
