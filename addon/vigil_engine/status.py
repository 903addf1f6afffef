"""Live status of each camera and of storage, as the API and Home Assistant will show it."""

from __future__ import annotations

import time
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
    # Storage warnings in force: [{code, message}] (see RetentionEnforcer).
    warnings: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RateMeter:
    """Frames per second and bits per second, from counters read about once a second.

    ``add`` runs for every packet of every camera, so it only bumps two integers; the
    rates are the counters' change between two ``rates`` calls (a window of about 1 s).
    """

    def __init__(self) -> None:
        self._frames = 0
        self._bytes = 0
        self._mark: tuple[float, int, int] | None = None
        self._rates: tuple[float, int] = (0.0, 0)

    def add(self, size: int) -> None:
        self._frames += 1
        self._bytes += size

    def rates(self, now: float | None = None) -> tuple[float, int]:
        now = time.monotonic() if now is None else now
        frames, size = self._frames, self._bytes
        if self._mark is not None and now > self._mark[0]:
            span = now - self._mark[0]
            self._rates = (round((frames - self._mark[1]) / span, 2), int((size - self._mark[2]) * 8 / span))
        self._mark = (now, frames, size)
        return self._rates

    def reset(self) -> None:
        self._mark = None
        self._rates = (0.0, 0)
