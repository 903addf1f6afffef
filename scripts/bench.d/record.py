"""Recording benchmark: the engine against N ``ffmpeg -c copy -f segment`` processes, in the same run.

For each N, N cameras replay the same 1080p30 4 Mbit/s H.264 + AAC file at real time, looped. First the
engine records them (one process), then N ffmpeg processes segment the same input into 10 s MP4 files;
never both at once. The ffmpeg processes start 0.25 s apart, as the engine admits its cameras, so both
sides' streams are out of step as real cameras' are. Each side gets a warm-up (15 s: 32 cameras take 8 s
to connect, then 3 s to settle), then a fixed window in which its CPU time (user + system) and memory
are measured (see ``_measure``); the engine's peak RSS is the process's own, start-up included. Printed
per N: CPU as a share of one core for each side, their ratio engine/ffmpeg, the engine's peak RSS
against ffmpeg's summed RSS and summed PSS, and what each side wrote. Goals (from the issue): CPU ratio
<= 1.0 and engine peak RSS <= 150 MB at N = 32.

Like for like: ffmpeg only copies the streams into segments, so the engine's cameras are configured
with motion detection off (``motion: {enabled: false}``); what is compared is recording. The run
checks that the engine then never loads numpy (the motion analysis's dependency).

``--source rtsp`` replays the input through a local RTSP server instead (GStreamer's
gst-rtsp-server run by Debian's /usr/bin/python3, a stream per client from the file's start, paced
at real time by the server; its CPU is reported, not counted): both sides then read RTSP over TCP,
as they would from cameras. The input is looped to a longer file for it, since the stream does not
loop.

``--repeat K`` runs each N K times (engine, ffmpeg, engine, ffmpeg, ...): the machine is shared and
one run's ratio can be off by 10-15 %; the goals are then judged on the medians.

The input is generated once with /usr/bin/ffmpeg (testsrc2 + sine, about 40 s of encoding on two
cores) and cached in ``.bench/`` at the repository root; the engines' logs are kept in
``.bench/record/`` after the run, the recordings only with ``--keep``.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _measure

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / ".bench"
WORK = BENCH / "record"
INPUT = BENCH / "input-1080p30-h264-4M-aac-60s.mkv"
FFMPEG = "/usr/bin/ffmpeg"
FFPROBE = "/usr/bin/ffprobe"

SEGMENT_SECONDS = 10
CPU_RATIO_GOAL = 1.0
RSS_GOAL_MB = 150.0
GOAL_STREAMS = 32
INPUT_BITRATE = 4_000_000
# The engine starts opening a camera at most every 0.25 s (``vigil_engine.ingest.source.OpenTurns``).
STAGGER_S = 0.25


# --- the input --------------------------------------------------------------------------------


def generate_input(path: Path) -> None:
    """60 s of 1920x1080 30 fps H.264 (4 Mbit/s, keyframe every 2 s, no B-frames) and AAC, in Matroska."""
    partial = path.with_suffix(".partial.mkv")
    print(f"record: generating {path.relative_to(REPO)} (about a minute, once)", file=sys.stderr)
    # A little temporal noise makes the picture cost its bitrate, as a camera's sensor noise does.
    options = (
        "-hide_banner -loglevel error -y"
        " -f lavfi -i testsrc2=size=1920x1080:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000"
        " -map 0:v -map 1:a -vf noise=alls=12:allf=t -pix_fmt yuv420p"
        " -c:v libx264 -preset veryfast -profile:v high -b:v 4M -maxrate 4M -bufsize 8M"
        " -g 60 -keyint_min 60 -sc_threshold 0 -bf 0 -c:a aac -b:a 64k -ac 1 -t 60 -f matroska"
    )
    cmd = [FFMPEG, *options.split(), str(partial)]
    subprocess.run(cmd, check=True)
    verify_input(partial)
    partial.rename(path)


def verify_input(path: Path) -> dict[str, Any]:
    """Check the input with ffprobe; exit with the reason if it is not what the benchmark needs."""
    stream_probe = "-v error -of json -show_entries"
    entries = (
        "stream=codec_type,codec_name,width,height,avg_frame_rate,has_b_frames,sample_rate:format=duration,bit_rate"
    )
    out = subprocess.run(
        [FFPROBE, *stream_probe.split(), entries, str(path)], check=True, capture_output=True, text=True
    ).stdout
    probe = json.loads(out)
    streams = {s["codec_type"]: s for s in probe["streams"]}
    video, audio = streams.get("video", {}), streams.get("audio", {})
    packet_probe = "-v error -select_streams v:0 -show_entries packet=pts_time,flags -of csv=p=0"
    packets = subprocess.run(
        [FFPROBE, *packet_probe.split(), str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    keys = [float(p.split(",")[0]) for p in packets if "K" in p.split(",")[1]]
    gops = {round(b - a, 2) for a, b in itertools.pairwise(keys)}
    info = {
        "path": str(path),
        "video": f"{video.get('codec_name')} {video.get('width')}x{video.get('height')} {video.get('avg_frame_rate')}",
        "audio": f"{audio.get('codec_name')} {audio.get('sample_rate')} Hz",
        "duration_s": float(probe["format"]["duration"]),
        "bit_rate": int(probe["format"]["bit_rate"]),
        "video_packets": len(packets),
        "keyframe_interval_s": sorted(gops),
        "b_frames": video.get("has_b_frames"),
    }
    problems = []
    if (video.get("codec_name"), video.get("width"), video.get("height")) != ("h264", 1920, 1080):
        problems.append("video is not 1920x1080 H.264")
    if video.get("avg_frame_rate") != "30/1":
        problems.append("video is not 30 fps")
    if video.get("has_b_frames"):
        problems.append("video has B-frames")
    if audio.get("codec_name") != "aac":
        problems.append("audio is not AAC")
    if not 59 <= info["duration_s"] <= 61:
        problems.append("duration is not 60 s")
    if not 0.85 * INPUT_BITRATE <= info["bit_rate"] <= 1.15 * INPUT_BITRATE:
        problems.append("bit rate is not about 4 Mbit/s")
    if gops != {2.0}:
        problems.append(f"keyframes are not every 2 s: {sorted(gops)}")
    if problems:
        sys.exit(f"record: input {path}: {'; '.join(problems)} (delete it to regenerate)")
    return info


def ensure_input() -> dict[str, Any]:
    BENCH.mkdir(exist_ok=True)
    if not INPUT.exists():
        generate_input(INPUT)
    return verify_input(INPUT)


def long_input(seconds: float) -> Path:
    """The input looped (stream copy) to at least ``seconds``, for an RTSP server, which cannot loop."""
    loops = max(2, math.ceil(seconds / 60))
    path = BENCH / f"{INPUT.stem}-x{loops}.mkv"
    if not path.exists():
        partial = path.with_suffix(".partial.mkv")
        cmd = [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-stream_loop", str(loops - 1)]
        subprocess.run([*cmd, "-i", str(INPUT), "-map", "0", "-c", "copy", str(partial)], check=True)
        partial.rename(path)
    return path


# --- the sources ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """What both sides read: the engine's camera URL and keys, and ffmpeg's input arguments."""

    kind: str
    url: str
    camera: dict[str, Any]
    ffmpeg_input: list[str]


def file_source() -> Source:
    return Source(
        kind="file",
        url=INPUT.as_uri(),
        camera={"realtime": True, "loop": True},
        ffmpeg_input=["-re", "-stream_loop", "-1", "-i", str(INPUT)],
    )


# A one-mount RTSP server for Debian's /usr/bin/python3 (PyGObject + gst-rtsp-server, as the test camera
# uses): the file's H.264 and AAC, payloaded as they are, paced by the pipeline's sinks. Every client gets
# its own pipeline from the file's start (clients joining one shared pipeline mid-stream, 32 at once, made
# ffmpeg 5.1 fail to write its header now and then).
_RTSP_SERVER = """
import os, signal, sys
import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer
Gst.init(None)
launch = (
    "( filesrc location=%s ! matroskademux name=d"
    " d.video_0 ! queue ! h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96 config-interval=-1"
    " d.audio_0 ! queue ! aacparse ! rtpmp4gpay name=pay1 pt=97 )" % sys.argv[1]
)
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service("0")
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(launch)
factory.set_shared(False)
server.get_mount_points().add_factory("/cam", factory)
if server.attach(None) == 0:
    sys.exit("cannot listen")
