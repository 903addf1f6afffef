"""API benchmark: clip export against ``ffmpeg -f concat -c copy``, and motion-to-subscriber latency.

1. **Clip export.** The recording benchmark's input (1080p30 H.264 4 Mbit/s + AAC, 60 s, made once
   with /usr/bin/ffmpeg and cached in ``.bench/``) is cut into 10 s fragmented-MP4 segments by the
   engine's own segment writer, ten times over (600 s of footage), and indexed. For ranges of 10 s,
   60 s and 600 s (aligned to segments, so both sides export the same footage) it times:

   - ``vigil file``: the API's clip builder (faststart MP4 from the segments' boxes) written to a file;
   - ``vigil http``: the same clip downloaded whole from the API server (in-process, loopback);
   - ``ffmpeg``: ``ffmpeg -f concat -safe 0 -i list -c copy out.mp4`` over the same segment files.

   Medians of ``--repeat`` runs (page cache warm for every side). Goal: ratio vigil/ffmpeg <= 1.0.

2. **Motion to subscriber.** An engine runs in this process (its own event-loop thread) with the API,
   recording a file camera (a 640x360 scene whose box moves 1.5 s out of every 4 s, replayed at real
   time). A WebSocket client subscribes to ``motion``; for each motion start, the latency is the time
   from the frame entering the detector (the bus message's ``detected_mono``, ``time.monotonic()``
   in the same process) to the event's arrival at the client. p50/p95 over ``--events`` events.
   Goal: p95 <= 300 ms beyond the detection interval (1 / the motion fps).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import aiohttp
import av
import numpy as np
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "addon"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import record  # the recording benchmark's cached input

from tests.api.footage import record_footage
from vigil_engine.api.auth import Signer
from vigil_engine.api.clips import build_clip
from vigil_engine.api.context import ApiContext
from vigil_engine.api.server import ApiServer, create_app
from vigil_engine.bus import BusMessage
from vigil_engine.config import parse_config
from vigil_engine.engine import Engine
from vigil_engine.ingest.demo import DemoScene
from vigil_engine.storage.index import Index, SegmentRecord

REPO = Path(__file__).resolve().parents[2]
WORK = REPO / ".bench" / "api"
FFMPEG = "/usr/bin/ffmpeg"
T0 = 1_767_261_600_000
RANGES_S = (10, 60, 600)
EXPORT_RATIO_GOAL = 1.0
LATENCY_GOAL_MS = 300.0
MOTION_PERIOD_S = 4.0
MOTION_SECONDS = 1.5
TOKEN = "bench-token-0123456789abcdef"


# --- 1. clip export ---------------------------------------------------------------------------


def prepare_footage(work: Path) -> tuple[Index, Path]:
    """600 s of indexed 10 s segments (the 60 s input written ten times, back to back)."""
    record.ensure_input()
    storage = work / "storage"
    recordings = storage / "recordings"
    db = storage / "vigil.db"
    if db.exists():
        index, _ = Index.open(db)
        if len(index.segments("cam")) >= 60:
            return index, recordings
        index.close()
    shutil.rmtree(storage, ignore_errors=True)
    index, _ = Index.open(db)
    print("api: cutting the input into 10 s segments (once)", file=sys.stderr)
    start = T0
    for _ in range(10):
        footage = record_footage(index, recordings, "cam", record.INPUT, start, 10)
        start = footage.segments[-1].end_ms
    return index, recordings


def _median_time(func: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        func()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def _ffmpeg_concat(files: list[Path], out: Path, work: Path) -> None:
    listing = work / "concat.txt"
    listing.write_text("".join(f"file '{path}'\n" for path in files))
    options = ["-hide_banner", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0", "-i"]
    subprocess.run([FFMPEG, *options, str(listing), "-c", "copy", str(out)], check=True)


class _Engine:
    """What the API's clip endpoint needs of an engine: its index, its folders, its cameras."""

    def __init__(self, index: Index, recordings: Path) -> None:
        self.index = index
        self.config = type("Config", (), {"recordings_path": recordings, "storage_path": recordings.parent})()

    def camera_ids(self) -> list[str]:
        return ["cam"]


async def _http_clip_seconds(index: Index, recordings: Path, start: int, end: int, repeat: int) -> float:
    ctx = ApiContext(engine=cast(Any, _Engine(index, recordings)), token=TOKEN, signer=Signer(TOKEN))
    runner = web.AppRunner(create_app(ctx), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}/api/cameras/cam/clip.mp4?start_ms={start}&end_ms={end}"
    times = []
    try:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as session:
            for _ in range(repeat):
                ctx._clips.clear()  # every download builds its clip
                began = time.perf_counter()
                async with session.get(url) as response:
                    assert response.status == 200, response.status
                    async for _chunk in response.content.iter_chunked(1 << 20):
                        pass
                times.append(time.perf_counter() - began)
    finally:
        await runner.cleanup()
    return statistics.median(times)


