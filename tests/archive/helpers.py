"""Segments for the uploader's tests: real files in the engine's layout, indexed in a real index."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from tests.archive.s3_server import S3TestStore
from vigil_engine.archive.body import RateLimit, ThrottledBody
from vigil_engine.archive.queue import ArchiveQueue
from vigil_engine.archive.settings import ArchiveSettings, CameraCopy
from vigil_engine.archive.uploader import Uploader
from vigil_engine.config import parse_config
from vigil_engine.storage.index import Index, SegmentRecord
from vigil_engine.storage.layout import segment_path

# 2026-12-04 00:10:00 UTC
BASE_MS = 1_796_343_000_000


def add_segment(index: Index, recordings: Path, camera_id: str, start_ms: int, data: bytes, seconds: int = 10) -> int:
    """Write ``data`` as the segment of ``camera_id`` starting at ``start_ms`` and index it."""
    path = segment_path(recordings, camera_id, start_ms)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    rel = path.relative_to(recordings).as_posix()
    return index.add_segment(SegmentRecord(camera_id, start_ms, start_ms + seconds * 1000, len(data), rel))


def random_bytes(size: int) -> bytes:
    return os.urandom(size)


def body(data: bytes) -> ThrottledBody:
    """A request body for the S3 client, without a bandwidth cap."""
    return ThrottledBody(data, RateLimit(None), threading.Event())


def archive_settings(store: S3TestStore, bucket: str, **options: object) -> ArchiveSettings:
    """The archive's settings for ``bucket`` of ``store``, as the engine parses them."""
    config = parse_config({"archive": store.archive_options(bucket, **options)})
    assert config.archive is not None
    return config.archive


def queue_row(index: Index, segment_id: int) -> dict[str, object]:
    """The segment's row of the archive queue ({} when it has none)."""
    rows = index.query("SELECT * FROM archive_queue WHERE segment_id = ?", (segment_id,))
    return dict(rows[0]) if rows else {}


def make_uploader(
    settings: ArchiveSettings, index: Index, recordings: Path, cameras: dict[str, CameraCopy]
) -> Uploader:
    return Uploader(settings, ArchiveQueue(index), recordings, lambda: dict(cameras))


def wait_until[T](predicate: Callable[[], T], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def make_noise_clip(path: Path, seconds: int, fps: int = 10) -> Path:
    """An H.264 clip of random pixels (~1.9 MB/s: noise does not compress), for a camera whose
    segments are large enough for multipart uploads (the RTSP test camera's scene compresses to
    a few kB/s)."""
    rng = np.random.default_rng(1)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 640, 360, "yuv420p"
        video.codec_context.gop_size = fps
        video.options = {"preset": "ultrafast", "bf": "0", "crf": "18"}
        for index in range(seconds * fps):
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 256, (360, 640, 3), dtype=np.uint8), format="rgb24")
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
    return path