loop = GLib.MainLoop()
for sig in (signal.SIGTERM, signal.SIGINT):
    GLib.unix_signal_add(GLib.PRIORITY_HIGH, sig, lambda *_: loop.quit() or False)
print("READY %d" % server.get_bound_port(), flush=True)
loop.run()
os._exit(0)
"""


class RtspServer:
    """The RTSP server for one side of a run (a fresh one per side: every side's stream starts at 0)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.cpu_s = 0.0

    def __enter__(self) -> Source:
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", "-c", _RTSP_SERVER, str(self.path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            self.proc.kill()
            sys.exit(f"record: the RTSP server did not start (needs python3-gi and gst-rtsp-server): {line!r}")
        self.url = f"rtsp://127.0.0.1:{int(line.split()[1])}/cam"
        return Source(kind="rtsp", url=self.url, camera={}, ffmpeg_input=["-rtsp_transport", "tcp", "-i", self.url])

    def __exit__(self, *_exc: object) -> None:
        if self.proc is not None:
            with contextlib.suppress(_measure.ProcessGone):
                self.cpu_s = _measure.cpu_seconds(self.proc.pid)
            _measure.stop([self.proc], signal.SIGTERM, timeout=10)


# --- one side of a run ------------------------------------------------------------------------


@dataclass
class Side:
    """One side (engine or ffmpeg) at one N."""

    name: str
    streams: int
    measurement: _measure.Measurement
    run_wall_s: float  # from start to the end of the stop
    stop_s: float
    exit_codes: list[int]
    files: int
    bytes: int
    log: str
    log_lines: list[str] = field(default_factory=list)  # warnings and errors, with repeat counts
    index: dict[str, Any] = field(default_factory=dict)
    numpy_loaded: bool | None = None  # engine only: was numpy mapped into the process?
    server_cpu_s: float | None = None  # RTSP source: CPU of the server over the side's run (not counted)

    @property
    def mbit_per_stream(self) -> float:
        """Written data rate per stream, over the whole run: about the input's 4.1 Mbit/s if paced."""
        return self.bytes * 8 / 1e6 / self.streams / self.run_wall_s if self.run_wall_s else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "streams": self.streams,
            "measurement": self.measurement.as_dict(),
            "run_wall_s": self.run_wall_s,
            "stop_s": self.stop_s,
            "exit_codes": sorted(set(self.exit_codes)),
            "files": self.files,
            "bytes": self.bytes,
            "mbit_per_stream": self.mbit_per_stream,
            "log": self.log,
            "log_lines": self.log_lines,
            "index": self.index,
            "numpy_loaded": self.numpy_loaded,
            "server_cpu_s": self.server_cpu_s,
        }


