"""Rasterise normalised polygons (masks and zones) to boolean pixel masks.

Polygons are in normalised coordinates, (0, 0) top-left to (1, 1) bottom-right (see
``settings``), so the same polygon fits any analysis resolution. A pixel belongs to a polygon
when its *centre* lies inside it (even-odd rule, as SVG's ``fill-rule: evenodd``): a polygon
covering the whole unit square covers every pixel, and two adjacent polygons sharing an edge
never both claim a pixel on that edge. A polygon thinner than a pixel may cover no pixel.

Rasterising costs O(edges x pixels) with numpy broadcasting (about a millisecond for a
10-point polygon at 320x180); the detector does it once per frame shape, not per frame.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from .settings import Polygon

BoolMask = npt.NDArray[np.bool_]


def rasterize(polygon: Polygon, width: int, height: int) -> BoolMask:
    """The ``height`` x ``width`` mask of the pixels whose centres are inside ``polygon``.

    Fewer than three points make an empty mask. Points may lie outside 0..1 (the polygon is
    simply clipped by the frame).
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"bad mask size {width}x{height}")
    inside = np.zeros((height, width), dtype=np.bool_)
    if len(polygon) < 3:
        return inside
    # Pixel centres in normalised coordinates: a column of y values, a row of x values, so
    # each edge test below broadcasts to the full frame without building coordinate grids.
    py = ((np.arange(height, dtype=np.float64) + 0.5) / height)[:, None]
    px = ((np.arange(width, dtype=np.float64) + 0.5) / width)[None, :]
    points = list(polygon)
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True):
        if y1 == y2:
            continue  # a horizontal edge never crosses a horizontal ray
        # Rows whose centre line the edge crosses (half-open, so a shared vertex counts once).
        crosses = (y1 > py) != (y2 > py)
        # Where the edge crosses each row; the ray from a pixel centre towards +x meets the
        # edge when the pixel lies left of that point. Each crossing flips inside/outside.
        x_at = x1 + (py - y1) * ((x2 - x1) / (y2 - y1))
        inside ^= crosses & (px < x_at)
    return inside


def rasterize_all(polygons: Iterable[Polygon], width: int, height: int) -> BoolMask:
    """The union of the polygons' masks (all False when there is none)."""
    union = np.zeros((height, width), dtype=np.bool_)
    for polygon in polygons:
        union |= rasterize(polygon, width, height)
    return union


def contains(polygon: Polygon, x: float, y: float) -> bool:
    """Whether the normalised point (x, y) is inside ``polygon`` (even-odd rule, like
    :func:`rasterize` for a pixel centre): where an object stands, against zones and masks."""
    inside = False
    points = list(polygon)
    if len(points) < 3:
        return False
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside
