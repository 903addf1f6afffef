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

**End to end** (the engine's object detection, issue #15 part 2), each in a fresh process with
the real engine (in-process, ``EngineThread``) recording the RTSP test camera (1280x720, 15 fps,
main stream only, as a camera without a substream), ``--e2e-seconds`` of measuring (default 30):

* ``5 fps, one camera with motion``: the box moves the whole time and a person stands in the
  picture; objects detected at 5 fps. The engine's CPU for detection is the detection thread's
  (crops, letterbox, inference, decoding, merging) plus what detection adds to the camera's
  motion thread (regions, tracker, events: the motion thread's CPU with detection minus
  without, same scene); decoding is shared with motion and not counted. The floor here is
  ONNX Runtime alone on *the same frames and regions* (the engine's own footage of the run,
  decoded before the clock starts; each job's region cropped from the BGR frame and
  preprocessed as YOLOX's demo does), in a tight loop. Goal: <= 1.15x per inference.
* ``no motion``: the same camera, nothing moving, detection on and off: the CPU of the
  whole engine process and the number of inferences (goal: the same CPU, no inference).
* ``latency``: frame to label (the frame's decoding to the tracker's result in the camera's
  thread), p50/p95, with one camera and with four cameras with motion at once (goal: p95 <= 1 s
  with one), and the frames the busy detector skipped.
* ``RSS``: the engine process's VmRSS with one camera detecting (model loaded) minus the same
  engine with detection off (the model never loaded). Goal: <= 80 MB.

The machine is shared: trust ratios and medians over absolute figures; rerun when the load
average was high.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from unittest import mock

REPO = Path(__file__).resolve().parents[2]
SHARED_MODELS = REPO.parent / "shared" / "models"
PHOTOS = ("person", "kite", "dog", "giraffe", "eagle", "horses")
SERVER_PYTHON = REPO / ".inference-server" / "venv" / "bin" / "python"
SERVER_SCRIPT = REPO / "scripts" / "inference-server.d" / "serve_onnx.py"
WARMUP = 12
DETECTOR_GOAL = 1.05  # the detector alone, CPU per inference over the floor's
PIPELINE_GOAL = 1.15  # the whole pipeline (part 2)
RSS_GOAL_MB = 80.0
sys.path[:0] = [str(REPO / "scripts" / "bench.d"), str(REPO / "addon"), str(REPO)]

import _measure  # noqa: E402
import av  # noqa: E402


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
    return {"rows": summary, "memory": memory, "end_to_end": None}


# --- end to end: the engine's own detection ---
E2E_WIDTH, E2E_HEIGHT, E2E_FPS = 1280, 720, 15
E2E_WARMUP_S = 8.0  # the camera connects, the person walks in (1-4 s), the model loads


def _thread_cpu_s(native_id: int | None) -> float:
    if native_id is None:
        return 0.0
    fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def engine_child(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the engine on ``spec["cameras"]`` cameras of the test camera; measure one window."""
    import tempfile

    from tests.support.camera import RtspCamera
    from tests.support.engine_thread import EngineThread
    from vigil_engine.__main__ import _limit_malloc_arenas
    from vigil_engine.config import parse_config
    from vigil_engine.detection.service import DetectionService

    _limit_malloc_arenas()  # as the engine's own main does, before any thread starts
    jobs: list[dict[str, Any]] = []
    original = DetectionService._detect

    def logged(service: DetectionService, job: Any) -> None:
        # The frames and regions the detector looked at, for the floor to look at the same.
        jobs.append({"camera": job.camera.camera.id, "at_ms": job.at_ms, "regions": [list(r) for r in job.regions]})
        original(service, job)

    recording_jobs = mock.patch.object(DetectionService, "_detect", logged)
    recording_jobs.start()
    motion = ((3.0, 3600.0),) if spec["moving"] else ()
    camera = RtspCamera(
        width=E2E_WIDTH, height=E2E_HEIGHT, fps=E2E_FPS, keyint=1.0, person=(1.0, 4.0), motion=motion
    ).start()
    storage = Path(tempfile.mkdtemp(prefix="vigil-bench-detect-"))
    config = parse_config(
        {
            "storage_path": str(storage),
            "segment_seconds": 4,
            "api_port": 0,
            "detector": {"model": spec["model"]},
            "cameras": [
                {"id": f"cam{n}", "url": camera.url("h264-noaudio"), "object_detection": spec["detect"]}
                for n in range(spec["cameras"])
            ],
        }
    )
    run = EngineThread(config).start()
    try:
        time.sleep(E2E_WARMUP_S)
        engine = run.engine
        service = engine.detection
        motions = [engine.cameras[f"cam{n}"].motion for n in range(spec["cameras"])]
        threads = [m._thread.native_id for m in motions if m is not None]
        detect_thread = service._thread.native_id if service is not None else None
        inferences = service.inferences if service is not None else 0
        for cam in engine.cameras.values():
            if cam.objects is not None:
                cam.objects._latencies.clear()
        first_job = len(jobs)
        cpu0 = time.process_time()
        motion0 = [_thread_cpu_s(t) for t in threads]
        detect0 = _thread_cpu_s(detect_thread)
        wall0 = time.monotonic()
        time.sleep(spec["seconds"])
        wall = time.monotonic() - wall0
        result: dict[str, Any] = {
            "seconds": wall,
            "process_cpu_s": time.process_time() - cpu0,
            "motion_cpu_s": sum(_thread_cpu_s(t) for t in threads) - sum(motion0),
            "detect_cpu_s": _thread_cpu_s(detect_thread) - detect0,
            "inferences": (service.inferences if service is not None else 0) - inferences,
            "rss_mb": _measure.to_mb(_measure.status_kb(os.getpid(), "VmRSS")),
            "latencies_ms": [
                round(value * 1000, 1)
                for cam in engine.cameras.values()
                if cam.objects is not None
                for value in cam.objects._latencies
            ],
            "skipped": sum(cam.objects.frames_skipped for cam in engine.cameras.values() if cam.objects is not None),
            "detected": sum(cam.objects.frames_detected for cam in engine.cameras.values() if cam.objects is not None),
            "jobs": jobs[first_job:],
            "storage": str(storage),
        }
    finally:
        run.stop()
        camera.close()
        recording_jobs.stop()
    return result


def floor_child(spec: dict[str, Any]) -> dict[str, Any]:
    """ONNX Runtime alone on the frames and regions the engine looked at (its own recording)."""
    import cv2
    import numpy as np

    ort = importlib.import_module("onnxruntime")
    from vigil_engine.storage.index import Index

    wanted = sorted({job["at_ms"] for job in spec["jobs"]})
    index = Index(Path(spec["storage"]) / "vigil.db")
    frames: dict[int, Any] = {}
    try:
        for segment in index.segments("cam0"):
            if segment.end_ms < wanted[0] or segment.start_ms > wanted[-1]:
                continue
            with av.open(str(Path(spec["storage"]) / "recordings" / segment.path)) as container:
                stream = container.streams.video[0]
                first: int | None = None
                for frame in container.decode(stream):
                    if frame.pts is None:
                        continue
                    first = frame.pts if first is None else first
                    at = segment.start_ms + round(float((frame.pts - first) * stream.time_base) * 1000)
                    frames[at] = frame.to_ndarray(format="yuv420p")
    finally:
        index.close()
    times = np.array(sorted(frames))
    work = []
    for job in spec["jobs"]:
        nearest = int(times[np.abs(times - job["at_ms"]).argmin()])
        if abs(nearest - job["at_ms"]) <= 40:
            work += [(frames[nearest], region) for region in job["regions"]]
    cv2.setNumThreads(1)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(spec["model"], options, providers=["CPUExecutionProvider"])

    def run(yuv: Any, region: list[int]) -> Any:
        image = cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR_I420)  # a decoded frame, as the demo gets it
        left, top, right, bottom = region
        crop = image[top:bottom, left:right]
        ratio = min(416 / crop.shape[0], 416 / crop.shape[1])
        padded = np.ones((416, 416, 3), dtype=np.uint8) * 114
        resized = cv2.resize(
            crop, (int(crop.shape[1] * ratio), int(crop.shape[0] * ratio)), interpolation=cv2.INTER_LINEAR
        ).astype(np.uint8)
        padded[: resized.shape[0], : resized.shape[1]] = resized
        tensor = np.ascontiguousarray(padded.transpose(2, 0, 1)[None], dtype=np.float32)
        return session.run(None, {"images": tensor})

    for yuv, region in work[:WARMUP]:
        run(yuv, region)
    cpu0 = time.process_time()
    for yuv, region in work:
        run(yuv, region)
    cpu = time.process_time() - cpu0
    return {"inferences": len(work), "cpu_ms": cpu / max(1, len(work)) * 1000, "jobs_matched": len(work)}


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * (len(ordered) - 1) + 0.5))]


def end_to_end(model: Path, seconds: float) -> dict[str, Any]:
    """The engine's rows; each run in a fresh process."""
    base = {"model": str(model), "seconds": seconds}
    print("detect: end to end: one camera with motion, detection on", file=sys.stderr)
    on = run_child("engine", {**base, "cameras": 1, "moving": True, "detect": True})
    print("detect: end to end: the floor on the same frames", file=sys.stderr)
    floor = run_child("floor-e2e", {"model": str(model), "jobs": on["jobs"], "storage": on["storage"]})
    print("detect: end to end: one camera with motion, detection off", file=sys.stderr)
    off = run_child("engine", {**base, "cameras": 1, "moving": True, "detect": False})
    print("detect: end to end: one camera without motion, detection on and off", file=sys.stderr)
    still_on = run_child("engine", {**base, "cameras": 1, "moving": False, "detect": True})
    still_off = run_child("engine", {**base, "cameras": 1, "moving": False, "detect": False})
    print("detect: end to end: four cameras with motion", file=sys.stderr)
    four = run_child("engine", {**base, "cameras": 4, "moving": True, "detect": True})
    for result in (on, off, still_on, still_off, four):
        shutil.rmtree(result["storage"], ignore_errors=True)
    inferences = max(1, on["inferences"])
    motion_extra_s = max(0.0, on["motion_cpu_s"] - off["motion_cpu_s"])
    return {
        "per_inference_ms": {
            "detection_thread": on["detect_cpu_s"] / inferences * 1000,
            "with_motion_thread": (on["detect_cpu_s"] + motion_extra_s) / inferences * 1000,
            "floor": floor["cpu_ms"],
        },
        "inferences_per_s": on["inferences"] / on["seconds"],
        "cpu_share": {
            "motion_on": on["motion_cpu_s"] / on["seconds"],
            "motion_off": off["motion_cpu_s"] / off["seconds"],
            "detect": on["detect_cpu_s"] / on["seconds"],
        },
        "still": {
            "process_cpu_on": still_on["process_cpu_s"] / still_on["seconds"],
            "process_cpu_off": still_off["process_cpu_s"] / still_off["seconds"],
            "inferences": still_on["inferences"],
        },
        "latency_ms": {
            "one": {"p50": _percentile(on["latencies_ms"], 0.5), "p95": _percentile(on["latencies_ms"], 0.95)},
            "four": {"p50": _percentile(four["latencies_ms"], 0.5), "p95": _percentile(four["latencies_ms"], 0.95)},
        },
        "four": {"detected": four["detected"], "skipped": four["skipped"]},
        "rss_mb": {"on": on["rss_mb"], "off": off["rss_mb"], "added": on["rss_mb"] - off["rss_mb"]},
        "floor_inferences": floor["inferences"],
    }


def print_end_to_end(e2e: dict[str, Any]) -> None:
    per = e2e["per_inference_ms"]
    ratio = per["with_motion_thread"] / per["floor"]
    latency, still, rss = e2e["latency_ms"], e2e["still"], e2e["rss_mb"]
    print(f"\nEnd to end: the engine on the RTSP test camera ({E2E_WIDTH}x{E2E_HEIGHT}, main stream only)\n")
    print("| end to end | value | goal |\n|---|---|---|")
    print(
        f"| 5 fps, one camera with motion: CPU ms / inference, engine (detection thread + motion thread's extra) "
        f"| {per['with_motion_thread']:.2f} ({per['detection_thread']:.2f} + "
        f"{per['with_motion_thread'] - per['detection_thread']:.2f}) | |"
    )
    print(f"| same frames and regions, ONNX Runtime alone (floor) | {per['floor']:.2f} | |")
    verdict = "met" if ratio <= PIPELINE_GOAL else "NOT met"
    print(f"| engine / floor | {ratio:.3f}x | <= {PIPELINE_GOAL:.2f}x: {verdict} |")
    print(
        f"| share of a core: detection thread / motion thread with detection / without | "
        f"{e2e['cpu_share']['detect']:.1%} / {e2e['cpu_share']['motion_on']:.1%} / "
        f"{e2e['cpu_share']['motion_off']:.1%} ({e2e['inferences_per_s']:.1f} inferences/s) | |"
    )
    still_verdict = "met" if still["inferences"] == 0 else "NOT met"
    print(
        f"| no motion: engine process CPU, detection on / off; inferences | {still['process_cpu_on']:.1%} / "
        f"{still['process_cpu_off']:.1%}; {still['inferences']} | nothing beyond motion: {still_verdict} |"
    )
    p95_one = latency["one"]["p95"]
    lat_verdict = "met" if p95_one is not None and p95_one <= 1000 else "NOT met"
    print(
        f"| latency frame to label, one camera, p50 / p95 ms | {latency['one']['p50']} / {p95_one} "
        f"| p95 <= 1000: {lat_verdict} |"
    )
    print(
        f"| latency, four cameras with motion at once, p50 / p95 ms; frames detected / skipped | "
        f"{latency['four']['p50']} / {latency['four']['p95']}; {e2e['four']['detected']} / {e2e['four']['skipped']} | |"
    )
    rss_verdict = "met" if rss["added"] <= RSS_GOAL_MB else "NOT met"
    print(
        f"| engine RSS, detection on / off, added MB | {rss['on']:.1f} / {rss['off']:.1f}, {rss['added']:.1f} "
        f"| <= {RSS_GOAL_MB:.0f} MB: {rss_verdict} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench detect", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--reps", type=int, default=3, help="runs per row (default 3; the median is kept)")
    parser.add_argument("--frames", type=int, default=120, help="inferences per run (default 120)")
    parser.add_argument("--model", type=Path, default=None, help="ONNX model (default .models/ or the shared copy)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--e2e-seconds", type=float, default=30, help="seconds measured per end-to-end run")
    parser.add_argument("--no-e2e", action="store_true", help="skip the end-to-end rows")
    parser.add_argument("--e2e-only", action="store_true", help="only the end-to-end rows")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--rss", help=argparse.SUPPRESS)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--floor-e2e", help=argparse.SUPPRESS)
    args = parser.parse_args()
    for flag, function in (
        (args.child, child),
        (args.rss, rss_child),
        (args.engine, engine_child),
        (args.floor_e2e, floor_child),
    ):
        if flag:
            print(json.dumps(function(json.loads(flag))))
            return 0
    if args.reps < 1 or args.frames < 1:
        parser.error("--reps and --frames must be at least 1")
    model = args.model or default_model()
    if args.e2e_only:
        e2e_only = end_to_end(model, args.e2e_seconds)
        print_end_to_end(e2e_only)
        if args.json:
            args.json.write_text(json.dumps({"benchmark": "detect", "end_to_end": e2e_only}, indent=2) + "\n")
        return 0
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
    e2e = None if args.no_e2e else end_to_end(model, args.e2e_seconds)
    load_after = os.getloadavg()
    summary = print_report(rows, memory, args.reps, args.frames)
    if e2e is not None:
        print_end_to_end(e2e)
        summary["end_to_end"] = e2e
    print(f"\nload average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}; {os.cpu_count()} CPUs")
    if args.json:
        payload = {"benchmark": "detect", "reps": args.reps, "frames": args.frames, "model": str(model), **summary}
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
