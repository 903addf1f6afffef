"""Pictures of an object for its event: the whole frame with a box drawn around it, and a crop of it.

Both are made from the frame as it should be shown (deblocked, see ``motion.sharp``), only when
an event's snapshot is written: at its start and when a clearly better detection replaces it
(at most once a second). Drawing is done on the frame's YUV planes in numpy (no image library in
the engine): a frame-sized copy, a few rectangles of rows and columns set, encoded as before.
"""

from __future__ import annotations

import av
import numpy as np

from vigil_engine.detection.crop import crop_frame

from .model import Box

# The box's colour in YUV (BT.601, limited range): a saturated green, seen on grass and asphalt.
_BOX_YUV = (150, 44, 21)
_MARGIN = 0.25  # the thumbnail shows this much of the object's size around it, each side
_MIN_CROP = 96  # pixels: the smallest crop, so a small object is not a blur of a few pixels


def draw_box(frame: av.VideoFrame, box: Box) -> av.VideoFrame:
    """A copy of ``frame`` with a rectangle around the normalised ``box`` (lines a 150th of the
    frame's height thick, at least 4 pixels: 2 chroma samples, so that the colour survives the
    JPEG's halved chroma)."""
    source = frame if frame.format.name in ("yuv420p", "yuvj420p") else frame.reformat(format="yuv420p")
    width, height = source.width, source.height
    planes = source.to_ndarray()  # (height * 3 / 2, width): Y, then U and V, a quarter each
    luma = planes[:height]
    chroma = planes[height:].reshape(2, height // 2, width // 2)
    thick = max(4, round(height / 150)) // 2 * 2
    x1, y1, x2, y2 = _pixels(box, width, height)
    y_value, u_value, v_value = _BOX_YUV
    if source.format.name == "yuvj420p":
        y_value = round((y_value - 16) * 255 / 219)
    for plane, value, scale in ((luma, y_value, 1), (chroma[0], u_value, 2), (chroma[1], v_value, 2)):
        left, top, right, bottom = x1 // scale, y1 // scale, x2 // scale, y2 // scale
        t = max(1, thick // scale)
        plane[top : top + t, left:right] = value
        plane[max(top, bottom - t) : bottom, left:right] = value
        plane[top:bottom, left : left + t] = value
        plane[top:bottom, max(left, right - t) : right] = value
    drawn = av.VideoFrame.from_ndarray(planes, format=source.format.name)
    drawn.colorspace, drawn.color_range = source.colorspace, source.color_range
    return drawn


def object_crop(frame: av.VideoFrame, box: Box) -> av.VideoFrame:
    """The object in ``box`` (normalised) with some of its surroundings, as a frame of its own:
    a square-ish crop (wider objects make wider crops), inside the frame."""
    width, height = frame.width, frame.height
    x1, y1, x2, y2 = _pixels(box, width, height)
    side_x = max(_MIN_CROP, round((x2 - x1) * (1 + 2 * _MARGIN)))
    side_y = max(_MIN_CROP, round((y2 - y1) * (1 + 2 * _MARGIN)))
    side = max(side_x, side_y)
    crop_w, crop_h = min(width, max(side_x, side * 3 // 4)), min(height, side)
    crop_w, crop_h = crop_w // 2 * 2, crop_h // 2 * 2
    left = min(max(0, (x1 + x2 - crop_w) // 2), width - crop_w) // 2 * 2
    top = min(max(0, (y1 + y2 - crop_h) // 2), height - crop_h) // 2 * 2
    return crop_frame(frame, (left, top, left + crop_w, top + crop_h))


def _pixels(box: Box, width: int, height: int) -> tuple[int, int, int, int]:
    x1 = int(np.clip(box[0] * width, 0, width - 2)) // 2 * 2
    y1 = int(np.clip(box[1] * height, 0, height - 2)) // 2 * 2
    x2 = max(x1 + 2, min(width, round(box[2] * width)) // 2 * 2)
    y2 = max(y1 + 2, min(height, round(box[3] * height)) // 2 * 2)
    return x1, y1, x2, y2
