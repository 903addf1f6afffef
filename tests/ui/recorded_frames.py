"""What the engine recorded at an instant, frame by frame: the ground truth the card is checked against.

The demo camera draws its frame number into every frame (``vigil_engine.ingest.demo``). Here the
engine's own API (with its token: the test is a tool on the engine's machine, never the browser)
lists the segment that holds an instant (its playlist, with each segment's recorded start), and
the segment is decoded with PyAV: each frame's time from the segment's start and its number.
The frame a player must show for a wall-clock instant is the last one that starts at or before it.
"""

from __future__ import annotations

import io
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import av
import numpy as np

from tests.support.develop_stack import DevelopStack
from vigil_engine.ingest.demo import read_timecode

_PDT = re.compile(r"^#EXT-X-PROGRAM-DATE-TIME:(.+)$")
_INF = re.compile(r"^#EXTINF:([0-9.]+),")
_MAP = re.compile(r'^#EXT-X-MAP:URI="([^"]+)"')
ROUNDING_MS = 2


@dataclass(frozen=True, slots=True)
class RecordedSegment:
    start_ms: int
    end_ms: int
    init_uri: str
    media_uri: str  # relative to the camera's vod.m3u8, as the engine lists it


@dataclass(frozen=True, slots=True)
class RecordedFrame:
    offset_ms: float  # from the segment's recorded start
    number: int | None  # the demo's frame number (None: unreadable)


class Engine:
    """The development stack's engine, reached the way a tool on its machine reaches it."""

    def __init__(self, stack: DevelopStack) -> None:
        self.url = f"http://127.0.0.1:{stack.engine_port}"
        self.token = str(json.loads((stack.folder / "develop.json").read_text(encoding="utf-8"))["engine_token"])

    def get(self, path: str) -> bytes:
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body: bytes = response.read()
            return body

    def summary(self, camera_id: str, date: str, zone: str) -> dict[str, Any]:
        """The engine's DaySummary of the camera's local day (docs/api/websocket.md)."""
        path = f"/api/cameras/{camera_id}/summary?date={date}&time_zone={zone}"
        answer: dict[str, Any] = json.loads(self.get(path))["summary"]
        return answer

    def segments(self, camera_id: str, start_ms: int, end_ms: int) -> list[RecordedSegment]:
        """The segments overlapping ``[start_ms, end_ms)``, oldest first, from the engine's playlist."""
        try:
            body = self.get(f"/api/cameras/{camera_id}/vod.m3u8?start_ms={start_ms}&end_ms={end_ms}").decode()
        except urllib.error.HTTPError as err:
            if err.code == 404:  # no_footage
                return []
            raise
        found: list[RecordedSegment] = []
        init = start = length = None
        for line in body.splitlines():
            if match := _MAP.match(line):
                init = match.group(1)
            elif match := _PDT.match(line):
                start = round(datetime.fromisoformat(match.group(1).replace("Z", "+00:00")).timestamp() * 1000)
            elif match := _INF.match(line):
                length = round(float(match.group(1)) * 1000)
            elif line and not line.startswith("#"):
                assert init is not None, body
                assert start is not None, body
                assert length is not None, body
                found.append(RecordedSegment(start, start + length, init, line))
        return found

    def indexed(self, camera_id: str, start_ms: int, end_ms: int) -> bool:
        """Whether indexed segments (not the one being written) hold all of ``[start_ms, end_ms)``."""
        cursor = start_ms
        for segment in self.segments(camera_id, start_ms, end_ms):
            if segment.start_ms > cursor + 100:  # a hole (rounding between segments is not one)
                return False
            cursor = max(cursor, segment.end_ms)
        return cursor >= end_ms

    def segment_at(self, camera_id: str, ms: int) -> RecordedSegment:
        for segment in self.segments(camera_id, ms - 30_000, ms + 30_000):
            if segment.start_ms <= ms < segment.end_ms:
                return segment
        raise AssertionError(f"the engine has no segment of {camera_id} at {ms}")

    def frames(self, camera_id: str, segment: RecordedSegment) -> tuple[RecordedFrame, ...]:
        return _decoded(self.url, self.token, camera_id, segment)

    def frame_at(self, camera_id: str, ms: int) -> RecordedFrame:
        """The frame recorded at ``ms``: the last to start at or before it.

        A player's clock gives the time of the frame it presents, rounded to the millisecond,
        so ``ms`` may fall a millisecond before that frame's start: frames start 66 ms apart
        (15 fps), and a 2 ms margin cannot pick a wrong one.
        """
        segment = self.segment_at(camera_id, ms)
        offset = ms - segment.start_ms
        shown = [frame for frame in self.frames(camera_id, segment) if frame.offset_ms <= offset + ROUNDING_MS]
        assert shown, f"{ms} is before the first frame of its segment"
        return shown[-1]


@lru_cache(maxsize=32)
def _decoded(url: str, token: str, camera_id: str, segment: RecordedSegment) -> tuple[RecordedFrame, ...]:
    """The segment's frames: its init section and media (decode times from its own start), decoded."""

    def get(uri: str) -> bytes:
        request = urllib.request.Request(
            f"{url}/api/cameras/{camera_id}/{uri}", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            data: bytes = response.read()
            return data

    media_uri = re.sub(r"base_ms=\d+", f"base_ms={segment.start_ms}", segment.media_uri)
    data = get(segment.init_uri) + get(media_uri)
    frames: list[RecordedFrame] = []
    first: float | None = None
    with av.open(io.BytesIO(data), "r") as container:
        for frame in container.decode(video=0):
            assert frame.time is not None
            first = frame.time if first is None else first
            number = read_timecode(np.asarray(frame.to_ndarray(format="gray"), np.uint8))
            frames.append(RecordedFrame((frame.time - first) * 1000, number))
    return tuple(frames)
