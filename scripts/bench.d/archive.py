"""Archive benchmark: the engine's uploader against ``rclone copy`` of the same segments to the same store.

Both copy the same folder of segments (random bytes: nothing to compress, like video) in the
engine's layout to a SeaweedFS (``weed mini`` on loopback, as the tests run it), one object at
a time (rclone with ``--transfers 1 --checkers 1``, multipart above 8 MiB in 8 MiB parts like
the engine's defaults), each into a bucket of its own. Every row runs in a fresh process whose
user + system time (``wait4``) is its CPU. Two figures per row, per GB copied:

* ``process``: the whole process, start-up included (Python importing the engine's modules and
  reading the index is ~0.4-0.6 s; rclone's start-up a few hundredths);
* ``steady``: what copying costs once running, the figure that matters for an engine that runs
  for months: for the engine, the child's own CPU from the uploader's start to its last upload
  (``getrusage``); for rclone, its process time minus the time of the same ``rclone copy`` of an
  empty folder (its start-up, listing and exit), measured in the same run.

The goal (issue #17) compares ``steady``: the engine within 1.2x of rclone, without and with
encryption. The encrypted rows compare like with like: the engine's AES-256-GCM chunks
against rclone's own client-side encryption (a ``crypt`` remote over the same store: NaCl
secretbox, file names left plain); the table also gives the encrypted engine against plain
rclone. rclone's checksums (MD5 of each part, sent as Content-MD5) are on, like the engine's;
the store's CPU is not counted.

``--cameras N`` runs the 32-camera record-and-archive load instead (``archive_load``).

The machine is shared: trust the ratios more than the absolute figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "addon")]

from tests.archive.seaweedfs import ACCESS_KEY, SECRET_KEY, SeaweedFS  # noqa: E402

DAY = "2026-12-04"
BASE_MS = 1_796_342_400_000  # 2026-12-04 00:00:00 UTC
CPU_GOAL = 1.2  # the engine's steady CPU per GB against rclone's


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


def _rclone(store: SeaweedFS, source: Path, bucket: str, *, crypt: bool = False) -> tuple[float, float]:
    """(CPU s, wall s) of ``rclone copy`` of ``source`` into ``bucket``, through rclone's
    client-side encryption (a ``crypt`` remote over the bucket) if ``crypt``."""
    rclone = str(Path(sys.executable).parent / "rclone")
    password = subprocess.run([rclone, "obscure", "vigil-bench"], capture_output=True, text=True, check=True)
    env = {
        **os.environ,
        "RCLONE_CONFIG_BENCH_TYPE": "s3",
        "RCLONE_CONFIG_BENCH_PROVIDER": "SeaweedFS",
        "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": ACCESS_KEY,
        "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": SECRET_KEY,
        "RCLONE_CONFIG_BENCH_ENDPOINT": store.endpoint,
        "RCLONE_CONFIG_BENCHCRYPT_TYPE": "crypt",
        "RCLONE_CONFIG_BENCHCRYPT_REMOTE": f"bench:{bucket}/vigil",
        "RCLONE_CONFIG_BENCHCRYPT_PASSWORD": password.stdout.strip(),
        "RCLONE_CONFIG_BENCHCRYPT_FILENAME_ENCRYPTION": "off",
        "RCLONE_CONFIG_BENCHCRYPT_DIRECTORY_NAME_ENCRYPTION": "false",
    }
    command = [
        *(rclone, "copy", str(source), "benchcrypt:" if crypt else f"bench:{bucket}/vigil"),
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
    started = resource.getrusage(resource.RUSAGE_SELF)
    uploader.start()
    while queue.backlog()[0] or uploader.uploaded == 0:
        time.sleep(0.05)
        if uploader.last_error:
            raise SystemExit(f"upload failed: {uploader.last_error}")
    ended = resource.getrusage(resource.RUSAGE_SELF)
    uploader.stop()
    uploader.join()
    index.close()
    (recordings.parent / "bench.db").unlink()
    steady = (ended.ru_utime + ended.ru_stime) - (started.ru_utime + started.ru_stime)
    print(json.dumps({"uploaded": uploader.uploaded, "bytes": uploader.uploaded_bytes, "steady_cpu": steady}))


@dataclass
class Row:
    name: str
    cpu: float  # the process, start-up included
    steady: float  # copying alone
    wall: float


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--megabytes", type=int, default=400, help="footage copied per row (default 400)")
    parser.add_argument("--segment-mb", type=float, default=5.0, help="size of a segment (default 5: 10 s at 4 Mbit/s)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of the four rows; medians are compared")
    parser.add_argument("--cameras", type=int, help="run the record-and-archive load with N cameras instead")
    parser.add_argument("--child", nargs=4, metavar=("DIR", "ENDPOINT", "BUCKET", "ENCRYPT"), help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.child:
        folder, endpoint, bucket, encrypt = args.child
        _child(Path(folder), endpoint, bucket, encrypt == "1")
        return
    if args.cameras is not None:
        import archive_load  # the load run's own module (scripts/bench.d), only for --cameras

        archive_load.main(["--cameras", str(args.cameras), *rest])
        return
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    with tempfile.TemporaryDirectory(prefix="vigil-bench-archive-") as tmp:
        work = Path(tmp)
        recordings = work / "footage" / "recordings"
        count, total = _make_segments(recordings, args.megabytes, args.segment_mb)
        empty = work / "empty"
        empty.mkdir()
        store = SeaweedFS(work / "seaweedfs")
        store.start()
        runs: dict[str, list[Row]] = {}
        try:
            idle, _wall = _rclone(store, empty, store.make_bucket("rclone-idle"))
            # Rounds, not blocks of a row: a slow minute of the shared machine spreads over every row.
            for round_ in range(1, args.repeat + 1):
                for name, crypt in (("rclone", False), ("rclone crypt", True)):
                    cpu, wall = _rclone(store, recordings, store.make_bucket(f"rc{int(crypt)}-{round_}"), crypt=crypt)
                    runs.setdefault(name, []).append(Row(name, cpu, cpu - idle, wall))
                for name, encrypt in (("engine", "0"), ("engine, encrypted", "1")):
                    bucket = store.make_bucket(f"engine{encrypt}-{round_}")
                    command = [sys.executable, __file__, "--child", str(recordings), store.endpoint, bucket, encrypt]
                    cpu, wall, out = _run(command)
                    steady = float(json.loads(out.strip().splitlines()[-1])["steady_cpu"])
                    runs.setdefault(name, []).append(Row(name, cpu, steady, wall))
        finally:
            store.stop()
    rows = {
        name: Row(
            name,
            statistics.median(r.cpu for r in rounds),
            statistics.median(r.steady for r in rounds),
            statistics.median(r.wall for r in rounds),
        )
        for name, rounds in runs.items()
    }
    gigabytes = total / 1e9
    print(f"{count} segments of {args.segment_mb:g} MB ({total / 1e6:.0f} MB) to SeaweedFS, one object at a time")
    if args.repeat > 1:
        print(f"medians of {args.repeat} rounds")
    print(f"rclone's start-up (copy of an empty folder): {idle:.2f} CPU s\n")
    print("| row | process CPU s/GB | steady CPU s/GB | wall s | MB/s |")
    print("|---|---:|---:|---:|---:|")
    for row in rows.values():
        print(
            f"| {row.name} | {row.cpu / gigabytes:.2f} | {row.steady / gigabytes:.2f} | {row.wall:.1f}"
            f" | {total / 1e6 / row.wall:.0f} |"
        )
    print("\n| comparison (steady CPU per GB) | ratio | goal <= 1.2x |")
    print("|---|---:|---|")
    pairs = (("engine", "rclone"), ("engine, encrypted", "rclone crypt"), ("engine, encrypted", "rclone"))
    for engine, reference in pairs:
        ratio = rows[engine].steady / rows[reference].steady
        verdict = "met" if ratio <= CPU_GOAL else "NOT met"
        print(f"| {engine} / {reference} | {ratio:.2f}x | {verdict} |")


if __name__ == "__main__":
    main()
