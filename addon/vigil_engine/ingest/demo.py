"""The built-in demo camera: a synthetic H.264 + AAC scene generated in-process with PyAV.

It exists so that ``python -m vigil_engine`` with no configuration records something real,
and so that development needs no camera. A thread encodes frames at real time into a
Matroska stream on a pipe; the ingest worker reads the pipe exactly as it reads any other
source, so the demo exercises the real recording path. A box moves across the scene for
``motion_seconds`` of every ``motion_period`` seconds, which gives motion detection work.

**Timecode.** Every frame of the demo camera carries its number, counted from 0 when the
source opened, so that a test (or a person) can tell exactly which frame a player shows:

* for machines, a strip of square cells in the top-left corner (:class:`Timecode`): a light
  and a dark guard cell, then the frame number's 24 bits as a Gray code, most significant
  first, light for 1 and dark for 0. The cells are ``width // 80`` pixels (8 at 640x360).
  Light and dark differ by 20 luma levels, under the motion detector's default threshold
  (25): the cells change on every frame, yet never count as motion (a strip of black and
  white cells did, at nearly the detector's minimum area). H.264 at the demo's bitrate keeps
  a cell's mean within a few levels, so a reader that takes the mean of each cell's centre
  and compares it with the guard cells tells 1 from 0 with room to spare, and refuses an
  unclear cell instead of guessing (:func:`read_timecode`);
* for people, the wall clock of the engine's machine (``HH:MM:SS``) beside it, in digits
  drawn once per second: a visible sign that time passes and which second is on screen.

Together with the index (a segment's start and the number of its first frame) the number
gives the instant a frame was recorded at, to the frame: ``tests/ui`` uses it to check that
a player shows the footage of the instant it says it shows. Cost: a few microseconds per
frame (one row of cells written with numpy, the clock only when the second changes).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import BinaryIO

import av
import numpy as np
import numpy.typing as npt

_LOGGER = logging.getLogger(__name__)


TIMECODE_BITS = 24  # 2**24 frames: 13 days at 15 fps before the number starts over
# Luma of a 1 and of a 0: 20 levels apart, under the detector's default threshold of 25.
ONE, ZERO = 138, 118
# The clock: video-range white on black.
WHITE, BLACK = 235, 16
# A cell is read only if its centre is at least this share of the guards' contrast away from
# their midpoint (else the whole read is refused).
_CLEAR = 0.25

# A 3x5 font for the clock: each string is a row, "#" a lit pixel.
_FONT = {
    "0": ("###", "#.#", "#.#", "#.#", "###"),
    "1": (".#.", "##.", ".#.", ".#.", "###"),
    "2": ("###", "..#", "###", "#..", "###"),
    "3": ("###", "..#", "###", "..#", "###"),
    "4": ("#.#", "#.#", "###", "..#", "..#"),
    "5": ("###", "#..", "###", "..#", "###"),
    "6": ("###", "#..", "###", "#.#", "###"),
    "7": ("###", "..#", "..#", "..#", "..#"),
    "8": ("###", "#.#", "###", "#.#", "###"),
    "9": ("###", "#.#", "###", "..#", "###"),
    ":": ("...", ".#.", "...", ".#.", "..."),
}
_BLANK = ("...",) * 5
_CLOCK_CHARS = 8  # HH:MM:SS


@dataclass(frozen=True, slots=True)
class Timecode:
    """Where a frame's number sits in the demo's frames, and how it is drawn and read back."""

    cell: int  # side of one cell, in pixels
    x: int  # left of the first (guard) cell
    y: int  # top of the row of cells

    @classmethod
    def for_width(cls, width: int) -> Timecode:
        cell = max(2, width // 80)
        return cls(cell=cell, x=cell, y=cell)

    @property
    def cells(self) -> int:
        return 2 + TIMECODE_BITS

    @property
    def width(self) -> int:
        return self.cells * self.cell

    def levels(self, number: int) -> npt.NDArray[np.uint8]:
        """The luma of each cell: a 1, a 0 (the guards), then ``number``'s Gray code, most significant bit first."""
        gray = (number ^ (number >> 1)) & ((1 << TIMECODE_BITS) - 1)
        bits = (gray >> np.arange(TIMECODE_BITS - 1, -1, -1)) & 1
        return np.concatenate(([ONE, ZERO], np.where(bits == 1, ONE, ZERO))).astype(np.uint8)

    def draw(self, luma: npt.NDArray[np.uint8], number: int) -> None:
        row = np.repeat(self.levels(number), self.cell)
        luma[self.y : self.y + self.cell, self.x : self.x + self.width] = row

    def centres(self, luma: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
        """The mean luma of the middle half of each cell (where compression blurs least)."""
        quarter = max(1, self.cell // 4)
        band = luma[self.y + quarter : self.y + self.cell - quarter, self.x : self.x + self.width].astype(np.float64)
        columns = band.mean(axis=0).reshape(self.cells, self.cell)
        means: npt.NDArray[np.float64] = columns[:, quarter : self.cell - quarter].mean(axis=1)
        return means


def read_timecode(luma: npt.NDArray[np.uint8]) -> int | None:
    """The frame number a demo frame carries (its luma plane, full size), or None if unclear.

    The guard cells (a 1, then a 0) calibrate the reading, so it also works on frames whose
    levels a player scaled (full-range RGB on a canvas). None when the guards show no
    contrast, or any cell is too close to their midpoint to tell (a frame of another source,
    or one damaged by compression).
    """
    code = Timecode.for_width(luma.shape[1])
    centres = code.centres(luma)
    one, zero = centres[0], centres[1]
    contrast = one - zero
    if not (ONE - ZERO) / 2 < contrast < 2 * (ONE - ZERO):
        return None
    middle = (one + zero) / 2
    if np.any(np.abs(centres - middle) < _CLEAR * contrast):
        return None
    gray = 0
    for value in centres[2:]:
        gray = (gray << 1) | int(value > middle)
    number, mask = gray, gray >> 1
    while mask:
        number ^= mask
        mask >>= 1
    return number


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
        self.timecode = Timecode.for_width(width)
        self._clock: tuple[str, npt.NDArray[np.uint8]] | None = None

    def box_position(self, t: float) -> tuple[int, int]:
        phase = t % self.motion_period
        moving = min(phase, self.motion_seconds)
        span = self.width - self.box[0]
        # Back and forth across the frame while moving; parked otherwise.
        x = int((math.sin(moving / self.motion_seconds * 2 * math.pi - math.pi / 2) + 1) / 2 * span)
        return x, self.height // 3

    def frame(self, t: float, number: int | None = None, clock: str | None = None) -> av.VideoFrame:
        """The scene at ``t`` seconds; with ``number``, its timecode, and with ``clock`` (``HH:MM:SS``), the clock."""
        luma = self._luma.copy()
        x, y = self.box_position(t)
        bw, bh = self.box
        luma[y : y + bh, x : x + bw] = 235
        if number is not None:
            self.timecode.draw(luma, number)
        if clock is not None:
            self._draw_clock(luma, clock)
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        for plane, data in zip(frame.planes, (luma, self._chroma_u, self._chroma_v), strict=True):
            _copy_plane(plane, data)
        return frame

    def _draw_clock(self, luma: npt.NDArray[np.uint8], text: str) -> None:
        """White digits on a black box right of the timecode; rendered once per new text."""
        if self._clock is None or self._clock[0] != text:
            self._clock = (text, _render_text(text[:_CLOCK_CHARS], max(1, self.timecode.cell // 3)))
        picture = self._clock[1]
        top = self.timecode.y
        left = self.timecode.x + self.timecode.width + self.timecode.cell
        height, width = picture.shape
        height, width = min(height, self.height - top), min(width, self.width - left)
        if height > 0 and width > 0:
            luma[top : top + height, left : left + width] = picture[:height, :width]


def _render_text(text: str, scale: int) -> npt.NDArray[np.uint8]:
    """``text`` in the 3x5 font at ``scale``, white on black with a one-unit margin."""
    unit_width = 1 + 4 * _CLOCK_CHARS  # a margin, then 3 columns and a space per character
    picture = np.full((7 * scale, unit_width * scale), BLACK, np.uint8)
    for index, char in enumerate(text):
        for row, line in enumerate(_FONT.get(char, _BLANK)):
            for column, pixel in enumerate(line):
                if pixel == "#":
                    top, left = (1 + row) * scale, (1 + 4 * index + column) * scale
                    picture[top : top + scale, left : left + scale] = WHITE
    return picture


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
            wall_start = time.time()
            index = 0
            while not self._stop.is_set():
                t = index / self.fps
                # Real time: sleep until this frame is due.
                delay = start + t - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                clock = time.strftime("%H:%M:%S", time.localtime(wall_start + t))
                frame = self.scene.frame(t, index, clock)
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
