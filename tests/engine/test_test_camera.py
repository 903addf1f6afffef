"""Tests of the RTSP test camera rig itself (tests/support), read back with PyAV."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import av
import av.error
import numpy as np
import pytest
from av.container import InputContainer
from numpy.typing import NDArray

from tests.support.camera import (
    SUB_HEIGHT,
    SUB_WIDTH,
    SYSTEM_PYTHON,
    AuthMode,
    CameraError,
    CameraOptions,
    CameraStartError,
    RtspCamera,
    person_box,
)
from tests.support.fixtures import CameraFactory

OPEN_TIMEOUT: Final = 10.0
READ_TIMEOUT: Final = 10.0
REPO_ROOT: Final = Path(__file__).resolve().parents[2]

Gray = NDArray[np.uint8]


def open_stream(url: str, *, read_timeout: float = READ_TIMEOUT, quick: bool = False) -> InputContainer:
    """Open like the engine does; ``quick`` probes 0.5 s instead of ~2 s (same streams)."""
    options = {"rtsp_transport": "tcp"}
    if quick:
        options["analyzeduration"] = "500000"
    return av.open(url, options=options, timeout=(OPEN_TIMEOUT, read_timeout))


@dataclass
class VideoSample:
    """What one RTSP session delivered, with scene times derived from packet pts."""

    codec: str
    width: int
    height: int
    has_audio: bool
    times: list[float] = field(default_factory=list)
    keyframes: list[int] = field(default_factory=list)
    """Indices (into ``times``) of keyframe packets."""
    frames: list[Gray] = field(default_factory=list)
    """Decoded grayscale pictures (only when decoding was requested)."""
    frame_size: tuple[int, int] | None = None

    def measured_fps(self) -> float:
        intervals = np.diff(np.array(self.times))
        return float(1.0 / np.median(intervals))

    def keyframe_gaps(self) -> list[int]:
        return [b - a for a, b in zip(self.keyframes, self.keyframes[1:], strict=False)]


def sample_video(
    url: str,
    *,
    fps: float,
    until: float | None = None,
    keyframes: int = 0,
    decode: bool = False,
    max_frames: int = 400,
) -> VideoSample:
    """Read video packets until scene time ``until`` and ``keyframes`` keyframes were seen.

    Scene time of a frame is its pts relative to the first frame.  The very first packet
    PyAV returns can lack a pts; such frames are placed at index / fps.
    """
    with open_stream(url) as container:
        stream = container.streams.video[0]
        sample = VideoSample(
            codec=stream.codec_context.name,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            has_audio=bool(container.streams.audio),
        )
        reference: tuple[int, int] | None = None  # (index, pts) of the first timed packet
        for packet in container.demux(stream):
            if packet.size == 0:  # flush packet at end of stream
                break
            index = len(sample.times)
            if packet.pts is not None and reference is None:
                reference = (index, packet.pts)
            if packet.pts is None or reference is None:
                scene_time = index / fps
            else:
                ref_index, ref_pts = reference
                scene_time = float((packet.pts - ref_pts) * packet.time_base) + ref_index / fps
            sample.times.append(scene_time)
            if packet.is_keyframe:
                sample.keyframes.append(index)
            for frame in packet.decode():
                sample.frame_size = (frame.width, frame.height)
                if decode:
                    gray = np.asarray(frame.to_ndarray(format="gray"), dtype=np.uint8)
                    sample.frames.append(gray)
            done_time = until is None or scene_time >= until
            if done_time and len(sample.keyframes) >= keyframes:
                break
            if index + 1 >= max_frames:
                pytest.fail(f"gave up after {max_frames} frames: {sample}")
    return sample


def read_packets(container: InputContainer, count: int) -> int:
    """Read up to ``count`` video packets; returns how many arrived."""
    got = 0
    for packet in container.demux(container.streams.video[0]):
        if packet.size:
            got += 1
        if got >= count:
            break
    return got


def drain(container: InputContainer) -> av.error.FFmpegError | None:
    """Read until the stream ends; returns the error if it ended with one."""
    try:
        for _packet in container.demux(container.streams.video[0]):
            pass
    except av.error.FFmpegError as err:
        return err
    return None


def mean_abs_diff(a: Gray, b: Gray) -> float:
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))


def port_is_listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def pid_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


# --------------------------------------------------------------------- without a server


def test_url_and_options() -> None:
    camera = RtspCamera(auth="digest", user="ad min", password="p@ss:/wörd", port=8554)
    unstarted = RtspCamera()
    with pytest.raises(CameraError, match="not been started"):
        unstarted.url()
    unstarted.close()
    assert camera.url() == "rtsp://ad%20min:p%40ss%3A%2Fw%C3%B6rd@127.0.0.1:8554/h264"
    assert camera.url("/sub", auth=False) == "rtsp://127.0.0.1:8554/sub"
    assert camera.url("h265", password="x") == "rtsp://ad%20min:x@127.0.0.1:8554/h265"
    camera.close()

    plain = RtspCamera(CameraOptions(fps=10), port=1234, motion=((5, 6), (1, 2.5)))
    assert plain.options.motion == ((1.0, 2.5), (5.0, 6.0))
    assert plain.options.keyint_frames == 20
    assert "--motion=1-2.5,5-6" in plain.options.server_args()
    assert not plain.running
    assert plain.url("sub") == "rtsp://127.0.0.1:1234/sub"
    assert plain.url("sub", user="u", password="p") == "rtsp://u:p@127.0.0.1:1234/sub"
    plain.close()

    for bad in (
        {"motion": ((3.0, 1.0),)},
        {"motion": ((0.0, 2.0), (1.0, 3.0))},
        {"width": 321},
        {"fps": 0.0},
        {"keyint": 0.0},
    ):
        with pytest.raises(ValueError, match="must"):
            CameraOptions(**bad)


# --------------------------------------------------------------------- streams


@pytest.mark.parametrize(
    ("mount", "codec", "size", "audio"),
    [
        ("h264", "h264", (1280, 720), True),
        ("h265", "hevc", (1280, 720), True),
        ("h264-noaudio", "h264", (1280, 720), False),
        ("sub", "h264", (SUB_WIDTH, SUB_HEIGHT), False),
    ],
)
def test_mounts(rtsp_camera: RtspCamera, mount: str, codec: str, size: tuple[int, int], audio: bool) -> None:
    options = rtsp_camera.options
    sample = sample_video(rtsp_camera.url(mount), fps=options.fps, until=2.0, keyframes=2)
    assert sample.codec == codec
    assert (sample.width, sample.height) == size
    assert sample.frame_size == size
    assert sample.has_audio is audio
    assert sample.measured_fps() == pytest.approx(options.fps, rel=0.03)
    assert len(sample.times) / (sample.times[-1] - sample.times[0] + 1 / options.fps) == (
        pytest.approx(options.fps, rel=0.05)
    )
    assert options.keyint_frames == 30
    gaps = sample.keyframe_gaps()
    assert gaps, sample.keyframes
    assert all(abs(gap - options.keyint_frames) <= 1 for gap in gaps), sample.keyframes


def test_custom_resolution_fps_and_keyint(rtsp_camera_factory: CameraFactory) -> None:
    camera = rtsp_camera_factory(width=320, height=240, fps=10, keyint=1.0, bitrate=300)
    sample = sample_video(camera.url("h264"), fps=10, until=1.5, keyframes=3)
    assert (sample.codec, sample.width, sample.height) == ("h264", 320, 240)
    assert sample.frame_size == (320, 240)
    assert sample.has_audio
    assert sample.measured_fps() == pytest.approx(10, rel=0.03)
    gaps = sample.keyframe_gaps()
    assert len(gaps) >= 2
    assert all(abs(gap - 10) <= 1 for gap in gaps), sample.keyframes


# --------------------------------------------------------------------- authentication


@pytest.mark.parametrize("mode", ["basic", "digest"])
def test_authentication(rtsp_camera_factory: CameraFactory, mode: AuthMode) -> None:
    camera = rtsp_camera_factory(auth=mode, user="viewer", password="p@ss:/wörd")
    assert "viewer:p%40ss%3A%2Fw%C3%B6rd@" in camera.url("sub")
    with open_stream(camera.url("sub"), quick=True) as container:
        assert read_packets(container, 3) == 3

    for url in (camera.url("sub", password="wrong"), camera.url("sub", auth=False)):
        started = time.monotonic()
        with pytest.raises(av.error.HTTPUnauthorizedError, match="401"):
            open_stream(url, quick=True)
        assert time.monotonic() - started < 3


def test_no_authentication_accepts_anyone(rtsp_camera: RtspCamera) -> None:
    # Credentials are simply ignored by a camera without authentication.
    url = rtsp_camera.url("sub", user="someone", password="anything")
    with open_stream(url, quick=True) as container:
        assert read_packets(container, 1) == 1


# --------------------------------------------------------------------- lifecycle


def test_stop_and_restart_on_same_port(rtsp_camera: RtspCamera) -> None:
    port = rtsp_camera.port
    container = open_stream(rtsp_camera.url("h264-noaudio"), read_timeout=5, quick=True)
    try:
        assert read_packets(container, 5) == 5
        rtsp_camera.stop()
        assert not rtsp_camera.running
        assert rtsp_camera.returncode == 0, rtsp_camera.logs()
        assert not port_is_listening(port)
        started = time.monotonic()
        # Reading drains buffered packets, then ends like a normal end of stream (or errors).
        drain(container)
        assert time.monotonic() - started < 7
    finally:
        container.close()

    rtsp_camera.restart()  # a stopped camera restarts too
    assert rtsp_camera.running
    assert rtsp_camera.port == port
    with open_stream(rtsp_camera.url("h264-noaudio"), quick=True) as container:
        assert read_packets(container, 5) == 5
    rtsp_camera.restart()  # restart while running, right after a client disconnected
    assert rtsp_camera.port == port
    with open_stream(rtsp_camera.url("sub"), quick=True) as container:
        assert read_packets(container, 2) == 2
    assert "SIGTERM received" in rtsp_camera.logs()


def test_freeze_and_thaw(rtsp_camera: RtspCamera) -> None:
    read_timeout = 3.0
    container = open_stream(rtsp_camera.url("sub"), read_timeout=read_timeout, quick=True)
    try:
        assert read_packets(container, 5) == 5
        # A short freeze is survived by an open session.
        rtsp_camera.freeze()
        assert rtsp_camera.frozen
        assert rtsp_camera.running
        time.sleep(0.5)
        rtsp_camera.thaw()
        assert not rtsp_camera.frozen
        assert read_packets(container, 10) == 10

        rtsp_camera.freeze()
        started = time.monotonic()
        with pytest.raises(av.error.FFmpegError):
            read_packets(container, 1000)
        elapsed = time.monotonic() - started
        # FFmpeg hands out the frame its parser still holds after the first timed-out
        # read, so the error surfaces after up to two read timeouts.
        assert read_timeout - 0.5 < elapsed < 2 * read_timeout + 1.5
    finally:
        container.close()

    rtsp_camera.thaw()
    with open_stream(rtsp_camera.url("sub"), quick=True) as container:
        assert read_packets(container, 5) == 5


def test_start_failure_reports_server_stderr() -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        camera = RtspCamera(port=port)
        try:
            with pytest.raises(CameraStartError, match=r"(?s)failed to start.*cannot listen"):
                camera.start()
            assert not camera.running
        finally:
            camera.close()


def test_cold_start_rebuilds_the_plugin_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An empty registry, as after package installs or on a fresh machine: GStreamer must scan
    # every plugin before the server can build its mounts.
    registry = tmp_path / "registry.bin"
    monkeypatch.setenv("GST_REGISTRY", str(registry))
    with RtspCamera(width=320, height=240) as camera:
        assert registry.stat().st_size > 10_000
        assert "GStreamer built its plugin registry" in camera.logs()
        assert camera.init_seconds is not None
        with open_stream(camera.url("sub"), quick=True) as container:
            assert read_packets(container, 3) == 3


def test_slow_init_does_not_count_against_the_start_timeout(tmp_path: Path) -> None:
    # Debian's Python, started 2.5 s late: a stand-in for a registry rebuild on a loaded machine.
    late_python = tmp_path / "late-python3"
    late_python.write_text(f'#!/bin/sh\nsleep 2.5\nexec {SYSTEM_PYTHON} "$@"\n')
    late_python.chmod(0o755)
    with RtspCamera(python=str(late_python), start_timeout=1.5) as camera:
        assert camera.init_seconds is not None
        assert camera.init_seconds >= 2.5
        with open_stream(camera.url("sub"), quick=True) as container:
            assert read_packets(container, 3) == 3


def test_camera_without_plugins_fails_at_once_with_its_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A broken GStreamer (no plugins at all) is not a cold start: the server says what is
    # missing and exits, and the start fails right away with that, whatever the time bounds.
    (tmp_path / "no-plugins").mkdir()
    monkeypatch.setenv("GST_PLUGIN_SYSTEM_PATH_1_0", str(tmp_path / "no-plugins"))
    monkeypatch.setenv("GST_REGISTRY", str(tmp_path / "registry.bin"))
    monkeypatch.delenv("GST_PLUGIN_PATH_1_0", raising=False)
    monkeypatch.delenv("GST_PLUGIN_PATH", raising=False)
    camera = RtspCamera()
    started = time.monotonic()
    try:
        with pytest.raises(CameraStartError) as failure:
            camera.start()
    finally:
        camera.close()
    assert time.monotonic() - started < 5
    message = str(failure.value)
    assert "the server exited with status 2" in message
    assert "GStreamer element 'x264enc' is missing (install gstreamer1.0-plugins-ugly)" in message
    assert camera.init_seconds is not None


@pytest.mark.parametrize(
    ("stage", "script", "problem"),
    [
        ("before init", "exec sleep 30", "GStreamer's init did not finish within 1.5 s"),
        ("after init", "echo 'INIT 0.010'\nexec sleep 30", "no READY line within 1.5 s after GStreamer's init"),
    ],
)
def test_stuck_server_fails_after_its_bound_with_its_stderr(
    tmp_path: Path, stage: str, script: str, problem: str
) -> None:
    stuck = tmp_path / "stuck-server"
    stuck.write_text(f"#!/bin/sh\necho 'stuck {stage}' >&2\n{script}\n")
    stuck.chmod(0o755)
    camera = RtspCamera(python=str(stuck), start_timeout=1.5, init_timeout=1.5)
    started = time.monotonic()
    try:
        with pytest.raises(CameraStartError) as failure:
            camera.start()
        assert not camera.running
    finally:
        camera.close()
    assert 1.5 <= time.monotonic() - started < 4
    assert problem in str(failure.value)
    assert f"--- server stderr ---\nstuck {stage}\n" in str(failure.value)


@pytest.mark.parametrize("ending", ["normal exit", "crash"])
def test_no_orphans_when_controller_dies(ending: str) -> None:
    exit_call = "sys.exit(0)" if ending == "normal exit" else "os._exit(1)"
    script = textwrap.dedent(
        f"""
        import os, sys
        from tests.support.camera import RtspCamera
        camera = RtspCamera().start()
        print(camera.pid, camera.log_path, flush=True)
        {exit_call}
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    pid_text, _, log_path = result.stdout.strip().partition(" ")
    assert pid_text.isdigit(), result.stderr
    pid = int(pid_text)
    deadline = time.monotonic() + 5
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):  # pragma: no cover - clean up before failing
        os.kill(pid, signal.SIGKILL)
        pytest.fail(f"server {pid} outlived its controller ({ending})")
    log = Path(log_path)
    if ending == "crash":  # nothing ran to delete it; the server noticed stdin closing
        assert "stdin closed" in log.read_text()
        log.unlink()
    else:
        assert not log.exists()


