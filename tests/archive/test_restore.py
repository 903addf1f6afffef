"""Restoring a new machine from the archive (``python -m vigil_engine archive restore``).

A real engine (a process) records the RTSP test camera with ``copy: all`` into a real S3
store (SeaweedFS), encrypted, and stops. A new, empty storage is then restored from the
archive by the command line, as a user would run it: it gets the same segments (same start
and end to the millisecond, same bytes once decrypted), a rerun changes nothing, the command
refuses to run beside an engine using that storage, and an engine started on it serves a clip
of the range with as many frames as the original engine's clip. A wrong key is one clear
error line naming the object, and nothing is restored.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import pytest
import yaml

from tests.archive.seaweedfs import SECRET_KEY, SeaweedFS
from tests.engine.conftest import enable_loopback_sockets
from tests.support.camera import RtspCamera
from tests.support.engine_process import ROOT, EngineProcess

TOKEN = "restore-test-token-7c1e9a"
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
SEGMENTS = 4  # archived segments the test waits for (2 s each)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _frames(clip: bytes) -> int:
    with av.open(io.BytesIO(clip), mode="r") as container:
        return len(list(container.decode(video=0)))


def _config(store: SeaweedFS, bucket: str, storage: Path, camera_url: str, key: bytes) -> dict[str, Any]:
    return {
        "storage_path": str(storage),
        "segment_seconds": 2,
        "api_host": "127.0.0.1",
        "api_port": _free_port(),
        "api_token": TOKEN,
        "min_free": "1MB",
        "archive": store.archive_options(bucket, copy="all", encryption_key=key.hex()),
        "cameras": [{"id": "yard", "url": camera_url, "motion": {"enabled": False}}],
    }


def _restore(workdir: Path, config: dict[str, Any], *extra: str) -> subprocess.CompletedProcess[str]:
    path = workdir / f"restore-{os.urandom(3).hex()}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "addon")}
    command = [sys.executable, "-m", "vigil_engine", "archive", "restore", "--config", str(path), *extra]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)


def _api_answers(port: int) -> bool:
    try:
        return _get(port, "/api/info")[0] == 200
    except OSError:
        return False


@dataclass
class Original:
    store: SeaweedFS
    bucket: str
    camera_url: str
    segments: list[dict[str, Any]]  # the archived segments, with the sha256 of their files
    clip_range: tuple[int, int]
    clip_frames: int


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory, seaweedfs: SeaweedFS) -> Iterator[Original]:
    enable_loopback_sockets()
    workdir = tmp_path_factory.mktemp("restore-original")
    bucket = seaweedfs.make_bucket("restore-footage")
    camera = RtspCamera(width=640, height=360, fps=15, keyint=1.0).start()
    config = _config(seaweedfs, bucket, workdir / "storage", camera.url("h264"), KEY)
    engine = EngineProcess(workdir, config)
    try:
        engine.start()
        engine.wait_for(
            lambda: len(engine.query("SELECT 1 FROM archive_queue WHERE state = 'done'")) >= SEGMENTS,
            60,
            "segments to be archived",
        )
        engine.wait_for(lambda: _api_answers(config["api_port"]), 30, "the API")
        archived = engine.query(
            "SELECT s.* FROM segments s JOIN archive_queue q ON q.segment_id = s.id"
            " WHERE q.state = 'done' ORDER BY s.start_ms"
        )
        start, end = archived[0]["start_ms"], archived[SEGMENTS - 1]["end_ms"]
        status, clip = _get(config["api_port"], f"/api/cameras/yard/clip.mp4?start_ms={start}&end_ms={end}")
        assert status == 200, clip[:300]
        frames = _frames(clip)
        assert engine.stop() == 0
        # After the stop: every archived segment, with the bytes the original machine recorded.
        rows = engine.query(
            "SELECT s.* FROM segments s JOIN archive_queue q ON q.segment_id = s.id"
            " WHERE q.state = 'done' ORDER BY s.start_ms"
        )
        segments = [
            {**dict(row), "sha256": hashlib.sha256((engine.recordings / row["path"]).read_bytes()).hexdigest()}
            for row in rows
        ]
        yield Original(seaweedfs, bucket, camera.url("h264"), segments, (start, end), frames)
    finally:
        engine.stop()
        camera.close()


def _fields(row: Any) -> tuple[Any, ...]:
    return (row["camera_id"], row["start_ms"], row["end_ms"], row["path"], row["bytes"])


def test_a_new_machine_restored_from_the_archive_plays_the_same_footage(original: Original, tmp_path: Path) -> None:
    config = _config(original.store, original.bucket, tmp_path / "storage", original.camera_url, KEY)
    done = _restore(tmp_path, config)
    assert done.returncode == 0, done.stderr
    count = len(original.segments)
    assert f"Restored {count} segments" in done.stdout, done.stdout
    assert "0 errors" in done.stdout
    assert SECRET_KEY not in done.stdout + done.stderr
    assert KEY.hex() not in done.stdout + done.stderr

    engine = EngineProcess(tmp_path, config)
    restored = engine.segments("yard")
    assert [_fields(row) for row in restored] == [_fields(row) for row in original.segments]
    for row in original.segments:
        assert hashlib.sha256((engine.recordings / row["path"]).read_bytes()).hexdigest() == row["sha256"]
    # Marked archived: the restored machine does not copy them again.
    states = engine.query("SELECT state, object_key FROM archive_queue ORDER BY start_ms")
    assert [row["state"] for row in states] == ["done"] * count
    assert all(row["object_key"].endswith(".mp4.enc") for row in states)
    # Gaps only where the footage does not continue.
    for gap in engine.gaps("yard"):
        assert not any(row["start_ms"] < gap["end_ms"] and row["end_ms"] > gap["start_ms"] for row in restored)

    again = _restore(tmp_path, config)
    assert again.returncode == 0, again.stderr
    assert "Restored 0 segments" in again.stdout, again.stdout
    assert f"{count} already here" in again.stdout
    assert [_fields(row) for row in engine.segments("yard")] == [_fields(row) for row in original.segments]

    engine.start()
    try:
        engine.wait_for(lambda: _api_answers(config["api_port"]), 30, "the API")
        beside = _restore(tmp_path, config)
        assert beside.returncode == 2
        assert "in use by another Vigil process" in beside.stderr, beside.stderr
        assert "Traceback" not in beside.stderr
        start, end = original.clip_range
        status, clip = _get(config["api_port"], f"/api/cameras/yard/clip.mp4?start_ms={start}&end_ms={end}")
        assert status == 200, clip[:300]
        assert _frames(clip) == original.clip_frames
    finally:
        assert engine.stop() == 0


def test_a_wrong_key_is_one_clear_error_and_restores_nothing(original: Original, tmp_path: Path) -> None:
    config = _config(original.store, original.bucket, tmp_path / "storage", original.camera_url, OTHER_KEY)
    done = _restore(tmp_path, config, "--camera", "yard")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Cannot restore: cannot decrypt vigil/yard/")
    assert ".mp4.enc" in lines[0]
    assert "the key is not the one it was encrypted with" in lines[0]
    assert OTHER_KEY.hex() not in done.stderr
    assert SECRET_KEY not in done.stderr
    engine = EngineProcess(tmp_path, config)
    assert engine.segments("yard") == []
    assert list((tmp_path / "storage" / "recordings").rglob("*")) == []

    del config["archive"]["encryption_key"]
    missing = _restore(tmp_path, config)
    assert missing.returncode == 2
    assert "is encrypted and archive.encryption_key is not set" in missing.stderr, missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def test_a_restore_in_pieces_shows_gaps_until_the_footage_between_is_restored(
    original: Original, tmp_path: Path
) -> None:
    config = _config(original.store, original.bucket, tmp_path / "storage", original.camera_url, KEY)
    first, _second, third = original.segments[:3]
    for segment in (first, third):
        middle = (segment["start_ms"] + segment["end_ms"]) // 2
        done = _restore(tmp_path, config, "--from", _iso(middle), "--to", _iso(middle + 1))
        assert done.returncode == 0, done.stderr
        assert "Restored 1 segments" in done.stdout, done.stdout
    engine = EngineProcess(tmp_path, config)
    assert [row["start_ms"] for row in engine.segments("yard")] == [first["start_ms"], third["start_ms"]]
    gaps = [(row["start_ms"], row["end_ms"], row["reason"]) for row in engine.gaps("yard")]
    assert gaps == [(first["end_ms"], third["start_ms"], "no footage in the archive")]

    everything = _restore(tmp_path, config, "--camera", "yard")
    assert everything.returncode == 0, everything.stderr
    assert f"Restored {len(original.segments) - 2} segments" in everything.stdout, everything.stdout
    assert [_fields(row) for row in engine.segments("yard")] == [_fields(row) for row in original.segments]
    assert engine.gaps("yard") == []
    nothing = _restore(tmp_path, config, "--camera", "other")
    assert "Restored 0 segments" in nothing.stdout, nothing.stdout
    assert "0 already here" in nothing.stdout


def test_a_damaged_object_is_one_error_and_the_rest_is_restored(original: Original, tmp_path: Path) -> None:
    """A copy of the archive under another prefix, one object's ciphertext changed (metadata kept)."""
    client = original.store.client()
    keys = sorted(original.store.objects(original.bucket, "vigil/yard/"))
    for key in keys:
        client.copy_object(
            Bucket=original.bucket, Key=f"damaged/{key[len('vigil/') :]}", CopySource=f"{original.bucket}/{key}"
        )
    victim = f"damaged/{keys[1][len('vigil/') :]}"
    answer = client.get_object(Bucket=original.bucket, Key=victim)
    body = bytearray(answer["Body"].read())
    body[-20] ^= 0xFF
    client.put_object(Bucket=original.bucket, Key=victim, Body=bytes(body), Metadata=answer["Metadata"])

    config = _config(original.store, original.bucket, tmp_path / "storage", original.camera_url, KEY)
    config["archive"]["prefix"] = "damaged"
    done = _restore(tmp_path, config)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"Cannot restore {victim}: cannot decrypt")
    assert f"Restored {len(keys) - 1} segments" in done.stdout, done.stdout
    assert "1 errors" in done.stdout
    engine = EngineProcess(tmp_path, config)
    assert len(engine.segments("yard")) == len(keys) - 1
    assert not list(engine.recordings.rglob("*.part"))
