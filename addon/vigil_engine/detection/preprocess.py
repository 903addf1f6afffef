"""Letterboxing: a picture of any size into the model's input, as YOLOX was trained to see it.

YOLOX's own preprocessing: scale the picture by one ratio so that it fits the input (up or
down, aspect kept), put it in the **top-left** corner, fill the rest with grey 114, channels in
**BGR** order, values 0-255 (no normalisation), planar ``[1, 3, H, W]``. Because the picture is
top-left aligned, mapping a box back is a division by the ratio, no offset.

The scaling is FFmpeg's (PyAV's ``VideoReformatter``), for two reasons: a decoded camera frame
(YUV) is scaled and converted in one pass, never expanded to a full-size BGR array first; and
FFmpeg is already in the engine (no OpenCV). Area averaging, as the motion analyser uses: on
the project's test photographs its scores are within 0.03 of the YOLOX demo's ``cv2.resize``
(bilinear) scores, closer than FFmpeg's bilinear, and it cannot alias fine textures when a
1080p frame shrinks to 416 pixels.

Two things keep it cheap (``scripts/bench detect`` measures it against the demo's OpenCV
preprocessing): a BGR array is handed to FFmpeg without a copy (``from_numpy_buffer``: a crop
of a frame is a view whose rows are still contiguous), and FFmpeg writes *planar* RGB
(``gbrp``), the tensor's own layout, half the scaler's work of packed BGR and no transpose.

The result stays uint8: each backend makes the float32 tensor its runtime wants (and a remote
one can send the bytes as they are).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt
from av.video.reformatter import Interpolation, VideoReformatter

PAD_VALUE = 114
INTERPOLATION = Interpolation.AREA
# Where each of gbrp's planes (green, blue, red) goes in the BGR tensor.
_BGR_PLANES = (1, 0, 2)

# A picture: an HxWx3 BGR uint8 array (a crop of one is fine), or a decoded video frame.
Picture = npt.NDArray[np.uint8] | av.VideoFrame


@dataclass(frozen=True, slots=True)
class Letterboxed:
    tensor: npt.NDArray[np.uint8]  # [1, 3, H, W], BGR, padded with PAD_VALUE
    ratio: float  # input pixels per picture pixel
    width: int  # of the picture
    height: int


class Letterboxer:
    """Letterboxes pictures to ``width`` x ``height``. Thread-safe: each thread has its own scaler
    (FFmpeg's scaler keeps state; building one per call costs more than the scaling)."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self._local = threading.local()

    def __call__(self, picture: Picture) -> Letterboxed:
        if isinstance(picture, av.VideoFrame):
            frame = picture
        else:
            _check_array(picture)
            if picture.strides[1:] != (3, 1):
                picture = np.ascontiguousarray(picture)  # e.g. every other pixel of a frame
            frame = av.VideoFrame.from_numpy_buffer(picture, format="bgr24")  # no copy
        width, height = frame.width, frame.height
        ratio = min(self.width / width, self.height / height)
        # Truncated as YOLOX does (int()), so that the picture never exceeds the input.
        new_width = max(1, int(width * ratio))
        new_height = max(1, int(height * ratio))
        reformatter: VideoReformatter | None = getattr(self._local, "reformatter", None)
        if reformatter is None:
            reformatter = self._local.reformatter = VideoReformatter()
        scaled = reformatter.reformat(frame, new_width, new_height, "gbrp", interpolation=INTERPOLATION, threads=1)
        tensor = np.full((1, 3, self.height, self.width), PAD_VALUE, dtype=np.uint8)
        for channel, plane in zip(_BGR_PLANES, scaled.planes, strict=True):
            # A plane's rows may be padded (line_size >= width): view them, then cut the padding.
            rows = np.frombuffer(plane, dtype=np.uint8, count=new_height * plane.line_size).reshape(new_height, -1)
            tensor[0, channel, :new_height, :new_width] = rows[:, :new_width]
        return Letterboxed(tensor, ratio, width, height)


def _check_array(picture: npt.NDArray[np.uint8]) -> None:
    if picture.ndim != 3 or picture.shape[2] != 3 or picture.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 BGR uint8 picture, got a {picture.dtype} array of shape {picture.shape}")
    if picture.shape[0] < 1 or picture.shape[1] < 1:
        raise ValueError(f"empty picture (shape {picture.shape})")
