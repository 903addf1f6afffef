"""``python -m vigil_engine --check`` (and a start) on a broken configuration: every error in one pass.

The engine runs as users run it, a subprocess with a config file. A file with mistakes at the
top level and in several cameras gets all of them at once, one line each, each naming its key
path, with a "did you mean" for misspelt keys and a hint to quote a password YAML read as a
number; a start refuses with the same list. No secret of the file ever reaches the output.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.engine_process import ROOT

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