_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ")
_CAMERA = re.compile(r"\bcam\d{2}\b")


def interesting_log_lines(log: Path, pattern: str) -> list[str]:
    """Lines matching ``pattern``, timestamps stripped and camera ids folded, with how often each came."""
    counts: Counter[str] = Counter()
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if re.search(pattern, line):
            counts[_CAMERA.sub("camNN", _TIMESTAMP.sub("", line.strip()))] += 1
    return [f"{n}x {line}" if n > 1 else line for line, n in counts.most_common()]


def engine_index(db: Path) -> dict[str, Any]:
    """What the engine indexed: segments, frames and media time, gaps."""
    if not db.exists():
        return {}
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        segs, frames, media_ms, recovered = con.execute(
            "SELECT count(*), coalesce(sum(frames), 0), coalesce(sum(end_ms - start_ms), 0),"
            " coalesce(sum(recovered), 0) FROM segments"
        ).fetchone()
        gaps = con.execute("SELECT count(*) FROM gaps").fetchone()[0]
        per_cam = [row[0] for row in con.execute("SELECT count(*) FROM segments GROUP BY camera_id")]
    except sqlite3.Error as err:
        return {"error": str(err)}
    finally:
        con.close()
    return {
        "segments": segs,
        "frames": frames,
        "media_s": media_ms / 1000,
        "recovered": recovered,
        "gaps": gaps,
        "segments_per_camera": [min(per_cam, default=0), max(per_cam, default=0)],
    }


