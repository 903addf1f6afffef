"""What the detector finds in real photographs, on ONNX Runtime and on OpenVINO (CPU), whole or cropped.

ONNX Runtime and OpenVINO run the same float32 model on the same letterboxed input. Their raw
outputs differ by rounding only (about 2e-5 measured on these photographs), so the tolerance
stated and checked here is: the same detections in the same order, scores within 0.001 and
box corners within 0.5 pixel (measured: 4e-6 and 0.001 pixel).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.detection.conftest import IMAGES, ROOT, SHARED_MODEL, load_image
from vigil_engine.detection.detector import Detection, Detector, Region
from vigil_engine.detection.images import read_picture
from vigil_engine.detection.labels import COCO_LABELS, GROUPS, UnknownLabelError, group_of, resolve_labels

PHOTOS = ("person", "kite", "dog", "giraffe", "eagle", "horses", "scream")
SCORE_TOLERANCE = 0.001
BOX_TOLERANCE_PX = 0.5


def labels(found: Sequence[Detection]) -> list[str]:
    return [detection.label for detection in found]


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    overlap = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - overlap
    return overlap / union


def test_person(onnx_detector: Detector) -> None:
    found = onnx_detector.detect(load_image("person"))
    assert "person" in labels(found)
    (person,) = [detection for detection in found if detection.label == "person"]
    assert person.score > 0.8
    # The man stands in the left half of the picture (640x424), from near the top to near the bottom.
    x1, y1, x2, y2 = person.box
    assert 150 < x1 < x2 < 320
    assert y1 < 120
    assert y2 > 360


def test_kite_has_at_least_three_people(onnx_detector: Detector) -> None:
    found = onnx_detector.detect(load_image("kite"))
    assert labels(found).count("person") >= 3
    assert "kite" in labels(found)


def test_dog_bicycle_and_car(onnx_detector: Detector) -> None:
    found = set(labels(onnx_detector.detect(load_image("dog"))))
    assert {"dog", "bicycle"} <= found
    assert found & {"car", "truck"}


@pytest.mark.parametrize(("photo", "animal"), [("giraffe", "giraffe"), ("eagle", "bird"), ("horses", "horse")])
def test_no_person_among_animals(onnx_detector: Detector, photo: str, animal: str) -> None:
    found = onnx_detector.detect(load_image(photo))
    assert "person" not in labels(found)
    assert animal in labels(found)
    assert all(detection.group == "animal" for detection in found)


def test_a_painting_without_objects(onnx_detector: Detector) -> None:
    assert onnx_detector.detect(load_image("scream")) == []


def test_boxes_lie_in_the_picture_best_first(onnx_detector: Detector) -> None:
    for photo in PHOTOS:
        picture = load_image(photo)
        height, width = picture.shape[:2]
        found = onnx_detector.detect(picture)
        assert [d.score for d in found] == sorted((d.score for d in found), reverse=True)
        for detection in found:
            x1, y1, x2, y2 = detection.box
            assert 0 <= x1 < x2 <= width
            assert 0 <= y1 < y2 <= height
            assert detection.score >= onnx_detector.threshold


def test_openvino_agrees_with_onnx_runtime(onnx_detector: Detector, openvino_detector: Detector) -> None:
    compared = 0
    for photo in PHOTOS:
        picture = load_image(photo)
        ours = onnx_detector.detect(picture, threshold=0.1)
        theirs = openvino_detector.detect(picture, threshold=0.1)
        assert labels(ours) == labels(theirs), photo
        for a, b in zip(ours, theirs, strict=True):
            assert abs(a.score - b.score) <= SCORE_TOLERANCE, (photo, a, b)
            assert max(abs(p - q) for p, q in zip(a.box, b.box, strict=True)) <= BOX_TOLERANCE_PX, (photo, a, b)
            compared += 1
    assert compared >= 25


def inside(box: tuple[float, ...], left: float, top: float, right: float, bottom: float) -> bool:
    return left <= box[0] and top <= box[1] and box[2] <= right and box[3] <= bottom


def test_a_crop_reports_boxes_in_the_source_frame(onnx_detector: Detector) -> None:
    """The people at the bottom left of kite.jpg, cropped as the motion pipeline will crop a
    moving region: each person the whole picture shows inside the crop is found again there,
    at the same place in source pixels (the crop is seen larger, so it may show more people, and
    boxes drawn from more pixels: IoU above 0.6 with the whole picture's, 0.72 at the least here)."""
    picture = load_image("kite")
    left, top, right, bottom = 40, 480, 340, 900
    whole = [
        d for d in onnx_detector.detect(picture) if d.label == "person" and inside(d.box, left, top, right, bottom)
    ]
    assert len(whole) >= 2
    crop = picture[top:bottom, left:right]  # a view, not a copy: as a slice of a frame would be
    in_crop = [d for d in onnx_detector.detect(crop, Region(x=left, y=top)) if d.label == "person"]
    for detection in whole:
        assert max(iou(detection.box, other.box) for other in in_crop) > 0.6, detection


def test_a_crop_of_a_scaled_copy(onnx_detector: Detector) -> None:
    """The same region taken from a half-size copy of the frame: ``scale`` 2 maps it back."""
    picture = load_image("kite")
    left, top, right, bottom = 40, 480, 340, 900
    whole = [
        d for d in onnx_detector.detect(picture) if d.label == "person" and inside(d.box, left, top, right, bottom)
    ]
    half = np.ascontiguousarray(picture[::2, ::2])
    crop = half[top // 2 : bottom // 2, left // 2 : right // 2]
    in_crop = [d for d in onnx_detector.detect(crop, Region(x=left, y=top, scale=2)) if d.label == "person"]
    for detection in whole:
        assert max(iou(detection.box, other.box) for other in in_crop) > 0.6, detection


def test_a_decoded_frame_finds_what_its_bgr_copy_finds(onnx_detector: Detector) -> None:
    """The detector takes a decoded (YUV) frame as it is and converts it while scaling."""
    for photo in ("person", "dog", "kite"):
        frame = read_picture(IMAGES / f"{photo}.jpg")
        from_frame = onnx_detector.detect(frame)
        from_array = onnx_detector.detect(load_image(photo))  # the same file, as a BGR array
        strong = [d for d in from_array if d.score > 0.5]
        for detection in strong:
            twins = [d for d in from_frame if d.label == detection.label and iou(d.box, detection.box) > 0.9]
            assert twins, (photo, detection)
            assert abs(twins[0].score - detection.score) < 0.05


def test_label_filter(onnx_detector: Detector) -> None:
    vehicles = Detector(onnx_detector.backend, labels=frozenset({"vehicle"}))
    found = vehicles.detect(load_image("dog"))
    assert found
    assert {d.label for d in found} <= GROUPS["vehicle"]
    only_dogs = Detector(onnx_detector.backend, labels=frozenset({"Dog"}))
    assert labels(only_dogs.detect(load_image("dog"))) == ["dog"]
    with pytest.raises(UnknownLabelError, match="unknown labels unicorn, vehicles"):
        Detector(onnx_detector.backend, labels=frozenset({"unicorn", "vehicles"}))


def test_labels_and_groups() -> None:
    assert len(COCO_LABELS) == 80
    assert COCO_LABELS[0] == "person"
    assert COCO_LABELS[16] == "dog"
    assert set().union(*GROUPS.values()) <= set(COCO_LABELS)
    assert group_of("truck") == "vehicle"
    assert group_of("cat") == "animal"
    assert group_of("person") == "person"
    assert group_of("kite") is None
    assert resolve_labels(["person", "animal", "traffic_light", " "]) == {"person", "traffic light"} | GROUPS["animal"]


def test_a_higher_threshold_keeps_the_strongest(onnx_detector: Detector) -> None:
    picture = load_image("kite")
    low = onnx_detector.detect(picture, threshold=0.3)
    high = onnx_detector.detect(picture, threshold=0.7)
    assert high
    assert len(high) < len(low)
    assert all(d.score >= 0.7 for d in high)


def test_tiny_and_odd_pictures(onnx_detector: Detector) -> None:
    picture = load_image("person")
    assert isinstance(onnx_detector.detect(picture[200:203, 300:301]), list)  # 1x3 pixels: upscaled
    assert isinstance(onnx_detector.detect(np.zeros((2000, 16, 3), np.uint8)), list)
    floats: Any = picture.astype(np.float32)  # the wrong type, on purpose
    with pytest.raises(ValueError, match="expected an HxWx3 BGR uint8 picture"):
        onnx_detector.detect(floats)
    with pytest.raises(ValueError, match="expected an HxWx3 BGR uint8 picture"):
        onnx_detector.detect(picture[:, :, 0])
    with pytest.raises(ValueError, match="empty picture"):
        onnx_detector.detect(picture[:0])
    with pytest.raises(ValueError, match="threshold 0"):
        Detector(onnx_detector.backend, threshold=0)


def test_callers_on_many_threads_share_one_detector(onnx_detector: Detector) -> None:
    pictures = {photo: load_image(photo) for photo in PHOTOS}
    expected = {photo: onnx_detector.detect(picture) for photo, picture in pictures.items()}
    results: list[tuple[str, list[Detection]]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            for _ in range(3):
                for photo, picture in pictures.items():
                    found = onnx_detector.detect(picture)
                    with lock:
                        results.append((photo, found))
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 4 * 3 * len(PHOTOS)
    for photo, found in results:
        assert found == expected[photo]


def test_detection_as_json() -> None:
    detection = Detection("person", 0.876543, (1.04, 2.25, 30.0, 40.96))
    assert detection.as_json() == {"label": "person", "score": 0.8765, "box": [1.0, 2.2, 30.0, 41.0]}
    assert detection.group == "person"


def test_openvino_sends_no_usage_events(tmp_path: Path) -> None:
    """``import openvino`` alone would import its model converter, which records a usage event
    under ~/intel and sends it from a child process (openvino-telemetry). The backend blocks
    that import: after a whole inference there is no ~/intel, no telemetry module, no child."""
    script = (
        "import multiprocessing, sys\n"
        "from pathlib import Path\n"
        "import numpy as np\n"
        "from vigil_engine.detection.backends.openvino_runtime import OpenVinoBackend\n"
        "from vigil_engine.detection.model import validate_model\n"
        f"backend = OpenVinoBackend(validate_model(Path({str(SHARED_MODEL)!r})))\n"
        "backend.infer(np.zeros((1, 3, 416, 416), np.uint8))\n"
        "print(sorted(name for name in sys.modules if 'telemetry' in name or name.startswith('openvino.tools.ovc')))\n"
        "print(len(multiprocessing.active_children()))\n"
    )
    env = {**os.environ, "HOME": str(tmp_path)}
    env.pop("CI", None)  # openvino-telemetry stays quiet in CI: the check must not depend on that
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "0"]
    assert list(tmp_path.iterdir()) == []
