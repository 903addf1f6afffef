"""The detection model: where it is, whether it is the file it should be, and its tensor layout.

The engine checks the model at start and in ``--check`` with :func:`validate_model` (or
:func:`resolve_model` for "the configured path, else the default"). Every problem is a
:class:`ModelError` whose message is one line naming the file: missing, unreadable, not ONNX,
truncated, not the layout of a YOLOX detector, and for the default model a checksum that is
not the official release's. Nothing is ever downloaded at run time and there is no fallback: a
configured model that is wrong is an error, never replaced by the default.

The layout is YOLOX's (``/work/shared/models/README.md`` in the project's notes): one float32
input ``[1, 3, H, W]`` (H and W multiples of 32) and one float32 output ``[1, N, 5 + C]``, a row
per anchor point of strides 8, 16 and 32 (N = the sum of (H/s) x (W/s)), with C = 80 COCO classes.
Any YOLOX size fits (Nano at 416, S/M/L at 640); other detectors do not.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from .labels import COCO_LABELS
from .onnx_file import Dim, NotOnnxError, TensorInfo, TruncatedError, read_graph

DEFAULT_MODEL_FILE = "yolox_nano.onnx"
# The official release asset of YOLOX 0.1.1rc0 and its published sha256. The add-on image
# downloads it at build time (addon/Dockerfile), scripts/setup into .models/ of a checkout.
DEFAULT_MODEL_URL = "https://github.com/Megvii-BaseDetection/YOLOX/releases/download/0.1.1rc0/yolox_nano.onnx"
DEFAULT_MODEL_SHA256 = "c789161ed43c8269fcd4e67c67eeeb4e80c622da2eb296a20bc6007bd18a0b7d"
# Where the add-on image puts it.
IMAGE_MODEL_DIR = Path("/usr/share/vigil/models")
STRIDES = (8, 16, 32)
BOX_FIELDS = 5  # x, y, w, h, objectness


class ModelError(Exception):
    """The model cannot be used; the message is one line naming the file (or server) and why."""


@dataclass(frozen=True, slots=True)
class ModelLayout:
    """The names and sizes of a YOLOX model's input and output."""

    input_name: str
    output_name: str
    width: int  # of the input picture, in pixels
    height: int
    anchors: int  # rows of the output
    classes: int


@dataclass(frozen=True, slots=True)
class ModelInfo:
    path: Path
    sha256: str
    layout: ModelLayout


def checkout_model_dir() -> Path | None:
    """``.models/`` of the source checkout this engine runs from (where scripts/setup downloads
    the model), or None when the engine is installed (as in the add-on image)."""
    root = Path(__file__).resolve().parents[3]
    if (root / "addon" / "vigil_engine" / "detection").is_dir() and (root / "scripts" / "setup").is_file():
        return root / ".models"
    return None


def default_model_path() -> Path:
    """The default model's file: the image's when it exists, else a checkout's, else the
    image's path again (so that the error names where the model is expected)."""
    candidates = [IMAGE_MODEL_DIR / DEFAULT_MODEL_FILE]
    checkout = checkout_model_dir()
    if checkout is not None:
        candidates.append(checkout / DEFAULT_MODEL_FILE)
    for candidate in candidates:
        if candidate.exists():
            return candidate
    return candidates[0]


def resolve_model(path: Path | None) -> ModelInfo:
    """The configured model (``path``), or the default one checked against its sha256."""
    if path is not None:
        return validate_model(path)
    return validate_model(default_model_path(), expected_sha256=DEFAULT_MODEL_SHA256)