def wait_warmup(procs: list[subprocess.Popen[bytes]], warmup: float, log: Path) -> None:
    deadline = time.monotonic() + warmup
    while time.monotonic() < deadline:
        dead = [p for p in procs if p.poll() is not None]
        if dead:
            _measure.stop(procs, signal.SIGKILL, 5)
            tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
            sys.exit(f"record: {dead[0].args!r} exited with {dead[0].returncode} during warm-up; {log}:\n{tail}")
        time.sleep(0.2)


@dataclass(frozen=True)
class RunSpec:
    """How every side of this benchmark run is run."""

    warmup: float
    seconds: float
    work: Path
    addon: Path  # the engine package's parent folder (PYTHONPATH)
    rtsp_input: Path | None  # None: replay the file directly
    keep: bool = False  # keep the recordings (else each side's are deleted before the next side starts)


def engine_config(streams: int, source: Source) -> dict[str, Any]:
    """The benchmark engine's configuration (without its storage and API): N cameras of the input."""
    return {
        "segment_seconds": SEGMENT_SECONDS,
        "min_free": "1MB",
        "log_level": "info",
        "cameras": [
            {
                "id": f"cam{i:02d}",
                "url": source.url,
                **source.camera,
                # ffmpeg only copies the stream: compare recording with recording (see the module docstring).
                "motion": {"enabled": False},
            }
            for i in range(streams)
        ],
    }


def run_engine(streams: int, spec: RunSpec, tag: str, source: Source) -> Side:
    storage = spec.work / f"engine-{tag}"
    storage.mkdir(parents=True)
    config = {
        "storage_path": str(storage),
        # The engine runs its API as in production, on a free loopback port (no clash with other runs).
        "api_host": "127.0.0.1",
        "api_port": 0,
        **engine_config(streams, source),
    }
    cfg = storage / "config.yaml"
    cfg.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    log = WORK / f"engine-{tag}.log"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(spec.addon), env.get("PYTHONPATH")]))
    start = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vigil_engine", "--config", str(cfg)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=storage,
        )
    wait_warmup([proc], spec.warmup, log)
    measurement = _measure.measure([proc.pid], spec.seconds)
    try:
        numpy_loaded: bool | None = any("/numpy" in name for name in _measure.mapped_files(proc.pid))
    except _measure.ProcessGone:
        numpy_loaded = None
    stop_s = _measure.stop([proc], signal.SIGTERM, timeout=120)
    run_wall_s = time.monotonic() - start
    files, size = _measure.files_under(storage / "recordings", ".mp4")
    return Side(
        name="engine",
        streams=streams,
        measurement=measurement,
        run_wall_s=run_wall_s,
        stop_s=stop_s,
        exit_codes=[proc.returncode],
        files=files,
        bytes=size,
        log=str(log.relative_to(REPO)),
        log_lines=interesting_log_lines(log, r" (WARNING|ERROR|CRITICAL) |Traceback"),
        index=engine_index(storage / "vigil.db"),
        numpy_loaded=numpy_loaded,
    )


