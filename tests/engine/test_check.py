"""``python -m vigil_engine --check`` (and a start) on a broken configuration: every error in one pass.

The engine runs as users run it, a subprocess with a config file. A file with mistakes at the
top level and in several cameras gets all of them at once, one line each, each naming its key
path, with a "did you mean" for misspelt keys and a hint to quote a password YAML read as a
number; a start refuses with the same list. No secret of the file ever reaches the output.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.engine.conftest import SHARED_MODEL
from tests.support.engine_process import ROOT, EngineProcess

PASSWORD = "Sekr1t-Horse-77"  # a string password of a camera that has other errors
NUMERIC_PASSWORD = "918273645"  # written unquoted: YAML reads a number
TOKEN = "check-token-0123456789abcdef"

BROKEN = f"""
storage_path: footage
segment_seconds: 0
time_zone: Mars/Olympus
api_token: {TOKEN}
cameras:
  - id: porch
    url: rtsp://admin:{PASSWORD}@192.0.2.10/stream1
    record: sometimes
    motion:
      treshold: 30
      zones:
        - name: driveway
          polygon: [[0, 0], [1, 0]]
        - name: driveway
          polygon: "0,0 1,0 1,1"
        - name: Gate
          polygon: "0,0 1,0 1,1"
  - id: garden
    url: rtsp://192.0.2.11/stream1
    username: admin
    password: {NUMERIC_PASSWORD}
    retention_dayz: 3
  - id: porch
    url: demo://
  - id: shed
