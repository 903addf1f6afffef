"""The demo camera's timecode: every frame says its number, through H.264, without looking like motion."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np

from vigil_engine.ingest.demo import ONE, TIMECODE_BITS, ZERO, DemoScene, DemoSource, Timecode, read_timecode
from vigil_engine.motion.analyzer import MotionAnalyzer
from vigil_engine.motion.settings import MotionSettings

FPS = 15


def _luma(frame: av.VideoFrame) -> np.ndarray:
    return frame.to_ndarray(format="gray")


def test_numbers_drawn_are_read_back_exactly() -> None:
    scene = DemoScene()
    for number in (0, 1, 2, 3, 1000, 123_456, (1 << TIMECODE_BITS) - 1):
        assert read_timecode(_luma(scene.frame(0.0, number))) == number


def test_gray_code_changes_one_cell_per_frame() -> None:
    code = Timecode.for_width(640)
    assert code.cell == 8
    for number in range(0, 5000, 7):
        changed = np.count_nonzero(code.levels(number) != code.levels(number + 1))
        assert changed == 1, number


def test_a_frame_without_a_timecode_is_refused() -> None:
    scene = DemoScene()
    assert read_timecode(_luma(scene.frame(0.0))) is None  # the plain scene: no guard cells
    grey = np.full((360, 640), 128, np.uint8)
    assert read_timecode(grey) is None
    damaged = _luma(scene.frame(0.0, 77))
    code = scene.timecode
    middle = code.x + 5 * code.cell + code.cell // 2
    damaged[code.y : code.y + code.cell, middle - 4 : middle + 4] = (ONE + ZERO) // 2  # one cell gone grey
    assert read_timecode(damaged) is None


def test_the_live_demo_source_numbers_its_frames_through_h264() -> None:
    """The demo camera itself (real time, libx264 at its bitrate): consecutive numbers from 0."""
    source = DemoSource()
    try:
        with av.open(source.reader, "r", format="matroska") as container:
            numbers = []
            for frame in container.decode(video=0):
                numbers.append(read_timecode(_luma(frame)))
                if len(numbers) == 2 * FPS:
                    break
    finally:
        source.close()
    assert numbers == list(range(2 * FPS))


def test_timecode_and_clock_are_not_motion() -> None:
    """With the box parked, the cells (under the detector's threshold) and the clock stay far under the minimum area."""
    scene = DemoScene()
    settings = MotionSettings()
    analyzer = MotionAnalyzer(settings)  # what the engine runs: its own scaling and pacing
    buffer = io.BytesIO()
    parked = scene.motion_seconds + 1.0  # the box stands still from here to the end of the period
    seconds = 12
    with av.open(buffer, "w", format="matroska") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = scene.width, scene.height, "yuv420p"
        video.codec_context.gop_size = 2 * FPS
        video.codec_context.bit_rate = 600_000
        video.options = {"tune": "zerolatency", "preset": "ultrafast", "bf": "0"}
        for number in range(seconds * FPS):
            frame = scene.frame(parked, number, f"12:00:{number // FPS:02d}")
            frame.pts, frame.time_base = number, Fraction(1, FPS)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
    buffer.seek(0)
    scores = []
    with av.open(buffer, "r") as container:
        for frame in container.decode(video=0):
            assert frame.time is not None
            if analyzer.due(frame.time):
                result = analyzer.analyze(frame)
                assert not result.motion, (frame.time, result.score)
                scores.append(result.score)
    assert settings.threshold > ONE - ZERO
    assert max(scores) < settings.min_area / 5, max(scores)


def test_guards_then_bits() -> None:
    levels = Timecode.for_width(640).levels(0b110)  # Gray code 0b101
    assert list(levels[:2]) == [ONE, ZERO]
    assert list(levels[-3:]) == [ONE, ZERO, ONE]
    assert set(levels.tolist()) == {ONE, ZERO}


def test_read_back_from_full_range_rgb() -> None:
    """What a browser's canvas holds: the levels stretched from video range (16-235) to 0-255."""
    luma = _luma(DemoScene().frame(0.0, 4242)).astype(np.float64)
    stretched = np.clip((luma - 16) * 255 / 219, 0, 255).astype(np.uint8)
    assert read_timecode(stretched) == 4242
