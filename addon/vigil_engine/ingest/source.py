"""Opening a camera's stream with PyAV and turning failures into clear, password-free errors.

Sources: ``rtsp://``/``rtsps://`` (always over TCP, with open and read timeouts),
``http(s)://`` streams, ``file://`` (replayed at real time and looped, for benchmarks and
demos) and ``demo://`` (the built-in synthetic scene).

Two timeouts bound a network source: the open timeout (PyAV's, for the whole open) and the
read timeout (FFmpeg's socket timeout for each connect, read and write, and PyAV's for each
read once open). An open that failed only when one of them ran out is a timeout naming it,
whatever FFmpeg called it (a request nobody answered is "invalid data" to its RTSP client).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlsplit

import av
from av.audio.stream import AudioStream
from av.container import InputContainer
from av.packet import Packet
from av.video.stream import VideoStream

from vigil_engine.config import CameraConfig
from vigil_engine.redact import redact, with_credentials

if TYPE_CHECKING:
    from .demo import DemoSource

_LOGGER = logging.getLogger(__name__)

FailureKind = Literal["unreachable", "auth", "timeout", "not_found", "invalid", "unsupported", "ended"]

VIDEO_CODECS = {"h264", "hevc"}
# Audio an MP4 segment can carry as it is; anything else (G.711, G.726, ADPCM) is dropped.
MP4_AUDIO_CODECS = {"aac", "mp3", "opus", "alac", "ac3", "eac3"}


class SourceError(Exception):
    """Opening or reading a source failed. ``str()`` is safe to log and to show a user."""

    def __init__(self, kind: FailureKind, message: str) -> None:
        super().__init__(redact(message))
        self.kind = kind


@dataclass
class OpenedSource:
    container: InputContainer
    video: VideoStream
    audio: AudioStream | None
    dropped_audio_codec: str | None = None
    realtime: bool = False
    loop: bool = False
    _demo: DemoSource | None = field(default=None, repr=False)

    @property
    def frame_duration_s(self) -> float:
        rate = self.video.average_rate or self.video.guessed_rate or self.video.base_rate
        if rate and 0 < float(rate) < 240:
            return 1 / float(rate)
        return 1 / 15

    def packets(self, read_timeout: float) -> Iterator[Packet[Any]]:
        """Packets of the recorded streams; files are paced at real time and looped if asked.

        Replayed files are paced per video frame, the way a camera's interleaved stream
        arrives: audio packets travel with the frame they precede rather than waking the
        thread on their own. This runs for every packet of every camera: it reads as few of
        the packet's properties as it can (each is a call into PyAV).
        """
        streams = [self.video] + ([self.audio] if self.audio is not None else [])
        video = self.video
        realtime = self.realtime
        tb = float(video.time_base) if video.time_base is not None else 0.0
        monotonic, sleep = time.monotonic, time.sleep
        offset: float | None = None  # replayed files: monotonic time minus stream time
        loop_base = 0.0  # stream time (s) added to the file's own on this pass over it
        last_ts = 0.0  # the latest video time (s) replayed
        while True:
            try:
                for packet in self.container.demux(streams):
                    if not packet.size:
                        continue  # the empty packets that flush decoders at the end
                    if realtime and packet.stream is video:
                        dts = packet.dts
                        if dts is not None:
                            ts = dts * tb + loop_base
                            if offset is None:
                                offset = monotonic() - ts
                            last_ts = max(last_ts, ts)
                            delay = offset + ts - monotonic()
                            if delay > 0:
                                sleep(delay)
                    yield packet
            except av.FFmpegError as err:
                raise classify_error(err, read_timeout) from None
            if not self.loop:
                return
            # Loop the file: the timestamp repair re-bases the backward jump.
            loop_base = max(last_ts, loop_base) + self.frame_duration_s
            self.container.seek(0)

    def close(self) -> None:
        try:
            self.container.close()
        finally:
            if self._demo is not None:
                self._demo.close()


class OpenTurns:
    """Opens take turns, so that many cameras connecting at once do not all start at once.

    What a camera costs when it connects comes in bursts. Probing decodes the first frames
    of an H.264 stream (seven of them, to learn its decode delay) with a full-size decoder:
    about 10 MB and 0.1 s of CPU per 1080p camera. Then the worker holds the first three
    seconds of packets while it anchors the stream's time (about 1.5 MB at 4 Mbit/s), and
    cameras that started together keep their keyframes and segment boundaries in step.
    Thirty-two cameras connecting together (start-up, a network blip) would need all of that
    at the same moment: several hundred MB, and both cores saturated while running cameras
    wait for their turn to write (measured with scripts/bench record). So opens start at
    least ``spacing_s`` apart, and at most ``limit`` run at once; but a camera whose host
    does not answer must not hold up the others until its open timeout, so an open counts
    against the ``limit`` only for its first ``stale_s`` seconds (after that it is waiting
    on the network, not decoding). Waiters are served in arrival order. With the defaults,
    files open four a second and RTSP cameras (an open takes about a second) two a second:
    the 32nd of 32 cameras connecting together starts recording 8 s (files) or 16 s (RTSP)
    after the first.
    """

    def __init__(self, limit: int, stale_s: float, spacing_s: float) -> None:
        self.limit = limit
        self.stale_s = stale_s
        self.spacing_s = spacing_s
        self._cond = threading.Condition()
        self._running: list[float] = []  # start times of the opens in progress
        self._queue: deque[object] = deque()
        self._last_start = -float("inf")

    def _wait_s(self, now: float) -> float:
        """How long the head of the queue must still wait (0: it may start now)."""
        fresh = sorted(t for t in self._running if now - t < self.stale_s)
        wait = self._last_start + self.spacing_s - now
        if len(fresh) >= self.limit:
            # The turn frees when an open ends (notified) or when the right fresh one goes stale.
            wait = max(wait, fresh[len(fresh) - self.limit] + self.stale_s - now)
        return max(wait, 0.0)

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        ticket = object()
        with self._cond:
            self._queue.append(ticket)
            try:
                while True:
                    now = time.monotonic()
                    if self._queue[0] is ticket:
                        wait = self._wait_s(now)
                        if wait <= 0:
                            break
                        self._cond.wait(wait)
                    else:
                        self._cond.wait()
            finally:
                self._queue.remove(ticket)
                self._cond.notify_all()  # the next in line may go now (or be next to wait)
            start = self._last_start = time.monotonic()
            self._running.append(start)
        try:
            yield
        finally:
            with self._cond:
                self._running.remove(start)
                self._cond.notify_all()


_TURNS = OpenTurns(limit=2, stale_s=1.0, spacing_s=0.25)
# What FFmpeg reads before it trusts the stream parameters. Cameras announce codecs in
# their SDP; a second is plenty and keeps the open fast and its read-ahead burst short.
PROBE_OPTIONS = {"analyzeduration": "1000000", "probesize": "1000000"}


def open_source(camera: CameraConfig, open_timeout: float, read_timeout: float) -> OpenedSource:
    """Open the camera's main stream. Raises :class:`SourceError` with a clear message."""
    with _TURNS.turn():
        return _open_source(camera, open_timeout, read_timeout)