"""

EXPECTED = [
    "segment_seconds: value must be at least 1",
    "time_zone: unknown IANA time zone 'Mars/Olympus'",
    "cameras[porch].record: value must be one of ['continuous', 'events', 'off']",
    "cameras[porch].motion.treshold: unknown key (did you mean 'threshold'?)",
    "cameras[porch].motion.zones[0].polygon: a polygon needs at least three points",
    "cameras[porch].motion.zones[2].name: must be a slug",
    "cameras[porch].motion.zones[1].name: duplicate zone name 'driveway'",
    'cameras[garden].password: YAML reads this as a number, not text: quote it: password: "…"',
    "cameras[garden].retention_dayz: unknown key (did you mean 'retention_days'?)",
    "cameras[porch].id: duplicate camera id 'porch'",
    "cameras[shed].url: is required (or give the camera's onvif address)",
]


def run_engine(config: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "addon"), "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "vigil_engine", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=config.parent,
        timeout=timeout,
        check=False,
    )


def _error_lines(output: str) -> list[str]:
    marker = "ERROR vigil_engine: Invalid configuration: "
    return [line.split(marker, 1)[1] for line in output.splitlines() if marker in line]


@pytest.mark.parametrize("args", [("--check",), ()], ids=["check", "start"])
def test_every_error_is_reported_in_one_pass(tmp_path: Path, args: tuple[str, ...]) -> None:
    config = tmp_path / "vigil.yaml"
    config.write_text(BROKEN, encoding="utf-8")
    result = run_engine(config, *args)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    lines = _error_lines(output)
    for expected in EXPECTED:
        assert any(line.startswith(expected) for line in lines), (expected, lines)
    assert len(lines) == len(EXPECTED), lines  # each once, nothing else
    # Nothing of the file's secrets, whether the camera was valid or not.
    for secret in (PASSWORD, NUMERIC_PASSWORD, TOKEN):
        assert secret not in output
    assert "Traceback" not in output
    assert not (tmp_path / "footage").exists()  # refused before anything was created


def test_a_valid_config_passes_the_check_and_leaves_nothing_behind(tmp_path: Path) -> None:
    footage, index = tmp_path / "footage", tmp_path / "index" / "vigil.db"
    footage.mkdir()  # exists: probed with a file that is deleted at once
    config = tmp_path / "vigil.yaml"
    config.write_text(
        "storage_path: footage\ndatabase_path: index/vigil.db\n"
        "cameras:\n  - id: porch\n    url: rtsp://192.0.2.10/stream1\n    password: '123456'\n",
        encoding="utf-8",
    )
    result = run_engine(config, "--check")
    assert result.returncode == 0, result.stderr
    # Both folders were checked (one exists and is writable, one can be created)...
    assert f"Configuration is valid: 1 cameras; footage in {footage} and the index {index} can be written" in (
        result.stderr
    )
    # ...and the check left no trace: no probe file, no folder created.
    assert list(footage.iterdir()) == []
    assert sorted(path.name for path in tmp_path.iterdir()) == ["footage", "vigil.yaml"]


def test_a_missing_model_is_one_error_in_the_check_and_the_engine_still_runs(tmp_path: Path) -> None:
    """Object detection without its model: ``--check`` says so in one ERROR line naming the
    file (exit 0: the engine runs, records and detects motion without it); a camera with
    detection turned off needs no model and is not named."""
    model = tmp_path / "models" / "yolox_nano.onnx"
    config = tmp_path / "vigil.yaml"
    config.write_text(
        f"storage_path: footage\ndetector:\n  model: {model}\n"
        "cameras:\n  - id: porch\n    url: rtsp://192.0.2.10/stream1\n"
        "  - id: shed\n    url: rtsp://192.0.2.11/stream1\n    object_detection: false\n",
        encoding="utf-8",
    )
    result = run_engine(config, "--check")
    assert result.returncode == 0, result.stderr
    errors = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1, result.stderr
    assert errors[0].endswith(
        f"Object detection is unavailable: model {model}: not found (cameras porch record and detect motion without it)"
    )
    assert "Configuration is valid: 2 cameras" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_model_that_is_not_a_model_is_named_in_the_check(tmp_path: Path) -> None:
    model = tmp_path / "yolox_nano.onnx"
    model.write_bytes(b"\x00" * 1000)
    config = tmp_path / "vigil.yaml"
    config.write_text(
        f"storage_path: footage\ndetector:\n  model: {model}\ncameras:\n  - id: porch\n    url: demo://\n",
        encoding="utf-8",
    )
    result = run_engine(config, "--check")
    assert result.returncode == 0, result.stderr
    (error,) = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert f"Object detection is unavailable: model {model}: not an ONNX model" in error


def test_the_check_names_a_usable_model(tmp_path: Path) -> None:
    config = tmp_path / "vigil.yaml"
    config.write_text(
        f"storage_path: footage\ndetector:\n  model: {SHARED_MODEL}\ncameras:\n  - id: porch\n    url: demo://\n",
        encoding="utf-8",
    )
    result = run_engine(config, "--check")
    assert result.returncode == 0, result.stderr
    assert f"Object detection: {SHARED_MODEL} on onnx for cameras porch" in result.stderr
    assert " ERROR " not in result.stderr


def test_an_engine_without_its_model_records_and_says_why_detection_is_off(tmp_path: Path) -> None:
    """Started without a usable model: one ERROR line at start naming the file, then the camera
    records and its state says why object detection is unavailable. Nothing else fails."""
    model = tmp_path / "missing.onnx"
    engine = EngineProcess(
        tmp_path / "engine",
        {
            "segment_seconds": 1,
            "detector": {"model": str(model)},
            "api_token": "objects-check-token-0123456789",
            "cameras": [{"id": "demo", "url": "demo://"}],
        },
    )
    engine.start()
    try:
        engine.wait_for(lambda: len(engine.segments("demo")) >= 2, 60, "footage")
        port = engine.wait_for(lambda: re.search(r"API listening on 127.0.0.1:(\d+)", engine.log()), 30, "the API")
        request = urllib.request.Request(
            f"http://127.0.0.1:{port.group(1)}/api/cameras",
            headers={"Authorization": "Bearer objects-check-token-0123456789"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
    finally:
        assert engine.stop() == 0
    log = engine.log()
    errors = [line for line in log.splitlines() if " ERROR " in line]
    assert errors == [line for line in errors if "Object detection is unavailable" in line]
    assert len(errors) == 1, log
    assert f"model {model}: not found" in errors[0]
    assert "Traceback" not in log
