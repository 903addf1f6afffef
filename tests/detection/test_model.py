"""The model check (``validate_model``) and the runtimes' own refusals: one line naming the file, never a fallback.

Bad files are made for real: the real model cut short, a photograph, text, and small ONNX
models of the wrong layout built with the ``onnx`` package (valid ONNX that ONNX Runtime
loads, so the error is the layout check's, not a parse failure).
"""

from __future__ import annotations

import importlib
import re
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from tests.detection.conftest import IMAGES, ROOT, SHARED_MODEL, SHARED_MODEL_SHA256
from vigil_engine.detection import model as model_module
from vigil_engine.detection.backends.onnx_runtime import OnnxRuntimeBackend
from vigil_engine.detection.backends.openvino_runtime import OpenVinoBackend
from vigil_engine.detection.model import (
    DEFAULT_MODEL_FILE,
    DEFAULT_MODEL_SHA256,
    DEFAULT_MODEL_URL,
    ModelError,
    ModelInfo,
    resolve_model,
    validate_model,
)


def _error(path: Path, **kwargs: str) -> str:
    with pytest.raises(ModelError) as caught:
        validate_model(path, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def _save_model(path: Path, inputs: list[onnx.ValueInfoProto], outputs: list[onnx.ValueInfoProto]) -> Path:
    """A valid ONNX model with these inputs and outputs: each output is a constant of its shape
    (inputs unused), so ONNX Runtime loads and runs it."""
    nodes = []
    for output in outputs:
        dims = [dim.dim_value or 1 for dim in output.type.tensor_type.shape.dim]
        value = helper.make_tensor(f"{output.name}_value", TensorProto.FLOAT, dims, np.zeros(dims, np.float32).ravel())
        nodes.append(helper.make_node("Constant", [], [output.name], value=value))
    graph = helper.make_graph(nodes, "wrong_layout", inputs, outputs)
    built = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.checker.check_model(built)
    onnx.save(built, path)
    return path


def _images(shape: list[int | str], elem: int = TensorProto.FLOAT) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info("images", elem, shape)


def _output(shape: list[int]) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info("output", TensorProto.FLOAT, shape)


def test_the_shared_model_is_valid(shared_model: ModelInfo) -> None:
    assert shared_model.sha256 == SHARED_MODEL_SHA256
    layout = shared_model.layout
    assert (layout.input_name, layout.output_name) == ("images", "output")
    assert (layout.width, layout.height, layout.anchors, layout.classes) == (416, 416, 3549, 80)


def test_missing_model(tmp_path: Path) -> None:
    assert _error(tmp_path / "nope.onnx").endswith("nope.onnx: not found")


def test_a_directory_is_not_a_model(tmp_path: Path) -> None:
    assert "is a directory" in _error(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.onnx"
    empty.touch()
    assert "the file is empty" in _error(empty)


def test_a_photograph_is_not_onnx(tmp_path: Path) -> None:
    jpeg = tmp_path / "model.onnx"
    shutil.copy(IMAGES / "dog.jpg", jpeg)
    assert ": not an ONNX model (" in _error(jpeg)


def test_text_is_not_onnx(tmp_path: Path) -> None:
    page = tmp_path / "model.onnx"
    page.write_text("<html><body>404 Not Found</body></html>\n")  # a failed download saved as the model
    assert ": not an ONNX model (" in _error(page)


@pytest.mark.parametrize("keep", [0.5, 0.999, 20 / 3_659_407])
def test_truncated_model(tmp_path: Path, keep: float) -> None:
    cut = tmp_path / "cut.onnx"
    data = SHARED_MODEL.read_bytes()
    cut.write_bytes(data[: int(len(data) * keep)])
    message = _error(cut)
    assert ": truncated (" in message
    assert f"{cut.stat().st_size:,} bytes" in message


def test_the_default_model_must_be_the_release_asset(tmp_path: Path) -> None:
    """The shared copy is YOLOX-Nano too, but not the published file: refused as the default."""
    copy = tmp_path / "yolox_nano.onnx"
    shutil.copy(SHARED_MODEL, copy)
    message = _error(copy, expected_sha256=DEFAULT_MODEL_SHA256)
    assert f"sha256 is {SHARED_MODEL_SHA256}, not the {DEFAULT_MODEL_SHA256}" in message
    # The same file configured by path is fine: only the default is pinned to the release.
    assert validate_model(copy).sha256 == SHARED_MODEL_SHA256


def test_every_error_about_the_default_model_names_its_checksum(tmp_path: Path) -> None:
    cut = tmp_path / "yolox_nano.onnx"
    cut.write_bytes(SHARED_MODEL.read_bytes()[:1000])
    assert _error(cut, expected_sha256=DEFAULT_MODEL_SHA256).endswith(f"sha256 {DEFAULT_MODEL_SHA256})")
    assert _error(tmp_path / "missing.onnx", expected_sha256=DEFAULT_MODEL_SHA256).endswith(
        f"not found (expected the YOLOX-Nano release asset, sha256 {DEFAULT_MODEL_SHA256})"
    )


def test_the_default_model_is_looked_for_where_the_image_puts_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No configured path: the image's file, else the checkout's (.models/), never a download."""
    image_dir, checkout_dir = tmp_path / "image", tmp_path / "checkout"
    monkeypatch.setattr(model_module, "IMAGE_MODEL_DIR", image_dir)
    monkeypatch.setattr(model_module, "checkout_model_dir", lambda: checkout_dir)
    with pytest.raises(ModelError) as caught:
        resolve_model(None)
    assert str(caught.value) == (
        f"model {image_dir / 'yolox_nano.onnx'}: not found "
        f"(expected the YOLOX-Nano release asset, sha256 {DEFAULT_MODEL_SHA256})"
    )
    checkout_dir.mkdir()
    shutil.copy(SHARED_MODEL, checkout_dir / "yolox_nano.onnx")
    with pytest.raises(ModelError, match=f"checkout/yolox_nano.onnx: sha256 is {SHARED_MODEL_SHA256}"):
        resolve_model(None)
    # A configured model that is missing is an error, even with a default at hand.
    with pytest.raises(ModelError, match=r"elsewhere\.onnx: not found$"):
        resolve_model(tmp_path / "elsewhere.onnx")


def test_a_checkout_knows_its_models_folder() -> None:
    """Where scripts/setup downloads the model (installed in an image, there is no such folder)."""
    assert model_module.checkout_model_dir() == ROOT / ".models"


def test_wrong_output_shape(tmp_path: Path) -> None:
    """YOLOX with 79 classes: a real ONNX model ONNX Runtime loads, refused by its layout."""
    path = _save_model(tmp_path / "m.onnx", [_images([1, 3, 416, 416])], [_output([1, 3549, 84])])
    onnxruntime = importlib.import_module("onnxruntime")  # untyped: see backends/onnx_runtime.py
    onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])  # loads: valid ONNX
    assert _error(path).endswith(
        ": output output is [1, 3549, 84], expected [1, 3549, 85] for a 416x416 input (YOLOX, 80 COCO classes)"
    )


def test_output_of_another_input_size(tmp_path: Path) -> None:
    path = _save_model(tmp_path / "m.onnx", [_images([1, 3, 416, 416])], [_output([1, 8400, 85])])
    assert "expected [1, 3549, 85] for a 416x416 input" in _error(path)


def test_input_not_a_picture(tmp_path: Path) -> None:
    path = _save_model(tmp_path / "m.onnx", [_images([1, 416, 416, 3])], [_output([1, 3549, 85])])
    assert ": input images is [1, 416, 416, 3], expected [1, 3, height, width]" in _error(path)


def test_input_sizes_chosen_at_run_time(tmp_path: Path) -> None:
    path = _save_model(tmp_path / "m.onnx", [_images([1, 3, "height", "width"])], [_output([1, 3549, 85])])
    assert "sizes chosen at run time are not supported" in _error(path)


def test_integer_input(tmp_path: Path) -> None:
    path = _save_model(tmp_path / "m.onnx", [_images([1, 3, 416, 416], TensorProto.UINT8)], [_output([1, 3549, 85])])
    assert ": images is uint8, expected float32" in _error(path)


def test_two_outputs(tmp_path: Path) -> None:
    outputs = [_output([1, 3549, 85]), helper.make_tensor_value_info("extra", TensorProto.FLOAT, [1])]
    path = _save_model(tmp_path / "m.onnx", [_images([1, 3, 416, 416])], outputs)
    assert "has 1 inputs and 2 outputs, expected one of each" in _error(path)


def test_other_yolox_sizes_and_a_free_batch_are_accepted(tmp_path: Path) -> None:
    """YOLOX-S at 640 (8400 anchors), batch left symbolic as some exports do."""
    path = _save_model(tmp_path / "m.onnx", [_images(["batch", 3, 640, 640])], [_output([1, 8400, 85])])
    layout = validate_model(path).layout
    assert (layout.width, layout.height, layout.anchors) == (640, 640, 8400)


def test_a_model_the_runtimes_cannot_load_is_a_model_error(tmp_path: Path) -> None:
    """Right layout, but an operator no runtime has: the runtime's refusal, one line naming the file."""
    inputs, outputs = [_images([1, 3, 416, 416])], [_output([1, 3549, 85])]
    node = helper.make_node("NoSuchOperator", ["images"], ["output"], domain="vigil.test")
    graph = helper.make_graph([node], "unknown_op", inputs, outputs)
    built = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("vigil.test", 1)],
        ir_version=8,
    )
    path = tmp_path / "m.onnx"
    onnx.save(built, path)
    info = validate_model(path)  # the file itself is fine
    for open_backend, runtime in ((OnnxRuntimeBackend, "ONNX Runtime"), (OpenVinoBackend, "OpenVINO")):
        with pytest.raises(ModelError) as caught:
            open_backend(info)
        message = str(caught.value)
        assert message.startswith(f"model {path}: {runtime} cannot load it")
        assert "\n" not in message


def test_the_image_and_setup_fetch_the_model_the_engine_expects() -> None:
    """One release asset, one checksum, one place: the Dockerfile's ADD, scripts/setup and the engine."""
    dockerfile = (ROOT / "addon" / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    (add,) = re.findall(r"^ADD --checksum=sha256:(\w+) --chmod=644 +(\S+) +(\S+)$", dockerfile, re.MULTILINE)
    assert add == (DEFAULT_MODEL_SHA256, DEFAULT_MODEL_URL, str(model_module.IMAGE_MODEL_DIR / DEFAULT_MODEL_FILE))
    setup = (ROOT / "scripts" / "setup").read_text(encoding="utf-8")
    assert f'model_url="{DEFAULT_MODEL_URL}"' in setup
    assert f'model_sha256="{DEFAULT_MODEL_SHA256}"' in setup
    assert 'model_dir="$root/.models"' in setup
    # The image checks the model it just fetched with the engine's own check.
    assert "python3 -m vigil_engine detect --check" in dockerfile