@dataclass
class ExportRow:
    seconds: int
    segments: int
    mb: float
    vigil_file_s: float
    vigil_http_s: float
    ffmpeg_s: float
    frames_ok: bool

    @property
    def ratio(self) -> float:
        return self.vigil_file_s / self.ffmpeg_s

    @property
    def http_ratio(self) -> float:
        return self.vigil_http_s / self.ffmpeg_s


def _frames(path: Path) -> int:
    with av.open(str(path), "r") as container:
        return sum(1 for packet in container.demux(container.streams.video[0]) if packet.size)


def bench_export(work: Path, repeat: int) -> list[ExportRow]:
    index, recordings = prepare_footage(work)
    segments = index.segments("cam")
    rows: list[ExportRow] = []
    for seconds in RANGES_S:
        chosen: list[SegmentRecord] = []
        for segment in segments:
            chosen.append(segment)
            if segment.end_ms - chosen[0].start_ms >= seconds * 1000 - 100:
                break
        start, end = chosen[0].start_ms, chosen[-1].end_ms
        files = [(s, recordings / s.path) for s in chosen]
        ours = work / f"vigil-{seconds}.mp4"
        theirs = work / f"ffmpeg-{seconds}.mp4"
        vigil_file = _median_time(lambda f=files, s=start, e=end, o=ours: build_clip(f, s, e).file.write_to(o), repeat)
        ffmpeg = _median_time(lambda f=files, t=theirs: _ffmpeg_concat([p for _s, p in f], t, work), repeat)
        vigil_http = asyncio.run(_http_clip_seconds(index, recordings, start, end, repeat))
        frames_ok = _frames(ours) == _frames(theirs)
        rows.append(
            ExportRow(seconds, len(chosen), ours.stat().st_size / 1e6, vigil_file, vigil_http, ffmpeg, frames_ok)
        )
        print(f"api: export {seconds} s done", file=sys.stderr)
    index.close()
    return rows


# --- 2. motion to subscriber ------------------------------------------------------------------


def make_motion_clip(path: Path, seconds: float, fps: int = 15) -> Path:
    """640x360 H.264 (+AAC): the demo scene whose box sweeps and returns, 1.5 s of every 4 s."""
    if path.exists():
        return path
    scene = DemoScene(640, 360, motion_period=MOTION_PERIOD_S, motion_seconds=MOTION_SECONDS)
    partial = path.with_suffix(".partial.mkv")
    with av.open(str(partial), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 640, 360, "yuv420p"
        video.codec_context.gop_size = fps
        video.options = {"preset": "ultrafast", "bf": "0"}
        sound = out.add_stream("aac", rate=16000, layout="mono")
        for number in range(round(seconds * fps)):
            frame = scene.frame(number / fps)
            frame.pts = number
            frame.time_base = Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        tone = (0.05 * np.sin(2 * np.pi * 440 * np.arange(1024) / 16000)).astype(np.float32)
        pts = 0
        while pts < seconds * 16000:
            chunk = av.AudioFrame.from_ndarray(tone[None, :], format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts = 16000, pts
            pts += 1024
            out.mux(sound.encode(chunk))
        out.mux(sound.encode(None))
    partial.rename(path)
    return path


@dataclass
class LatencyResult:
    samples_ms: list[float]
    motion_fps: float

    def p(self, q: float) -> float:
        """The ``q`` quantile (nearest rank)."""
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] if ordered else float("nan")

    @property
    def interval_ms(self) -> float:
        return 1000 / self.motion_fps


def bench_latency(work: Path, events: int) -> LatencyResult:
    clip = make_motion_clip(WORK / "motion-4s-640x360.mkv", 60)
    storage = work / "latency"
    shutil.rmtree(storage, ignore_errors=True)
    motion_fps = 5.0
    config = parse_config(
        {
            "storage_path": str(storage),
            "api_host": "127.0.0.1",
            "api_port": 0,
            "api_token": TOKEN,
            "cameras": [
                {
                    "id": "cam",
                    "url": f"file://{clip}",
                    "motion": {"fps": motion_fps},
                    "events": {"quiet_seconds": 1.0, "pre_capture": 1, "post_capture": 1},
                }
            ],
        }
    )
    engine = Engine(config)
    detected: dict[int, float] = {}  # at_ms of a motion start -> when its frame entered the detector
    lock = threading.Lock()

    def listener(message: BusMessage) -> None:
        if message.kind == "motion" and message.data.get("active") and message.data.get("zone") is None:
            with lock:
                detected[int(message.data["at_ms"])] = float(message.data["detected_mono"])

    engine.bus.add_listener(listener)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="engine-loop", daemon=True)
    thread.start()
    server = ApiServer(engine)

    async def start() -> None:
        await engine.start()
        await server.start()

    async def stop() -> None:
        await server.stop()
        await engine.stop()

    asyncio.run_coroutine_threadsafe(start(), loop).result(60)
    samples: list[float] = []

    async def subscribe() -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"ws://127.0.0.1:{server.port}/api/ws") as ws,
        ):
            await ws.send_json({"type": "auth", "token": TOKEN})
            await ws.receive_json()
            await ws.send_json({"message_id": "s", "command": "subscribe", "args": {"events": ["motion"]}})
            deadline = time.monotonic() + events * MOTION_PERIOD_S * 2 + 60
            while len(samples) < events and time.monotonic() < deadline:
                raw = await ws.receive(timeout=30)
                arrived = time.monotonic()
                if raw.type != aiohttp.WSMsgType.TEXT:
                    break
                message = json.loads(raw.data)
                if message.get("type") != "event":
                    continue
                data = message["data"]
                if data["active"] and data["zone"] is None:
                    with lock:
                        mono = detected.get(data["at_ms"])
                    if mono is not None:
                        samples.append((arrived - mono) * 1000)
                        print(f"api: motion {len(samples)}/{events}", file=sys.stderr, end="\r")

    try:
        asyncio.run(subscribe())
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
    print(file=sys.stderr)
    return LatencyResult(samples, motion_fps)


