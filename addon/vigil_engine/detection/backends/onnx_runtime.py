"""ONNX Runtime on the CPU: the default backend.

One session for the whole engine: ``InferenceSession.run`` is thread-safe, and with one
intra-op thread (the default) each call runs on its caller's thread, so cameras detecting at
once use separate cores without a thread pool of ONNX Runtime's own waiting in between.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vigil_engine.detection.model import ModelError, ModelInfo, ModelLayout

from . import BackendError

# ONNX Runtime ships no type information (no py.typed): its objects are Any here, and every
# value taken from them is converted to a typed one at once.
ort = importlib.import_module("onnxruntime")

_LOGGER = logging.getLogger(__name__)
_ORT_ERROR_LEVEL = 3  # ONNX Runtime's own log: errors only (its warnings are about graph fusions)


class OnnxRuntimeBackend:
    name = "onnxruntime"

    def __init__(self, model: ModelInfo, *, threads: int = 1) -> None:
        self._layout = model.layout
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = _ORT_ERROR_LEVEL
        # With more than one thread, ONNX Runtime's workers spin between operators, burning
        # CPU that a recorder needs more than a millisecond of latency.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # No memory arena: it keeps its peak allocation for good (about 7 MB more resident
        # memory for YOLOX-Nano) to save allocations that cost nothing measurable here.
        options.enable_cpu_mem_arena = False
        self._session = _open_session(model.path, options)
        inputs = [value.name for value in self._session.get_inputs()]
        outputs = [value.name for value in self._session.get_outputs()]
        if inputs != [self._layout.input_name] or outputs != [self._layout.output_name]:
            raise ModelError(f"model {model.path}: ONNX Runtime sees inputs {inputs} and outputs {outputs}")
        _LOGGER.debug("ONNX Runtime %s: %s loaded, %d intra-op threads", ort.__version__, model.path, threads)

    def layout(self) -> ModelLayout:
        return self._layout

    def infer(self, images: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        try:
            (output,) = self._session.run(
                [self._layout.output_name], {self._layout.input_name: images.astype(np.float32)}
            )
        except Exception as err:
            raise BackendError(f"ONNX Runtime failed: {_first_line(err)}") from err
        return np.asarray(output, dtype=np.float32)

    def close(self) -> None:
        """Nothing to release: the session goes with its last reference."""


def _open_session(path: Path, options: Any) -> Any:
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as err:  # noqa: BLE001 - ONNX Runtime's errors derive from Exception only
        raise ModelError(f"model {path}: ONNX Runtime cannot load it: {_first_line(err)}") from None


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
