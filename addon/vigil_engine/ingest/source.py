"""Opening a camera's stream with PyAV and turning failures into clear, password-free errors.

Sources: ``rtsp://``/``rtsps://`` (always over TCP, with open and read timeouts),
``http(s)://`` streams, ``file://`` (replayed at real time and looped, for benchmarks and
demos) and ``demo://`` (the built-in synthetic scene).
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import av
from av.audio.stream import AudioStream
from av.container import InputContainer
from av.packet import Packet
from av.video.stream import VideoStream

from vigil_engine.config import CameraConfig
from vigil_engine.redact import redact, with_credentials

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
        thread on their own.
        """
        streams = [self.video] + ([self.audio] if self.audio is not None else [])
        video = self.video
        tb = float(video.time_base) if video.time_base is not None else 0.0
        start_mono: float | None = None
        first_ts = 0.0
        loop_base = 0.0
        loop_length = 0.0
        while True:
            try:
                for packet in self.container.demux(streams):
                    if packet.size == 0:
                        continue
                    if self.realtime and packet.stream is video and packet.dts is not None:
                        ts = packet.dts * tb + loop_base
                        if start_mono is None:
                            start_mono, first_ts = time.monotonic(), ts
                        loop_length = max(loop_length, ts - loop_base)
                        delay = start_mono + (ts - first_ts) - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
                    yield packet
            except av.FFmpegError as err:
                raise classify_error(err, read_timeout) from None
            if not self.loop:
                return
            # Loop the file: the timestamp repair re-bases the backward jump.
            loop_base += loop_length + self.frame_duration_s
            loop_length = 0.0
            self.container.seek(0)

    def close(self) -> None:
        try:
            self.container.close()
        finally:
            if self._demo is not None:
                self._demo.close()


# FFmpeg's stream probing buffers up to a few MB per source. When many cameras connect at
# once (start-up, a network blip) their probes overlapping would multiply that peak, so
# opens take turns, two at a time. A camera whose host does not answer holds its turn
# until its open timeout: nobody waits for a turn longer than a second, so a dead camera
# can never delay a healthy one by more than that.
_OPENING = threading.BoundedSemaphore(2)
_TURN_WAIT_S = 1.0
# What FFmpeg reads before it trusts the stream parameters. Cameras announce codecs in
# their SDP; a second is plenty and keeps the open fast and its read-ahead burst short.
PROBE_OPTIONS = {"analyzeduration": "1000000", "probesize": "1000000"}


def open_source(camera: CameraConfig, open_timeout: float, read_timeout: float) -> OpenedSource:
    """Open the camera's main stream. Raises :class:`SourceError` with a clear message."""
    has_turn = _OPENING.acquire(timeout=_TURN_WAIT_S)
    try:
        return _open_source(camera, open_timeout, read_timeout)
    finally:
        if has_turn:
            _OPENING.release()


def _open_source(camera: CameraConfig, open_timeout: float, read_timeout: float) -> OpenedSource:
    url = camera.url
    scheme = urlsplit(url).scheme.lower()
    demo: DemoSource | None = None
    try:
        if scheme == "demo":
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
        raise classify_error(err, open_timeout) from None
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


def tcp_reachable(url: str, timeout: float = 1.0) -> bool | None:
    """Whether the source's TCP port accepts connections (None: not a network source)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"rtsp", "rtsps", "http", "https", "rtmp"} or not parts.hostname:
        return None
    default = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443, "rtmp": 1935}[parts.scheme.lower()]
    try:
        with socket.create_connection((parts.hostname, parts.port or default), timeout=timeout):
            return True
    except OSError:
        return False
