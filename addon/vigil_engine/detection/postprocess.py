"""From the model's raw output to scored boxes: YOLOX's grid decoding and per-class NMS, in numpy.

Each output row belongs to one anchor point of a grid at stride 8, 16 or 32 (the rows of the
stride-8 grid first, row-major). Its first four values are offsets: the box centre is
``(value + grid cell) x stride``, its size ``exp(value) x stride``, in input pixels. Then come
the objectness and 80 class probabilities; a class's score is objectness x probability.

Only rows whose *objectness* reaches the threshold can have a class score that does (a
probability is at most 1), so those few rows (tens out of 3549) are picked first and only
they are decoded: the whole step costs well under a millisecond.

Overlapping boxes of the same class are then merged by greedy non-maximum suppression
(IoU above 0.45: the lower-scored box goes), each class on its own, as YOLOX's demo does: a
person on a bicycle keeps both boxes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .model import BOX_FIELDS, STRIDES, ModelLayout

NMS_IOU = 0.45

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Boxes:
    """Detections in model input pixels, best score first."""

    xyxy: FloatArray  # [k, 4]: x1, y1, x2, y2
    scores: FloatArray  # [k]
    classes: npt.NDArray[np.intp]  # [k], index into COCO_LABELS


class Decoder:
    """Decodes the output of one model layout. Immutable after construction: thread-safe."""

    def __init__(self, layout: ModelLayout) -> None:
        cells: list[npt.NDArray[np.float32]] = []
        strides: list[npt.NDArray[np.float32]] = []
        for stride in STRIDES:
            rows, cols = layout.height // stride, layout.width // stride
            x, y = np.meshgrid(np.arange(cols, dtype=np.float32), np.arange(rows, dtype=np.float32))
            cells.append(np.stack((x.ravel(), y.ravel()), axis=1))
            strides.append(np.full((rows * cols, 1), stride, dtype=np.float32))
        self._cells = np.concatenate(cells)
        self._strides = np.concatenate(strides)
        self.layout = layout

    def decode(self, output: FloatArray, threshold: float, wanted: npt.NDArray[np.bool_] | None = None) -> Boxes:
        """Boxes scoring at least ``threshold`` after NMS; ``wanted``: a mask over the classes
        (None: all). ``output`` is the model's ``[1, N, 5 + C]`` (or ``[N, 5 + C]``) tensor."""
        rows = output.reshape(self.layout.anchors, BOX_FIELDS + self.layout.classes)
        candidates = np.flatnonzero(rows[:, 4] >= threshold)
        scores = rows[candidates, 4:5] * rows[candidates, BOX_FIELDS:]
        if wanted is not None:
            scores = scores * wanted
        hit_rows, classes = np.nonzero(scores >= threshold)
        if hit_rows.size == 0:
            return _NOTHING
        anchor = candidates[hit_rows]
        stride = self._strides[anchor]
        centre = (rows[anchor, :2] + self._cells[anchor]) * stride
        half = np.exp(rows[anchor, 2:4]) * stride * np.float32(0.5)
        xyxy = np.concatenate((centre - half, centre + half), axis=1)
        hit_scores = scores[hit_rows, classes]
        keep = nms_per_class(xyxy, hit_scores, classes, NMS_IOU)
        return Boxes(xyxy[keep], hit_scores[keep], classes[keep])


_NOTHING = Boxes(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.intp))


def nms_per_class(
    xyxy: FloatArray, scores: FloatArray, classes: npt.NDArray[np.intp], iou_limit: float
) -> npt.NDArray[np.intp]:
    """Indices of the boxes greedy NMS keeps, best score first, each class on its own.

    Boxes of different classes are moved apart (by their class index times more than the
    largest coordinate) so that one pass never lets them overlap: the usual batched-NMS trick.
    """
    if scores.size == 0:
        return np.zeros(0, np.intp)
    shift = (classes.astype(np.float32) * (float(np.abs(xyxy).max()) * 2 + 1))[:, None]
    boxes = xyxy + shift
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        rest = order[1:]
        left = np.maximum(boxes[best, 0], boxes[rest, 0])
        top = np.maximum(boxes[best, 1], boxes[rest, 1])
        right = np.minimum(boxes[best, 2], boxes[rest, 2])
        bottom = np.minimum(boxes[best, 3], boxes[rest, 3])
        overlap = np.maximum(right - left, 0) * np.maximum(bottom - top, 0)
        union = areas[best] + areas[rest] - overlap
        iou = np.divide(overlap, union, out=np.zeros_like(overlap), where=union > 0)
        order = rest[iou <= iou_limit]
    return np.asarray(keep, dtype=np.intp)
