"""``python -m vigil_engine detect IMAGE… [options]``: try the detector on stills.

For a user choosing a threshold, a label filter or a backend: run the model on a few stills
from a camera and see what it finds. Each image's result is one line of JSON on stdout::

    {"image": "porch.jpg", "width": 1920, "height": 1080, "backend": "onnxruntime",
     "ms": 21.4, "detections": [{"label": "person", "score": 0.8812, "box": [x1, y1, x2, y2]}]}

``box`` is in the image's pixels. ``--check`` only checks the model (or asks the remote server
for its model) and says what it is. A model or backend that cannot be used is one line on
stderr and exit code 2, as the engine's own ``--check``; an image that cannot be read or
analysed is one line on stderr, the other images are still done, and the exit code is 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import cast

from vigil_engine.logs import setup_logging

from .backends import BackendError
from .backends.remote import DEFAULT_MODEL_NAME, DEFAULT_TIMEOUT_S, Transport
from .detector import DEFAULT_THRESHOLD, Detector
from .images import ImageError, read_picture
from .labels import UnknownLabelError, resolve_labels
from .model import ModelError
from .settings import BACKENDS, BackendKind, DetectorSettings, open_detector

_LOGGER = logging.getLogger("vigil_engine.detect")
EXIT_IMAGE_FAILED = 1
EXIT_UNUSABLE = 2


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="vigil_engine detect",
        description="Run the object detector on still images; prints one JSON line per image.",
    )
    parser.add_argument(
        "images", nargs="*", type=Path, metavar="IMAGE", help="JPEG, PNG, ... (any picture FFmpeg reads)"
    )
    parser.add_argument(
        "--model",
        type=Path,
        help="ONNX model file (default: YOLOX-Nano where the add-on image or scripts/setup put it)",
    )
    parser.add_argument(
        "--backend", choices=BACKENDS, default="onnx", help="onnx (ONNX Runtime, default), openvino or remote"
    )
    parser.add_argument("--device", default="CPU", help="OpenVINO device: CPU (default), GPU, NPU, AUTO")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per inference (default 1)")
    parser.add_argument("--url", help="remote KServe v2 server, e.g. http://192.168.1.20:8000")
    parser.add_argument(
        "--remote-model", default=DEFAULT_MODEL_NAME, help=f"model name on the server (default {DEFAULT_MODEL_NAME})"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds per remote call (default {DEFAULT_TIMEOUT_S:g})",
    )
    parser.add_argument(
        "--transport",
        choices=("auto", "binary", "json"),
        default="auto",
        help="remote tensors (default auto: binary if the server has it)",
    )
    parser.add_argument(
        "--threshold", type=float, default=DEFAULT_THRESHOLD, help=f"minimum score, 0-1 (default {DEFAULT_THRESHOLD})"
    )
    parser.add_argument(
        "--labels", help="comma-separated labels or groups to report, e.g. person,vehicle,dog (default: all)"
    )
    parser.add_argument("--check", action="store_true", help="check the model (or the remote server's model) and exit")
    args = parser.parse_args(argv)
    if not args.images and not args.check:
        parser.error("give at least one IMAGE (or --check)")
    return args


def main(argv: list[str]) -> int:
    args = _parse_args(argv)
    setup_logging("info")
    labels = None
    try:
        if args.labels is not None:
            labels = resolve_labels(args.labels.split(","))
        settings = DetectorSettings(
            backend=cast("BackendKind", args.backend),
            model=args.model,
            threads=args.threads,
            device=args.device,
            url=args.url,
            remote_model=args.remote_model,
            timeout=args.timeout,
            transport=cast("Transport", args.transport),
            threshold=args.threshold,
            labels=labels,
        )
        detector = open_detector(settings)
        layout = detector.backend.layout()  # a remote server is asked here, once
    except (ModelError, BackendError, UnknownLabelError, ValueError) as err:
        _LOGGER.error("Cannot detect: %s", err)
        return EXIT_UNUSABLE
    try:
        if args.check:
            where = args.url if args.backend == "remote" else (args.model or "the default model")
            _LOGGER.info(
                "Model is usable: %s on %s, input %dx%d, %d classes",
                where,
                detector.backend.name,
                layout.width,
                layout.height,
                layout.classes,
            )
            return 0
        failed = False
        for path in args.images:
            failed |= not _detect_one(detector, path)
        return EXIT_IMAGE_FAILED if failed else 0
    finally:
        detector.close()


def _detect_one(detector: Detector, path: Path) -> bool:
    try:
        picture = read_picture(path)
        started = time.perf_counter()
        detections = detector.detect(picture)
        elapsed_ms = (time.perf_counter() - started) * 1000
    except (ImageError, BackendError) as err:
        _LOGGER.error("%s", err if isinstance(err, ImageError) else f"{path}: {err}")
        return False
    result = {
        "image": str(path),
        "width": picture.width,
        "height": picture.height,
        "backend": detector.backend.name,
        "ms": round(elapsed_ms, 1),
        "detections": [detection.as_json() for detection in detections],
    }
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return True
