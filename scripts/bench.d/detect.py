"""Detection benchmark: the object detector's CPU per inference against ONNX Runtime alone, per backend.

The **floor** is ONNX Runtime alone running the same model on the same frames in a tight loop,
with YOLOX's own demo preprocessing (OpenCV: ``cv2.resize`` bilinear, pad 114, transpose,
float32) and the same session options as the detector's (one intra-op thread). Nothing can do
the same work for less: the detector's goal is to stay within a few percent of it (5% here),
and the whole pipeline's later (issue #15, part 2) within 15%.

Frames: the test photographs (``shared/models/images/``, 352 to 1352 pixels wide), six with
objects, taken round-robin, in two forms:

* ``BGR arrays``: decoded once to HxWx3 BGR arrays, what the demo's preprocessing takes;
* ``decoded frames``: PyAV frames as a decoder hands them over (YUV). The floor must first
  convert each to a full-size BGR array (``to_ndarray``) for OpenCV; the detector scales and
  converts in one pass. This is the form the motion pipeline has.

Each row runs in a fresh process (no row inherits another's caches or threads), ``--reps``
times round-robin (default 3, the median is kept), each run ``--frames`` inferences (default
120) after 12 for warm-up. ``CPU ms`` is the process's user + system time per inference (all
its threads); ``wall ms`` the median time of one call. For the remote rows the server's CPU is
read from /proc over the same run: client and server share this machine's two cores, so their
wall time is not what a LAN with a bigger server would give, but the client's CPU is what the
Home Assistant box would spend.

Memory: what loading the model adds to the resident memory of a Python process that has
already imported the engine (``vigil_engine.engine`` and its API server, as the engine does):
VmRSS after opening the detector and running one inference, minus VmRSS before. Goal: at most
80 MB above today's engine.

The machine is shared: trust ratios and medians over absolute figures; rerun when the load
average was high.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

REPO = Path(__file__).resolve().parents[2]
SHARED_MODELS = REPO.parent / "shared" / "models"
PHOTOS = ("person", "kite", "dog", "giraffe", "eagle", "horses")
SERVER_PYTHON = REPO / ".inference-server" / "venv" / "bin" / "python"
SERVER_SCRIPT = REPO / "scripts" / "inference-server.d" / "serve_onnx.py"
WARMUP = 12
DETECTOR_GOAL = 1.05  # the detector alone, CPU per inference over the floor's
PIPELINE_GOAL = 1.15  # the whole pipeline (part 2)
RSS_GOAL_MB = 80.0
sys.path[:0] = [str(REPO / "scripts" / "bench.d"), str(REPO / "addon")]

import _measure  # noqa: E402


@dataclass(frozen=True)
class Config:
    key: str
    label: str
    kind: str  # floor | detector
    backend: str = "onnx"
    frames: str = "bgr"  # bgr | decoded
    transport: str = "auto"


CONFIGS = [
    Config("floor-bgr", "ONNX Runtime alone (floor)", "floor"),
    Config("onnx-bgr", "detector, ONNX Runtime", "detector"),
    Config("floor-decoded", "ONNX Runtime alone (floor)", "floor", frames="decoded"),
    Config("onnx-decoded", "detector, ONNX Runtime", "detector", frames="decoded"),
    Config("openvino-bgr", "detector, OpenVINO CPU", "detector", backend="openvino"),
    Config("remote-binary", "detector, remote v2 binary", "detector", backend="remote", transport="binary"),
    Config("remote-json", "detector, remote v2 JSON", "detector", backend="remote", transport="json"),
]
FRAME_FORMS = {"bgr": "BGR arrays", "decoded": "decoded frames"}


@dataclass
class Row:
    config: Config
    runs: list[dict[str, Any]] = field(default_factory=list)

    def median(self, key: str) -> float:
        return float(statistics.median(float(run[key]) for run in self.runs))


# --- the child process: one configuration, measured from inside ---
def _pictures(frames: str) -> list[Any]:
    from vigil_engine.detection.images import read_picture

    decoded = [read_picture(SHARED_MODELS / "images" / f"{photo}.jpg") for photo in PHOTOS]
    if frames == "decoded":
        return decoded
    return [frame.to_ndarray(format="bgr24") for frame in decoded]


def _floor(model: Path, frames: str) -> Any:
    """YOLOX's demo preprocessing and a bare ONNX Runtime session with the detector's options."""
    import cv2
    import numpy as np

    ort = importlib.import_module("onnxruntime")  # no type information (see backends/onnx_runtime.py)

    cv2.setNumThreads(1)  # OpenCV would otherwise resize on every core
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])

    def run(picture: Any) -> Any:
        image = picture.to_ndarray(format="bgr24") if frames == "decoded" else picture
        ratio = min(416 / image.shape[0], 416 / image.shape[1])
        padded = np.ones((416, 416, 3), dtype=np.uint8) * 114
        resized = cv2.resize(
            image, (int(image.shape[1] * ratio), int(image.shape[0] * ratio)), interpolation=cv2.INTER_LINEAR
        ).astype(np.uint8)
        padded[: resized.shape[0], : resized.shape[1]] = resized
        tensor = np.ascontiguousarray(padded.transpose(2, 0, 1)[None], dtype=np.float32)
        return session.run(None, {"images": tensor})

    return run


def _detector(model: Path, config: Config, url: str | None) -> Any:
    from vigil_engine.detection.backends.remote import Transport
    from vigil_engine.detection.settings import BackendKind, DetectorSettings, open_detector

    settings = DetectorSettings(
        backend=cast("BackendKind", config.backend),
        model=model,
        url=url,
        transport=cast("Transport", config.transport),
    )
    return open_detector(settings).detect


def child(spec: dict[str, Any]) -> dict[str, Any]:
    config = Config(**spec["config"])
    model = Path(spec["model"])
    pictures = _pictures(config.frames)
    run = _floor(model, config.frames) if config.kind == "floor" else _detector(model, config, spec.get("url"))
    for index in range(WARMUP):
        run(pictures[index % len(pictures)])
    count = spec["frames"]
    durations = []
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    for index in range(count):
        started = time.perf_counter()
        run(pictures[index % len(pictures)])
        durations.append(time.perf_counter() - started)
    cpu = time.process_time() - cpu_start
    wall = time.perf_counter() - wall_start
    return {
        "cpu_ms": cpu / count * 1000,
        "wall_ms": statistics.median(durations) * 1000,
        "mean_wall_ms": wall / count * 1000,
    }


def rss_child(spec: dict[str, Any]) -> dict[str, Any]:
    """VmRSS of a process that imported the engine, before and after loading the detector."""
    import numpy as np

    import vigil_engine.api.server
    import vigil_engine.engine  # noqa: F401 - what the engine process has loaded
    from vigil_engine.detection.settings import BackendKind, DetectorSettings, open_detector

    before = _measure.status_kb(os.getpid(), "VmRSS")
    detector = open_detector(DetectorSettings(backend=cast("BackendKind", spec["backend"]), model=Path(spec["model"])))
    detector.detect(np.full((1080, 1920, 3), 90, dtype=np.uint8))
    after = _measure.status_kb(os.getpid(), "VmRSS")
    return {"before_mb": _measure.to_mb(before), "added_mb": _measure.to_mb(after - before)}


# --- the parent ---
def run_child(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, f"--{kind}", json.dumps(spec)], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


class Server:
    """The KServe v2 server of the tests (scripts/inference-server.d/serve_onnx.py) on loopback."""

    def __init__(self, model: Path) -> None:
        if not SERVER_PYTHON.exists():
            raise SystemExit(f"bench: {SERVER_PYTHON} is missing (scripts/setup installs the inference server)")
        port = 18750
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [str(SERVER_PYTHON), str(SERVER_SCRIPT), "--model", str(model), "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/v2/health/ready", timeout=1):
                    return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("bench: the inference server did not start") from None
                time.sleep(0.1)

    def cpu_s(self) -> float:
        return sum(_measure.tree_cpu_times(self.process.pid))

    def stop(self) -> None:
        _measure.stop([self.process])


def default_model() -> Path:
    downloaded = REPO / ".models" / "yolox_nano.onnx"
    return downloaded if downloaded.exists() else SHARED_MODELS / "yolox_nano.onnx"


def print_report(rows: list[Row], memory: dict[str, dict[str, float]], reps: int, frames: int) -> dict[str, Any]:
    print(f"\nObject detection: YOLOX-Nano 416x416, {frames} inferences per run, median of {reps} runs\n")
    print("| frames | row | CPU ms / inference | x floor | wall ms (median) | server CPU ms |")
    print("|---|---|---|---|---|---|")
    summary: dict[str, Any] = {}
    floors = {row.config.frames: row.median("cpu_ms") for row in rows if row.config.kind == "floor"}
    for row in rows:
        cpu = row.median("cpu_ms")
        ratio = cpu / floors[row.config.frames] if row.config.frames in floors else None
        server = row.median("server_cpu_ms") if "server_cpu_ms" in row.runs[0] else None
        summary[row.config.key] = {
            "cpu_ms": round(cpu, 2),
            "x_floor": round(ratio, 3) if ratio else None,
            "wall_ms": round(row.median("wall_ms"), 2),
            "server_cpu_ms": round(server, 2) if server is not None else None,
        }
        print(
            f"| {FRAME_FORMS[row.config.frames]} | {row.config.label} "
            f"| {cpu:.2f} | {f'{ratio:.3f}' if ratio else '-'} | {row.median('wall_ms'):.2f} "
            f"| {f'{server:.2f}' if server is not None else '-'} |"
        )
    detector = summary.get("onnx-bgr", {}).get("x_floor")
    if detector:
        verdict = "met" if detector <= DETECTOR_GOAL else "NOT met"
        print(
            f"\nGoal, the detector alone: <= {DETECTOR_GOAL:.2f}x the floor's CPU (BGR arrays): "
            f"{detector:.3f}x, {verdict}"
        )
    print("\n| loaded model | RSS before (engine imported) MB | RSS added MB | goal |")
    print("|---|---|---|---|")
    for backend, result in memory.items():
        verdict = "met" if result["added_mb"] <= RSS_GOAL_MB else "NOT met"
        print(
            f"| {backend} | {result['before_mb']:.1f} | {result['added_mb']:.1f} | <= {RSS_GOAL_MB:.0f} MB: {verdict} |"
        )
    print(
        "\nEnd to end (issue #15 part 2, not measured yet): 5 fps on a camera with motion (CPU vs the floor at"
        f" 5 fps, goal <= {PIPELINE_GOAL:.2f}x), four cameras with motion at once, latency motion -> detection p95."
    )
    print("| end to end | value | goal |\n|---|---|---|")
    for name in ("5 fps, one camera with motion", "four cameras with motion", "latency p95"):
        print(f"| {name} | (part 2) | |")
    return {"rows": summary, "memory": memory, "end_to_end": None}


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench detect", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--reps", type=int, default=3, help="runs per row (default 3; the median is kept)")
    parser.add_argument("--frames", type=int, default=120, help="inferences per run (default 120)")
    parser.add_argument("--model", type=Path, default=None, help="ONNX model (default .models/ or the shared copy)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--rss", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    if args.rss:
        print(json.dumps(rss_child(json.loads(args.rss))))
        return 0
    if args.reps < 1 or args.frames < 1:
        parser.error("--reps and --frames must be at least 1")
    model = args.model or default_model()
    rows = [Row(config) for config in CONFIGS]
    server = Server(model)
    load_before = os.getloadavg()
    try:
        for rep in range(args.reps):
            for row in rows:  # round-robin: a burst of load elsewhere hits every row alike
                print(f"detect: run {rep + 1}/{args.reps}: {row.config.key}", file=sys.stderr)
                spec = {"config": row.config.__dict__, "model": str(model), "frames": args.frames, "url": server.url}
                server_before = server.cpu_s()
                result = run_child("child", spec)
                if row.config.backend == "remote":
                    result["server_cpu_ms"] = (server.cpu_s() - server_before) / (args.frames + WARMUP) * 1000
                row.runs.append(result)
    finally:
        server.stop()
    memory = {backend: run_child("rss", {"backend": backend, "model": str(model)}) for backend in ("onnx", "openvino")}
    load_after = os.getloadavg()
    summary = print_report(rows, memory, args.reps, args.frames)
    print(f"\nload average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}; {os.cpu_count()} CPUs")
    if args.json:
        payload = {"benchmark": "detect", "reps": args.reps, "frames": args.frames, "model": str(model), **summary}
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