# --------------------------------------------------------------------- scene


def test_motion_schedule(rtsp_camera_factory: CameraFactory) -> None:
    camera = rtsp_camera_factory(motion=((1.0, 3.0),))
    fps = camera.options.fps
    sample = sample_video(camera.url("sub"), fps=fps, until=4.5, decode=True)
    assert len(sample.frames) == len(sample.times)
    diffs = [
        (sample.times[i], mean_abs_diff(sample.frames[i - 1], sample.frames[i])) for i in range(1, len(sample.frames))
    ]
    # The first picture after connecting is occasionally decoded damaged (seen once in
    # ~20 runs: a difference of 110 against the next frame, then exactly 0 for every static
    # frame): the static scene is judged from the third frame on.
    before = [d for t, d in diffs if 0.15 <= t <= 0.95]
    inside = [d for t, d in diffs if 1.1 <= t <= 2.95]
    after = [d for t, d in diffs if t >= 3.5]
    report = " ".join(f"{t:.2f}:{d:.2f}" for t, d in diffs)
    assert len(before) >= 10, report
    assert len(inside) >= 25, report
    assert len(after) >= 12, report
    assert max(before) < 0.3, report
    assert min(inside) > 0.6, report
    assert max(after) < 0.3, report


def test_lights_on(rtsp_camera_factory: CameraFactory) -> None:
    camera = rtsp_camera_factory(lights_on=1.5)
    fps = camera.options.fps
    sample = sample_video(camera.url("sub"), fps=fps, until=2.5, decode=True)
    means = [float(frame.mean()) for frame in sample.frames]
    dark = [m for t, m in zip(sample.times, means, strict=True) if t < 1.45]
    bright = [m for t, m in zip(sample.times, means, strict=True) if t > 1.55]
    report = " ".join(f"{t:.2f}:{m:.1f}" for t, m in zip(sample.times, means, strict=True))
    assert dark, report
    assert bright, report
    assert max(dark) - min(dark) < 1.0, report
    assert max(bright) - min(bright) < 1.0, report
    assert min(bright) - max(dark) > 40, report
    threshold = (max(dark) + min(bright)) / 2
    switch = next(t for t, m in zip(sample.times, means, strict=True) if m > threshold)
    # Scene time 0 is known to a frame only: the first packet can arrive without a pts and
    # be followed by a gap (seen: 0.00, 0.07, 0.20), so allow two frame intervals.
    assert switch == pytest.approx(1.5, abs=2 / fps), report


