"""How to run the detector (which backend, which model, where), and opening a detector from that.

The engine's configuration (its ``detector`` section) and the ``detect`` command both describe a
detector with :class:`DetectorSettings`; :func:`open_detector` checks the model and loads the
backend, raising one-line errors (``ModelError`` for the model, ``BackendError`` for the rest).
The runtime modules are imported only for the backend chosen: ONNX Runtime and OpenVINO each
cost tens of MB of memory once imported. This module itself imports neither numpy nor PyAV:
the configuration (and ``--check``) reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .model import ModelInfo, default_model_path, resolve_model

if TYPE_CHECKING:
    from .backends import Backend
    from .detector import Detector

BackendKind = Literal["onnx", "openvino", "remote"]
BACKENDS: tuple[BackendKind, ...] = ("onnx", "openvino", "remote")
Transport = Literal["auto", "binary", "json"]
DEFAULT_TIMEOUT_S = 2.0  # seconds per remote call
DEFAULT_MODEL_NAME = "yolox_nano"  # the model's name on a remote server
DEFAULT_THRESHOLD = 0.35  # the detector's own minimum score


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


def no_model_installed(settings: DetectorSettings) -> Path | None:
    """Where the default model was expected, when none is configured and it is not there (a
    checkout whose setup could not download it; the add-on image always has it), else None.
    That is not an error: object detection is simply off. A configured model that is missing,
    or a default one that is there but wrong, is one (:func:`check_model`)."""
    if settings.backend == "remote" or settings.model is not None:
        return None
    expected = default_model_path()
    return None if expected.exists() else expected


def check_model(settings: DetectorSettings) -> ModelInfo | None:
    """Check the model file without loading a runtime (a few milliseconds): the engine's start
    and ``--check``. None for the remote backend, whose model is the server's (checked when
    it is first asked). Raises ``ModelError`` with a one-line message naming the file."""
    if settings.backend == "remote":
        return None
    return resolve_model(settings.model)


def open_backend(settings: DetectorSettings) -> Backend:
    from .backends import BackendError  # noqa: PLC0415 - numpy only when a detector is opened

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
    from .detector import Detector  # noqa: PLC0415 - numpy and PyAV only when a detector is opened

    return Detector(open_backend(settings), threshold=settings.threshold, labels=settings.labels)