def _open_source(camera: CameraConfig, open_timeout: float, read_timeout: float) -> OpenedSource:
    url = camera.url
    scheme = urlsplit(url).scheme.lower()
    demo: DemoSource | None = None
    started = time.monotonic()
    try:
        if scheme == "demo":
            # Imported here: the demo scene needs numpy, which a recorder of real cameras never loads.
            from .demo import DemoSource  # noqa: PLC0415

            demo = DemoSource()
            container = av.open(demo.reader, "r", format="matroska", timeout=(open_timeout, read_timeout))
        elif scheme == "file":
            path = unquote(urlsplit(url).path)
            container = av.open(path, "r", options=dict(PROBE_OPTIONS), timeout=(open_timeout, read_timeout))
        else:
            options = {**PROBE_OPTIONS, "rw_timeout": str(int(read_timeout * 1_000_000))}
            if scheme.startswith("rtsp"):
                options = {
                    **PROBE_OPTIONS,
                    "rtsp_transport": "tcp",
                    # Socket I/O timeout in microseconds (FFmpeg >= 5 calls it "timeout").
                    "timeout": str(int(read_timeout * 1_000_000)),
                    "allowed_media_types": "video+audio",
                }
            full_url = with_credentials(url, camera.username, camera.password)
            container = av.open(full_url, "r", options=options, timeout=(open_timeout, read_timeout))
    except av.FFmpegError as err:
        if demo is not None:
            demo.close()
        failure = classify_error(err, open_timeout)
        if scheme not in ("file", "demo"):
            failure = _timed_out(failure, time.monotonic() - started, open_timeout, read_timeout)
        raise failure from None
    except OSError as err:
        if demo is not None:
            demo.close()
        raise SourceError("unreachable", f"cannot open source: {err.strerror or err}") from None

    try:
        return _select_streams(container, camera, demo, scheme == "file")
    except SourceError:
        container.close()
        if demo is not None:
            demo.close()
        raise