def run_ffmpeg(streams: int, spec: RunSpec, tag: str, source: Source) -> Side:
    base = spec.work / f"ffmpeg-{tag}"
    log = WORK / f"ffmpeg-{tag}.log"
    procs: list[subprocess.Popen[bytes]] = []
    start = time.monotonic()
    with log.open("wb") as out:
        for i in range(streams):
            folder = base / f"cam{i:02d}"
            folder.mkdir(parents=True)
            cmd = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", *source.ffmpeg_input]
            cmd += ["-map", "0", "-c", "copy", "-f", "segment"]
            cmd += ["-segment_time", str(SEGMENT_SECONDS), "-segment_format", "mp4", "-reset_timestamps", "1"]
            cmd += [str(folder / "out_%05d.mp4")]
            procs.append(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT))
            # Started as far apart as the engine admits its cameras: both sides' streams out of step
            # with each other, as real cameras' are (cameras in step share wake-ups and caches).
            time.sleep(STAGGER_S)
    wait_warmup(procs, spec.warmup, log)
    measurement = _measure.measure([p.pid for p in procs], spec.seconds)
    # ffmpeg finishes its current segment cleanly on SIGINT (exit status 255: "received signal 2").
    stop_s = _measure.stop(procs, signal.SIGINT, timeout=60)
    run_wall_s = time.monotonic() - start
    files, size = _measure.files_under(base, ".mp4")
    return Side(
        name="ffmpeg",
        streams=streams,
        measurement=measurement,
        run_wall_s=run_wall_s,
        stop_s=stop_s,
        exit_codes=[p.returncode for p in procs],
        files=files,
        bytes=size,
        log=str(log.relative_to(REPO)),
        log_lines=interesting_log_lines(log, r"\S"),
    )


def run_side(name: str, streams: int, spec: RunSpec, tag: str) -> Side:
    """Run one side against its source (a fresh RTSP server for it, if the source is RTSP)."""
    run = run_engine if name == "engine" else run_ffmpeg
    if spec.rtsp_input is None:
        side = run(streams, spec, tag, file_source())
    else:
        server = RtspServer(spec.rtsp_input)
        with server as source:
            side = run(streams, spec, tag, source)
        side.server_cpu_s = server.cpu_s
    if not spec.keep:
        settle(spec.work / f"{name}-{tag}")
    return side


def settle(path: Path) -> None:
    """Flush and delete a side's recordings so the next side starts on a quiet disk."""
    os.sync()
    shutil.rmtree(path, ignore_errors=True)
    os.sync()
    time.sleep(2)


# --- report -----------------------------------------------------------------------------------


def ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")