def validate_model(path: Path, *, expected_sha256: str | None = None) -> ModelInfo:
    """Check the model file at ``path`` without loading a runtime (a few ms for YOLOX-Nano).

    ``expected_sha256``: the file must have exactly this checksum (the default model).
    Raises :class:`ModelError` with a one-line message naming the file.
    """
    # For the default model every message also says which file is expected.
    expected = f" (expected the YOLOX-Nano release asset, sha256 {expected_sha256})" if expected_sha256 else ""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"model {path}: not found{expected}") from None
    except IsADirectoryError:
        raise ModelError(f"model {path}: is a directory, not a model file") from None
    except OSError as err:
        raise ModelError(f"model {path}: cannot be read: {(err.strerror or str(err)).lower()}") from None
    if not data:
        raise ModelError(f"model {path}: the file is empty{expected}")
    try:
        graph = read_graph(data)
    except TruncatedError as err:
        raise ModelError(f"model {path}: truncated ({len(data):,} bytes; {err}){expected}") from None
    except NotOnnxError as err:
        raise ModelError(f"model {path}: not an ONNX model ({err}){expected}") from None
    try:
        layout = layout_of(graph.inputs, graph.outputs)
    except ValueError as err:
        raise ModelError(f"model {path}: {err}{expected}") from None
    sha256 = hashlib.sha256(data).hexdigest()
    if expected_sha256 is not None and sha256 != expected_sha256:
        raise ModelError(f"model {path}: sha256 is {sha256}, not the {expected_sha256} of the YOLOX-Nano release asset")
    return ModelInfo(path, sha256, layout)


def layout_of(inputs: tuple[TensorInfo, ...], outputs: tuple[TensorInfo, ...]) -> ModelLayout:
    """The layout of a model with these inputs and outputs; ValueError (a lower-case phrase)
    when it is not a YOLOX COCO detector. A batch dimension may be symbolic (or -1): one
    picture is sent at a time."""
    if len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(f"has {len(inputs)} inputs and {len(outputs)} outputs, expected one of each (YOLOX)")
    (source,), (result,) = inputs, outputs
    for tensor in (source, result):
        if tensor.element_type != "float32":
            raise ValueError(f"{tensor.name} is {tensor.element_type}, expected float32")
    shape = _fixed(source, _shape(source), "input", "[1, 3, height, width]")
    if len(shape) != 4 or shape[1] != 3 or any(size <= 0 or size % STRIDES[-1] for size in shape[2:]):
        raise ValueError(
            f"input {source.name} is {_show(source.shape)}, expected [1, 3, height, width] with height "
            f"and width multiples of {STRIDES[-1]} (YOLOX)"
        )
    height, width = shape[2], shape[3]
    anchors = sum((height // stride) * (width // stride) for stride in STRIDES)
    classes = len(COCO_LABELS)
    wanted = f"[1, {anchors}, {BOX_FIELDS + classes}]"
    out = _fixed(result, _shape(result), "output", wanted)
    if out[1:] != (anchors, BOX_FIELDS + classes):
        raise ValueError(
            f"output {result.name} is {_show(result.shape)}, expected {wanted} for a {width}x{height} "
            f"input (YOLOX, {classes} COCO classes)"
        )
    return ModelLayout(source.name, result.name, width, height, anchors, classes)


def _shape(tensor: TensorInfo) -> tuple[Dim, ...]:
    if tensor.shape is None:
        raise ValueError(f"{tensor.name} has no shape")
    return tensor.shape


def _fixed(tensor: TensorInfo, shape: tuple[Dim, ...], role: str, wanted: str) -> tuple[int, ...]:
    """The shape with a free batch dimension read as 1; ValueError for other free dimensions."""
    if not shape or len(shape) < 2:
        raise ValueError(f"{role} {tensor.name} is {_show(shape)}, expected {wanted}")
    batch, rest = shape[0], shape[1:]
    if not all(isinstance(size, int) and size > 0 for size in rest):
        raise ValueError(f"{role} {tensor.name} is {_show(shape)}: sizes chosen at run time are not supported")
    if batch not in (1, -1, None) and not isinstance(batch, str):
        raise ValueError(f"{role} {tensor.name} is {_show(shape)}, expected {wanted}")
    return (1, *(size for size in rest if isinstance(size, int)))


def _show(shape: tuple[Dim, ...] | None) -> str:
    if shape is None:
        return "without shape"
    return "[" + ", ".join("?" if size is None else str(size) for size in shape) + "]"
