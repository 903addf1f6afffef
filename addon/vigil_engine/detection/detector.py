"""The object detector: a picture (a whole frame or a crop of one) in, labelled boxes in source pixels out.

One :class:`Detector` serves every camera: it holds one backend (one model in memory) and
keeps no per-call state, so any thread may call :meth:`Detector.detect` at any time.

Crops: the motion pipeline runs the detector only where something moved, on a crop of the
frame (possibly of a scaled copy). :class:`Region` says where the crop lies in the source
picture, so boxes come back in the source's pixels whatever was cropped or scaled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .backends import Backend
from .labels import COCO_LABELS, group_of, resolve_labels
from .postprocess import Decoder
from .preprocess import Letterboxer, Picture
from .settings import DEFAULT_THRESHOLD

__all__ = ["DEFAULT_THRESHOLD", "WHOLE_PICTURE", "Detection", "Detector", "Region"]


@dataclass(frozen=True, slots=True)
class Region:
    """Where a picture lies in the source frame: source pixel = (x, y) + picture pixel x scale.

    A crop at full resolution has ``scale`` 1 and its top-left corner as (x, y); a crop of a
    copy scaled to a quarter of the width has ``scale`` 4 (and x, y in source pixels).
    """

    x: float = 0.0
    y: float = 0.0
    scale: float = 1.0


WHOLE_PICTURE = Region()


@dataclass(frozen=True, slots=True)
class Detection:
    label: str  # a COCO label, e.g. "person", "car"
    score: float  # 0-1: objectness x class probability
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in source pixels

    @property
    def group(self) -> str | None:
        """``person``, ``vehicle``, ``animal`` or None (see ``labels``)."""
        return group_of(self.label)

    def as_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "score": round(self.score, 4),
            "box": [round(value, 1) for value in self.box],
        }


class Detector:
    """Runs the model on pictures; thread-safe. ``labels``: labels and groups to report (None: all)."""

    def __init__(
        self, backend: Backend, *, threshold: float = DEFAULT_THRESHOLD, labels: frozenset[str] | None = None
    ) -> None:
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold {threshold}: must be more than 0 and at most 1")
        self.backend = backend
        self.threshold = threshold
        self._wanted: npt.NDArray[np.bool_] | None = None
        if labels is not None:
            chosen = resolve_labels(labels)
            self._wanted = np.array([label in chosen for label in COCO_LABELS], dtype=np.bool_)
        self._decoder: Decoder | None = None
        self._letterbox: Letterboxer | None = None

    def detect(
        self, picture: Picture, region: Region = WHOLE_PICTURE, *, threshold: float | None = None
    ) -> list[Detection]:
        """The objects in ``picture`` (an HxWx3 BGR uint8 array or a decoded frame), best first.

        Raises ``BackendError`` (``BackendUnavailable`` while a remote server is away): a
        failed detection is never an empty list.
        """
        letterbox, decoder = self._stages()
        boxed = letterbox(picture)
        output = self.backend.infer(boxed.tensor)
        found = decoder.decode(output, self.threshold if threshold is None else threshold, self._wanted)
        if not found.scores.size:
            return []
        # Input pixels -> picture pixels (top-left letterbox: a division), clipped to the
        # picture, then placed in the source.
        xyxy = found.xyxy / np.float32(boxed.ratio)
        np.clip(xyxy[:, 0::2], 0, boxed.width, out=xyxy[:, 0::2])
        np.clip(xyxy[:, 1::2], 0, boxed.height, out=xyxy[:, 1::2])
        xyxy = xyxy.astype(np.float64) * region.scale + np.array([region.x, region.y, region.x, region.y])
        return [
            Detection(COCO_LABELS[int(index)], float(score), (float(x1), float(y1), float(x2), float(y2)))
            for (x1, y1, x2, y2), score, index in zip(xyxy, found.scores, found.classes, strict=True)
        ]

    def _stages(self) -> tuple[Letterboxer, Decoder]:
        """The letterboxer and decoder for the model's layout, made on first use (a remote
        backend learns its layout from the server). Two threads may both make them: harmless,
        they are equal."""
        decoder, letterbox = self._decoder, self._letterbox
        if decoder is None or letterbox is None:
            layout = self.backend.layout()
            letterbox = Letterboxer(layout.width, layout.height)
            decoder = Decoder(layout)
            self._letterbox, self._decoder = letterbox, decoder
        return letterbox, decoder

    def close(self) -> None:
        self.backend.close()