def print_table(runs: list[tuple[Side, Side]], spec: RunSpec, source: str) -> None:
    mb = _measure.to_mb
    print()
    print(
        f"Recording benchmark ({source} source): CPU over {spec.seconds:g} s after a {spec.warmup:g} s warm-up;"
        " MB = 10^6 bytes; engine cameras have motion detection off (ffmpeg only copies)"
    )
    print("  CPU = (user+sys) seconds per wall second (1.00 = one core); ffmpeg = sum over its N processes")
    print("  engine RSS = peak (VmHWM); ffmpeg RSS = sum of VmHWM, PSS = sum of PSS at the end of the window")
    header = (
        f"{'N':>3} | {'engine CPU':>10} {'ffmpeg CPU':>10} {'ratio':>6} | {'eng RSS':>7} {'eng PSS':>7}"
        f" {'ff ΣRSS':>8} {'ff ΣPSS':>8} {'RSS/ΣPSS':>8} | {'eng files':>9} {'eng MB':>7} {'Mbit/s':>6}"
        f" | {'ff files':>8} {'ff MB':>7} {'Mbit/s':>6}"
    )
    print(header)
    print("-" * len(header))
    for n, group in _by_streams(runs).items():
        for eng, ff in group:
            em, fm = eng.measurement, ff.measurement
            print(
                f"{n:>3} | {em.cpu_share:>10.3f} {fm.cpu_share:>10.3f} {ratio(em.cpu_s, fm.cpu_s):>6.2f} |"
                f" {mb(em.hwm_kb):>7.1f} {mb(em.pss_kb):>7.1f} {mb(fm.hwm_kb):>8.1f} {mb(fm.pss_kb):>8.1f}"
                f" {ratio(em.hwm_kb, fm.pss_kb):>8.2f} |"
                f" {eng.files:>9} {eng.bytes / 1e6:>7.1f} {eng.mbit_per_stream:>6.2f} |"
                f" {ff.files:>8} {ff.bytes / 1e6:>7.1f} {ff.mbit_per_stream:>6.2f}"
            )
        if len(group) > 1:
            med = _medians(group)
            print(
                f"{'med':>3} | {med['engine_cpu']:>10.3f} {med['ffmpeg_cpu']:>10.3f} {med['cpu_ratio']:>6.2f} |"
                f" {med['engine_rss_mb']:>7.1f} {'':>7} {'':>8} {med['ffmpeg_pss_mb']:>8.1f}"
                f"   (median of {len(group)} runs at N={n})"
            )
    print("  Mbit/s = bytes written per stream over the whole run (start to stopped); the input is ~4.1 Mbit/s")
    print()
    for eng, ff in runs:
        idx = eng.index
        print(
            f"N={eng.streams}: engine stopped in {eng.stop_s:.1f} s (exit {sorted(set(eng.exit_codes))}),"
            f" run {eng.run_wall_s:.1f} s, index: {idx.get('segments')} segments"
            f" ({idx.get('segments_per_camera')} per camera), {idx.get('media_s')} media s,"
            f" {idx.get('frames')} frames, {idx.get('gaps')} gaps, {idx.get('recovered')} recovered;"
            f" ffmpeg stopped in {ff.stop_s:.1f} s (exit {sorted(set(ff.exit_codes))}), run {ff.run_wall_s:.1f} s"
        )
        for side in (eng, ff):
            m = side.measurement
            print(
                f"  {side.name}: CPU {m.user_s:.2f} s user + {m.sys_s:.2f} s sys in {m.wall_s:.1f} s;"
                f" RSS peak sampled in the window {_measure.to_mb(m.peak_rss_kb):.1f} MB (sum over processes),"
                f" VmHWM {_measure.to_mb(m.hwm_kb):.1f} MB; at the end: anonymous {_measure.to_mb(m.anon_kb):.1f} MB,"
                f" file-backed {_measure.to_mb(m.file_kb):.1f} MB"
            )
            if side.numpy_loaded is not None:
                loaded = "YES (it should not be, with motion detection off)" if side.numpy_loaded else "no"
                print(f"  {side.name}: numpy loaded: {loaded}")
            if side.server_cpu_s is not None:
                print(f"  {side.name}: RTSP server CPU {side.server_cpu_s:.1f} s over the side's run (not counted)")
            if side.measurement.exited:
                print(f"  {side.name}: {len(side.measurement.exited)} process(es) exited during the window!")
            print(f"  {side.name} log {side.log}: {len(side.log_lines) or 'no'} warning/error line(s)")
            for line in side.log_lines[:15]:
                print(f"    {line}")
            if len(side.log_lines) > 15:
                print(f"    ... {len(side.log_lines) - 15} more")


def _by_streams(runs: list[tuple[Side, Side]]) -> dict[int, list[tuple[Side, Side]]]:
    groups: dict[int, list[tuple[Side, Side]]] = {}
    for eng, ff in runs:
        groups.setdefault(eng.streams, []).append((eng, ff))
    return groups


def _medians(group: list[tuple[Side, Side]]) -> dict[str, float]:
    return {
        "engine_cpu": statistics.median(eng.measurement.cpu_share for eng, _ in group),
        "ffmpeg_cpu": statistics.median(ff.measurement.cpu_share for _, ff in group),
        "cpu_ratio": statistics.median(ratio(eng.measurement.cpu_s, ff.measurement.cpu_s) for eng, ff in group),
        "engine_rss_mb": statistics.median(_measure.to_mb(eng.measurement.hwm_kb) for eng, _ in group),
        "ffmpeg_pss_mb": statistics.median(_measure.to_mb(ff.measurement.pss_kb) for _, ff in group),
    }


