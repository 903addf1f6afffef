"""OpenVINO: the Intel GPU or NPU of a typical mini-PC (``GPU``, ``NPU``), or its CPU (``CPU``, ``AUTO``).

OpenVINO reads the ONNX file itself and compiles it for the device. One compiled model for the
engine; each calling thread gets its own inference request (a request holds its input and
output buffers, so two threads must never share one), all served by the compiled model.

On the CPU the model runs in float32, as ONNX Runtime does: OpenVINO would otherwise pick
bfloat16 on CPUs that have it (AVX-512 BF16, AMX), faster but with scores that differ from
ONNX Runtime's by a few hundredths. On a GPU or NPU the device's default (float16) is kept:
that is what makes them fast.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import logging
import sys
import threading
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from vigil_engine.detection.model import ModelError, ModelInfo, ModelLayout

from . import BackendError


class _NoModelConverter(importlib.abc.MetaPathFinder):
    """Refuses to import OpenVINO's model converter, ``openvino.tools.ovc``.

    ``import openvino`` also imports it, and importing it sends a usage event to Intel's
    analytics (openvino-telemetry, on unless opted out) from a child process. Vigil converts
    no models and never phones home. openvino's own ``try: ... except ImportError`` around that
    import expects it may fail. (Must be in place before anything imports openvino;
    tests/detection checks that no event is sent.)
    """

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == "openvino.tools.ovc":
            raise ModuleNotFoundError("Vigil does not use OpenVINO's model converter", name=fullname)
        return None


if not any(isinstance(finder, _NoModelConverter) for finder in sys.meta_path):
    sys.meta_path.insert(0, _NoModelConverter())

# OpenVINO ships no py.typed (its .pyi stubs are not read without it): its objects are Any here.
ov = importlib.import_module("openvino")

_LOGGER = logging.getLogger(__name__)


class OpenVinoBackend:
    name = "openvino"

    def __init__(self, model: ModelInfo, *, device: str = "CPU", threads: int = 1) -> None:
        self._layout = model.layout
        self.device = device
        core = ov.Core()
        available: list[str] = list(core.available_devices)
        if device != "AUTO" and device.split(".", maxsplit=1)[0] not in {name.split(".")[0] for name in available}:
            raise BackendError(f"OpenVINO has no device {device} here (it has: {', '.join(available) or 'none'})")
        config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
        if device.startswith("CPU"):
            config |= {
                "INFERENCE_NUM_THREADS": threads,
                "INFERENCE_PRECISION_HINT": "f32",
                # Pinned threads would compete with the recorder's threads for the same cores.
                "ENABLE_CPU_PINNING": False,
            }
        try:
            network = core.read_model(str(model.path))
            self._compiled = core.compile_model(network, device, config)
        except RuntimeError as err:
            raise ModelError(f"model {model.path}: OpenVINO cannot load it on {device}: {_first_line(err)}") from None
        self._local = threading.local()
        _LOGGER.debug("OpenVINO %s: %s compiled for %s", ov.get_version(), model.path, device)

    def layout(self) -> ModelLayout:
        return self._layout

    def infer(self, images: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self._compiled.create_infer_request()
        try:
            request.infer({0: images.astype(np.float32)})
        except RuntimeError as err:
            raise BackendError(f"OpenVINO failed: {_first_line(err)}") from err
        # The output tensor is the request's buffer, reused by its next inference: copy it.
        return np.array(request.get_output_tensor(0).data, dtype=np.float32, copy=True)

    def close(self) -> None:
        """Nothing to release: the compiled model goes with its last reference."""


def _first_line(err: BaseException) -> str:
    lines = [line for line in str(err).splitlines() if line.strip() and not line.startswith("Exception from src/")]
    return lines[0].strip() if lines else type(err).__name__
