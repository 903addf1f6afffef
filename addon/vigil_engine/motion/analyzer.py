"""Per-camera motion analysis: which decoded frames to analyse, their small grey copy, the detector.

The motion worker decodes every frame (a P-frame needs the ones before it) but analyses only
``settings.fps`` of them per second, chosen by *frame time* (stream seconds), never by wall
time (``sampler``): a burst of frames after a network hiccup, or a file read faster than real
time, is sampled exactly like a live stream.

The grey copy is made by FFmpeg's scaler in one step (downscale + luma only), through one
``VideoReformatter`` kept for the analyser's life: ``frame.reformat()`` builds a new scaler on
every call, which measured 22-33% more CPU for the whole decode + analysis. The scaler uses
area averaging: at 640 -> 320 it is the exact 2x2 mean, at 1920 -> 320 a 6x6 mean, so it also
averages out sensor noise and cannot alias fine textures (a fence, leaves) into flicker;
bilinear cost more at 1080p and fast-bilinear aliases. Luma comes out in full range (0-255)
whatever the camera's range, so ``settings.threshold`` means the same on every camera.
"""

from __future__ import annotations

from typing import cast

import av
import numpy as np
import numpy.typing as npt
from av.video.reformatter import Interpolation, VideoReformatter

from .detector import MotionDetector, MotionResult
from .sampler import FrameSampler
from .settings import MotionSettings

# Scaling algorithm (see the module docstring).
INTERPOLATION = Interpolation.AREA


class MotionAnalyzer:
    """Samples, converts and analyses one camera's decoded frames.

    Not thread-safe: one instance per camera, used from the thread that decodes. Frames of any
    software pixel format FFmpeg's scaler reads (yuv420p, yuvj420p, nv12, yuv422p, 10-bit, RGB,
    gray) are accepted; hardware frames are downloaded by PyAV first.
    """

    def __init__(self, settings: MotionSettings) -> None:
        self.settings = settings
        self.detector = MotionDetector(settings)
        self._reformatter = VideoReformatter()
        self._sampler = FrameSampler(settings.fps)
        self._source_size = (0, 0)
        self._size = (0, 0)

    def due(self, frame_time_s: float) -> bool:
        """Whether the frame at ``frame_time_s`` (stream seconds) should be analysed: see
        :class:`~vigil_engine.motion.sampler.FrameSampler`."""
        return self._sampler.due(frame_time_s)

    def to_gray(self, frame: av.VideoFrame) -> npt.NDArray[np.uint8]:
        """The frame's luma, scaled to ``settings.analysis_width`` (never up), as an HxW array.

        The height keeps the aspect ratio, rounded to an even number. The array is a view of a
        new frame's buffer, owned by the caller.
        """
        if (frame.width, frame.height) != self._source_size:
            self._source_size = (frame.width, frame.height)
            self._size = analysis_size(frame.width, frame.height, self.settings.analysis_width)
        width, height = self._size
        gray = self._reformatter.reformat(frame, width, height, "gray", interpolation=INTERPOLATION, threads=1)
        # PyAV types to_ndarray() for every format it can return; "gray" is always uint8.
        return cast("npt.NDArray[np.uint8]", gray.to_ndarray())

    def analyze(self, frame: av.VideoFrame, *, areas: bool = False) -> MotionResult:
        """Convert and analyse a frame (call when :meth:`due` said so); ``areas``: also box each
        moving area (for object detection)."""
        return self.detector.analyze(self.to_gray(frame), areas=areas)

    def reset(self) -> None:
        """Forget the background and the sampling grid (after a reconnect or a new session)."""
        self.detector.reset()
        self._sampler.reset()


def analysis_size(width: int, height: int, analysis_width: int) -> tuple[int, int]:
    """Size of the analysed grey frame: ``analysis_width`` wide (at most the frame's width), the
    height keeping the aspect ratio, rounded to an even number (at least 4: the detector's minimum)."""
    out_width = max(4, min(analysis_width, width))
    out_height = max(4, round(out_width * height / width / 2) * 2)
    return out_width, out_height