def test_person_walks_in_on_schedule_and_then_stands_still(rtsp_camera_factory: CameraFactory) -> None:
    """The person scene: outside the frame until 1 s, walking in from the left edge until 3 s,
    then standing still. Read back from the substream: the pixels inside the rig's own
    ``person_box`` change as the person enters, those well outside it do not, and once the
    person stands the picture stops changing."""
    walk = (1.0, 3.0)
    camera = rtsp_camera_factory(person=walk)
    fps = camera.options.fps
    sample = sample_video(camera.url("sub"), fps=fps, until=4.5, decode=True)
    empty = sample.frames[2]  # the first frames may be decoded damaged (see test_motion_schedule)
    report: list[str] = []
    for at, frame in zip(sample.times, sample.frames, strict=True):
        x1, y1, x2, y2 = (round(value) for value in person_box(SUB_WIDTH, SUB_HEIGHT, walk, at))
        changed_inside = mean_abs_diff(frame[y1:y2, x1:x2], empty[y1:y2, x1:x2]) if x2 > x1 else 0.0
        # Right of the person, with a margin: scene times are known to a frame only.
        right = min(SUB_WIDTH, x2 + 8) if x2 > 0 else 0
        changed_outside = mean_abs_diff(frame[:, right:], empty[:, right:])
        report.append(f"{at:.2f}:{changed_inside:.1f}/{changed_outside:.2f}")
        if walk[0] + 0.3 <= at:
            assert changed_inside > 20, " ".join(report)  # a person, not bars, where the rig says
        if at >= 0.15:
            assert changed_outside < 1.0, " ".join(report)  # nothing else moves
    standing = [f for t, f in zip(sample.times, sample.frames, strict=True) if t >= walk[1] + 0.2]
    assert len(standing) >= 10
    assert max(mean_abs_diff(standing[0], frame) for frame in standing) < 0.3


def test_person_box_follows_the_walk() -> None:
    walk = (10.0, 14.0)
    assert person_box(1280, 720, walk, 0.0)[2] == 0  # outside the frame: an empty box at the edge
    x1, y1, x2, y2 = person_box(1280, 720, walk, 14.0)
    assert (y1, y2) == (324, 648)  # 45 % of the height, feet at 90 %
    assert (x1 + x2) / 2 == pytest.approx(0.4 * 1280, abs=1)
    assert person_box(1280, 720, walk, 60.0) == (x1, y1, x2, y2)  # standing still
    mid = person_box(1280, 720, walk, 12.0)
    assert 0 < mid[0] < x1
    assert "--person=10-14" in CameraOptions(person=walk).server_args()
    with pytest.raises(ValueError, match="walk window"):
        CameraOptions(person=(5.0, 5.0))