def goals(runs: list[tuple[Side, Side]]) -> dict[str, Any]:
    at_goal = _by_streams(runs).get(GOAL_STREAMS)
    if not at_goal:
        return {"measured": False}
    med = _medians(at_goal)
    return {
        "measured": True,
        "runs": len(at_goal),
        "cpu_ratio": med["cpu_ratio"],
        "cpu_ratio_goal": CPU_RATIO_GOAL,
        "cpu_ratio_met": med["cpu_ratio"] <= CPU_RATIO_GOAL,
        "engine_rss_mb": med["engine_rss_mb"],
        "engine_rss_goal_mb": RSS_GOAL_MB,
        "engine_rss_met": med["engine_rss_mb"] <= RSS_GOAL_MB,
        "numpy_loaded": any(eng.numpy_loaded for eng, _ in at_goal),
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench record", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--streams", default="1,8,32", help="comma-separated numbers of cameras (default 1,8,32)")
    parser.add_argument("--seconds", type=float, default=60, help="measuring window per side and N (default 60)")
    parser.add_argument(
        "--warmup",
        type=float,
        help="seconds before the window starts (default 15; 25 with --source rtsp: all cameras connected)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per N; goals are judged on the medians")
    parser.add_argument(
        "--source", choices=("file", "rtsp"), default="file", help="replay the file directly or over RTSP"
    )
    parser.add_argument(
        "--addon", type=Path, default=REPO / "addon", help="folder holding the engine package (compare a copy)"
    )
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--keep", action="store_true", help=f"keep the recordings under {WORK.relative_to(REPO)}")
    args = parser.parse_args()
    try:
        counts = [int(s) for s in args.streams.split(",") if s.strip()]
    except ValueError:
        parser.error("--streams: expected numbers such as 1,8,32")
    if not counts or min(counts) < 1 or max(counts) > 100:
        parser.error("--streams: each number must be between 1 and 100")
    if args.repeat < 1:
        parser.error("--repeat: at least 1")
    # The engine admits connecting cameras a few a second (``ingest.source.OpenTurns``): 32 files take
    # 8 s, 32 RTSP cameras 16 s, then 3 s of settling. The window measures recording, not connecting.
    warmup = args.warmup if args.warmup is not None else (25.0 if args.source == "rtsp" else 15.0)

    input_info = ensure_input()
    WORK.mkdir(parents=True, exist_ok=True)
    rtsp_input = long_input(warmup + args.seconds + 60) if args.source == "rtsp" else None
    load_before = os.getloadavg()
    runs: list[tuple[Side, Side]] = []
    work = Path(tempfile.mkdtemp(prefix="run-", dir=WORK))
    spec = RunSpec(
        warmup=warmup,
        seconds=args.seconds,
        work=work,
        addon=args.addon.resolve(),
        rtsp_input=rtsp_input,
        keep=args.keep,
    )
    try:
        for n in counts:
            for r in range(1, args.repeat + 1):
                tag = f"n{n}" if args.repeat == 1 else f"n{n}-{r}"
                print(f"record: N={n}: engine ...{f' (run {r})' if args.repeat > 1 else ''}", file=sys.stderr)
                eng = run_side("engine", n, spec, tag)
                print(f"record: N={n}: ffmpeg ...", file=sys.stderr)
                ff = run_side("ffmpeg", n, spec, tag)
                runs.append((eng, ff))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()

    print_table(runs, spec, args.source)
    result = goals(runs)
    print()
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}; {os.cpu_count()} CPUs")
    if result["measured"]:
        met = {True: "met", False: "NOT met"}
        of = f" (medians of {result['runs']} runs)" if result["runs"] > 1 else ""
        print(
            f"Goal at N={GOAL_STREAMS}{of}: CPU ratio engine/ffmpeg {result['cpu_ratio']:.2f} <= {CPU_RATIO_GOAL}:"
            f" {met[result['cpu_ratio_met']]}; engine peak RSS {result['engine_rss_mb']:.1f} MB <= {RSS_GOAL_MB:g}"
            f" MB: {met[result['engine_rss_met']]}"
        )
    else:
        print(f"Goals are set at N={GOAL_STREAMS}, which this run did not measure")

    if args.json:
        payload = {
            "benchmark": "record",
            "source": args.source,
            "seconds": args.seconds,
            "warmup": warmup,
            "repeat": args.repeat,
            "addon": str(spec.addon),
            "cpus": os.cpu_count(),
            "load_before": load_before,
            "load_after": load_after,
            "input": input_info,
            "runs": [
                {
                    "streams": eng.streams,
                    "cpu_ratio": ratio(eng.measurement.cpu_s, ff.measurement.cpu_s),
                    "engine": eng.as_dict(),
                    "ffmpeg": ff.as_dict(),
                }
                for eng, ff in runs
            ],
            "goals": result,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
