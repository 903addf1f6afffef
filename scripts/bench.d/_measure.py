"""Process measurement shared by the benchmarks: CPU time and memory of process trees, read from /proc.

A benchmark starts its processes, lets them warm up, then calls :func:`measure` for a fixed window:
CPU is the (user + system) time the trees used during the window, memory the peak seen. Linux only.

* CPU of a tree: the root's own time, plus what it collected from children it reaped, plus the time of
  its live descendants (found by parent pid; this kernel may lack ``/proc/PID/task/TID/children``).
* ``VmHWM`` (the kernel's peak RSS) and ``VmRSS`` come from ``/proc/PID/status``; ``Pss`` from
  ``/proc/PID/smaps_rollup``. Summing RSS over many processes counts shared libraries once per
  process; PSS shares them out, so the PSS sum is the fair total for a group of processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

CLK_TCK = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")
KB = 1024
MB = 1_000_000


class ProcessGone(Exception):
    """The process exited (or never existed) while being measured."""


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii", errors="replace")
    except (FileNotFoundError, ProcessLookupError) as err:
        raise ProcessGone(str(path)) from err


def _stat_fields(pid: int) -> list[str]:
    """Fields of /proc/PID/stat after the command name, which may itself hold spaces and parentheses."""
    text = _read(PROC / str(pid) / "stat")
    return text[text.rindex(")") + 2 :].split()


def cpu_times(pid: int, *, reaped_children: bool = True) -> tuple[float, float]:
    """(user, system) CPU seconds of ``pid`` (all its threads), plus those of the children it reaped."""
    fields = _stat_fields(pid)
    # After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    user, system = int(fields[11]), int(fields[12])
    if reaped_children:
        user, system = user + int(fields[13]), system + int(fields[14])
    return user / CLK_TCK, system / CLK_TCK


def cpu_seconds(pid: int, *, reaped_children: bool = True) -> float:
    """User + system CPU seconds of ``pid``, as :func:`cpu_times`."""
    return sum(cpu_times(pid, reaped_children=reaped_children))


def descendants(roots: Iterable[int]) -> dict[int, list[int]]:
    """The live descendants of each root (not the root itself), by scanning parent pids in /proc."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int(_stat_fields(int(entry.name))[1])
        except ProcessGone, ValueError, IndexError:
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    result: dict[int, list[int]] = {}
    for root in roots:
        found: list[int] = []
        stack = list(children.get(root, []))
        while stack:
            pid = stack.pop()
            found.append(pid)
            stack.extend(children.get(pid, []))
        result[root] = found
    return result


def tree_cpu_times(root: int, tree: Sequence[int] = ()) -> tuple[float, float]:
    """(user, system) CPU seconds of ``root`` and its reaped children, plus those of the live descendants ``tree``."""
    user, system = cpu_times(root)
    for pid in tree:
        try:
            more = cpu_times(pid, reaped_children=False)
        except ProcessGone:
            continue  # exited between the scan and now; its parent collects its time
        user, system = user + more[0], system + more[1]
    return user, system


def status_kb(pid: int, key: str) -> int:
    """A ``kB`` figure of /proc/PID/status, such as ``VmRSS`` or ``VmHWM`` (0 for a kernel thread)."""
    for line in _read(PROC / str(pid) / "status").splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def mapped_files(pid: int) -> set[str]:
    """Paths of the files mapped into the process (libraries, extension modules), from /proc/PID/maps."""
    paths = set()
    for line in _read(PROC / str(pid) / "maps").splitlines():
        fields = line.split(None, 5)
        if len(fields) == 6 and fields[5].startswith("/"):
            paths.add(fields[5])
    return paths


def pss_kb(pid: int) -> int:
    """Proportional set size: each shared page counted as its share among the processes mapping it."""
    for line in _read(PROC / str(pid) / "smaps_rollup").splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


