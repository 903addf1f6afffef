"""What an engine that only records loads: not the archive's, detection's or motion's libraries.

An engine recording many cameras has a memory goal (``scripts/bench record``), and libraries are
a fixed cost paid by every installation: cryptography ~8 MB of RSS, numpy ~10 MB, ONNX Runtime
far more (boto3 and botocore, ~35 MB, are no longer used at all: listed so they never come
back). They are imported where they are used (an archive, a restore, motion or object
detection), never on the path every engine takes: start-up, recording, and the API's ordinary
answers. A module-level import slipped into that path once (the API's archive cache and restore
command) and cost every engine 20 MB; this test keeps it from coming back. It runs the real
engine with ``PYTHONPROFILEIMPORTTIME`` (``python -X importtime``), which writes every import,
when it happens, to the engine's log.
"""

from __future__ import annotations

from pathlib import Path

from tests.api.api_rig import TOKEN
from tests.api.conftest import free_port, request
from tests.support.camera import RtspCamera
from tests.support.engine_process import EngineProcess

# Top-level packages an engine that records (motion and detection off, no archive) must not load.
NOT_LOADED = ("boto3", "botocore", "s3transfer", "cryptography", "numpy", "onnxruntime", "openvino")


def imported_packages(log: str) -> set[str]:
    """Top-level packages named by ``-X importtime`` lines: ``import time: self | cumulative | name``."""
    packages = set()
    for line in log.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name and name != "imported package":
                packages.add(name.split(".")[0])
    return packages


def test_recording_engine_loads_no_archive_detection_or_motion_library(tmp_path: Path, rtsp_camera: RtspCamera) -> None:
    port = free_port()
    config = {
        "api_port": port,
        "api_token": TOKEN,
        "min_free": "1MB",
        "segment_seconds": 2,
        "cameras": [{"id": "front", "url": rtsp_camera.url(), "motion": {"enabled": False}}],
    }
    engine = EngineProcess(tmp_path / "engine", config, env={"PYTHONPROFILEIMPORTTIME": "1"})
    engine.start()
    try:
        engine.wait_for(lambda: len(engine.segments("front")) >= 2, 60, "two recorded segments")
        auth = {"Authorization": f"Bearer {TOKEN}"}
        first, last = engine.segments("front")[0], engine.segments("front")[-1]
        span = f"start_ms={first['start_ms']}&end_ms={last['end_ms']}"
        # The API's ordinary answers, as Home Assistant asks them: cameras, storage, footage.
        for path in (
            "/api/info",
            "/api/cameras",
            "/api/storage",
            "/api/events",
            f"/api/cameras/front/vod.m3u8?{span}",
            f"/api/cameras/front/clip.mp4?{span}",
        ):
            assert request(port, path, auth).status == 200, path
    finally:
        assert engine.stop() == 0
    loaded = imported_packages(engine.log())
    assert {"vigil_engine", "av"} <= loaded, "no -X importtime lines in the engine's log"
    assert not loaded.intersection(NOT_LOADED), sorted(loaded.intersection(NOT_LOADED))
