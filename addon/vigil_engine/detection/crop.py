"""A region of a decoded frame as a small frame of its own, still YUV: what the detector is given.

The detector scales and converts a YUV frame to its BGR input in one pass (``preprocess``), which
costs less than converting the whole frame to BGR first. A crop keeps that: the rows of each
plane that the region covers are copied into one small contiguous 4:2:0 buffer (the region's
pixels only, a few hundred KB at most) and wrapped as a frame without a further copy. Frames
that are not planar 4:2:0 (rare: a hardware decoder's NV12, a 4:2:2 camera) are converted whole
first, by FFmpeg.
"""

from __future__ import annotations

import av
import numpy as np

from .regions import RegionBox

# Planar 4:2:0 formats whose planes can be cut as they are (full or limited range).
_PLANAR_420 = frozenset({"yuv420p", "yuvj420p"})


def crop_frame(frame: av.VideoFrame, region: RegionBox) -> av.VideoFrame:
    """The part ``region`` (even x1, y1, x2, y2 inside the frame) of ``frame``, as a new frame."""
    left, top, right, bottom = region
    if (left, top, right, bottom) == (0, 0, frame.width, frame.height):
        return frame
    source = frame if frame.format.name in _PLANAR_420 else frame.reformat(format="yuv420p")
    width, height = right - left, bottom - top
    buffer = np.empty((height * 3 // 2, width), dtype=np.uint8)
    luma = _plane(source, 0, source.height)
    buffer[:height] = luma[top:bottom, left:right]
    # The chroma planes, a quarter each, follow the luma rows as yuv420p lays them out: each
    # chroma row of the crop is half a buffer row.
    chroma = buffer[height:].reshape(2, height // 2, width // 2)
    for index in (1, 2):
        plane = _plane(source, index, source.height // 2)
        chroma[index - 1] = plane[top // 2 : bottom // 2, left // 2 : right // 2]
    cropped = av.VideoFrame.from_numpy_buffer(buffer, format=source.format.name)
    # The same colours: a full-range (JPEG-like) camera's crop must not be read as limited range.
    cropped.colorspace, cropped.color_range = source.colorspace, source.color_range
    return cropped


def _plane(frame: av.VideoFrame, index: int, rows: int) -> np.ndarray[tuple[int, int], np.dtype[np.uint8]]:
    """A plane as a rows x line_size view (no copy; a line may be padded beyond the width)."""
    plane = frame.planes[index]
    return np.frombuffer(plane, dtype=np.uint8, count=rows * plane.line_size).reshape(rows, plane.line_size)
