"""A still of any instant: the recorded frame shown at that time, from the indexed segments or the one being written.

Which frame: segments written by the engine's own writer from a 1280x720 clip whose box moves
every frame (2 s GOP) are decoded whole by PyAV (the reference); the still of an instant must be
exactly the reference frame that starts at or before it, pixel for pixel, wherever in its GOP
it falls. Over HTTP: the package's engine (``conftest.live``: the RTSP test camera with a real
outage) answers ``still.jpg`` as ``<img>`` needs it (JPEG, a width, a signed path, caching), with
a clear 404 in the outage and before the first footage, and 24 stills at once (a day's hour
thumbnails) are decoded two at a time at a lower CPU priority while the camera records on.
"""

from __future__ import annotations

import io
import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from tests.api.conftest import Live, request
from tests.api.footage import Footage as Recorded
from tests.api.footage import record_footage
from vigil_engine.api.still import STILL_NICENESS, STILL_WORKERS, NoFrame, frame_at, indexed_footage, logged_footage
from vigil_engine.recording.live import LiveFeed
from vigil_engine.recording.segment_writer import SegmentWriter
from vigil_engine.storage.index import Index

START_MS = 1_796_000_000_000
FPS = 15


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 s of 1280x720 at 15 fps, a keyframe every 2 s, a bar that moves every frame, and AAC."""
    path = tmp_path_factory.mktemp("still-clip") / "clip.mkv"
    ramp = np.tile(np.linspace(16, 235, 1280, dtype=np.uint8), (720, 1))
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = 1280, 720, "yuv420p"
        video.codec_context.gop_size = 2 * FPS
        video.options = {"preset": "ultrafast", "bf": "0"}
        audio = out.add_stream("aac", rate=16000, layout="mono")
        for number in range(8 * FPS):
            picture = ramp.copy()
            picture[:, (number * 9) % 1240 : (number * 9) % 1240 + 40] = 255
            frame = av.VideoFrame.from_ndarray(picture, format="gray").reformat(format="yuv420p")
            frame.pts, frame.time_base = number, Fraction(1, FPS)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        tone = (0.05 * np.sin(np.arange(1024) / 3)).astype(np.float32)[None, :]
        for pts in range(0, 8 * 16000, 1024):
            chunk = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts = 16000, pts
            out.mux(audio.encode(chunk))
        out.mux(audio.encode(None))
    return path


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory, clip: Path) -> tuple[Recorded, Path]:
    folder = tmp_path_factory.mktemp("still-footage")
    index, _ = Index.open(folder / "vigil.db")
    footage = record_footage(index, folder / "recordings", "cam", clip, START_MS, segment_seconds=4.0)
    index.close()
    return footage, folder / "recordings"


def _reference(path: Path, start_ms: int) -> list[tuple[float, np.ndarray]]:
    """Every frame of a segment file, decoded from its start: (UTC ms it starts at, its Y plane)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [(start_ms + float(f.time or 0) * 1000, f.to_ndarray(format="gray")) for f in container.decode(stream)]


def test_the_still_is_the_frame_shown_at_that_instant(recorded: tuple[Recorded, Path]) -> None:
    footage, recordings = recorded
    assert len(footage.segments) == 2
    for segment in footage.segments:
        frames = _reference(recordings / segment.path, segment.start_ms)
        source = indexed_footage(recordings / segment.path, segment.start_ms, "test")
        frame_ms = 1000 / FPS
        # A keyframe, the frame after it, the middle of a frame, the last frame of a GOP (29 frames
        # to decode), the first frame of the next GOP, and the segment's last frame.
        instants = [
            segment.start_ms,
            segment.start_ms + round(frame_ms) + 1,
            segment.start_ms + round(10.5 * frame_ms),
            segment.start_ms + 2000 - 1,
            segment.start_ms + 2000 + 1,
            segment.end_ms - 1,
        ]
        for at_ms in instants:
            expected = max((i for i, (t, _y) in enumerate(frames) if t <= at_ms + 1e-6), default=None)
            assert expected is not None
            got = frame_at(source, at_ms)
            assert got.width == 1280
            assert np.array_equal(got.to_ndarray(format="gray"), frames[expected][1]), (segment.start_ms, at_ms)
            if expected + 1 < len(frames):
                assert not np.array_equal(frames[expected][1], frames[expected + 1][1])  # the box moved
        with pytest.raises(NoFrame):
            frame_at(source, segment.start_ms - 1)


