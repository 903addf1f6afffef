"""How to run the detector (which backend, which model, where), and opening a detector from that.

The engine's configuration (issue #15, part 2) and the ``detect`` command both describe a
detector with :class:`DetectorSettings`; :func:`open_detector` checks the model and loads the
backend, raising one-line errors (``ModelError`` for the model, ``BackendError`` for the rest).
The runtime modules are imported only for the backend chosen: ONNX Runtime and OpenVINO each
cost tens of MB of memory once imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .backends import Backend, BackendError
from .backends.remote import DEFAULT_MODEL_NAME, DEFAULT_TIMEOUT_S, Transport
from .detector import DEFAULT_THRESHOLD, Detector
from .model import resolve_model

BackendKind = Literal["onnx", "openvino", "remote"]
BACKENDS: tuple[BackendKind, ...] = ("onnx", "openvino", "remote")


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    backend: BackendKind = "onnx"
    model: Path | None = None  # None: the default model (YOLOX-Nano, checked against its sha256)
    threads: int = 1  # CPU threads per inference (ONNX Runtime, OpenVINO on the CPU)
    device: str = "CPU"  # OpenVINO's device: CPU, GPU, NPU, AUTO
    url: str | None = None  # the remote server, e.g. http://192.168.1.20:8000
    remote_model: str = DEFAULT_MODEL_NAME
    remote_version: str | None = None
    timeout: float = DEFAULT_TIMEOUT_S  # seconds, for each remote call
    transport: Transport = "auto"
    threshold: float = DEFAULT_THRESHOLD
    labels: frozenset[str] | None = None  # labels and groups to report (None: all)


def open_backend(settings: DetectorSettings) -> Backend:
    if settings.threads < 1:
        raise BackendError(f"threads {settings.threads}: must be at least 1")
    if settings.backend == "remote":
        if not settings.url:
            raise BackendError("the remote backend needs the server's URL (e.g. http://192.168.1.20:8000)")
        from .backends.remote import RemoteBackend  # noqa: PLC0415 - see the module docstring

        return RemoteBackend(
            settings.url,
            model=settings.remote_model,
            version=settings.remote_version,
            timeout=settings.timeout,
            transport=settings.transport,
        )
    model = resolve_model(settings.model)
    if settings.backend == "openvino":
        from .backends.openvino_runtime import OpenVinoBackend  # noqa: PLC0415 - see the module docstring

        return OpenVinoBackend(model, device=settings.device, threads=settings.threads)
    if settings.backend == "onnx":
        from .backends.onnx_runtime import OnnxRuntimeBackend  # noqa: PLC0415 - see the module docstring

        return OnnxRuntimeBackend(model, threads=settings.threads)
    raise BackendError(f"unknown backend {settings.backend!r} (have: {', '.join(BACKENDS)})")


def open_detector(settings: DetectorSettings) -> Detector:
    return Detector(open_backend(settings), threshold=settings.threshold, labels=settings.labels)
