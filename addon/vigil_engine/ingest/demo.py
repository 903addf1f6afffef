"""The built-in demo camera: a synthetic H.264 + AAC scene generated in-process with PyAV.

It exists so that ``python -m vigil_engine`` with no configuration records something real,
and so that development needs no camera. A thread encodes frames at real time into a
Matroska stream on a pipe; the ingest worker reads the pipe exactly as it reads any other
source, so the demo exercises the real recording path. A box moves across the scene for
``motion_seconds`` of every ``motion_period`` seconds, which gives motion detection work.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
import time
from fractions import Fraction
from typing import BinaryIO

import av
import numpy as np
import numpy.typing as npt

_LOGGER = logging.getLogger(__name__)


class DemoScene:
    """Frames of the demo scene as YUV420p planes (cheap: a copy and two rectangles per frame)."""

    def __init__(self, width: int = 640, height: int = 360, motion_period: float = 30.0, motion_seconds: float = 10.0):
        self.width, self.height = width, height
        self.motion_period, self.motion_seconds = motion_period, motion_seconds
        x = np.linspace(40, 200, width, dtype=np.float32)
        y = np.linspace(0, 40, height, dtype=np.float32)[:, None]
        self._luma = (x[None, :] + y).astype(np.uint8)
        # A few static bars so the scene is not a plain gradient.
        for i in range(8):
            x0 = i * width // 8
            self._luma[height - height // 6 :, x0 : x0 + width // 16] = 30 + 25 * i
        self._chroma_u = np.full((height // 2, width // 2), 118, np.uint8)
        self._chroma_v = np.full((height // 2, width // 2), 138, np.uint8)
        self.box = (width // 8, height // 6)

    def box_position(self, t: float) -> tuple[int, int]:
        phase = t % self.motion_period
        moving = min(phase, self.motion_seconds)
        span = self.width - self.box[0]
        # Back and forth across the frame while moving; parked otherwise.
        x = int((math.sin(moving / self.motion_seconds * 2 * math.pi - math.pi / 2) + 1) / 2 * span)
        return x, self.height // 3

    def frame(self, t: float) -> av.VideoFrame:
        luma = self._luma.copy()
        x, y = self.box_position(t)
        bw, bh = self.box
        luma[y : y + bh, x : x + bw] = 235
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        for plane, data in zip(frame.planes, (luma, self._chroma_u, self._chroma_v), strict=True):
            _copy_plane(plane, data)
        return frame


def _copy_plane(plane: av.video.plane.VideoPlane, data: npt.NDArray[np.uint8]) -> None:
    height, width = data.shape
    if plane.line_size == width:
        plane.update(data.tobytes())
        return
    padded = np.zeros((height, plane.line_size), np.uint8)
    padded[:, :width] = data
    plane.update(padded.tobytes())


class DemoSource:
    """Runs the demo encoder thread; ``reader`` is the pipe end to hand to ``av.open``."""

    def __init__(self, fps: int = 15, keyframe_seconds: float = 2.0, width: int = 640, height: int = 360) -> None:
        self.fps = fps
        self.keyframe_seconds = keyframe_seconds
        self.scene = DemoScene(width, height)
        read_fd, write_fd = os.pipe()
        self.reader: BinaryIO = os.fdopen(read_fd, "rb", buffering=0)
        self._writer: BinaryIO = os.fdopen(write_fd, "wb", buffering=0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-encoder", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        for pipe_end in (self.reader, self._writer):
            with contextlib.suppress(OSError):
                pipe_end.close()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            self._encode()
        except (OSError, av.FFmpegError, ValueError) as err:
            if not self._stop.is_set():
                _LOGGER.debug("Demo encoder stopped: %s", err)
        finally:
            with contextlib.suppress(OSError):
                self._writer.close()

    def _encode(self) -> None:
        out = av.open(self._writer, "w", format="matroska", options={"live": "1"})
        try:
            video = out.add_stream("libx264", rate=self.fps)
            video.width, video.height, video.pix_fmt = self.scene.width, self.scene.height, "yuv420p"
            video.codec_context.gop_size = max(1, round(self.fps * self.keyframe_seconds))
            video.codec_context.bit_rate = 600_000
            video.options = {"tune": "zerolatency", "preset": "ultrafast", "bf": "0"}
            audio = out.add_stream("aac", rate=16000, layout="mono")
            audio.codec_context.bit_rate = 32_000
            samples_per_frame = 1024
            audio_pts = 0
            tone = (0.05 * np.sin(2 * np.pi * 440 * np.arange(samples_per_frame) / 16000)).astype(np.float32)
            start = time.monotonic()
            index = 0
            while not self._stop.is_set():
                t = index / self.fps
                # Real time: sleep until this frame is due.
                delay = start + t - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                frame = self.scene.frame(t)
                frame.pts = index
                frame.time_base = Fraction(1, self.fps)
                for packet in video.encode(frame):
                    out.mux(packet)
                while audio_pts / 16000 <= t:
                    chunk = av.AudioFrame.from_ndarray(tone[None, :], format="fltp", layout="mono")
                    chunk.sample_rate = 16000
                    chunk.pts = audio_pts
                    audio_pts += samples_per_frame
                    for packet in audio.encode(chunk):
                        out.mux(packet)
                index += 1
        finally:
            with contextlib.suppress(OSError, av.FFmpegError):
                out.close()
