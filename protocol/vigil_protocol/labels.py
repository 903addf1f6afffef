"""The detector's labels and the groups people ask for: shared by the engine and its clients.

``COCO_LABELS`` are the default model's class names in the order of its 80 class scores (what
events, tracked objects and filters name); ``GROUPS`` are what Home Assistant shows and users
ask for: a person, a vehicle, an animal. Plain data, so the engine's detector, its
configuration and the integration's entities, media folders and search read one list.
"""

from __future__ import annotations

from typing import Final

# The order of the model's class scores (YOLOX's COCO_CLASSES): index i is class score i.
COCO_LABELS: Final[tuple[str, ...]] = (
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

GROUPS: Final[dict[str, frozenset[str]]] = {
    "person": frozenset({"person"}),
    # What drives or is ridden up to a house. Trains, boats and aircraft are left out: a
    # doorway or driveway camera sees them only far away, where they are not an event.
    "vehicle": frozenset({"bicycle", "car", "motorcycle", "bus", "truck"}),
    # Every COCO animal, the exotic ones too: the model has no fox, deer or hedgehog and
    # names them after the nearest class it knows (dog, sheep, horse, bear...), so an
    # "elephant" at night is still an animal in the garden.
    "animal": frozenset({"bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe"}),
}
