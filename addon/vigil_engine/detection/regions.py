"""Where to run the detector: square regions of the frame around what moves, as Frigate picks them.

The model sees a 416x416 picture. Given the whole of a 1920x1080 frame it would see everything
at a fifth of its size, and a person 60 pixels wide at the end of the garden would be 13
pixels wide: lost. So the detector looks only where motion is (and where tracked objects are),
through square crops of the frame:

* a crop is at least the model's input (in frame pixels), so small things are seen at their
  own resolution, never shrunk; around something larger it is :data:`GROWTH` times its size,
  so the model also sees the context it was trained with (a whole person, not a torso);
* moving areas close together share a crop when it stays that small, or when each of them
  would still fill a fair share of it (:data:`MIN_SHARE`); far apart, each has its own;
* a crop lies inside the frame (moved in from the edges, never cut), and a frame smaller than
  a crop is used whole in that direction;
* at most :data:`MAX_REGIONS` crops per frame: each costs an inference, and a frame with more
  moving areas than that is looked at whole (one crop around all of them);
* an object the crop cuts (its box touches an edge of the crop that is not an edge of the
  frame) is not believed (:func:`cut_by`): its box is only the part inside, and a standing
  person whose legs a passer-by's crop leaves out would seem to have moved. Moving objects are
  inside their crops (the motion and the tracked boxes made them); a cut one is looked at whole
  when its own motion, or its track, brings a crop around it.

Boxes and regions are frame pixels ``(x1, y1, x2, y2)``; regions have even coordinates, so a
crop of a 4:2:0 frame starts and ends on a chroma sample.
"""

from __future__ import annotations

from collections.abc import Sequence

Box = tuple[float, float, float, float]
RegionBox = tuple[int, int, int, int]

GROWTH = 1.35  # a region's side over the larger side of what it holds
CUT_MARGIN = 0.01  # a box this close (share of the region's side) to a region's inner edge is cut
MIN_SHARE = 0.05  # each area in a shared region covers at least this share of it
MAX_REGIONS = 3


def box_area(box: Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def iou(a: Box, b: Box) -> float:
    left, top, right, bottom = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    overlap = max(0.0, right - left) * max(0.0, bottom - top)
    total = box_area(a) + box_area(b) - overlap
    return overlap / total if total > 0 else 0.0


def inside_share(box: Box, region: Box) -> float:
    """The share of ``box``'s area that lies inside ``region`` (1 for a point-sized box inside)."""
    left, top = max(box[0], region[0]), max(box[1], region[1])
    right, bottom = min(box[2], region[2]), min(box[3], region[3])
    area = box_area(box)
    if area <= 0:
        return 1.0 if region[0] <= box[0] <= region[2] and region[1] <= box[1] <= region[3] else 0.0
    return max(0.0, right - left) * max(0.0, bottom - top) / area


def region_around(box: Box, width: int, height: int, min_side: int) -> RegionBox:
    """The square region (clipped to the frame's size) centred on ``box`` as far as the frame allows."""
    side = max(float(min_side), GROWTH * max(box[2] - box[0], box[3] - box[1]))
    region_width = min(width, _even(side))
    region_height = min(height, _even(side))
    centre_x, centre_y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    left = _even(min(max(0.0, centre_x - region_width / 2), width - region_width))
    top = _even(min(max(0.0, centre_y - region_height / 2), height - region_height))
    return left, top, min(width, left + region_width), min(height, top + region_height)


def select_regions(boxes: Sequence[Box], width: int, height: int, min_side: int) -> list[RegionBox]:
    """The regions to detect in for these moving areas (and tracked objects), largest areas first."""
    clusters: list[list[Box]] = []
    for box in sorted(boxes, key=box_area, reverse=True):
        if box_area(box) <= 0:
            continue
        for cluster in clusters:
            if _fits(cluster, box, min_side):
                cluster.append(box)
                break
        else:
            clusters.append([box])
    if not clusters:
        return []
    if len(clusters) > MAX_REGIONS:
        clusters = [[box for cluster in clusters for box in cluster]]
    return [region_around(_bounds(cluster), width, height, min_side) for cluster in clusters]


def _fits(cluster: list[Box], box: Box, min_side: int) -> bool:
    bounds = union(_bounds(cluster), box)
    side = GROWTH * max(bounds[2] - bounds[0], bounds[3] - bounds[1])
    if side <= min_side:
        return True  # a region of the smallest size holds them all
    region = side * side
    return all(box_area(part) >= MIN_SHARE * region for part in (*cluster, box))


def _bounds(cluster: list[Box]) -> Box:
    bounds = cluster[0]
    for box in cluster[1:]:
        bounds = union(bounds, box)
    return bounds


def _even(value: float) -> int:
    return int(value) // 2 * 2


def cut_by(box: Box, region: RegionBox, width: int, height: int) -> bool:
    """Whether ``region`` cuts the object in ``box``: the box reaches an edge of the region that
    is not also an edge of the frame (``width`` x ``height``)."""
    left, top, right, bottom = region
    margin_x = max(2.0, CUT_MARGIN * (right - left))
    margin_y = max(2.0, CUT_MARGIN * (bottom - top))
    return (
        (left > 0 and box[0] <= left + margin_x)
        or (top > 0 and box[1] <= top + margin_y)
        or (right < width and box[2] >= right - margin_x)
        or (bottom < height and box[3] >= bottom - margin_y)
    )
