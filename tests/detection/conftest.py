"""Detection test fixtures: the real model, real photographs, real runtimes and a real v2 server.

The model and photographs are the shared test data beside the checkout (``shared/models/``;
the product never reads them): YOLOX-Nano as exported from the project's 0.1.1rc0 release
(its own sha256, see ``SHARED_MODEL_SHA256``) and Darknet's sample photographs.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import numpy as np
import numpy.typing as npt
import pytest
import pytest_socket

from tests.support.outside_hass import verify_cleanup  # noqa: F401 - replaces Home Assistant's check
from vigil_engine.detection.backends.onnx_runtime import OnnxRuntimeBackend
from vigil_engine.detection.backends.openvino_runtime import OpenVinoBackend
from vigil_engine.detection.detector import Detector
from vigil_engine.detection.images import read_picture
from vigil_engine.detection.model import ModelInfo, validate_model

ROOT = Path(__file__).resolve().parents[2]
SHARED_MODELS = ROOT.parent / "shared" / "models"
SHARED_MODEL = SHARED_MODELS / "yolox_nano.onnx"
# The shared copy's bytes differ from the release asset's (export metadata), not its graph.
SHARED_MODEL_SHA256 = "4903c9058f6e2553834e9905be1ae5d67e262cb6321964dbc57a49edc6fa10da"
IMAGES = SHARED_MODELS / "images"
SERVER_PYTHON = ROOT / ".inference-server" / "venv" / "bin" / "python"
SERVER_SCRIPT = ROOT / "scripts" / "inference-server.d" / "serve_onnx.py"

Picture = npt.NDArray[np.uint8]


@pytest.fixture(autouse=True)
def _loopback_sockets() -> None:
    enable_loopback_sockets()


def enable_loopback_sockets() -> None:
    """The Home Assistant test plugin blocks sockets before every test; the remote backend's
    tests talk to a server on loopback. Module-scoped fixtures, set up before any function
    fixture, call this themselves."""
    pytest_socket.enable_socket()
    pytest_socket.socket_allow_hosts(["127.0.0.1"])


@pytest.fixture(scope="session")
def shared_model() -> ModelInfo:
    data = SHARED_MODEL.read_bytes()
    assert hashlib.sha256(data).hexdigest() == SHARED_MODEL_SHA256, f"{SHARED_MODEL} is not the expected copy"
    return validate_model(SHARED_MODEL, expected_sha256=SHARED_MODEL_SHA256)


def load_image(name: str) -> Picture:
    """A photograph as an HxWx3 BGR array (decoded by FFmpeg, as the ``detect`` command does)."""
    array = read_picture(IMAGES / f"{name}.jpg").to_ndarray(format="bgr24")
    assert array.dtype == np.uint8
    return cast("Picture", array)


@pytest.fixture(scope="session")
def onnx_detector(shared_model: ModelInfo) -> Detector:
    return Detector(OnnxRuntimeBackend(shared_model))


@pytest.fixture(scope="session")
def openvino_detector(shared_model: ModelInfo) -> Detector:
    return Detector(OpenVinoBackend(shared_model, device="CPU"))


def free_port() -> int:
    enable_loopback_sockets()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class V2Server:
    """KServe's model server (scripts/inference-server.d/serve_onnx.py) serving the shared
    model on loopback, in the inference server's own virtual environment."""

    def __init__(self, port: int, model: Path = SHARED_MODEL) -> None:
        assert SERVER_PYTHON.exists(), f"{SERVER_PYTHON} is missing: scripts/setup installs the inference server"
        self.port = port
        self.model = model
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.process is None
        enable_loopback_sockets()
        self.process = subprocess.Popen(
            [str(SERVER_PYTHON), str(SERVER_SCRIPT), "--model", str(self.model), "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the inference server exited with {self.process.returncode}"
            try:
                with urllib.request.urlopen(f"{self.url}/v2/health/ready", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the inference server did not become ready within 60 s")

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it; waits until it has exited."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGCONT)  # a frozen server could not act on SIGTERM
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def freeze(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGCONT)


@pytest.fixture(scope="module")
def v2_server() -> Iterator[V2Server]:
    """One server for a test module (the outage tests stop and start their own)."""
    server = V2Server(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_v2_server() -> Iterator[V2Server]:
    server = V2Server(free_port())
    server.start()
    yield server
    server.stop()
