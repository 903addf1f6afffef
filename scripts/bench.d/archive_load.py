"""Archive load benchmark: N cameras recorded and archived at once, by the real engine, to a real S3 store.

The engine (``python -m vigil_engine``, one process) records N cameras replaying the recording
benchmark's input (1080p30 H.264 + AAC, 4 Mbit/s, ``record.ensure_input``; as file cameras at real
time, or ``--source rtsp`` through record's local RTSP server) with motion detection off, as in
``scripts/bench record``, and archives every segment (``archive: {copy: all}``, optionally with
``--encrypt``) to a SeaweedFS (``weed mini`` on loopback, as the archive tests run it) on the same
machine. N = 32 is 16 MB/s written to disk and 16 MB/s sent to the store, on two cores shared with
the store.

The run, in order:

1. Warm-up (15 s; 25 s over RTSP: every camera connected, first segments closing), then a window
   (``--seconds``, 180 by default) in which the engine's CPU (user + system, its whole process tree)
   and memory are measured (``_measure``); every ``--interval`` seconds the archive's backlog
   (``GET /api/storage``, ``storage.archive``: what a user sees), the engine's RSS and the bytes on
   disk are sampled. Footage recorded in the window is what the recordings folder grew by; footage
   archived in the window is the bytes of the queue's rows (``archive_queue``, read-only) that
   became ``done`` in it.
2. The cameras stop (``set_record_mode off`` over the WebSocket: the engine and its archive keep
   running, each camera closes its segment at its next keyframe); the drain time is from then until
   every segment in the index is archived and the backlog is 0.
3. The engine stops (SIGTERM). Recording is checked against what the cameras sent: no gap in the
   index, each camera's segments contiguous (each starts within 1 ms of the one before's end),
   its frames per second of footage the input's (1800 frames per 60.02 s loop, within 0.5 %), and
   its frames those it sent while connected (the input's rate from its ``since_ms`` to the stop)
   less at most 3 s of them (a keyframe interval at each end, and latency). The archive is checked
   object by object: every ``done`` row's object is in the store's listing with the expected size
   (the segment's, or its encryption's), an ETag equal to the MD5 of the bytes Vigil sends (the
   file, or its encryption with the row's salt), and ``vigil-sha256`` metadata equal to the
   SHA-256 of the local file; one object per camera is downloaded (and decrypted) and its SHA-256
   compared with the local file's; no object is in the store that no row names. The lag from each
   segment's end to its object being complete (``done_ms - end_ms``) is reported as well.
4. Unless ``--compare-seconds 0``: a fresh engine records the same N cameras without an archive,
   and its CPU and RSS are measured over a window of that length, for the archive's cost (the RSS
   sampled in each window shows whether memory still grows).

Goals (issue #17), at N = 32: the archive keeps up (the backlog never exceeds N segments in the
window, and drains within ``DRAIN_GOAL_S`` once the cameras stop), recording loses no frame (as
checked above), and the engine's peak RSS (VmHWM, start-up included) stays within the recording
goal plus 50 MB (``record.RSS_GOAL_MB`` + 50 = 200 MB). The store's CPU is reported, not counted.

The machine is shared: trust the ratios more than the absolute figures. Logs are kept in
``.bench/archive_load/`` after the run; recordings and the store's data only with ``--keep``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "scripts" / "bench.d"), str(REPO / "addon"), str(REPO)]

import _measure  # noqa: E402
import record  # noqa: E402

from tests.archive.seaweedfs import SeaweedFS  # noqa: E402
from vigil_engine.archive.body import EncryptedBody, PlainBody  # noqa: E402
from vigil_engine.archive.crypto import decrypt  # noqa: E402
from vigil_engine.archive.keys import META_SHA256  # noqa: E402

WORK = record.BENCH / "archive_load"
GOAL_STREAMS = record.GOAL_STREAMS
RSS_GOAL_MB = record.RSS_GOAL_MB + 50.0
DRAIN_GOAL_S = 60.0
# Frames per second of footage within 0.5 % of the input's (1800 frames per 60.02 s loop: 29.99).
FRAME_TOLERANCE = 0.005
# Footage may start up to a keyframe interval (2 s) after the camera connected and end up to one
# after the stop (the segment closes at the next keyframe); plus a second for the engine's latency.
COVERAGE_TOLERANCE_MS = 3_000
BUCKET = "vigil-load"
ENCRYPTION_KEY = "ab" * 32  # hex: AES-256; a benchmark's key, not a secret
_LISTENING = re.compile(r"API listening on [\d.]+:(\d+)")
_MB = 1e6


# --- the engine process -----------------------------------------------------------------------


class EngineRun:
    """One engine process: started on a config, its API found in its log, stopped with SIGTERM."""

    def __init__(self, storage: Path, log: Path, config: dict[str, Any]) -> None:
        self.storage = storage
        self.log = log
        self.token = secrets.token_urlsafe(24)
        self.config = {**config, "storage_path": str(storage), "api_host": "127.0.0.1", "api_port": 0}
        self.config["api_token"] = self.token
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def db(self) -> Path:
        return self.storage / "vigil.db"

    @property
    def recordings(self) -> Path:
        return self.storage / "recordings"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, addon: Path) -> None:
        self.storage.mkdir(parents=True)
        cfg = self.storage / "config.yaml"
        cfg.write_text(yaml.safe_dump(self.config, sort_keys=False), encoding="utf-8")
        cfg.chmod(0o600)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(addon), env.get("PYTHONPATH")]))
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "vigil_engine", "--config", str(cfg)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.storage,
            )
        deadline = time.monotonic() + 60
        while not self.port:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                sys.exit(f"archive_load: the engine's API did not come up; {self.log}:\n{self.log_tail()}")
            found = _LISTENING.search(self.log.read_text(encoding="utf-8", errors="replace"))
            if found:
                self.port = int(found.group(1))
            else:
                time.sleep(0.2)

    def log_tail(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-3000:]

    def get(self, path: str) -> dict[str, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            data: dict[str, Any] = json.load(answer)
        return data

    def archive_status(self) -> dict[str, Any]:
        archive: dict[str, Any] | None = self.get("/api/storage")["storage"]["archive"]
        if archive is None:
            sys.exit("archive_load: the engine reports no archive (storage.archive is null)")
        return archive

    def cameras(self) -> list[dict[str, Any]]:
        cameras: list[dict[str, Any]] = self.get("/api/cameras")["cameras"]
        return cameras

    def set_record_mode(self, camera_ids: Sequence[str], mode: str) -> None:
        """``set_record_mode`` for every camera, over one authenticated WebSocket."""

        async def session() -> None:
            async with aiohttp.ClientSession() as http, http.ws_connect(f"ws://127.0.0.1:{self.port}/api/ws") as ws:
                await ws.send_json({"type": "auth", "token": self.token})
                info = await ws.receive_json(timeout=10)
                if info.get("type") != "server_info":
                    raise RuntimeError(f"WebSocket authentication failed: {info}")
                for n, camera_id in enumerate(camera_ids):
                    args = {"camera_id": camera_id, "record_mode": mode}
                    await ws.send_json({"message_id": str(n), "command": "set_record_mode", "args": args})
                answered = 0
                while answered < len(camera_ids):
                    message = await ws.receive_json(timeout=30)
                    if message.get("type") == "error":
                        raise RuntimeError(f"set_record_mode failed: {message}")
                    answered += message.get("type") == "result"

        asyncio.run(session())

    def stop(self) -> tuple[float, int | None]:
        """SIGTERM, up to 120 s; (seconds it took, exit code)."""
        if self.proc is None:
            return 0.0, None
        took = _measure.stop([self.proc], signal.SIGTERM, timeout=120)
        return took, self.proc.returncode


def engine_config(streams: int, source: record.Source, archive: dict[str, Any] | None) -> dict[str, Any]:
    """record.py's engine configuration (motion off, 10 s segments), with an archive section or none."""
    config = record.engine_config(streams, source)
    if archive is not None:
        config["archive"] = archive
    return config


