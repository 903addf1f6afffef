"""Controller for the GStreamer RTSP test camera (``rtsp_server.py``).

The server runs as a subprocess of Debian's system Python, which has PyGObject and
gst-rtsp-server; the test suite itself runs in the project's virtualenv.  This module
only uses the standard library so it can be imported anywhere.

Mounts served by every camera: ``h264`` (H.264 + AAC), ``h265`` (H.265 + AAC),
``h264-noaudio`` and ``sub`` (640x360 H.264 substream of the same scene).  Each client
connection gets its own pipeline, so scene time 0 is the first frame the client receives.

``person=(start, end)`` adds the person scene: a rectangle cut from the shared test photograph
``person.jpg`` (a woman, :data:`PERSON_CROP`) walks in from the left edge between the two scene
times and then stands still (:func:`person_box` says where, in any rendition's pixels).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
import selectors
import signal
import subprocess
import tempfile
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final, Literal, Self, TypedDict, Unpack
from urllib.parse import quote

__all__ = [
    "DEFAULT_INIT_TIMEOUT",
    "MOUNTS",
    "PERSON_CROP",
    "PERSON_IMAGE",
    "SERVER_SCRIPT",
    "SETUP_HINT",
    "SUB_HEIGHT",
    "SUB_WIDTH",
    "SYSTEM_PYTHON",
    "AuthMode",
    "CameraError",
    "CameraOptions",
    "CameraOptionsOverrides",
    "CameraStartError",
    "RtspCamera",
    "gstreamer_problem",
    "person_box",
]

SYSTEM_PYTHON: Final = "/usr/bin/python3"
SERVER_SCRIPT: Final = Path(__file__).resolve().with_name("rtsp_server.py")
MOUNTS: Final = ("h264", "h265", "h264-noaudio", "sub")
SUB_WIDTH: Final = 640
SUB_HEIGHT: Final = 360
# The person of the person scene: Darknet's person.jpg (public domain, in the shared test data
# beside the checkout), the rectangle around the woman only (her box is 189-277 x 97-385; the
# dog and the horse beside her stay out).
PERSON_IMAGE: Final = Path(__file__).resolve().parents[3] / "shared" / "models" / "images" / "person.jpg"
PERSON_CROP: Final = (184, 88, 292, 396)
# As rtsp_server.py draws it: 45 % of the frame's height, feet at 90 %, standing centred at 40 % of the width.
_PERSON_HEIGHT: Final = 0.45
_PERSON_STANDS_AT: Final = 0.4
# GStreamer rebuilds its plugin registry when it is missing or stale (after package installs):
# 0.4 s on an idle machine with the plugins in the page cache, far longer on a cold, loaded one.
DEFAULT_INIT_TIMEOUT: Final = 60.0
SETUP_HINT: Final = (
    "The RTSP test camera needs Debian's GStreamer RTSP server stack for /usr/bin/python3 "
    "(python3-gi, gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-{base,good,bad,ugly}, "
    "gstreamer1.0-libav): run scripts/setup."
)

AuthMode = Literal["none", "basic", "digest"]

# Environment variables that would make the system Python pick up the virtualenv.
_SCRUBBED_ENV: Final = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONSAFEPATH")
_INIT_PREFIX: Final = b"INIT "
_READY_PREFIX: Final = b"READY "
_EXIT_PORT_IN_USE: Final = 3


class CameraError(RuntimeError):
    """Misuse of the camera controller or a failure of the server process."""


class CameraStartError(CameraError):
    """The server did not report READY; the message includes its stderr."""


@dataclass(frozen=True, slots=True)
class CameraOptions:
    """What the camera shows and how it streams (all mounts share these)."""

    width: int = 1280
    height: int = 720
    fps: float = 15
    keyint: float = 2.0
    """Keyframe interval in seconds (x264/x265 key-int-max = round(fps * keyint))."""
    motion: tuple[tuple[float, float], ...] = ()
    """Scene-time windows (start, end) in seconds in which the box moves."""
    lights_on: float | None = None
    """Scene time at which the whole frame steps from dim to normal brightness."""
    person: tuple[float, float] | None = None
    """Scene times (start, end) of the person's walk in from the left edge; standing still after."""
    auth: AuthMode = "none"
    user: str = "admin"
    password: str = "secret"
    bitrate: int = 2000
    """Main stream bitrate in kbit/s (the substream uses a quarter)."""

    def __post_init__(self) -> None:
        if self.width < 16 or self.height < 16 or self.width % 2 or self.height % 2:
            raise ValueError(f"width/height must be even and >= 16, got {self.width}x{self.height}")
        if not 0 < self.fps <= 120:
            raise ValueError(f"fps must be in (0, 120], got {self.fps}")
        if not self.keyint > 0:
            raise ValueError(f"keyint must be positive, got {self.keyint}")
        if self.bitrate <= 0:
            raise ValueError(f"bitrate must be positive, got {self.bitrate}")
        if self.auth not in ("none", "basic", "digest"):
            raise ValueError(f"auth must be 'none', 'basic' or 'digest', got {self.auth!r}")
        if self.lights_on is not None and self.lights_on < 0:
            raise ValueError(f"lights_on must be >= 0, got {self.lights_on}")
        if self.person is not None:
            start, end = (float(value) for value in self.person)
            if start < 0 or end <= start:
                raise ValueError(f"person must be a walk window (start, end) with 0 <= start < end, got {self.person}")
            object.__setattr__(self, "person", (start, end))
        windows = tuple((float(start), float(end)) for start, end in self.motion)
        previous_end = -math.inf
        for start, end in sorted(windows):
            if start < 0 or end <= start or start < previous_end:
                raise ValueError(f"motion windows must be ordered, disjoint (start, end): {windows}")
            previous_end = end
        object.__setattr__(self, "motion", tuple(sorted(windows)))

    @property
    def keyint_frames(self) -> int:
        """Frames between keyframes, as configured on the encoder."""
        return max(1, round(self.fps * self.keyint))

    def server_args(self) -> list[str]:
        """Command-line arguments for ``rtsp_server.py`` (without ``--port``)."""
        args = [
            f"--width={self.width}",
            f"--height={self.height}",
            f"--fps={self.fps:g}",
            f"--keyint={self.keyint:g}",
            f"--auth={self.auth}",
            f"--user={self.user}",
            f"--password={self.password}",
            f"--bitrate={self.bitrate}",
        ]
        if self.motion:
            args.append("--motion=" + ",".join(f"{s:g}-{e:g}" for s, e in self.motion))
        if self.lights_on is not None:
            args.append(f"--lights-on={self.lights_on:g}")
        if self.person is not None:
            args += [
                f"--person={self.person[0]:g}-{self.person[1]:g}",
                f"--person-image={PERSON_IMAGE}",
                "--person-crop=" + ",".join(str(value) for value in PERSON_CROP),
            ]
        return args


