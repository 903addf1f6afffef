"""The runtimes a detector can run the model on, behind one small interface.

A backend runs the model on one letterboxed picture and returns its raw output; everything
before (letterboxing) and after (decoding, NMS) is the detector's, the same for every backend.
A backend is thread-safe: the engine's camera threads share one.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from vigil_engine.detection.model import ModelLayout


class BackendError(Exception):
    """Inference failed; the message is one line."""


class BackendUnavailable(BackendError):
    """The backend cannot answer now (a remote server is down or too slow); it recovers by itself."""


class Backend(Protocol):
    name: str  # e.g. "onnxruntime", for logs and the CLI's output

    def layout(self) -> ModelLayout:
        """The model's input and output (a remote backend asks its server, once)."""
        ...

    def infer(self, images: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """The raw output ``[1, N, 5 + C]`` for one letterboxed ``[1, 3, H, W]`` BGR picture."""
        ...

    def close(self) -> None: ...
