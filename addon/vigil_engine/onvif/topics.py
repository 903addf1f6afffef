"""From ONVIF event topics to Vigil's detections (motion, person, vehicle, ...).

Cameras name the same thing differently; these are the topics common cameras send
(Hikvision, Dahua, Reolink, Amcrest, Axis, TP-Link and the ONVIF profiles), each with the
data item that carries its state. Anything else whose topic says motion, people or vehicles
and that carries a true/false state is mapped by the words in the topic.

What the camera's own AI detects is an object like those of Vigil's detector: its detections
map to the same labels (:func:`object_labels`: ``person``, ``vehicle``, ``animal``, the groups
of the detector's labels), so both feed one event model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

Detection = Literal["motion", "person", "vehicle", "animal", "face", "intrusion", "tamper"]
# Detections that can start events (tampering is reported, but is not footage worth keeping).
EVENT_DETECTIONS: frozenset[str] = frozenset({"motion", "person", "vehicle", "animal", "face", "intrusion"})

# The camera's detections that are objects, as the labels (groups) of Vigil's detector. A face
# is a person's; motion, intrusion and tampering say nothing about what it was.
OBJECT_LABELS: dict[str, str] = {"person": "person", "face": "person", "vehicle": "vehicle", "animal": "animal"}

# topic (without namespace prefixes) -> (detection, the data item with the state)
KNOWN_TOPICS: dict[str, tuple[Detection, str]] = {
    "VideoSource/MotionAlarm": ("motion", "State"),
    "RuleEngine/CellMotionDetector/Motion": ("motion", "IsMotion"),
    "RuleEngine/MotionRegionDetector/Motion": ("motion", "State"),
    "RuleEngine/MyRuleDetector/PeopleDetect": ("person", "IsPeople"),
    "RuleEngine/PeopleDetector/People": ("person", "IsPeople"),
    "RuleEngine/MyRuleDetector/VehicleDetect": ("vehicle", "IsVehicle"),
    "RuleEngine/MyRuleDetector/DogCatDetect": ("animal", "IsDogCat"),
    "RuleEngine/MyRuleDetector/FaceDetect": ("face", "IsFace"),
    "RuleEngine/FieldDetector/ObjectsInside": ("intrusion", "IsInside"),
    "VideoSource/GlobalSceneChange/ImagingService": ("tamper", "State"),
    "VideoSource/GlobalSceneChange/AnalyticsService": ("tamper", "State"),
}
_WORDS: tuple[tuple[tuple[str, ...], Detection], ...] = (
    (("people", "person", "human"), "person"),
    (("vehicle", "car"), "vehicle"),
    (("dogcat", "animal", "pet"), "animal"),
    (("face",), "face"),
    (("tamper", "scenechange"), "tamper"),
    (("motion",), "motion"),
)
_TRUE = {"true", "1", "on", "active"}
_FALSE = {"false", "0", "off", "inactive"}


@dataclass(frozen=True, slots=True)
class CameraDetection:
    detection: Detection
    topic: str  # as the camera sent it, without namespace prefixes
    source: str  # which video source or rule (distinct states of one topic)
    active: bool


def object_labels(detections: Iterable[str]) -> frozenset[str]:
    """The object labels of what the camera reports (``{"motion", "face"}`` -> ``{"person"}``)."""
    return frozenset(OBJECT_LABELS[detection] for detection in detections if detection in OBJECT_LABELS)


def strip_prefixes(topic: str) -> str:
    """``tns1:RuleEngine/tnsaxis:VMD/Motion`` -> ``RuleEngine/VMD/Motion``."""
    return "/".join(part.split(":", 1)[-1] for part in topic.strip().split("/"))


def _items(container: Any) -> list[tuple[str, str]]:
    items = getattr(container, "SimpleItem", None) or []
    found = []
    for item in items:
        name, value = getattr(item, "Name", None), getattr(item, "Value", None)
        if name is not None and value is not None:
            found.append((str(name), str(value)))
    return found


def _state(value: str) -> bool | None:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def parse_notification(topic: str, message: Any) -> CameraDetection | None:
    """The detection a notification reports, or None for a topic Vigil does not map."""
    clean = strip_prefixes(topic)
    data = _items(getattr(message, "Data", None))
    source = ",".join(f"{name}={value}" for name, value in _items(getattr(message, "Source", None)))
    known = KNOWN_TOPICS.get(clean)
    if known is not None:
        detection, item = known
        values = [value for name, value in data if name == item] or [value for _name, value in data]
    else:
        lowered = clean.lower().replace("_", "")
        matched = [det for words, det in _WORDS if any(word in lowered for word in words)]
        if not matched:
            return None
        detection = matched[0]
        values = [value for _name, value in data]
    for value in values:
        state = _state(value)
        if state is not None:
            return CameraDetection(detection, clean, source, state)
    return None