def _timed_out(failure: SourceError, elapsed: float, open_timeout: float, io_timeout: float) -> SourceError:
    """An open that failed only once a timeout had run out is a timeout, naming that one.

    Two timeouts bound an open: PyAV's for the whole open and FFmpeg's socket timeout for
    each read, connect and write (the read timeout). FFmpeg's RTSP client reports a request
    that got no reply as a reply without a status ("invalid data") or as the end of the
    stream, and a connect that got no answer as ETIMEDOUT, all after the socket timeout;
    a server that answers nonsense does so at once. Measured against a frozen test camera
    with the default timeouts: "invalid data" or ETIMEDOUT after 5.0-5.1 s.
    """
    if failure.kind == "timeout" or (failure.kind in ("invalid", "ended") and elapsed >= io_timeout):
        if elapsed >= open_timeout:
            return SourceError("timeout", f"no answer from the camera within {open_timeout:g} s")
        if elapsed >= io_timeout:
            return SourceError("timeout", f"no answer from the camera within {io_timeout:g} s")
    return failure


def _select_streams(
    container: InputContainer, camera: CameraConfig, demo: DemoSource | None, is_file: bool
) -> OpenedSource:
    if not container.streams.video:
        raise SourceError("invalid", "the stream has no video track")
    video = container.streams.video[0]
    codec = video.codec_context.name
    if codec not in VIDEO_CODECS:
        raise SourceError("unsupported", f"video codec {codec!r} is not supported: set the camera to H.264 or H.265")
    audio: AudioStream | None = None
    dropped: str | None = None
    if container.streams.audio:
        candidate = container.streams.audio[0]
        if candidate.codec_context.name in MP4_AUDIO_CODECS:
            audio = candidate
        else:
            dropped = candidate.codec_context.name
    return OpenedSource(
        container=container,
        video=video,
        audio=audio,
        dropped_audio_codec=dropped,
        realtime=is_file and camera.realtime,
        loop=is_file and camera.loop,
        _demo=demo,
    )


def classify_error(err: av.FFmpegError, timeout: float) -> SourceError:
    """Map FFmpeg's error to a kind and a message that carries no URL or password."""
    # FFmpegError's str() includes the URL it failed on; use only its code and text.
    text = err.strerror or type(err).__name__
    code = err.errno
    if isinstance(err, av.error.HTTPUnauthorizedError | av.error.HTTPForbiddenError):
        return SourceError("auth", "authentication failed: check the camera's user name and password")
    if isinstance(err, av.error.HTTPNotFoundError):
        return SourceError("not_found", "the camera has no stream at this path (404): check the URL")
    if isinstance(err, av.error.ExitError) or code in (errno.ETIMEDOUT, errno.EAGAIN):
        return SourceError("timeout", f"no answer from the camera within {timeout:g} s")
    if code == errno.ECONNREFUSED:
        return SourceError("unreachable", "connection refused: the camera is not listening on this port")
    if code in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN):
        return SourceError("unreachable", "the camera's host is unreachable")
    if code in (errno.ECONNRESET, errno.EPIPE):
        return SourceError("unreachable", "the camera closed the connection")
    if isinstance(err, av.error.InvalidDataError):
        return SourceError("invalid", "the server answered, but not with a playable video stream")
    if isinstance(err, av.error.EOFError):
        return SourceError("ended", "the stream ended")
    if "resolve" in text.lower() or (code == -errno.EIO and "host" in text.lower()):
        return SourceError("unreachable", "the camera's host name cannot be resolved")
    return SourceError("invalid", f"cannot read the stream: {text}")
