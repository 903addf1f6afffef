"""The label groups Home Assistant shows: person, vehicle, animal (as the engine groups the model's labels).

The engine reports what it tracks and what events saw as the model's COCO labels (``person``,
``car``, ``dog``...); an ONVIF camera reports groups itself (``person``, ``vehicle``, ``animal``).
Entities, event types and notification filters are per group: a user asks "a vehicle", not "a
truck". The groups are the engine's, from the shared protocol models (``protocol/labels.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from .protocol.labels import GROUPS

PERSON: Final = "person"
VEHICLE: Final = "vehicle"
ANIMAL: Final = "animal"

# GROUPS (in the order entities, event types and lists show them) is the engine's, from the protocol.
__all__ = ["ANIMAL", "GROUPS", "PERSON", "VEHICLE", "group_of", "groups_of"]


def group_of(label: str) -> str | None:
    """The group of a label, or of a group name an ONVIF camera reported; None for other labels."""
    if label in GROUPS:
        return label
    for group, members in GROUPS.items():
        if label in members:
            return group
    return None


def groups_of(labels: Iterable[str]) -> tuple[str, ...]:
    """The groups these labels belong to, in :data:`GROUPS` order, each once."""
    found = {group for label in labels if (group := group_of(label)) is not None}
    return tuple(group for group in GROUPS if group in found)