def _query(db: Path, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
    """Read the engine's index without writing to it (the engine may be running)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    con.row_factory = sqlite3.Row
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def _now_ms() -> int:
    return int(time.time() * 1000)


# --- the window -------------------------------------------------------------------------------


@dataclass
class Sample:
    at_s: float  # since the window started
    backlog_items: int
    backlog_bytes: int
    uploaded: int
    rss_kb: int
    disk_bytes: int  # the recordings folder


@dataclass
class Window:
    measurement: _measure.Measurement
    samples: list[Sample]
    recorded_bytes: int  # what the recordings folder grew by
    archived_bytes: int  # bytes of the rows that became 'done' in the window
    archived_items: int
    store_cpu_s: float

    @property
    def backlog_max(self) -> Sample:
        return max(self.samples, key=lambda s: (s.backlog_items, s.backlog_bytes))

    def backlog_slope(self) -> float:
        """Least-squares trend of the backlog over the window, in segments per minute."""
        xs = [s.at_s for s in self.samples]
        ys = [float(s.backlog_items) for s in self.samples]
        if len(xs) < 2:
            return 0.0
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        var = sum((x - mx) ** 2 for x in xs)
        return 60 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0


def _done_bytes(db: Path, since_ms: int, until_ms: int) -> tuple[int, int]:
    row = _query(
        db,
        "SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b FROM archive_queue"
        " WHERE state = 'done' AND done_ms >= ? AND done_ms < ?",
        (since_ms, until_ms),
    )[0]
    return int(row["n"]), int(row["b"])


def _tree_cpu(pid: int) -> float:
    try:
        return sum(_measure.tree_cpu_times(pid, _measure.descendants([pid])[pid]))
    except _measure.ProcessGone:
        return 0.0


def measure_window(engine: EngineRun, store_pid: int, seconds: float, interval: float) -> Window:
    """CPU and memory over the window (``_measure``, in a thread), the backlog sampled beside it."""
    result: list[_measure.Measurement] = []
    thread = threading.Thread(target=lambda: result.append(_measure.measure([engine.pid], seconds)))
    store_cpu0 = _tree_cpu(store_pid)
    start_ms, disk0 = _now_ms(), _measure.files_under(engine.recordings, ".mp4")[1]
    start = time.monotonic()
    thread.start()
    samples: list[Sample] = []
    next_at = start
    while True:
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
        if time.monotonic() - start > seconds:
            break
        archive = engine.archive_status()
        sample = Sample(
            at_s=time.monotonic() - start,
            backlog_items=archive["backlog_items"],
            backlog_bytes=archive["backlog_bytes"],
            uploaded=archive["uploaded"],
            rss_kb=_measure.status_kb(engine.pid, "VmRSS"),
            disk_bytes=_measure.files_under(engine.recordings, ".mp4")[1],
        )
        samples.append(sample)
        print(
            f"archive_load: {sample.at_s:5.0f} s backlog {sample.backlog_items:3d} segments"
            f" ({sample.backlog_bytes / _MB:6.1f} MB), uploaded {sample.uploaded:4d},"
            f" RSS {_measure.to_mb(sample.rss_kb):5.1f} MB",
            file=sys.stderr,
        )
    thread.join()
    end_ms, disk1 = _now_ms(), _measure.files_under(engine.recordings, ".mp4")[1]
    items, size = _done_bytes(engine.db, start_ms, end_ms)
    return Window(
        measurement=result[0],
        samples=samples,
        recorded_bytes=disk1 - disk0,
        archived_bytes=size,
        archived_items=items,
        store_cpu_s=_tree_cpu(store_pid) - store_cpu0,
    )


@dataclass
class Drain:
    backlog_at_stop: tuple[int, int]
    seconds: float | None  # None: did not drain within the timeout
    timeout_s: float


def drain(engine: EngineRun, camera_ids: list[str], timeout: float) -> tuple[Drain, int]:
    """Stop every camera's recording; wait until each segment is archived. (drain, stop instant ms)."""
    status = engine.archive_status()
    backlog = (int(status["backlog_items"]), int(status["backlog_bytes"]))
    stop_ms = _now_ms()
    start = time.monotonic()
    engine.set_record_mode(camera_ids, "off")
    while time.monotonic() - start < timeout:
        time.sleep(0.5)
        if any(camera["recording"] for camera in engine.cameras()):
            continue
        if engine.archive_status()["backlog_items"]:
            continue
        segments = _query(engine.db, "SELECT count(*) AS n FROM segments")[0]["n"]
        done = _query(engine.db, "SELECT count(*) AS n FROM archive_queue WHERE state = 'done'")[0]["n"]
        if segments == done:
            return Drain(backlog, time.monotonic() - start, timeout), stop_ms
    return Drain(backlog, None, timeout), stop_ms


# --- the checks -------------------------------------------------------------------------------


@dataclass
class CameraCheck:
    camera_id: str
    segments: int
    frames: int
    media_ms: int
    breaks: int  # a segment not starting where the one before ended (a hole or an overlap > 1 ms)
    input_fps: float  # the frames the camera sends per second
    connected_ms: int  # from the camera's since_ms to the stop
    start_late_ms: int  # first footage after the camera connected
    end_early_ms: int  # footage's end before the stop (negative: after it)
    reconnected: bool

    @property
    def fps(self) -> float:
        return self.frames * 1000 / self.media_ms if self.media_ms else 0.0

    @property
    def frames_sent(self) -> float:
        """What the camera sent while it was connected (a file camera paces at real time)."""
        return self.connected_ms * self.input_fps / 1000

    @property
    def frames_missing(self) -> float:
        """Frames sent but not recorded (negative: recorded past the stop, up to the next keyframe)."""
        return self.frames_sent - self.frames

    def problems(self) -> list[str]:
        found = []
        if self.breaks:
            found.append(f"{self.breaks} break(s) between segments")
        if abs(self.fps - self.input_fps) > self.input_fps * FRAME_TOLERANCE:
            found.append(f"{self.fps:.3f} frames/s of footage, the input has {self.input_fps:.3f}")
        if self.frames_missing > COVERAGE_TOLERANCE_MS * self.input_fps / 1000:
            found.append(f"{self.frames:.0f} frames recorded of {self.frames_sent:.0f} sent")
        if self.start_late_ms > COVERAGE_TOLERANCE_MS:
            found.append(f"footage starts {self.start_late_ms / 1000:.1f} s after it connected")
        if self.end_early_ms > COVERAGE_TOLERANCE_MS:
            found.append(f"footage ends {self.end_early_ms / 1000:.1f} s before the stop")
        if self.reconnected:
            found.append("reconnected during the run")
        return found


@dataclass
class RecordingCheck:
    index: dict[str, Any]
    cameras: list[CameraCheck]
    gaps: list[str]
    reanchored: int  # "stream time is ... off the clock" lines: a camera's stream drifted from the clock

    @property
    def no_frame_lost(self) -> bool:
        return not self.gaps and not any(c.problems() for c in self.cameras) and len(self.cameras) > 0


def check_recording(
    engine: EngineRun, online: dict[str, int | None], online_end: dict[str, int | None], stop_ms: int, input_fps: float
) -> RecordingCheck:
    rows = _query(engine.db, "SELECT camera_id, start_ms, end_ms, frames FROM segments ORDER BY camera_id, start_ms")
    by_camera: dict[str, list[sqlite3.Row]] = {}
    for row in rows:
        by_camera.setdefault(row["camera_id"], []).append(row)
    checks = []
    for camera_id, since in sorted(online.items()):
        segs = by_camera.get(camera_id, [])
        breaks = sum(abs(b["start_ms"] - a["end_ms"]) > 1 for a, b in itertools.pairwise(segs))
        first, last = (segs[0]["start_ms"], segs[-1]["end_ms"]) if segs else (stop_ms, since or stop_ms)
        checks.append(
            CameraCheck(
                camera_id=camera_id,
                segments=len(segs),
                frames=sum(s["frames"] for s in segs),
                media_ms=sum(s["end_ms"] - s["start_ms"] for s in segs),
                breaks=breaks,
                input_fps=input_fps,
                connected_ms=stop_ms - since if since else 0,
                start_late_ms=first - since if since else stop_ms,
                end_early_ms=stop_ms - last,
                reconnected=since is None or online_end.get(camera_id) != since,
            )
        )
    gaps = [
        f"{r['camera_id']} {r['start_ms']}..{r['end_ms']} ({r['reason']})"
        for r in _query(engine.db, "SELECT * FROM gaps ORDER BY start_ms")
    ]
    reanchored = engine.log.read_text(encoding="utf-8", errors="replace").count("off the clock; re-anchoring")
    return RecordingCheck(index=record.engine_index(engine.db), cameras=checks, gaps=gaps, reanchored=reanchored)


@dataclass
class ArchiveCheck:
    states: dict[str, int]
    segments: int  # in the index
    objects: int  # in the store under the prefix
    checked: int  # done rows checked against the store
    downloaded: int
    problems: list[str] = field(default_factory=list)
    # From a segment's end (its last frame) to its object being complete in the store, per segment.
    lag_ms: list[int] = field(default_factory=list)

    def lag_s(self, share: float) -> float:
        """The lag below which ``share`` of the segments were archived, in seconds."""
        if not self.lag_ms:
            return 0.0
        ranked = sorted(self.lag_ms)
        return ranked[min(len(ranked) - 1, int(share * len(ranked)))] / 1000

    @property
    def ok(self) -> bool:
        return not self.problems and self.checked == self.segments == self.states.get("done", 0)


def _md5_of(body: PlainBody | EncryptedBody) -> str:
    """MD5 of the bytes the uploader sends for ``body`` (the store's ETag of a one-request upload)."""
    md5 = hashlib.md5(usedforsecurity=False)
    step = 8 * 1024 * 1024
    for offset in range(0, body.size, step):
        md5.update(body.read(offset, step))
    return md5.hexdigest()


def _sha256_of(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def check_archive(engine: EngineRun, store: SeaweedFS, key: bytes | None, download_per_camera: int) -> ArchiveCheck:
    """Every archived segment against its object in the store (see the module docstring)."""
    states = {
        r["state"]: r["n"] for r in _query(engine.db, "SELECT state, count(*) AS n FROM archive_queue GROUP BY 1")
    }
    segments = int(_query(engine.db, "SELECT count(*) AS n FROM segments")[0]["n"])
    rows = _query(engine.db, "SELECT * FROM archive_queue WHERE state = 'done' ORDER BY camera_id, start_ms")
    listing = store.objects(BUCKET)
    client = store.client()
    result = ArchiveCheck(states=states, segments=segments, objects=len(listing), checked=0, downloaded=0)
    problems = result.problems
    downloads: dict[str, int] = {}
    known: set[str] = set()
    for row in rows:
        path = engine.recordings / row["path"]
        name = row["object_key"]
        known.add(name)
        result.lag_ms.append(row["done_ms"] - row["end_ms"])
        if not path.is_file():
            problems.append(f"{row['path']}: the local segment is missing")
            continue
        body = PlainBody(path) if key is None else EncryptedBody(path, key, bytes.fromhex(row["salt"]))
        sha256 = _sha256_of(path)
        md5 = _md5_of(body)
        listed = listing.get(name)
        result.checked += 1
        if listed is None:
            problems.append(f"{name}: not in the store")
            continue
        if listed["Size"] != body.size:
            problems.append(f"{name}: {listed['Size']} bytes in the store, {body.size} expected")
        if listed["ETag"].strip('"') != md5:
            problems.append(f"{name}: ETag {listed['ETag']} is not the MD5 of the bytes sent ({md5})")
        if row["sha256"] != sha256:
            problems.append(f"{name}: the queue's SHA-256 is not the local file's")
        head = client.head_object(Bucket=BUCKET, Key=name)
        if head["Metadata"].get(META_SHA256) != sha256:
            problems.append(f"{name}: metadata {META_SHA256} is not the local file's SHA-256")
        if downloads.get(row["camera_id"], 0) < download_per_camera:
            data = client.get_object(Bucket=BUCKET, Key=name)["Body"].read()
            plain = data if key is None else decrypt(key, data)
            if hashlib.sha256(plain).hexdigest() != sha256:
                problems.append(f"{name}: the downloaded object's content is not the local file's")
            downloads[row["camera_id"]] = downloads.get(row["camera_id"], 0) + 1
            result.downloaded += 1
    extra = sorted(set(listing) - known)
    if extra:
        problems.append(f"{len(extra)} object(s) in the store that no done row names, e.g. {extra[0]}")
    return result


# --- a run ------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    streams: int
    seconds: float
    warmup: float
    source: str
    encrypted: bool
    window: Window
    drain: Drain
    recording: RecordingCheck
    archive: ArchiveCheck
    archive_state: dict[str, Any]  # storage.archive after the drain
    hwm_kb: int  # the engine's VmHWM before it stopped: its peak RSS, start-up included
    stop_s: float
    exit_code: int | None
    log: str
    log_lines: list[str]
    off: Comparison | None = None  # the same cameras without an archive
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average before and after

    @property
    def keeps_up(self) -> bool:
        return (
            self.window.backlog_max.backlog_items <= self.streams
            and self.drain.seconds is not None
            and self.drain.seconds <= DRAIN_GOAL_S
        )

    @property
    def rss_mb(self) -> float:
        return _measure.to_mb(self.hwm_kb)

    @property
    def rss_met(self) -> bool:
        return self.rss_mb <= RSS_GOAL_MB

    def verdicts(self) -> dict[str, bool]:
        return {
            "keeps up": self.keeps_up,
            "no frame lost": self.recording.no_frame_lost,
            f"RSS <= {RSS_GOAL_MB:g} MB": self.rss_met,
            "archive verified": self.archive.ok,
        }


def _online_since(engine: EngineRun) -> dict[str, int | None]:
    return {c["camera_id"]: c["since_ms"] if c["online"] else None for c in engine.cameras()}


def _wait_warmup(engine: EngineRun, warmup: float) -> None:
    assert engine.proc is not None
    record.wait_warmup([engine.proc], warmup, engine.log)


@dataclass(frozen=True)
class Plan:
    """How this run goes (see ``run``)."""

    streams: int
    seconds: float
    warmup: float
    compare_seconds: float
    interval: float
    drain_timeout: float
    download_per_camera: int
    input_fps: float
    addon: Path
    work: Path
    keep: bool


def run(
    cameras: int = GOAL_STREAMS,
    seconds: float = 180.0,
    *,
    warmup: float | None = None,
    source: str = "file",
    encrypt: bool = False,
    compare_seconds: float = 60.0,
    interval: float = 5.0,
    drain_timeout: float = 300.0,
    download_per_camera: int = 1,
    addon: Path = REPO / "addon",
    keep: bool = False,
    json_path: Path | None = None,
) -> LoadResult:
    """One load run at ``cameras`` cameras over a ``seconds`` window; prints the report and returns it."""
    warmup = warmup if warmup is not None else (25.0 if source == "rtsp" else 15.0)
    info = record.ensure_input()
    WORK.mkdir(parents=True, exist_ok=True)
    rtsp_input = record.long_input(warmup + seconds + drain_timeout + 60) if source == "rtsp" else None
    plan = Plan(
        streams=cameras,
        seconds=seconds,
        warmup=warmup,
        compare_seconds=compare_seconds,
        interval=interval,
        drain_timeout=drain_timeout,
        download_per_camera=download_per_camera,
        input_fps=info["video_packets"] / info["duration_s"],
        addon=addon,
        work=Path(tempfile.mkdtemp(prefix="run-", dir=WORK)),
        keep=keep,
    )
    load_before = os.getloadavg()[0]
    store = SeaweedFS(plan.work / "seaweedfs")
    store.start()
    try:
        store.make_bucket(BUCKET)
        archive = store.archive_options(BUCKET, copy="all")
        if encrypt:
            archive["encryption_key"] = ENCRYPTION_KEY
        result = _with_source(rtsp_input, lambda src: _archive_on(plan, src, archive, store))
        if not keep:
            record.settle(plan.work / "engine-archive")
        store.stop()
        if compare_seconds > 0:
            result.off = _with_source(rtsp_input, lambda src: _archive_off(plan, src))
    finally:
        store.stop()
        if not keep:
            shutil.rmtree(plan.work, ignore_errors=True)
    result.load = (load_before, os.getloadavg()[0])
    print_report(result)
    if json_path is not None:
        json_path.write_text(json.dumps(as_dict(result), indent=2) + "\n", encoding="utf-8")
    return result


def _with_source[T](rtsp_input: Path | None, body: Callable[[record.Source], T]) -> T:
    """Run ``body`` against the file source, or a fresh RTSP server (each stream from the file's start)."""
    if rtsp_input is None:
        return body(record.file_source())
    with record.RtspServer(rtsp_input) as src:
        return body(src)


def _archive_on(plan: Plan, src: record.Source, archive: dict[str, Any], store: SeaweedFS) -> LoadResult:
    assert store.proc is not None
    log = WORK / f"engine-archive-n{plan.streams}.log"
    engine = EngineRun(plan.work / "engine-archive", log, engine_config(plan.streams, src, archive))
    print(f"archive_load: N={plan.streams}: engine with the archive, {plan.warmup:g} s warm-up ...", file=sys.stderr)
    engine.start(plan.addon)
    try:
        _wait_warmup(engine, plan.warmup)
        online = _online_since(engine)
        window = measure_window(engine, store.proc.pid, plan.seconds, plan.interval)
        print("archive_load: stopping the cameras, waiting for the archive to drain ...", file=sys.stderr)
        online_end = _online_since(engine)
        drained, stop_ms = drain(engine, sorted(online), plan.drain_timeout)
        archive_state = engine.archive_status()
        hwm_kb = _measure.status_kb(engine.pid, "VmHWM")
    finally:
        stop_s, code = engine.stop()
    print("archive_load: checking the recordings and every archived object ...", file=sys.stderr)
    key = bytes.fromhex(archive["encryption_key"]) if "encryption_key" in archive else None
    return LoadResult(
        streams=plan.streams,
        seconds=plan.seconds,
        warmup=plan.warmup,
        source=src.kind,
        encrypted=key is not None,
        window=window,
        drain=drained,
        recording=check_recording(engine, online, online_end, stop_ms, plan.input_fps),
        archive=check_archive(engine, store, key, plan.download_per_camera),
        archive_state=archive_state,
        hwm_kb=hwm_kb,
        stop_s=stop_s,
        exit_code=code,
        log=str(log.relative_to(REPO)),
        log_lines=record.interesting_log_lines(log, r" (WARNING|ERROR|CRITICAL) |Traceback"),
    )


@dataclass
class Comparison:
    """The same cameras recorded without an archive."""

    measurement: _measure.Measurement
    rss_kb: list[int]  # VmRSS sampled every interval in the window
    log_lines: list[str]


def _archive_off(plan: Plan, src: record.Source) -> Comparison:
    log = WORK / f"engine-no-archive-n{plan.streams}.log"
    engine = EngineRun(plan.work / "engine-no-archive", log, engine_config(plan.streams, src, None))
    print(
        f"archive_load: N={plan.streams}: engine without the archive, {plan.compare_seconds:g} s ...", file=sys.stderr
    )
    engine.start(plan.addon)
    try:
        _wait_warmup(engine, plan.warmup)
        measurement, rss = _measure_with_rss(engine.pid, plan.compare_seconds, plan.interval)
    finally:
        engine.stop()
    if not plan.keep:
        record.settle(engine.storage)
    return Comparison(measurement, rss, record.interesting_log_lines(log, r" (WARNING|ERROR|CRITICAL) |Traceback"))


def _measure_with_rss(pid: int, seconds: float, interval: float) -> tuple[_measure.Measurement, list[int]]:
    """``_measure.measure`` over the window, with VmRSS sampled beside it (its trend shows a leak)."""
    result: list[_measure.Measurement] = []
    thread = threading.Thread(target=lambda: result.append(_measure.measure([pid], seconds)))
    start = time.monotonic()
    thread.start()
    rss: list[int] = []
    while seconds - (time.monotonic() - start) > interval:
        time.sleep(interval)
        rss.append(_measure.status_kb(pid, "VmRSS"))
    thread.join()
    return result[0], rss


# --- report -----------------------------------------------------------------------------------


def print_report(r: LoadResult) -> None:
    w, m, mb = r.window, r.window.measurement, _measure.to_mb
    peak = w.backlog_max
    last = w.samples[-1] if w.samples else None
    enc = ", encrypted" if r.encrypted else ""
    print()
    print(
        f"Archive load ({r.source} source{enc}): {r.streams} cameras x 4 Mbit/s recorded and archived (copy: all)"
        f" to SeaweedFS on this machine; window {m.wall_s:.0f} s after a {r.warmup:g} s warm-up; MB = 10^6 bytes"
    )
    print(f"{'':34} {'value':>12}  goal")
    rows = [
        ("footage recorded in the window", f"{w.recorded_bytes / _MB:.1f} MB", ""),
        ("footage archived in the window", f"{w.archived_bytes / _MB:.1f} MB", f"({w.archived_items} segments)"),
        ("  archived / recorded", f"{w.archived_bytes / w.recorded_bytes if w.recorded_bytes else 0:.3f}", ""),
        ("backlog max (sampled)", f"{peak.backlog_items} seg",
         f"{peak.backlog_bytes / _MB:.1f} MB at {peak.at_s:.0f} s; <= {r.streams} segments"),
        ("backlog at the window's end", f"{last.backlog_items if last else '-'} seg",
         f"{last.backlog_bytes / _MB:.1f} MB" if last else ""),
        ("backlog trend", f"{w.backlog_slope():+.2f} seg/min", "about 0 when it keeps up"),
        ("backlog when the cameras stopped", f"{r.drain.backlog_at_stop[0]} seg",
         f"{r.drain.backlog_at_stop[1] / _MB:.1f} MB"),
        ("drained after the stop", "never" if r.drain.seconds is None else f"{r.drain.seconds:.1f} s",
         f"<= {DRAIN_GOAL_S:g} s (gave up after {r.drain.timeout_s:g} s)"),
        ("engine peak RSS (VmHWM)", f"{r.rss_mb:.1f} MB", f"<= {RSS_GOAL_MB:g} MB"),
        ("engine RSS max sampled in window", f"{mb(m.peak_rss_kb):.1f} MB", ""),
        ("engine CPU, archive on", f"{m.cpu_share:.3f}", "cores (user+sys per wall second)"),
    ]  # fmt: skip
    rss = [s.rss_kb for s in w.samples]
    if rss:
        rows.append(("engine RSS in the window", f"{mb(rss[0]):.1f} MB", f"first sample; last {mb(rss[-1]):.1f} MB"))
    if r.off is not None:
        off = r.off.measurement
        rows.append(("engine CPU, archive off", f"{off.cpu_share:.3f}", f"cores, over {off.wall_s:.0f} s"))
        rows.append(("  archive's share", f"{m.cpu_share - off.cpu_share:+.3f}", "cores (on - off)"))
        rows.append(
            (
                "engine peak RSS, archive off",
                f"{mb(off.hwm_kb):.1f} MB",
                f"archive on - off: {mb(r.hwm_kb - off.hwm_kb):+.1f} MB",
            )
        )
        if r.off.rss_kb:
            first_mb, last_mb = mb(r.off.rss_kb[0]), mb(r.off.rss_kb[-1])
            rows.append(("engine RSS, archive off", f"{first_mb:.1f} MB", f"first sample; last {last_mb:.1f} MB"))
    rows.append(("SeaweedFS CPU (not counted)", f"{w.store_cpu_s / m.wall_s if m.wall_s else 0:.3f}", "cores"))
    for name, value, goal in rows:
        print(f"  {name:32} {value:>12}  {goal}")
    state = r.archive_state
    print(
        f"  archive status after the drain: uploaded {state.get('uploaded')}, lost {state.get('lost')},"
        f" reachable {state.get('reachable')}, last_error {state.get('last_error')!r}"
    )

    rec = r.recording
    idx = rec.index
    print()
    print(
        f"Recording: {idx.get('segments')} segments ({idx.get('segments_per_camera')} per camera),"
        f" {idx.get('media_s')} media s, {idx.get('frames')} frames, {idx.get('gaps')} gaps,"
        f" {idx.get('recovered')} recovered; {rec.reanchored} re-anchoring line(s) in the log"
    )
    if rec.cameras:
        fps = [c.fps for c in rec.cameras]
        late = [c.start_late_ms / 1000 for c in rec.cameras]
        early = [c.end_early_ms / 1000 for c in rec.cameras]
        missing = [c.frames_missing for c in rec.cameras]
        print(
            f"  per camera: frames/s of footage {min(fps):.3f}..{max(fps):.3f} (input {rec.cameras[0].input_fps:.3f});"
            f" frames sent - recorded {min(missing):.0f}..{max(missing):.0f};"
            f" footage starts {min(late):.1f}..{max(late):.1f} s after connecting,"
            f" ends {min(early):.1f}..{max(early):.1f} s before the stop;"
            f" breaks between segments {sum(c.breaks for c in rec.cameras)}"
        )
    for gap in rec.gaps[:10]:
        print(f"  gap: {gap}")
    for camera in rec.cameras:
        for problem in camera.problems():
            print(f"  {camera.camera_id}: {problem}")

    arc = r.archive
    print()
    print(
        f"Archive: queue {arc.states}, {arc.segments} segments in the index, {arc.objects} objects in the store;"
        f" {arc.checked} checked (size, ETag = MD5 of the bytes sent, SHA-256 metadata),"
        f" {arc.downloaded} downloaded and compared"
    )
    if arc.lag_ms:
        print(
            f"  segment end -> archived: median {arc.lag_s(0.5):.1f} s, 95 % {arc.lag_s(0.95):.1f} s,"
            f" max {arc.lag_s(1.0):.1f} s (a segment is indexed when it closes, at its last frame)"
        )
    for problem in arc.problems[:15]:
        print(f"  {problem}")
    if len(arc.problems) > 15:
        print(f"  ... {len(arc.problems) - 15} more")

    print()
    print(
        f"Engine stopped in {r.stop_s:.1f} s (exit {r.exit_code}); log {r.log}:"
        f" {len(r.log_lines) or 'no'} warning/error line(s)"
    )
    for line in r.log_lines[:15]:
        print(f"    {line}")
    if r.off is not None and r.off.log_lines:
        print(f"  without the archive: {len(r.off.log_lines)} warning/error line(s), e.g. {r.off.log_lines[0]}")
    print(f"load average (1 min) before {r.load[0]:.2f}, after {r.load[1]:.2f}; {os.cpu_count()} CPUs")
    met = {True: "met", False: "NOT met"}
    at = "" if r.streams == GOAL_STREAMS else f" (goals are set at N={GOAL_STREAMS}; this run has N={r.streams})"
    print(f"Goals{at}: " + "; ".join(f"{name}: {met[ok]}" for name, ok in r.verdicts().items()))


def as_dict(r: LoadResult) -> dict[str, Any]:
    return {
        "benchmark": "archive_load",
        "streams": r.streams,
        "seconds": r.seconds,
        "warmup": r.warmup,
        "source": r.source,
        "encrypted": r.encrypted,
        "cpus": os.cpu_count(),
        "load": r.load,
        "window": {
            "measurement": r.window.measurement.as_dict(),
            "recorded_bytes": r.window.recorded_bytes,
            "archived_bytes": r.window.archived_bytes,
            "archived_items": r.window.archived_items,
            "store_cpu_s": r.window.store_cpu_s,
            "backlog_slope_per_min": r.window.backlog_slope(),
            "samples": [vars(s) for s in r.window.samples],
        },
        "drain": vars(r.drain),
        "recording": {
            "index": r.recording.index,
            "gaps": r.recording.gaps,
            "reanchored": r.recording.reanchored,
            "cameras": [
                {**vars(c), "fps": c.fps, "frames_sent": c.frames_sent, "problems": c.problems()}
                for c in r.recording.cameras
            ],
        },
        "archive": {**vars(r.archive), "ok": r.archive.ok},
        "archive_state": r.archive_state,
        "engine_rss_mb": r.rss_mb,
        "rss_goal_mb": RSS_GOAL_MB,
        "off": None
        if r.off is None
        else {"measurement": r.off.measurement.as_dict(), "rss_kb": r.off.rss_kb, "log_lines": r.off.log_lines},
        "stop_s": r.stop_s,
        "exit_code": r.exit_code,
        "log_lines": r.log_lines,
        "verdicts": r.verdicts(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench archive_load", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cameras", type=int, default=GOAL_STREAMS, help=f"cameras (default {GOAL_STREAMS})")
    parser.add_argument("--seconds", type=float, default=180, help="measuring window after warm-up (default 180)")
    parser.add_argument("--warmup", type=float, help="seconds before the window (default 15; 25 with --source rtsp)")
    parser.add_argument(
        "--source", choices=("file", "rtsp"), default="file", help="file cameras or a local RTSP server"
    )
    parser.add_argument("--encrypt", action="store_true", help="client-side encryption (AES-256-GCM) on")
    parser.add_argument(
        "--compare-seconds",
        type=float,
        default=60,
        help="window without the archive, for its CPU (0: skip; default 60)",
    )
    parser.add_argument("--interval", type=float, default=5, help="seconds between backlog samples (default 5)")
    parser.add_argument("--drain-timeout", type=float, default=300, help="longest wait for the drain (default 300)")
    parser.add_argument(
        "--download", type=int, default=1, help="objects per camera downloaded and compared (default 1)"
    )
    parser.add_argument("--addon", type=Path, default=REPO / "addon", help="folder holding the engine package")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--keep", action="store_true", help=f"keep recordings and store under {WORK.relative_to(REPO)}")
    args = parser.parse_args(argv)
    if not 1 <= args.cameras <= 100:
        parser.error("--cameras: between 1 and 100")
    if args.seconds < 3 * args.interval:
        parser.error("--seconds: at least three sampling intervals")
    result = run(
        args.cameras,
        args.seconds,
        warmup=args.warmup,
        source=args.source,
        encrypt=args.encrypt,
        compare_seconds=args.compare_seconds,
        interval=args.interval,
        drain_timeout=args.drain_timeout,
        download_per_camera=args.download,
        addon=args.addon.resolve(),
        keep=args.keep,
        json_path=args.json,
    )
    del result  # printed by run(); a goal not met is a result, not a failure of the benchmark
    return 0


if __name__ == "__main__":
    sys.exit(main())
