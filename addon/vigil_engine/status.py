"""Live status of each camera and of storage, as the API and Home Assistant will show it."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class CameraStatus:
    camera_id: str
    name: str
    record_mode: str
    online: bool = False
    since_ms: int | None = None
    last_error: str | None = None  # always redacted before it is stored
    fps: float = 0.0
    bitrate: int = 0  # bits per second of the recorded main stream
    last_segment_end_ms: int | None = None
    recording: bool = False
    video_codec: str | None = None
    width: int | None = None
    height: int | None = None
    audio_codec: str | None = None
    segments_written: int = 0
    reconnects: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StorageStatus:
    bytes_used: int = 0
    bytes_free: int = 0
    bytes_total: int = 0
    disk_cap_bytes: int | None = None
    oldest_footage_ms: int | None = None  # the retention horizon
    segments_deleted: int = 0
    last_cleanup_ms: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RateMeter:
    """Frames per second and bits per second over a sliding window of arrival times."""

    window_s: float = 5.0
    _samples: deque[tuple[float, int]] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, size: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._samples.append((now, size))
            self._trim(now)

    def rates(self, now: float | None = None) -> tuple[float, int]:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._trim(now)
            if len(self._samples) < 2:
                return 0.0, 0
            span = max(now - self._samples[0][0], 1e-3)
            frames = len(self._samples)
            bits = sum(size for _, size in self._samples) * 8
            return round(frames / span, 2), int(bits / span)

    def reset(self) -> None:
        with self._lock:
            self._samples.clear()

    def _trim(self, now: float) -> None:
        while self._samples and now - self._samples[0][0] > self.window_s:
            self._samples.popleft()
