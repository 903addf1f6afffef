"""Archive benchmark: the engine's uploader against ``rclone copy`` of the same segments to the same store.

Both copy the same folder of segments (random bytes: nothing to compress, like video) in the
engine's layout to a SeaweedFS (``weed mini`` on loopback, as the tests run it), one object at
a time (rclone with ``--transfers 1 --checkers 1``, multipart above 8 MiB in 8 MiB parts like
the engine's defaults), each into a bucket of its own. Every row runs in a fresh process;
``CPU s/GB`` is that process's user + system time (``wait4``) per GB copied, start-up
included; ``wall s`` its run time. The engine's rows run the real uploader (``Uploader`` with
a real index and queue) in a child, without and with client-side encryption (AES-256-GCM).
rclone's own checksums (MD5 of each part) are on, like the engine's; the store's CPU is not
counted. Goal: the uploader within 1.5x of rclone's CPU without encryption.

The machine is shared: trust the ratios more than the absolute figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "addon")]

from tests.archive.seaweedfs import ACCESS_KEY, SECRET_KEY, SeaweedFS  # noqa: E402

DAY = "2026-12-04"
BASE_MS = 1_796_342_400_000  # 2026-12-04 00:00:00 UTC


def _make_segments(recordings: Path, megabytes: int, segment_mb: float) -> tuple[int, int]:
    count = max(1, round(megabytes / segment_mb))
    size = int(segment_mb * 1_000_000)
    for n in range(count):
        hour, rest = divmod(n * 10, 3600)
        path = recordings / "cam" / DAY / f"{hour:02d}" / f"{rest // 60:02d}.{rest % 60:02d}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
    return count, count * size


def _run(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(CPU seconds, wall seconds, stdout) of a child process."""
    started = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{command[0]} failed ({proc.returncode})")
    return usage.ru_utime + usage.ru_stime, time.monotonic() - started, out


def _rclone(store: SeaweedFS, recordings: Path, bucket: str) -> tuple[float, float]:
    env = {
        **os.environ,
        "RCLONE_CONFIG_BENCH_TYPE": "s3",
        "RCLONE_CONFIG_BENCH_PROVIDER": "SeaweedFS",
        "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": ACCESS_KEY,
        "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": SECRET_KEY,
        "RCLONE_CONFIG_BENCH_ENDPOINT": store.endpoint,
    }
    rclone = str(Path(sys.executable).parent / "rclone")
    command = [
        *(rclone, "copy", str(recordings), f"bench:{bucket}/vigil"),
        *("--transfers", "1", "--checkers", "1", "--s3-upload-cutoff", "8Mi", "--s3-chunk-size", "8Mi"),
        *("--s3-upload-concurrency", "1", "--config", "/dev/null"),
    ]
    cpu, wall, _out = _run(command, env)
    return cpu, wall


def _child(recordings: Path, endpoint: str, bucket: str, encrypt: bool) -> None:
    """Runs in the measured process: the engine's uploader copies every segment, then exits."""
    from vigil_engine.archive.queue import ArchiveQueue
    from vigil_engine.archive.uploader import Uploader
    from vigil_engine.config import parse_config
    from vigil_engine.storage.index import Index, SegmentRecord

    options: dict[str, Any] = {
        "endpoint": endpoint,
        "bucket": bucket,
        "access_key_id": ACCESS_KEY,
        "secret_access_key": SECRET_KEY,
        "copy": "all",
    }
    if encrypt:
        options["encryption_key"] = "ab" * 32
    settings = parse_config({"archive": options}).archive
    assert settings is not None
    index, _ = Index.open(recordings.parent / "bench.db")
    queue = ArchiveQueue(index)
    queue.begin()
    for n, path in enumerate(sorted(recordings.rglob("*.mp4"))):
        rel = path.relative_to(recordings).as_posix()
        index.add_segment(
            SegmentRecord("cam", BASE_MS + n * 10_000, BASE_MS + (n + 1) * 10_000, path.stat().st_size, rel)
        )
    uploader = Uploader(settings, queue, recordings, lambda: {"cam": "all"})
    uploader.start()
    while queue.backlog()[0] or uploader.uploaded == 0:
        time.sleep(0.05)
        if uploader.last_error:
            raise SystemExit(f"upload failed: {uploader.last_error}")
    uploader.stop()
    uploader.join()
    index.close()
    (recordings.parent / "bench.db").unlink()
    print(json.dumps({"uploaded": uploader.uploaded, "bytes": uploader.uploaded_bytes}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--megabytes", type=int, default=400, help="footage copied per row (default 400)")
    parser.add_argument("--segment-mb", type=float, default=5.0, help="size of a segment (default 5: 10 s at 4 Mbit/s)")
    parser.add_argument("--child", nargs=4, metavar=("DIR", "ENDPOINT", "BUCKET", "ENCRYPT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        folder, endpoint, bucket, encrypt = args.child
        _child(Path(folder), endpoint, bucket, encrypt == "1")
        return
    with tempfile.TemporaryDirectory(prefix="vigil-bench-archive-") as tmp:
        work = Path(tmp)
        recordings = work / "footage" / "recordings"
        count, total = _make_segments(recordings, args.megabytes, args.segment_mb)
        store = SeaweedFS(work / "seaweedfs")
        store.start()
        try:
            rows: list[tuple[str, float, float]] = []
            store.make_bucket("rclone")
            rows.append(("rclone copy", *_rclone(store, recordings, "rclone")))
            for name, encrypt in (("engine", "0"), ("engine, encrypted", "1")):
                bucket = "engine-enc" if encrypt == "1" else "engine"
                store.make_bucket(bucket)
                command = [sys.executable, __file__, "--child", str(recordings), store.endpoint, bucket, encrypt]
                cpu, wall, _out = _run(command)
                rows.append((name, cpu, wall))
        finally:
            store.stop()
    gigabytes = total / 1e9
    reference = rows[0][1] / gigabytes
    print(f"{count} segments of {args.segment_mb:g} MB ({total / 1e6:.0f} MB) to SeaweedFS, one object at a time")
    print(f"{'':20} {'CPU s/GB':>9} {'wall s':>7} {'MB/s':>6} {'vs rclone':>9}")
    for name, cpu, wall in rows:
        per_gb = cpu / gigabytes
        print(f"{name:20} {per_gb:9.2f} {wall:7.1f} {total / 1e6 / wall:6.0f} {per_gb / reference:8.2f}x")


if __name__ == "__main__":
    main()
