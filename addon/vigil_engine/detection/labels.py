"""The model's class names (COCO, in the order of its 80 class scores) and the groups Home Assistant uses.

A camera cares about few of COCO's classes; the groups say which, and a filter may name labels
or groups (``person``, ``vehicle``, ``animal``). ``person`` is both a label and a group.
"""

from __future__ import annotations

from collections.abc import Iterable

# The model's class names and the groups live with the protocol: the integration reads the same.
from vigil_engine.protocol.labels import COCO_LABELS, GROUPS

__all__ = ["COCO_LABELS", "GROUPS", "UnknownLabelError", "group_of", "resolve_labels"]


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