class CameraOptionsOverrides(TypedDict, total=False):
    """Keyword arguments accepted wherever a :class:`CameraOptions` can be built."""

    width: int
    height: int
    fps: float
    keyint: float
    motion: tuple[tuple[float, float], ...]
    lights_on: float | None
    person: tuple[float, float] | None
    auth: AuthMode
    user: str
    password: str
    bitrate: int


def person_box(width: int, height: int, walk: tuple[float, float], scene_s: float) -> tuple[float, float, float, float]:
    """Where the person scene draws the person at scene time ``scene_s`` in a ``width`` x ``height``
    rendition: (x1, y1, x2, y2) in its pixels, clipped to the frame (empty before the walk)."""
    left, top, right, bottom = PERSON_CROP
    person_height = max(8, round(height * _PERSON_HEIGHT) // 2 * 2)
    person_width = max(4, round(person_height * (right - left) / (bottom - top)) // 2 * 2)
    outside, standing = -person_width, round(width * _PERSON_STANDS_AT) - person_width // 2
    start, end = walk
    progress = min(1.0, max(0.0, (scene_s - start) / (end - start)))
    x = outside + (standing - outside) * progress
    y = round(height * 0.9) - person_height
    return max(0.0, x), float(y), max(0.0, min(float(width), x + person_width)), float(y + person_height)


@functools.cache
def gstreamer_problem(python: str = SYSTEM_PYTHON) -> str | None:
    """Why the server cannot run here, or None when the GStreamer stack is usable."""
    if not os.access(python, os.X_OK):
        return f"{python} not found. {SETUP_HINT}"
    probe = (
        "import gi\n"
        "for ns in ('Gst', 'GstController', 'GstRtsp', 'GstRtspServer'):\n"
        "    gi.require_version(ns, '1.0')\n"
        "from gi.repository import Gst, GstRtspServer\n"
        "Gst.init(None)\n"
        "missing = [e for e in ('x264enc', 'x265enc', 'compositor', 'videobalance',\n"
        "    'rtph264pay', 'rtph265pay', 'rtpmp4gpay', 'videotestsrc', 'audiotestsrc')\n"
        "    if Gst.ElementFactory.find(e) is None]\n"
        "if not (Gst.ElementFactory.find('avenc_aac') or Gst.ElementFactory.find('voaacenc')):\n"
        "    missing.append('avenc_aac')\n"
        "if missing:\n"
        "    raise SystemExit('missing GStreamer elements: ' + ', '.join(missing))\n"
    )
    try:
        result = subprocess.run(
            [python, "-c", probe],
            capture_output=True,
            text=True,
            # Its Gst.init is the first of the run: on a cold start it rebuilds the registry.
            timeout=DEFAULT_INIT_TIMEOUT,
            env=_server_env(),
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as err:
        return f"cannot run {python}: {err}. {SETUP_HINT}"
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        return f"{detail}. {SETUP_HINT}"
    return None


def _server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _process_state(pid: int) -> str | None:
    """Single-letter state from /proc (R, S, T, Z, ...), None if the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[0]


def _kill(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM (and SIGCONT in case it is frozen), then SIGKILL after ``timeout``."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
            process.send_signal(signal.SIGCONT)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait()
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


class _StdoutLines:
    """The lines a server writes to its stdout, each awaited until a deadline."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        self._fd = process.stdout.fileno()
        self._buffer = b""

    def next(self, deadline: float) -> bytes | None:
        """The next line, stripped; None if none came by ``deadline``; EOFError if stdout closed."""
        with selectors.DefaultSelector() as selector:
            selector.register(self._fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                if not selector.select(remaining):
                    continue
                chunk = os.read(self._fd, 4096)
                if not chunk:
                    raise EOFError
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.strip()


@dataclass
class _Resources:
    """Everything that must be released even if the camera object is just dropped."""

    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def release(self) -> None:
        if self.process is not None:
            _kill(self.process, timeout=2.0)
        with contextlib.suppress(OSError):
            self.log_path.unlink()


class RtspCamera:
    """A local RTSP camera served by ``rtsp_server.py`` on 127.0.0.1.

    >>> with RtspCamera(motion=((1, 3),)) as camera:  # doctest: +SKIP
    ...     av.open(camera.url("sub"), options={"rtsp_transport": "tcp"})
    """

    def __init__(
        self,
        options: CameraOptions | None = None,
        /,
        *,
        port: int = 0,
        start_timeout: float = 5.0,
        init_timeout: float = DEFAULT_INIT_TIMEOUT,
        python: str = SYSTEM_PYTHON,
        **overrides: Unpack[CameraOptionsOverrides],
    ) -> None:
        self.options: Final = dataclasses.replace(options or CameraOptions(), **overrides)
        # Two bounds, because a start has two phases of very different length: GStreamer's
        # init (milliseconds, but many seconds on a cold start, when it rebuilds its plugin
        # registry) and, after it, building the mounts and listening (well under a second).
        # A server that dies fails at once whatever the bounds (its stdout closes).
        self.start_timeout = start_timeout
        self.init_timeout = init_timeout
        self.init_seconds: float | None = None
        """How long GStreamer's init took at the last start (seen from here: spawn to INIT)."""
        self._python = python
        self._port = port
        self._bound_port: int | None = None
        self._frozen = False
        self._returncode: int | None = None
        self._final_logs: str | None = None
        fd, log_path = tempfile.mkstemp(prefix="vigil-rtsp-camera-", suffix=".log")
        os.close(fd)
        self._res = _Resources(Path(log_path))
        # Runs on garbage collection and at interpreter exit: never leave orphans behind.
        self._finalizer = weakref.finalize(self, _Resources.release, self._res)

    def __repr__(self) -> str:
        state = "frozen" if self._frozen else "running" if self.running else "stopped"
        return f"<RtspCamera {state} port={self._bound_port or self._port} {self.options}>"

    # ------------------------------------------------------------------ state

    @property
    def port(self) -> int:
        """The TCP port; fixed after the first start and reused on restarts."""
        if self._bound_port is not None:
            return self._bound_port
        if self._port:
            return self._port
        raise CameraError("the camera has not been started yet, so it has no port")

    @property
    def running(self) -> bool:
        """True while the server process exists (also while frozen)."""
        process = self._res.process
        return process is not None and process.poll() is None

    @property
    def frozen(self) -> bool:
        return self._frozen and self.running

    @property
    def pid(self) -> int | None:
        return self._res.process.pid if self.running and self._res.process else None

    @property
    def returncode(self) -> int | None:
        """Exit status of the last server process (0 after a clean stop)."""
        process = self._res.process
        if process is not None and process.poll() is not None:
            return process.returncode
        return self._returncode

    def url(
        self,
        mount: str = "h264",
        *,
        auth: bool = True,
        user: str | None = None,
        password: str | None = None,
    ) -> str:
        """``rtsp://[user:password@]127.0.0.1:PORT/mount``.

        Credentials are included when ``auth`` is true and either the camera requires
        authentication or ``user``/``password`` are given explicitly (e.g. wrong ones).
        """
        credentials = ""
        if auth and (self.options.auth != "none" or user is not None or password is not None):
            name = self.options.user if user is None else user
            secret = self.options.password if password is None else password
            credentials = f"{quote(name, safe='')}:{quote(secret, safe='')}@"
        return f"rtsp://{credentials}127.0.0.1:{self.port}/{mount.lstrip('/')}"

    @property
    def log_path(self) -> Path:
        """Where the servers' stderr goes (deleted by :meth:`close`)."""
        return self._res.log_path

    def logs(self) -> str:
        """Everything the server processes of this camera wrote to stderr so far."""
        if self._final_logs is not None:
            return self._final_logs
        try:
            return self._res.log_path.read_text(errors="replace")
        except OSError:
            return ""

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Spawn the server and wait until it listens; a restart reuses the same port."""
        if not self._finalizer.alive:
            raise CameraError("the camera is closed")
        if self.running:
            raise CameraError(f"the camera is already running on port {self._bound_port}")
        port = self._bound_port if self._bound_port is not None else self._port
        retry_until = time.monotonic() + self.start_timeout
        while True:
            offset = self._log_size()
            process = self._spawn(port)
            self._res.process = process
            self._frozen = False
            ready_port, problem = self._wait_ready(process)
            if ready_port is not None:
                self._bound_port = ready_port
                return self
            _kill(process, timeout=2.0)
            self._returncode = process.returncode
            # The previous server's socket can linger for a moment after a restart.
            if (
                process.returncode == _EXIT_PORT_IN_USE
                and port != 0
                and self._bound_port is not None
                and time.monotonic() + 0.2 < retry_until
            ):
                time.sleep(0.1)
                continue
            log = self.logs()[offset:].strip() or "(no stderr output)"
            hint = "" if process.returncode == _EXIT_PORT_IN_USE else f"\n{SETUP_HINT}"
            raise CameraStartError(
                f"RTSP test camera failed to start on port {port}: {problem}\n"
                f"command: {' '.join(self._command(port))}\n"
                f"--- server stderr ---\n{log}\n---{hint}"
            )

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM the server, wait up to ``timeout`` seconds, then SIGKILL."""
        process = self._res.process
        if process is None:
            return
        _kill(process, timeout)
        self._returncode = process.returncode
        self._frozen = False
        self._res.process = None

    def restart(self) -> Self:
        self.stop()
        return self.start()

    def freeze(self) -> None:
        """SIGSTOP the server: connections stay open but nothing is sent or answered."""
        self._signal(signal.SIGSTOP, want_stopped=True)
        self._frozen = True

    def thaw(self) -> None:
        """SIGCONT a frozen server."""
        self._signal(signal.SIGCONT, want_stopped=False)
        self._frozen = False

    def close(self) -> None:
        """Stop the server and delete the log file (idempotent)."""
        if not self._finalizer.alive:
            return
        self.stop()
        self._final_logs = self.logs()
        self._finalizer()

    def __enter__(self) -> Self:
        if not self.running:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ internals

    def _log_size(self) -> int:
        return len(self.logs())

    def _command(self, port: int) -> list[str]:
        return [
            self._python,
            str(SERVER_SCRIPT),
            f"--port={port}",
            *self.options.server_args(),
            "--watch-stdin",
        ]

    def _spawn(self, port: int) -> subprocess.Popen[bytes]:
        command = self._command(port)
        with self._res.log_path.open("ab") as log:
            try:
                return subprocess.Popen(
                    command,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    env=_server_env(),
                    cwd=SERVER_SCRIPT.parent,
                    close_fds=True,
                    # Keep terminal signals (Ctrl-C) away; the controller decides.
                    start_new_session=True,
                )
            except OSError as err:
                raise CameraStartError(f"cannot run {self._python}: {err}. {SETUP_HINT}") from err

    def _wait_ready(self, process: subprocess.Popen[bytes]) -> tuple[int | None, str]:
        """The port once the server says READY, or None and why not."""
        spawned = time.monotonic()
        self.init_seconds = None
        lines = _StdoutLines(process)
        try:
            init = lines.next(spawned + self.init_timeout)
            if init is None:
                return None, f"GStreamer's init did not finish within {self.init_timeout:g} s (no INIT line)"
            if not init.startswith(_INIT_PREFIX):
                return None, f"unexpected first line on stdout: {init!r}"
            self.init_seconds = time.monotonic() - spawned
            ready = lines.next(time.monotonic() + self.start_timeout)
        except EOFError:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(1.0)
            return None, f"the server exited with status {process.returncode}"
        if ready is None:
            return None, (
                f"no READY line within {self.start_timeout:g} s after GStreamer's init"
                f" (which took {self.init_seconds:.1f} s)"
            )
        if not ready.startswith(_READY_PREFIX):
            return None, f"unexpected line on stdout after INIT: {ready!r}"
        try:
            return int(ready[len(_READY_PREFIX) :]), ""
        except ValueError:
            return None, f"unexpected line on stdout after INIT: {ready!r}"

    def _signal(self, signum: signal.Signals, *, want_stopped: bool) -> None:
        process = self._res.process
        if process is None or process.poll() is not None:
            raise CameraError("the camera is not running")
        os.kill(process.pid, signum)
        # Signals are asynchronous; wait until the kernel shows the new state.
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            state = _process_state(process.pid)
            if state is None or (state in ("T", "t")) == want_stopped:
                return
            time.sleep(0.005)
        raise CameraError(f"server process {process.pid} did not react to {signum.name}")
