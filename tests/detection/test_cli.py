"""``python -m vigil_engine detect``, run as a user runs it: a subprocess, JSON lines on stdout."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.detection.conftest import IMAGES, ROOT, SHARED_MODEL, V2Server

DETECT = [sys.executable, "-m", "vigil_engine", "detect"]


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DETECT, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)


def results(stdout: str) -> dict[str, dict[str, Any]]:
    lines = [json.loads(line) for line in stdout.splitlines()]
    return {Path(result["image"]).stem: result for result in lines}


def labels(result: dict[str, Any]) -> list[str]:
    return [detection["label"] for detection in result["detections"]]


def test_detect_prints_each_images_detections() -> None:
    photos = ["person", "kite", "dog", "giraffe", "eagle", "horses"]
    done = run("--model", str(SHARED_MODEL), *(str(IMAGES / f"{photo}.jpg") for photo in photos))
    assert done.returncode == 0, done.stderr
    found = results(done.stdout)
    assert list(found) == photos
    assert "person" in labels(found["person"])
    assert labels(found["kite"]).count("person") >= 3
    assert {"dog", "bicycle"} <= set(labels(found["dog"]))
    assert set(labels(found["dog"])) & {"car", "truck"}
    for photo in ("giraffe", "eagle", "horses"):
        assert "person" not in labels(found[photo])
    dog = found["dog"]
    assert (dog["width"], dog["height"], dog["backend"]) == (768, 576, "onnxruntime")
    for detection in dog["detections"]:
        assert set(detection) == {"label", "score", "box"}
        x1, y1, x2, y2 = detection["box"]
        assert 0 <= x1 < x2 <= 768
        assert 0 <= y1 < y2 <= 576
        assert 0.35 <= detection["score"] <= 1
    assert done.stderr == ""


def test_threshold_labels_and_openvino() -> None:
    done = run(
        "--model", str(SHARED_MODEL), "--backend", "openvino", "--threshold", "0.5", "--labels", "vehicle,Dog",
        str(IMAGES / "dog.jpg"), str(IMAGES / "person.jpg"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = results(done.stdout)
    assert sorted(labels(found["dog"])) == ["bicycle", "car", "dog"]
    assert labels(found["person"]) == ["dog"]  # the person and the horse are not asked for
    assert found["dog"]["backend"] == "openvino"
    assert all(d["score"] >= 0.5 for result in found.values() for d in result["detections"])


def test_an_unreadable_image_is_one_line_and_the_others_are_done(tmp_path: Path) -> None:
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture\n")
    done = run("--model", str(SHARED_MODEL), str(tmp_path / "missing.jpg"), str(text), str(IMAGES / "eagle.jpg"))
    assert done.returncode == 1
    assert list(results(done.stdout)) == ["eagle"]
    errors = done.stderr.splitlines()
    assert len(errors) == 2
    assert errors[0].endswith(f"ERROR vigil_engine.detect: {tmp_path / 'missing.jpg'}: not found")
    assert f"{text}: not a picture FFmpeg can read" in errors[1]


def test_bad_models_are_one_line_and_exit_2(tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(SHARED_MODEL.read_bytes()[:100_000])
    photo = tmp_path / "model.onnx"
    shutil.copy(IMAGES / "dog.jpg", photo)
    cases = {
        tmp_path / "missing.onnx": "not found",
        truncated: "truncated (100,000 bytes; field 7 needs",
        photo: "not an ONNX model",
    }
    for model, reason in cases.items():
        for backend in ("onnx", "openvino"):
            done = run("--model", str(model), "--backend", backend, str(IMAGES / "dog.jpg"))
            assert done.returncode == 2, done.stderr
            assert done.stdout == ""
            (line,) = done.stderr.splitlines()
            assert f"ERROR vigil_engine.detect: Cannot detect: model {model}: {reason}" in line
            check = run("--model", str(model), "--backend", backend, "--check")
            assert check.returncode == 2
            assert check.stderr.splitlines() == done.stderr.splitlines() or reason in check.stderr


def test_check_says_what_the_model_is() -> None:
    done = run("--model", str(SHARED_MODEL), "--check")
    assert done.returncode == 0, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.endswith(f"Model is usable: {SHARED_MODEL} on onnxruntime, input 416x416, 80 classes")
    assert done.stdout == ""


def test_usage_errors() -> None:
    done = run()
    assert done.returncode == 2
    assert "give at least one IMAGE (or --check)" in done.stderr
    done = run("--labels", "person,unicorn", "--model", str(SHARED_MODEL), str(IMAGES / "dog.jpg"))
    assert done.returncode == 2
    assert "Cannot detect: unknown label unicorn (use a COCO label" in done.stderr
    done = run("--backend", "remote", str(IMAGES / "dog.jpg"))
    assert done.returncode == 2
    assert "Cannot detect: the remote backend needs the server's URL" in done.stderr


def test_the_engines_own_options_are_unchanged() -> None:
    """``detect`` is a word of its own: without it, the engine's parser is as before."""
    done = subprocess.run(
        [sys.executable, "-m", "vigil_engine", "--help"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert "--config" in done.stdout
    assert "--check" in done.stdout
    assert "detect --help" in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "vigil_engine", "--check", "detect"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "unrecognized arguments: detect" in done.stderr


def test_remote_backend_from_the_command_line(v2_server: V2Server) -> None:
    local = results(run("--model", str(SHARED_MODEL), str(IMAGES / "kite.jpg")).stdout)
    done = run("--backend", "remote", "--url", v2_server.url, str(IMAGES / "kite.jpg"))
    assert done.returncode == 0, done.stderr
    remote = results(done.stdout)
    assert remote["kite"]["backend"] == "remote"
    assert remote["kite"]["detections"] == local["kite"]["detections"]
    check = run("--backend", "remote", "--url", v2_server.url, "--check")
    assert check.returncode == 0, check.stderr
    assert check.stderr.rstrip().endswith(f"Model is usable: {v2_server.url} on remote, input 416x416, 80 classes")
    wrong = run("--backend", "remote", "--url", v2_server.url, "--remote-model", "yolov99", "--check")
    assert wrong.returncode == 2
    assert "Cannot detect: remote detector" in wrong.stderr
    assert "the server has no model 'yolov99' (HTTP 404)" in wrong.stderr
