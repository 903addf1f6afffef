"""Synthetic camera scenes with known motion, encoded to H.264 files for motion-detection tests.

A :class:`Scene` is a still picture (the demo camera's gradient and bars, plus a fixed fine
texture so the encoder has detail to spend bits on, as on a real camera) in which a bright box
appears at the left edge when a motion window starts, crosses the frame at constant speed and
vanishes when the window ends. :meth:`Scene.box_rect` gives its exact position at any time:
the ground truth. Options add per-frame gaussian sensor noise and whole-frame brightness steps
(lights switched on or off, an exposure jump).

Files are encoded with PyAV's libx264 (ultrafast, no B-frames, fixed keyframe interval) into
Matroska. :class:`SceneCache` encodes each distinct scene once per test session.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels (x1, y1 exclusive)

BOX_LUMA = 235
# Noise frames are drawn from a bank (fresh gaussian noise for every frame costs more than the
# encoding); frames pick from it at random, so noise still changes from frame to frame.
_NOISE_BANK = 32


@dataclass(frozen=True, slots=True)
class Scene:
    """A scene's parameters; equal parameters make the same file (frames are deterministic)."""

    seconds: float
    fps: int = 10
    width: int = 640
    height: int = 360
    # (start_s, end_s): the box is visible and moving for start <= t < end.
    motion: tuple[tuple[float, float], ...] = ()
    # Standard deviation (luma levels) of per-frame gaussian sensor noise; 0 = none.
    noise: float = 0.0
    # (time_s, levels): from time_s on, the whole frame is ``levels`` brighter (negative: darker).
    # Steps add up.
    brightness_steps: tuple[tuple[float, int], ...] = ()
    keyframe_seconds: float = 2.0
    # Average bit rate (bit/s) for libx264; None = its default constant quality (crf 23).
    bit_rate: int | None = None
    # libx264 preset: ultrafast (fast to make, cheap to decode: no CABAC) for tests; a camera's
    # stream is closer to veryfast (CABAC, high profile), which benchmarks should use.
    preset: str = "ultrafast"
    seed: int = 0

    @property
    def box_size(self) -> tuple[int, int]:
        return self.width // 8, self.height // 6

    @property
    def box_top(self) -> int:
        return self.height // 3

    @property
    def frames(self) -> int:
        return round(self.seconds * self.fps)

    def box_rect(self, t: float) -> Rect | None:
        """The box's pixels at time ``t`` (None when no motion window holds ``t``)."""
        bw, bh = self.box_size
        for start, end in self.motion:
            if start <= t < end:
                x = round((t - start) / (end - start) * (self.width - bw))
                return x, self.box_top, x + bw, self.box_top + bh
        return None

    def box_rect_normalised(self, t: float) -> tuple[float, float, float, float] | None:
        rect = self.box_rect(t)
        if rect is None:
            return None
        x0, y0, x1, y1 = rect
        return x0 / self.width, y0 / self.height, x1 / self.width, y1 / self.height

    def path_band(self, margin: float = 0.02) -> tuple[tuple[float, float], ...]:
        """A normalised polygon (full width) covering the rows the box travels along."""
        bh = self.box_size[1]
        y0 = self.box_top / self.height - margin
        y1 = (self.box_top + bh) / self.height + margin
        return (0.0, y0), (1.0, y0), (1.0, y1), (0.0, y1)

    def brightness(self, t: float) -> int:
        return sum(levels for at, levels in self.brightness_steps if t >= at)

    def background(self) -> npt.NDArray[np.uint8]:
        """The still picture (luma), without noise, box or brightness steps."""
        width, height = self.width, self.height
        x = np.linspace(40, 200, width, dtype=np.float32)
        y = np.linspace(0, 40, height, dtype=np.float32)[:, None]
        # Fine static texture (+-6 levels), like foliage or a rough wall.
        texture = np.random.default_rng(12345).uniform(-6, 6, (height, width)).astype(np.float32)
        luma: npt.NDArray[np.uint8] = np.clip(x[None, :] + y + texture, 0, 255).astype(np.uint8)
        for i in range(8):  # the demo camera's bars
            x0 = i * width // 8
            luma[height - height // 6 :, x0 : x0 + width // 16] = 30 + 25 * i
        return luma

    def lumas(self) -> Iterator[npt.NDArray[np.uint8]]:
        """The luma plane of every frame, in order."""
        rng = np.random.default_rng(self.seed)
        base = self.background().astype(np.int16)
        bank: list[npt.NDArray[np.int16]] = []
        if self.noise > 0:
            bank = [
                np.rint(rng.standard_normal(base.shape, dtype=np.float32) * self.noise).astype(np.int16)
                for _ in range(_NOISE_BANK)
            ]
        for index in range(self.frames):
            t = index / self.fps
            frame = base.copy()
            rect = self.box_rect(t)
            if rect is not None:
                x0, y0, x1, y1 = rect
                frame[y0:y1, x0:x1] = BOX_LUMA
            step = self.brightness(t)
            if step:
                frame += step
            if bank:
                frame += bank[int(rng.integers(len(bank)))]
            yield np.clip(frame, 0, 255).astype(np.uint8)

    def encode(self, path: Path) -> Path:
        """Write the scene to ``path`` (Matroska, H.264) and return it."""
        width, height = self.width, self.height
        # One yuv420p buffer: luma rows, then the two chroma planes (constant, slightly tinted).
        buffer = np.empty((height * 3 // 2, width), np.uint8)
        chroma = buffer[height:].reshape(-1)
        chroma[: chroma.size // 2] = 118
        chroma[chroma.size // 2 :] = 138
        with av.open(str(path), "w", format="matroska") as out:
            video = out.add_stream("libx264", rate=self.fps)
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            video.codec_context.gop_size = max(1, round(self.fps * self.keyframe_seconds))
            options: dict[str, object] = {"preset": self.preset, "bf": "0", "sc_threshold": "0"}
            if self.bit_rate:
                video.codec_context.bit_rate = self.bit_rate
                options["maxrate"] = str(self.bit_rate)
                options["bufsize"] = str(2 * self.bit_rate)
            video.options = options
            for index, luma in enumerate(self.lumas()):
                buffer[:height] = luma
                frame = av.VideoFrame.from_ndarray(buffer, format="yuv420p")
                frame.pts = index
                frame.time_base = Fraction(1, self.fps)
                out.mux(video.encode(frame))
            out.mux(video.encode(None))
        return path


class SceneCache:
    """Encodes each distinct scene once into ``folder`` (use one per test session)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._paths: dict[Scene, Path] = {}

    def path(self, scene: Scene) -> Path:
        path = self._paths.get(scene)
        if path is None:
            path = scene.encode(self.folder / f"scene-{len(self._paths):02d}.mkv")
            self._paths[scene] = path
        return path
