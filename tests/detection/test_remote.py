"""The remote backend against a real KServe v2 server on loopback: same detections as local, and
outages (server stopped, frozen, restarted) that cost callers at most the timeout, are logged
once, and end by themselves."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from tests.detection.conftest import V2Server, free_port, load_image
from vigil_engine.detection.backends import BackendError, BackendUnavailable
from vigil_engine.detection.backends.remote import BACKOFF_MAX_S, RemoteBackend, Transport
from vigil_engine.detection.detector import Detector
from vigil_engine.detection.model import ModelError
from vigil_engine.detection.preprocess import Letterboxer

REMOTE_LOGGER = "vigil_engine.detection.backends.remote"
PHOTOS = ("person", "kite", "dog", "horses")


@pytest.mark.parametrize("transport", ["binary", "json"])
def test_same_detections_as_local(v2_server: V2Server, onnx_detector: Detector, transport: Transport) -> None:
    remote = Detector(RemoteBackend(v2_server.url, transport=transport))
    for photo in PHOTOS:
        picture = load_image(photo)
        local = onnx_detector.detect(picture, threshold=0.1)
        found = remote.detect(picture, threshold=0.1)
        assert [d.label for d in found] == [d.label for d in local]
        for a, b in zip(found, local, strict=True):
            # The server runs the same ONNX Runtime on the same float32 tensor.
            assert a.score == pytest.approx(b.score, abs=1e-5)
            assert a.box == pytest.approx(b.box, abs=0.01)
    remote.close()


def test_raw_outputs_are_the_local_ones(v2_server: V2Server, onnx_detector: Detector) -> None:
    tensor = Letterboxer(416, 416)(load_image("dog")).tensor
    local = onnx_detector.backend.infer(tensor)
    transports: tuple[Transport, ...] = ("binary", "json")
    for transport in transports:
        remote = RemoteBackend(v2_server.url, transport=transport)
        output = remote.infer(tensor)
        assert output.shape == (1, 3549, 85)
        assert output.dtype == np.float32
        np.testing.assert_allclose(output, local, atol=1e-4)
        assert remote.binary == (transport == "binary")
        remote.close()


def test_the_server_describes_its_model(v2_server: V2Server) -> None:
    layout = RemoteBackend(v2_server.url).layout()
    assert (layout.input_name, layout.output_name, layout.width, layout.height) == ("images", "output", 416, 416)


def test_an_unknown_model_or_a_bad_url(v2_server: V2Server) -> None:
    with pytest.raises(BackendUnavailable, match=r"the server has no model 'yolox_s' \(HTTP 404\)"):
        RemoteBackend(v2_server.url, model="yolox_s").layout()
    with pytest.raises(BackendError, match="expected http://HOST:PORT"):
        RemoteBackend("grpc://127.0.0.1:8001")
    with pytest.raises(BackendError, match="must be more than 0 s"):
        RemoteBackend(v2_server.url, timeout=0)


def test_a_server_serving_another_model_is_a_model_error(tmp_path: Path) -> None:
    """The server answers, but its model is not a YOLOX detector: an error of the model, which
    no retry fixes (not an outage)."""
    wrong = tmp_path / "yolox_79_classes.onnx"
    inputs = [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 416, 416])]
    outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3549, 84])]
    value = helper.make_tensor("value", TensorProto.FLOAT, [1, 3549, 84], np.zeros(3549 * 84, np.float32))
    graph = helper.make_graph([helper.make_node("Constant", [], ["output"], value=value)], "wrong", inputs, outputs)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), wrong)
    server = V2Server(free_port(), model=wrong)
    server.start()
    try:
        with pytest.raises(ModelError) as caught:
            RemoteBackend(server.url).layout()
        assert str(caught.value) == (
            f"remote model 'yolox_nano' at {server.url}: output output is [1, 3549, 84], "
            "expected [1, 3549, 85] for a 416x416 input (YOLOX, 80 COCO classes)"
        )
    finally:
        server.stop()


def test_server_stopped_then_restarted(own_v2_server: V2Server, caplog: pytest.LogCaptureFixture) -> None:
    """Stopped: each call fails at once (connection refused, then no network at all while it
    backs off), one WARNING in all. Restarted: detections again by themselves, one INFO."""
    caplog.set_level(logging.INFO, logger=REMOTE_LOGGER)
    timeout = 1.0
    detector = Detector(RemoteBackend(own_v2_server.url, timeout=timeout))
    picture = load_image("dog")
    expected = detector.detect(picture)
    assert expected

    own_v2_server.stop()
    failures = 0
    started = time.monotonic()
    while time.monotonic() - started < 3:
        call = time.monotonic()
        with pytest.raises(BackendUnavailable, match="connection refused") as caught:
            detector.detect(picture)
        assert time.monotonic() - call < timeout
        assert "\n" not in str(caught.value)
        failures += 1
        time.sleep(0.02)
    assert failures > 50
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert f"Remote detector {own_v2_server.url}: connection refused" in warnings[0].getMessage()

    own_v2_server.start()
    deadline = time.monotonic() + BACKOFF_MAX_S + 10
    while True:
        try:
            found = detector.detect(picture)
            break
        except BackendUnavailable:
            assert time.monotonic() < deadline, "no detection within the backoff after the restart"
            time.sleep(0.05)
    assert [d.label for d in found] == [d.label for d in expected]
    assert [d.score for d in found] == pytest.approx([d.score for d in expected], abs=1e-5)
    back = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(back) == 1
    assert back[0].startswith(f"Remote detector {own_v2_server.url} answers again (after ")
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    detector.close()


def test_a_frozen_server_costs_callers_the_timeout_at_most(own_v2_server: V2Server) -> None:
    """SIGSTOP: the kernel still accepts connections, nothing answers. Four callers at once,
    each kept connection and each new one: every call returns within the timeout."""
    timeout = 0.8
    backend = RemoteBackend(own_v2_server.url, timeout=timeout)
    detector = Detector(backend)
    picture = load_image("eagle")
    detector.detect(picture)  # connected and the layout known: the freeze hits an inference
    own_v2_server.freeze()
    try:
        durations: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()

        def call() -> None:
            started = time.monotonic()
            try:
                detector.detect(picture)
            except BackendUnavailable as err:
                with lock:
                    errors.append(str(err))
            finally:
                with lock:
                    durations.append(time.monotonic() - started)

        threads = [threading.Thread(target=call) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout * 3)
        assert len(durations) == 4
        assert max(durations) < timeout + 0.3, durations
        assert len(errors) == 4
        assert any("no answer within 0.8 s" in error for error in errors)
        # Backing off now: the next call does not wait at all.
        started = time.monotonic()
        with pytest.raises(BackendUnavailable):
            detector.detect(picture)
        assert time.monotonic() - started < 0.05
    finally:
        own_v2_server.thaw()
    deadline = time.monotonic() + BACKOFF_MAX_S + 10
    while True:
        try:
            assert [d.label for d in detector.detect(picture)] == ["bird"]
            break
        except BackendUnavailable:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_nothing_listening_at_all(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=REMOTE_LOGGER)
    backend = RemoteBackend(f"http://127.0.0.1:{free_port()}", timeout=0.5)
    with pytest.raises(BackendUnavailable, match="connection refused"):
        Detector(backend).detect(load_image("eagle"))
    with pytest.raises(BackendUnavailable, match="connection refused"):
        backend.layout()  # during the backoff: the same reason, no new log line
    assert len(caplog.records) == 1