# --- report -----------------------------------------------------------------------------------


def print_report(rows: list[ExportRow], latency: LatencyResult | None) -> dict[str, Any]:
    print()
    print("Clip export (stream copy of 10 s segments, 1080p30 H.264 4 Mbit/s + AAC; medians)")
    columns = ("range", 6), ("segs", 5), ("MB", 7), ("vigil file", 11), ("vigil http", 11), ("ffmpeg", 9), ("ratio", 6)
    header = " ".join(f"{name:>{width}}" for name, width in columns) + f" {'http':>6}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.seconds:>5}s {row.segments:>5} {row.mb:>7.1f} {row.vigil_file_s * 1000:>9.1f}ms"
            f" {row.vigil_http_s * 1000:>9.1f}ms {row.ffmpeg_s * 1000:>7.1f}ms {row.ratio:>6.2f} {row.http_ratio:>6.2f}"
            + ("" if row.frames_ok else "  (frame counts differ!)")
        )
    print("  ratio = vigil file / ffmpeg; http = whole download from the API / ffmpeg (goal <= 1.0)")
    results: dict[str, Any] = {
        "export": [{**row.__dict__, "ratio": row.ratio, "http_ratio": row.http_ratio} for row in rows],
    }
    if latency is not None:
        print()
        count = len(latency.samples_ms)
        print(f"Motion to WebSocket subscriber ({count} motion starts, motion analysed at {latency.motion_fps:g} fps)")
        p50, p95 = latency.p(0.5), latency.p(0.95)
        print(f"  p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(latency.samples_ms, default=float('nan')):.1f} ms")
        print(f"  detection interval {latency.interval_ms:.0f} ms; goal: p95 <= {LATENCY_GOAL_MS:.0f} ms beyond it")
        results["latency"] = {
            "samples_ms": latency.samples_ms,
            "p50_ms": p50,
            "p95_ms": p95,
            "interval_ms": latency.interval_ms,
        }
    worst = max((row.ratio for row in rows), default=float("nan"))
    print()
    verdict = "met" if worst <= EXPORT_RATIO_GOAL else "NOT met"
    print(f"Goals: export ratio <= {EXPORT_RATIO_GOAL}: {verdict} (worst {worst:.2f})")
    if latency is not None:
        met = latency.p(0.95) <= LATENCY_GOAL_MS + latency.interval_ms
        print(f"       motion p95 <= {LATENCY_GOAL_MS:.0f} ms + interval: {'met' if met else 'NOT met'}")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per export measurement (median; default 5)")
    parser.add_argument("--events", type=int, default=50, help="motion starts to measure (default 50)")
    parser.add_argument("--skip-latency", action="store_true", help="only the export part")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    rows = bench_export(WORK, args.repeat)
    latency = None if args.skip_latency else bench_latency(WORK, args.events)
    results = print_report(rows, latency)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