def test_the_segment_being_written_has_stills_up_to_its_last_complete_fragment(clip: Path, tmp_path: Path) -> None:
    """The writer's log (no index row yet) is enough: complete fragments decode, the rest is not there yet."""
    feed = LiveFeed(0)
    writer: SegmentWriter | None = None
    with av.open(str(clip)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0]
        assert video.time_base is not None
        packets = sorted(
            (p for p in container.demux(video, audio) if p.dts is not None and p.size),
            key=lambda p: (float((p.dts or 0) * p.time_base), p.stream is not video),
        )
        start_dts: int | None = None
        for packet in packets:
            assert packet.dts is not None
            assert packet.pts is not None
            if packet.stream is video:
                if writer is None:
                    start_dts = packet.dts
                    writer = SegmentWriter(tmp_path / "open.mp4", "cam", START_MS, video, audio, packet.dts, feed, 1)
                elif packet.is_keyframe:
                    writer.mark_keyframe(packet.dts)
                assert start_dts is not None
                if float((packet.dts - start_dts) * video.time_base) >= 5.0:
                    break  # two GOPs and a half written: the third GOP is still in the muxer
                writer.write_video(packet, packet.pts, packet.dts)
            elif writer is not None:
                writer.write_audio(packet, packet.pts, packet.dts)
    assert writer is not None
    view = feed.segments()[-1]
    assert not view.closed
    source = logged_footage(view)
    assert source is not None
    frames = _reference_of_fragments(tmp_path / "open.mp4", view.init, [(f.offset, f.end) for f in view.fragments])
    assert frames[-1][0] < START_MS + 4000 + 1  # only the two complete GOPs are in the file
    for at_ms in (START_MS + 500, START_MS + 3990):
        expected = max(i for i, (t, _y) in enumerate(frames) if t <= at_ms)
        assert np.array_equal(frame_at(source, at_ms).to_ndarray(format="gray"), frames[expected][1])
    writer.abort()


def _reference_of_fragments(path: Path, init: bytes, spans: list[tuple[int, int]]) -> list[tuple[float, np.ndarray]]:
    data = bytearray(init)
    with path.open("rb") as handle:
        for start, end in spans:
            handle.seek(start)
            data += handle.read(end - start)
    with av.open(io.BytesIO(bytes(data)), "r", format="mp4") as container:
        stream = container.streams.video[0]
        return [(START_MS + float(f.time or 0) * 1000, f.to_ndarray(format="gray")) for f in container.decode(stream)]


# --- over HTTP, from the package's engine --------------------------------------------------------


def _jpeg_gray(body: bytes) -> np.ndarray:
    with av.open(io.BytesIO(body), "r", format="image2pipe") as container:
        frame = next(container.decode(video=0))
    gray: np.ndarray = frame.to_ndarray(format="gray")
    return gray


def test_still_over_http_is_the_recorded_frame_as_jpeg(live: Live) -> None:
    segment = live.engine.segments("front")[1]
    at_ms = segment["start_ms"] + 1234
    response = live.get(f"/api/cameras/front/still.jpg?at_ms={at_ms}")
    assert response.status == 200, response.body[:200]
    assert response.headers["content-type"] == "image/jpeg"
    assert response.body[:2] == b"\xff\xd8"
    still = _jpeg_gray(response.body)
    assert still.shape == (360, 640)
    frames = _reference(live.engine.recordings / segment["path"], segment["start_ms"])
    expected = max(i for i, (t, _y) in enumerate(frames) if t <= at_ms)
    error = np.abs(still.astype(np.int16) - frames[expected][1].astype(np.int16)).mean()
    assert error < 3, error  # the same picture, to JPEG's loss
    small = live.get(f"/api/cameras/front/still.jpg?at_ms={at_ms}&width=320")
    assert _jpeg_gray(small.body).shape == (180, 320)
    # Cacheable: the footage of an instant never changes.
    assert "max-age" in response.headers["cache-control"]
    etag = response.headers["etag"]
    again = live.get(f"/api/cameras/front/still.jpg?at_ms={at_ms}", {"If-None-Match": etag})
    assert again.status == 304


def test_still_of_the_segment_being_written(live: Live) -> None:
    """An instant after the newest indexed segment: the footage being written answers it."""
    deadline = time.monotonic() + 15
    while True:
        newest_indexed = live.engine.segments("front")[-1]["end_ms"]
        at_ms = int(time.time() * 1000) - 1500
        if at_ms > newest_indexed + 200:
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
    response = live.get(f"/api/cameras/front/still.jpg?at_ms={at_ms}")
    assert response.status == 200, response.body[:300]
    assert _jpeg_gray(response.body).shape == (360, 640)


