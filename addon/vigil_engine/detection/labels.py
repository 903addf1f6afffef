"""The model's class names (COCO, in the order of its 80 class scores) and the groups Home Assistant uses.

A camera cares about few of COCO's classes; the groups say which, and a filter may name labels
or groups (``person``, ``vehicle``, ``animal``). ``person`` is both a label and a group.
"""

from __future__ import annotations

from collections.abc import Iterable

# The order of the model's class scores (YOLOX's COCO_CLASSES): index i is class score i.
COCO_LABELS: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip

GROUPS: dict[str, frozenset[str]] = {
    "person": frozenset({"person"}),
    # What drives or is ridden up to a house. Trains, boats and aircraft are left out: a
    # doorway or driveway camera sees them only far away, where they are not an event.
    "vehicle": frozenset({"bicycle", "car", "motorcycle", "bus", "truck"}),
    # Every COCO animal, the exotic ones too: the model has no fox, deer or hedgehog and
    # names them after the nearest class it knows (dog, sheep, horse, bear...), so an
    # "elephant" at night is still an animal in the garden.
    "animal": frozenset({"bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe"}),
}


class UnknownLabelError(ValueError):
    """A label filter names something that is neither a COCO label nor a group."""


def group_of(label: str) -> str | None:
    """The group a label belongs to (``person``, ``vehicle``, ``animal``), or None."""
    for group, members in GROUPS.items():
        if label in members:
            return group
    return None


def resolve_labels(names: Iterable[str]) -> frozenset[str]:
    """The COCO labels that ``names`` (labels and group names, any case) stand for.

    Raises :class:`UnknownLabelError` naming every unknown name, so that a typo in a filter is
    an error, never a filter that silently matches nothing.
    """
    known = set(COCO_LABELS)
    labels: set[str] = set()
    unknown: list[str] = []
    for raw in names:
        name = " ".join(raw.strip().lower().replace("_", " ").split())
        if not name:
            continue
        if name in GROUPS:
            labels |= GROUPS[name]
        elif name in known:
            labels.add(name)
        else:
            unknown.append(raw.strip())
    if unknown:
        raise UnknownLabelError(
            f"unknown label{'s' if len(unknown) > 1 else ''} {', '.join(sorted(unknown))} "
            f"(use a COCO label such as person, car, dog, or a group: {', '.join(GROUPS)})"
        )
    return frozenset(labels)
