"""Motion analysis: polygon rasterising, frame sampling, grey conversion and the detector.

The scene tests decode real H.264 files (synthetic scenes with known ground truth, see
``tests/support/scenes.py``) with PyAV and feed :class:`MotionAnalyzer` at 5 fps, much faster
than real time. The detector's finer behaviour (global changes, learning, masks) is also
tested on numpy frames directly.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from tests.support.scenes import Scene, SceneCache
from vigil_engine.motion.analyzer import MotionAnalyzer, analysis_size
from vigil_engine.motion.detector import MAX_BOXES, SETTLE_SECONDS, MotionDetector, MotionResult
from vigil_engine.motion.geometry import rasterize, rasterize_all
from vigil_engine.motion.settings import MotionSettings, Polygon, Zone

FPS = 5.0
# After the box vanishes, the background needs at most this long to be quiet again. The box
# moves, so no pixel is covered long enough to mark the background (about 6 levels in 2 s
# against a threshold of 25): in practice the very next analysed frame is quiet; the margin
# is one second.
RECOVERY_S = 1.0
# Motion must be reported this soon after the box appears (the first analysed frame in fact).
DETECTION_S = 0.5

BOX_SCENE = Scene(seconds=45, fps=10, motion=((20.0, 35.0),), noise=2.0)
FIVE_MINUTES = 300.0
QUIET_SCENES = {
    "static": Scene(seconds=FIVE_MINUTES, fps=5),
    # Strong sensor noise, squeezed into 0.5 Mbit/s: compression noise too.
    "noise": Scene(seconds=FIVE_MINUTES, fps=5, noise=12.0, bit_rate=500_000),
    # Lights on (+40), a small exposure step (+10, compensated, below the global change rule),
    # lights off (-50).
    "lights": Scene(seconds=FIVE_MINUTES, fps=5, brightness_steps=((60.0, 40), (150.0, 10), (200.0, -50))),
}

Analysed = list[tuple[float, MotionResult]]


@pytest.fixture(scope="session")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> SceneCache:
    return SceneCache(tmp_path_factory.mktemp("motion-scenes"))


def analyse_file(path: Path, settings: MotionSettings) -> Analysed:
    """Decode every frame, analyse those the analyser says are due; (frame time, result) each."""
    analyzer = MotionAnalyzer(settings)
    results: Analysed = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            assert frame.time is not None
            if analyzer.due(frame.time):
                results.append((frame.time, analyzer.analyze(frame, areas=True)))
    return results


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


# --- scenes ------------------------------------------------------------------------------------


def test_moving_box_is_motion_while_it_moves_and_only_then(scenes: SceneCache) -> None:
    results = analyse_file(scenes.path(BOX_SCENE), MotionSettings(fps=FPS))
    ((start, end),) = BOX_SCENE.motion
    assert len(results) == pytest.approx(BOX_SCENE.seconds * FPS, abs=2)

    first = next(t for t, r in results if r.motion)
    assert start <= first < start + DETECTION_S
    # In fact the first analysed frame that shows the box.
    assert first == next(t for t, _ in results if t >= start)

    before = [t for t, r in results if t < start and (r.motion or r.global_change)]
    assert before == []
    after = [t for t, r in results if t >= end + RECOVERY_S and (r.motion or r.global_change)]
    assert after == []
    # While the box moves, every analysed frame is motion, boxed around the box.
    during = [(t, r) for t, r in results if start <= t < end]
    assert all(r.motion and not r.global_change for _, r in during)
    for t, r in during:
        truth = BOX_SCENE.box_rect_normalised(t)
        assert truth is not None
        assert r.bbox is not None
        assert iou(r.bbox, truth) > 0.8, (t, r.bbox, truth)
        # One moving thing, one moving area: where object detection will look.
        assert len(r.boxes) == 1
        assert iou(r.boxes[0], truth) > 0.8, (t, r.boxes, truth)
        # The box is 1/8 x 1/6 of the frame: about 2% of it (a little less counts when the
        # box's middle is far from the edges that are changing).
        assert 0.005 < r.score < 0.03


@pytest.mark.parametrize("name", list(QUIET_SCENES))
def test_quiet_scene_has_no_motion_for_five_minutes(scenes: SceneCache, name: str) -> None:
    scene = QUIET_SCENES[name]
    results = analyse_file(scenes.path(scene), MotionSettings(fps=FPS))
    assert len(results) == pytest.approx(scene.seconds * FPS, abs=2)
    assert [t for t, r in results if r.motion] == []
    assert max(r.score for _, r in results if not r.global_change) < 0.001
    flagged = [t for t, r in results if r.global_change]
    if name != "lights":
        assert flagged == []
        return
    # The big steps are global changes (relearned, then settling for a second); the +10 step
    # is compensated as a frame-wide shift without relearning.
    settle = round(SETTLE_SECONDS * FPS)
    for at in (60.0, 200.0):
        window = [t for t in flagged if at <= t < at + 2]
        assert window[0] == pytest.approx(at, abs=0.01)
        assert len(window) == settle + 1
    assert not [t for t in flagged if 150 <= t < 152]
    assert len(flagged) == 2 * (settle + 1)


def test_mask_over_the_path_hides_the_box(scenes: SceneCache) -> None:
    settings = MotionSettings(fps=FPS, masks=(BOX_SCENE.path_band(),))
    results = analyse_file(scenes.path(BOX_SCENE), settings)
    assert [t for t, r in results if r.motion or r.global_change] == []
    assert max(r.score for _, r in results) == 0.0


def test_zone_over_the_path_has_motion_and_a_zone_elsewhere_not(scenes: SceneCache) -> None:
    ground: Polygon = ((0.0, 0.8), (1.0, 0.8), (1.0, 1.0), (0.0, 1.0))
    zones = (Zone("path", BOX_SCENE.path_band()), Zone("ground", ground))
    results = analyse_file(scenes.path(BOX_SCENE), MotionSettings(fps=FPS, zones=zones))
    ((start, end),) = BOX_SCENE.motion
    assert all(set(r.zones) == {"path", "ground"} == set(r.zone_scores) for _, r in results)
    path_times = [t for t, r in results if r.zones["path"]]
    assert path_times == [t for t, r in results if start <= t < end]
    assert [t for t, r in results if r.zones["ground"]] == []
    assert max(r.zone_scores["ground"] for _, r in results) == 0.0
    # The box fills most of the band's height, so a good share of the zone.
    assert min(r.zone_scores["path"] for t, r in results if start <= t < end) > 0.03


# --- geometry ----------------------------------------------------------------------------------


def test_rasterize_whole_frame_and_halves() -> None:
    full: Polygon = ((0, 0), (1, 0), (1, 1), (0, 1))
    assert rasterize(full, 32, 18).all()
    left: Polygon = ((0, 0), (0.5, 0), (0.5, 1), (0, 1))
    right: Polygon = ((0.5, 0), (1, 0), (1, 1), (0.5, 1))
    a, b = rasterize(left, 32, 18), rasterize(right, 32, 18)
    assert a[:, :16].all()
    assert not a[:, 16:].any()
    # Polygons sharing an edge split the pixels between them: no overlap, no hole.
    assert not (a & b).any()
    assert (a | b).all()
    assert (rasterize_all([left, right], 32, 18) == (a | b)).all()


def test_rasterize_shapes() -> None:
    mask = rasterize(((0.25, 0.25), (0.75, 0.25), (0.75, 0.75), (0.25, 0.75)), 8, 8)
    expected = np.zeros((8, 8), np.bool_)
    expected[2:6, 2:6] = True
    assert (mask == expected).all()
    # A triangle covers about half of its bounding box.
    triangle = rasterize(((0, 0), (1, 0), (0, 1)), 200, 100)
    assert triangle.mean() == pytest.approx(0.5, abs=0.01)
    assert triangle[0, 0]
    assert not triangle[-1, -1]
    # Vertex order does not matter; points outside the frame are clipped.
    assert (rasterize(((0, 1), (1, 0), (0, 0)), 200, 100) == triangle).all()
    big = rasterize(((-1, -1), (2, -1), (2, 0.5), (-1, 0.5)), 10, 10)
    assert big[:5].all()
    assert not big[5:].any()


def test_rasterize_degenerate_and_empty() -> None:
    assert not rasterize((), 10, 10).any()
    assert not rasterize(((0, 0), (1, 1)), 10, 10).any()
    assert not rasterize(((0, 0.5), (1, 0.5), (0.5, 0.5)), 10, 10).any()  # no area
    assert not rasterize_all([], 10, 10).any()
    assert rasterize_all([], 10, 10).shape == (10, 10)
    with pytest.raises(ValueError, match="mask size"):
        rasterize(((0, 0), (1, 0), (1, 1)), 0, 10)


def test_rasterize_self_intersecting_uses_even_odd() -> None:
    # A bow tie: two triangles meeting at the centre.
    bow = rasterize(((0, 0), (1, 1), (1, 0), (0, 1)), 100, 100)
    assert bow[50, 5]
    assert bow[50, 95]
    assert not bow[5, 50]
    assert not bow[95, 50]


# --- sampling (due) ----------------------------------------------------------------------------


def due_times(times: list[float], fps: float = FPS) -> list[float]:
    analyzer = MotionAnalyzer(MotionSettings(fps=fps))
    return [t for t in times if analyzer.due(t)]


@pytest.mark.parametrize(("camera_fps", "jitter"), [(10, 0.0), (10, 0.03), (30, 0.01), (25, 0.0), (12, 0.02), (7, 0.0)])
def test_due_samples_fps_times_per_second(camera_fps: float, jitter: float) -> None:
    rng = random.Random(camera_fps)
    times = [i / camera_fps + rng.uniform(-jitter, jitter) for i in range(round(60 * camera_fps))]
    times.sort()
    taken = due_times(times)
    assert len(taken) == pytest.approx(60 * FPS, abs=2)
    gaps = np.diff(taken)
    # Evenly spread: never closer than the tolerance allows, never a period plus a frame apart.
    assert gaps.min() >= 0.2 * (1 - 0.3) - 2 * jitter
    assert gaps.max() <= 0.2 + 1 / camera_fps + 2 * jitter + 1e-9


def test_due_takes_the_frame_nearest_to_the_grid() -> None:
    # At 30 fps, the frame 33 ms before a due time is within 0.3 period but not the nearest.
    times = [i / 30 for i in range(300)]
    assert due_times(times)[:20] == pytest.approx([i * 0.2 for i in range(20)])


def test_due_takes_every_frame_of_a_slow_camera() -> None:
    times = [i / 3 for i in range(30)]
    assert due_times(times) == times
    assert due_times([i * 0.2 for i in range(50)]) == [i * 0.2 for i in range(50)]


def test_due_after_a_gap_restarts_without_a_burst() -> None:
    times = [i / 30 for i in range(60)] + [10 + i / 30 for i in range(60)]
    taken = due_times(times)
    assert taken[0] == 0.0
    after = [t for t in taken if t >= 10]
    assert after[0] == 10.0
    # The grid restarted at 10.0: points 10.0, 10.2 ... 11.8, each taking the frame at that time.
    assert after == pytest.approx([10 + i * 0.2 for i in range(10)])


def test_due_restarts_when_time_goes_back() -> None:
    analyzer = MotionAnalyzer(MotionSettings(fps=FPS))
    first = [t for t in (i / 10 for i in range(100)) if analyzer.due(t)]
    assert len(first) == 50
    # A new session whose timestamps start again near zero: its first frame is due at once.
    assert analyzer.due(0.05)
    assert not analyzer.due(0.1)
    assert analyzer.due(0.25)
    # Small backward jitter is no restart.
    assert not analyzer.due(0.24)


def test_due_reset_and_disabled() -> None:
    analyzer = MotionAnalyzer(MotionSettings(fps=FPS))
    assert analyzer.due(100.0)
    assert not analyzer.due(100.1)
    analyzer.reset()
    assert analyzer.due(100.1)
    never = MotionAnalyzer(MotionSettings(fps=0))
    assert not any(never.due(i / 10) for i in range(50))


# --- grey conversion ---------------------------------------------------------------------------


def test_analysis_size() -> None:
    assert analysis_size(1920, 1080, 320) == (320, 180)
    assert analysis_size(640, 360, 320) == (320, 180)
    assert analysis_size(640, 480, 320) == (320, 240)
    assert analysis_size(2688, 1520, 320) == (320, 180)
    assert analysis_size(160, 120, 320) == (160, 120)  # never upscaled


@pytest.mark.parametrize("fmt", ["yuv420p", "yuvj420p", "nv12", "yuv422p", "yuv420p10le", "rgb24", "gray"])
def test_to_gray_reads_common_formats(fmt: str) -> None:
    analyzer = MotionAnalyzer(MotionSettings())
    rgb = np.zeros((360, 640, 3), np.uint8)
    rgb[:, 320:] = 255  # right half white
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=fmt)
    gray = analyzer.to_gray(frame)
    assert gray.shape == (144, 256)  # the default analysis width
    assert gray.dtype == np.uint8
    assert gray[:, :120].max() < 20
    assert gray[:, 136:].min() > 235


def test_to_gray_reuses_one_scaler_across_sizes() -> None:
    analyzer = MotionAnalyzer(MotionSettings(analysis_width=160))
    small = analyzer.to_gray(av.VideoFrame(640, 360, "yuv420p"))
    big = analyzer.to_gray(av.VideoFrame(1920, 1080, "yuv420p"))
    square = analyzer.to_gray(av.VideoFrame(400, 400, "yuv420p"))
    assert small.shape == big.shape == (90, 160)
    assert square.shape == (160, 160)


# --- the detector on numpy frames --------------------------------------------------------------


def textured(height: int = 180, width: int = 320, seed: int = 1) -> npt.NDArray[np.uint8]:
    rng = np.random.default_rng(seed)
    base = np.linspace(40, 200, width)[None, :] + rng.uniform(-8, 8, (height, width))
    return np.clip(base, 0, 255).astype(np.uint8)


def noisy(
    frames: int, base: npt.NDArray[np.uint8], sigma: float = 3.0, seed: int = 2
) -> Iterator[npt.NDArray[np.uint8]]:
    rng = np.random.default_rng(seed)
    for _ in range(frames):
        yield np.clip(base + rng.normal(0, sigma, base.shape), 0, 255).astype(np.uint8)


def with_box(
    frame: npt.NDArray[np.uint8], x: int, y: int, w: int = 30, h: int = 20, luma: int = 240
) -> npt.NDArray[np.uint8]:
    out = frame.copy()
    out[y : y + h, x : x + w] = luma
    return out


def test_first_frame_learns_and_reports_all_zones() -> None:
    zones = (Zone("a", ((0, 0), (0.5, 0), (0.5, 1), (0, 1))), Zone("b", ((0.5, 0), (1, 0), (1, 1), (0.5, 1))))
    detector = MotionDetector(MotionSettings(zones=zones))
    base = textured()
    first = detector.analyze(with_box(base, 10, 10))
    assert first == MotionResult(False, 0.0, {"a": False, "b": False}, {"a": 0.0, "b": 0.0}, False, None)
    result = detector.analyze(with_box(base, 200, 100))
    assert result.motion
    assert result.zones == {"a": True, "b": True}
    assert result.bbox is not None
    x0, y0, x1, y1 = result.bbox
    assert x0 == pytest.approx(10 / 320, abs=0.01)
    assert x1 == pytest.approx(230 / 320, abs=0.01)
    assert y0 == pytest.approx(10 / 180, abs=0.01)
    assert y1 == pytest.approx(120 / 180, abs=0.01)


def test_each_separate_moving_area_gets_its_own_box() -> None:
    """Object detection looks where things move: two objects far apart are two areas (each with
    a box fitted to its pixels, the larger first), not one box around both."""
    detector = MotionDetector(MotionSettings())
    base = textured()
    detector.analyze(base)
    moved = with_box(with_box(base, 20, 30, 40, 30), 250, 120, 24, 24)
    assert detector.analyze(moved).boxes == ()  # only when asked: a camera without object detection
    detector.reset()
    detector.analyze(base)
    result = detector.analyze(moved, areas=True)
    assert result.motion
    assert len(result.boxes) == 2
    (big, small) = result.boxes
    assert big == pytest.approx((21 / 320, 31 / 180, 61 / 320, 61 / 180), abs=3 / 180)
    assert small == pytest.approx((251 / 320, 121 / 180, 275 / 320, 145 / 180), abs=3 / 180)
    assert result.bbox == pytest.approx((big[0], big[1], small[2], small[3]))
    # Areas a block apart are one: a plain object that moves changes only along its edges.
    detector.reset()
    detector.analyze(base)
    near = detector.analyze(with_box(with_box(base, 100, 60, 20, 20), 124, 60, 20, 20), areas=True)
    assert len(near.boxes) == 1


def test_many_moving_areas_report_only_the_largest() -> None:
    detector = MotionDetector(MotionSettings(min_area=0.0))
    base = textured()
    detector.analyze(base)
    frame = base
    for index in range(MAX_BOXES + 4):
        frame = with_box(frame, 8 + (index % 6) * 52, 10 + (index // 6) * 60, 10 + index, 10 + index)
    result = detector.analyze(frame, areas=True)
    assert len(result.boxes) == MAX_BOXES
    areas = [(x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in result.boxes]
    assert areas == sorted(areas, reverse=True)
    # Once they stop (a stopped object stays motion for about half a second), no area is left.
    assert [detector.analyze(frame, areas=True).boxes for _ in range(15)][-1] == ()


def test_noise_alone_is_never_motion() -> None:
    detector = MotionDetector(MotionSettings(min_area=0.0))
    base = textured()
    results = [detector.analyze(frame) for frame in noisy(100, base, sigma=8.0)]
    assert not any(r.motion or r.global_change for r in results)
    assert max(r.score for r in results) == 0.0


def test_threshold_is_in_luma_levels() -> None:
    settings = MotionSettings(threshold=25)
    base = np.full((180, 320), 100, np.uint8)
    for delta, moved in ((20, False), (-20, False), (35, True), (-35, True)):
        detector = MotionDetector(settings)
        detector.analyze(base)
        result = detector.analyze(with_box(base, 100, 60, w=40, h=30, luma=100 + delta))
        assert result.motion is moved, delta


def test_small_object_below_min_area_is_no_motion() -> None:
    settings = MotionSettings()
    detector = MotionDetector(settings)
    base = textured()
    detector.analyze(base)
    tiny = detector.analyze(with_box(base, 100, 100, w=8, h=8))  # 64 px of 57600: 0.1%
    assert not tiny.motion
    assert 0 < tiny.score < settings.min_area
    assert tiny.bbox is not None
    detector.reset()
    detector.analyze(base)
    assert detector.analyze(with_box(base, 100, 100, w=16, h=16)).motion


@pytest.mark.parametrize("change", ["brighter", "darker", "gain", "scene"])
def test_global_change_relearns_and_settles(change: str) -> None:
    detector = MotionDetector(MotionSettings(fps=FPS))
    base = textured()
    other = {
        "brighter": np.clip(base.astype(np.int16) + 60, 0, 255).astype(np.uint8),
        "darker": (base // 3).astype(np.uint8),
        "gain": np.clip(base * 1.6, 0, 255).astype(np.uint8),
        "scene": textured(seed=7)[:, ::-1].copy(),  # another picture (the camera was moved)
    }[change]
    for frame in noisy(10, base):
        assert not detector.analyze(frame).motion
    results = [detector.analyze(frame) for frame in noisy(20, other, seed=3)]
    settle = round(SETTLE_SECONDS * FPS)
    assert [r.global_change for r in results] == [True] * (settle + 1) + [False] * (19 - settle)
    assert not any(r.motion or any(r.zones.values()) for r in results)
    assert all(r.bbox is None for r in results[: settle + 1])
    # A box moving in the new picture, after settling, is motion again.
    assert detector.analyze(with_box(other, 100, 60)).motion


def test_small_exposure_drift_is_compensated() -> None:
    detector = MotionDetector(MotionSettings(fps=FPS))
    base = textured()
    detector.analyze(base)
    for step in range(1, 40):  # +0.5 level per frame, 20 levels in 8 s
        frame = np.clip(base.astype(np.float32) + step * 0.5, 0, 255).astype(np.uint8)
        result = detector.analyze(frame)
        assert not result.motion, step
        assert not result.global_change, step
    # Still sensitive after the drift.
    assert detector.analyze(with_box(frame, 50, 50)).motion


def test_an_object_that_stops_stops_being_motion() -> None:
    """A parked object is motion while it arrives, not while it stands; leaving is motion again."""
    detector = MotionDetector(MotionSettings(fps=FPS))
    base = np.full((180, 320), 100, np.uint8)
    detector.analyze(base)
    parked = with_box(base, 100, 60, w=40, h=30, luma=200)  # 100 levels brighter
    motion = [detector.analyze(parked).motion for _ in range(int(10 * FPS))]
    # Motion while it arrives, gone within a second of standing still.
    assert motion[0]
    assert not any(motion[int(FPS) :])
    # It drives off: the uncovered road matches the background it never absorbed, and the
    # departure itself is motion.
    leaving = [detector.analyze(base).motion for _ in range(int(5 * FPS))]
    assert leaving[0]
    assert not any(leaving[int(FPS) :])


def test_passing_object_does_not_mark_the_background() -> None:
    detector = MotionDetector(MotionSettings(fps=FPS))
    base = textured()
    detector.analyze(base)
    # A box crossing slowly: each pixel covered for 2 s (10 frames).
    xs = range(0, 290, 3)
    assert all(detector.analyze(with_box(base, x, 80)).motion for x in xs)
    after = detector.analyze(base)
    assert not after.motion
    assert after.score == 0.0


def test_masks_and_zones() -> None:
    top: Polygon = ((0, 0), (1, 0), (1, 0.5), (0, 0.5))
    zones = (
        Zone("top", top),
        Zone("bottom", ((0, 0.5), (1, 0.5), (1, 1), (0, 1))),
        Zone("strict", ((0, 0.5), (1, 0.5), (1, 1), (0, 1)), min_area=0.5),
        Zone("hidden", ((0.1, 0.1), (0.4, 0.1), (0.4, 0.4), (0.1, 0.4))),
    )
    detector = MotionDetector(MotionSettings(masks=(top,), zones=zones))
    base = textured()
    detector.analyze(base)
    upper = detector.analyze(with_box(base, 100, 20))  # entirely in the masked half
    assert not upper.motion
    assert upper.score == 0.0
    assert upper.bbox is None
    lower = detector.analyze(with_box(base, 100, 120))
    assert lower.motion
    assert lower.zones == {"top": False, "bottom": True, "strict": False, "hidden": False}
    assert lower.zone_scores["bottom"] == pytest.approx(lower.score, rel=0.02)  # same area
    assert lower.zone_scores["hidden"] == 0.0
    # The score is a share of the unmasked half: twice the share of the whole frame.
    assert lower.score == pytest.approx(2 * 30 * 20 / (320 * 180), rel=0.2)


def test_everything_masked_is_never_motion() -> None:
    detector = MotionDetector(MotionSettings(masks=(((0, 0), (1, 0), (1, 1), (0, 1)),), min_area=0.0))
    base = textured()
    detector.analyze(base)
    for frame in (with_box(base, 10, 10), base // 2, base):
        result = detector.analyze(frame)
        assert not result.motion
        assert not result.global_change
        assert result.score == 0.0


def test_shape_change_and_reset_relearn() -> None:
    detector = MotionDetector(MotionSettings())
    detector.analyze(textured())
    assert not detector.analyze(textured(240, 320)).motion  # a new shape is learned, not compared
    assert detector.analyze(with_box(textured(240, 320), 10, 10)).motion
    detector.reset()
    assert not detector.analyze(with_box(textured(240, 320), 10, 10)).motion
    with pytest.raises(ValueError, match="shape"):
        detector.analyze(np.zeros((3, 320), np.uint8))
    # A non-contiguous view (a crop) is accepted.
    crop = textured(300, 400)[10:190, 20:340]
    detector.analyze(crop)
    assert not detector.analyze(crop).motion