def test_no_footage_at_that_instant_is_a_clear_404(live: Live) -> None:
    gap_start, gap_end = live.outage
    missing = live.get(f"/api/cameras/front/still.jpg?at_ms={(gap_start + gap_end) // 2}")
    assert missing.status == 404
    error = missing.json()["error"]
    assert error["code"] == "no_footage"
    gap = live.engine.gaps("front")[0]
    assert gap["reason"] in error["message"]  # why: the outage the engine recorded
    first = live.engine.segments("front")[0]["start_ms"]
    before = live.get(f"/api/cameras/front/still.jpg?at_ms={first - 60_000}")
    assert (before.status, before.json()["error"]["code"]) == (404, "no_footage")
    assert "Z" in before.json()["error"]["message"]  # the instant, in UTC
    for query in ("", "?at_ms=abc", "?at_ms=-5", f"?at_ms={first}&width=8", f"?at_ms={first}&width=x"):
        bad = live.get(f"/api/cameras/front/still.jpg{query}")
        assert (bad.status, bad.json()["error"]["code"]) == (400, "invalid_argument"), query
    assert live.get(f"/api/cameras/garage/still.jpg?at_ms={first}").status == 404


def test_a_signed_still_opens_without_the_token(live: Live) -> None:
    """What ``<img>`` needs: a plain GET of a signed path; without it, 401."""
    at_ms = live.engine.segments("front")[0]["start_ms"] + 500
    path = f"/api/cameras/front/still.jpg?at_ms={at_ms}&width=320"
    client = live.client()
    try:
        signed = client.result("sign_path", {"path": path, "expires_in": 60})["path"]
    finally:
        client.close()
    response = request(live.port, signed)
    assert response.status == 200
    assert response.body[:2] == b"\xff\xd8"
    assert request(live.port, path).status == 401


def _still_threads(pid: int) -> list[tuple[str, int]]:
    """(name, nice value) of the engine's still-decoding threads."""
    found = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            name = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue
        if name.startswith("still"):
            nice = int(stat.rsplit(")", 1)[1].split()[16])
            found.append((name, nice))
    return found


def test_a_day_of_hour_thumbnails_at_once_never_starves_recording(live: Live) -> None:
    """24 stills at once are decoded two at a time, at a lower priority, while the camera records on."""
    assert live.engine.proc is not None
    pid = live.engine.proc.pid
    segments = live.engine.segments("front")
    gaps_before = len(live.engine.gaps("front"))
    start, end = segments[0]["start_ms"], segments[-1]["end_ms"]
    instants = [start + (end - start) * k // 24 for k in range(24)]
    instants = [t for t in instants if not live.outage[0] <= t < live.outage[1]]
    threads: list[list[tuple[str, int]]] = []
    stop = threading.Event()

    def watch_threads() -> None:
        while not stop.is_set():
            threads.append(_still_threads(pid))
            time.sleep(0.01)

    def one(at_ms: int) -> tuple[int, float]:
        began = time.perf_counter()
        response = live.get(f"/api/cameras/front/still.jpg?at_ms={at_ms}&width=320")
        return response.status, (time.perf_counter() - began) * 1000

    watcher = threading.Thread(target=watch_threads)
    watcher.start()
    began = time.perf_counter()
    try:
        with ThreadPoolExecutor(len(instants)) as pool:
            results = list(pool.map(one, instants))
    finally:
        stop.set()
        watcher.join()
    total = (time.perf_counter() - began) * 1000
    sequential = [one(t)[1] for t in instants[:8]]
    print(
        f"{len(instants)} stills at once: {total:.0f} ms in all; one at a time: median "
        f"{statistics.median(sequential):.0f} ms, slowest {max(sequential):.0f} ms (640x360, 1 s GOP)"
    )
    assert all(status == 200 for status, _ms in results), results
    # Each worker's decoder has threads of its own, named after it and as nice as it.
    busiest = max(threads, key=len)
    assert 0 < len({name for name, _nice in busiest}) <= STILL_WORKERS, busiest
    assert all(nice >= STILL_NICENESS for _name, nice in busiest), busiest
    # The camera recorded on: no outage, and its newest footage is as recent as ever.
    assert len(live.engine.gaps("front")) == gaps_before
    newest = live.get("/api/cameras/front/live.m3u8")
    assert newest.status == 200
