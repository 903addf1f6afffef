"""Faults caused for real: a full disk (a small tmpfs), audio that MP4 cannot hold."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.inprocess import record_once
from tests.support.media import make_clip
from vigil_engine.config import parse_config
from vigil_engine.engine import Engine
from vigil_engine.storage.index import Index
from vigil_engine.storage.mp4 import probe_segment


@pytest.fixture
def small_volume(tmp_path: Path) -> Iterator[Path]:
    """A real 3 MB filesystem that fills up (needs root to mount, as CI and scripts/setup run)."""
    if os.geteuid() != 0:
        pytest.fail("this test mounts a small tmpfs to fill a disk for real: run it as root, as CI does")
    volume = tmp_path / "volume"
    volume.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(volume)], check=True)
    try:
        yield volume
    finally:
        subprocess.run(["umount", "-l", str(volume)], check=False)


async def test_full_disk_loses_nothing_written_and_recording_goes_on(
    tmp_path: Path, small_volume: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clip = make_clip(tmp_path / "clip.mkv", 10, fps=15, keyframe_seconds=1.0)
    config = parse_config(
        {
            "storage_path": str(small_volume),
            "database_path": str(tmp_path / "vigil.db"),  # as in the add-on: index on /data
            "segment_seconds": 1,
            "min_free": "600KB",
            "retention_interval": 0.2,
            # Replayed as fast as it can be read: the disk fills within a second.
            "cameras": [{"id": "cam", "url": f"file://{clip}", "realtime": False, "loop": True}],
        }
    )
    engine = Engine(config)
    with caplog.at_level(logging.INFO):
        await engine.start()
        try:
            for _ in range(100):
                if engine.storage_status.segments_deleted >= 30:
                    break
                await asyncio.sleep(0.1)
            worker = engine.cameras["cam"].worker
            assert worker is not None
            assert worker.alive
            written = engine.cameras["cam"].status.segments_written
            await asyncio.sleep(1)
            assert engine.cameras["cam"].status.segments_written > written, "recording goes on"
        finally:
            await engine.stop()
    assert engine.storage_status.segments_deleted >= 30
    index = Index(config.db_path)
    segments = index.segments("cam")
    on_disk = {p.relative_to(config.recordings_path).as_posix() for p in config.recordings_path.glob("*/*/*/*.mp4")}
    assert on_disk == {s.path for s in segments}, "index and disk agree"
    for segment in segments:
        probe_segment(config.recordings_path / segment.path)  # every indexed segment plays
    index.close()
    assert "Traceback" not in caplog.text


async def test_g711_audio_is_dropped_with_one_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clip = make_clip(tmp_path / "g711.mov", 4, fps=15, keyframe_seconds=1.0, audio_codec="pcm_mulaw")
    config = parse_config(
        {
            "storage_path": str(tmp_path / "storage"),
            "segment_seconds": 2,
            "min_free": "1MB",
            "cameras": [{"id": "cam", "url": f"file://{clip}", "realtime": False, "loop": False}],
        }
    )
    with caplog.at_level(logging.INFO):
        await record_once(config)
    assert caplog.text.count("audio codec pcm_mulaw cannot be stored in MP4; recording video only") == 1
    index = Index(config.db_path)
    segments = index.segments("cam")
    index.close()
    assert len(segments) == 2
    assert all(s.audio_codec is None and s.video_codec == "h264" for s in segments)