@dataclass
class Measurement:
    """What a group of process trees used over one measuring window. Memory figures are in kB."""

    processes: int
    wall_s: float
    cpu_s: float  # user + system
    user_s: float = 0.0
    sys_s: float = 0.0
    peak_rss_kb: int = 0  # max over the samples of the summed VmRSS
    hwm_kb: int = 0  # sum of VmHWM (each process's own peak) at the end of the window
    pss_kb: int = 0  # sum of PSS at the end of the window
    peak_pss_kb: int = 0  # max over the samples of the summed PSS
    anon_kb: int = 0  # sum of RssAnon at the end of the window (heap, stacks, ...)
    file_kb: int = 0  # sum of RssFile at the end of the window (mapped libraries and files)
    samples: int = 0
    exited: list[int] = field(default_factory=list)  # roots that ended during the window: figures incomplete

    @property
    def cpu_share(self) -> float:
        """CPU seconds per second of wall time: 1.0 is one core kept busy."""
        return self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["cpu_share"] = self.cpu_share
        return data


def _memory(pids: Iterable[int], *, with_pss: bool) -> tuple[int, int, int]:
    rss = hwm = pss = 0
    for pid in pids:
        try:
            rss += status_kb(pid, "VmRSS")
            hwm += status_kb(pid, "VmHWM")
            if with_pss:
                pss += pss_kb(pid)
        except ProcessGone:
            continue
    return rss, hwm, pss


def _alive(pid: int) -> bool:
    try:
        return _stat_fields(pid)[0] not in {"Z", "X"}
    except ProcessGone:
        return False


def measure(roots: Sequence[int], seconds: float, interval: float = 1.0, pss_every: int = 5) -> Measurement:
    """Measure the process trees under ``roots`` for ``seconds`` from now.

    Memory is sampled every ``interval`` seconds (PSS, dearer to read, every ``pss_every`` samples and at
    the end). The caller stops the processes afterwards: their figures are read while they still run.
    """
    trees = descendants(roots)
    start_cpu = {root: tree_cpu_times(root, trees[root]) for root in roots}
    start = time.monotonic()
    result = Measurement(processes=len(roots), wall_s=0.0, cpu_s=0.0)
    deadline = start + seconds
    while True:
        now = time.monotonic()
        if now >= deadline:
            break
        time.sleep(min(interval, deadline - now))
        if time.monotonic() >= deadline:
            break
        trees = descendants(roots)
        pids = [pid for root in roots for pid in (root, *trees[root])]
        with_pss = result.samples % pss_every == 0
        rss, _, pss = _memory(pids, with_pss=with_pss)
        result.samples += 1
        result.peak_rss_kb = max(result.peak_rss_kb, rss)
        result.peak_pss_kb = max(result.peak_pss_kb, pss)
    trees = descendants(roots)
    for root in roots:
        if not _alive(root):
            result.exited.append(root)
            continue
        user, system = tree_cpu_times(root, trees[root])
        result.user_s += user - start_cpu[root][0]
        result.sys_s += system - start_cpu[root][1]
    result.wall_s = time.monotonic() - start
    result.cpu_s = result.user_s + result.sys_s
    pids = [pid for root in roots if root not in result.exited for pid in (root, *trees[root])]
    rss, result.hwm_kb, result.pss_kb = _memory(pids, with_pss=True)
    for pid in pids:
        try:
            result.anon_kb += status_kb(pid, "RssAnon")
            result.file_kb += status_kb(pid, "RssFile")
        except ProcessGone:
            continue
    result.peak_rss_kb = max(result.peak_rss_kb, rss)
    result.peak_pss_kb = max(result.peak_pss_kb, result.pss_kb)
    return result


def stop(processes: Sequence[subprocess.Popen[Any]], sig: int = signal.SIGTERM, timeout: float = 30.0) -> float:
    """Send ``sig`` to every process, wait up to ``timeout`` s for all, then kill the rest.

    Returns the seconds until the last one exited (``timeout`` or more if any had to be killed).
    """
    start = time.monotonic()
    for proc in processes:
        if proc.poll() is None:
            proc.send_signal(sig)
    deadline = start + timeout
    for proc in processes:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return time.monotonic() - start


def files_under(path: Path, suffix: str = "") -> tuple[int, int]:
    """Number and total size in bytes of the files below ``path`` whose names end with ``suffix``."""
    count = total = 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            if name.endswith(suffix):
                try:
                    total += (Path(root) / name).stat().st_size
                except FileNotFoundError:
                    continue
                count += 1
    return count, total


def to_mb(kb: int) -> float:
    """kB (as /proc reports them, i.e. KiB) to MB of 10^6 bytes."""
    return kb * KB / MB
