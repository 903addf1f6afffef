"""The motion detector: a small grey frame against a slowly learned background, in numpy.

Per analysed frame (256x144 from a 16:9 camera by default, about 0.1 ms of CPU on this project's reference
machine, a small fraction of the cost of decoding the frame):

1. **Blur**: a 3x3 box sum. Sensor and compression noise is mostly independent from pixel to
   pixel, so averaging nine pixels divides its amplitude by about three, while an object of a
   few pixels keeps most of its contrast. The downscale to the analysis width (by FFmpeg, in
   ``analyzer``) has already averaged much of it.
2. **Difference** with the background and **global shift compensation**: the median
   difference over a sparse grid of unmasked pixels is taken as a frame-wide brightness shift
   and subtracted. Auto exposure and small lighting changes move every pixel alike and count
   as no motion, while a moving object (well under half of the frame) does not move the median.
3. **Threshold** at ``settings.threshold`` luma levels, **and** as far from a *recent*
   picture: a fast running average (time constant :data:`RECENT_SECONDS`). A pixel is motion
   only while it is unlike the background and still changing. An object that stops (a
   parked car, a box that halted) stops being motion within about half a second, though the
   background learns it only slowly; when it leaves again, the pixels it uncovers match the
   background it never absorbed. "Still changing" is judged per 8x8 block and its
   neighbours (:data:`NEAR_BLOCK`): a slow, plain object changes only along its edges, yet
   its whole body near them counts. Then a **2x2 erosion**: a pixel counts
   only if its right, lower and lower-right neighbours changed too. Isolated noisy pixels and
   one-pixel lines (a flickering edge) vanish; an object loses one pixel of outline.
4. **Area**: the changed share of the unmasked frame, and of each zone's unmasked area, against
   ``min_area`` (a zone's own or the camera's). **Where** (asked for only while the camera
   detects objects, which look only there): the changed pixels are grouped into separate moving
   areas (8x8 blocks up to two blocks apart, diagonally too, are one area) with a box around each
   (:data:`MotionResult.boxes`; about a tenth of a millisecond for one moving thing).
5. **Global change**: when the median shift is at least half the threshold, or at least
   :data:`GLOBAL_AREA` of the unmasked frame changed at once (lights switched, infrared mode
   flipped, the camera moved), the frame is not motion: the background is replaced by the
   frame at once, and motion stays suppressed while the picture settles
   (:data:`SETTLE_SECONDS`, background relearned on every frame meanwhile).
6. **Background update**, a running average whose *speed is limited*: the background moves
   toward the frame by ``rate x difference`` (time constant about :data:`BACKGROUND_SECONDS`:
   noise averages out, light drifting with the sun is followed), but by no more than
   :data:`LEARN_LIMIT` luma levels per second. A passing object therefore barely marks the
   background (covering a pixel for 2 s moves it by 6 levels, far under the threshold). An
   object that stops is no longer motion at once (step 3) but is learned into the background
   only over tens of seconds (a car parked 100 levels from the road's brightness: about 25 s).

Arithmetic, for speed (numpy passes over int16 cost a third of float32 ones here, and every
pass over the frame counts): all per-pixel values are int16 in fixed point, 1/72 of a luma
level (a 3x3 sum, 0..2295, times 8: at most 18360). The background's rate is a power of two,
applied as an arithmetic shift; its rounding biases the background by under 0.1 luma level.
Every per-pixel array is one contiguous row-major vector with the frame's row stride, so
neighbour sums are additions of shifted 1-D slices (two to three times faster than 2-D column
slices). The last columns of each row then hold sums that wrap into the next row; the "active"
mask and the shift sample exclude them.

The detector keeps state and is not thread-safe: one instance per camera, called from one
thread. It raises ``ValueError`` only for a frame it cannot analyse (not 2-D, or under 4x4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from .geometry import rasterize, rasterize_all
from .settings import MotionSettings

# Time constant (seconds) of the recent picture: how long a stopped object stays motion.
RECENT_SECONDS = 0.45
# Side (pixels of the analysed frame) of the blocks in which a recent change makes every
# background-changed pixel of the block and of its eight neighbours count as motion.
NEAR_BLOCK = 8  # must stay 8: one uint64 per block row, see _near
_EIGHT_TRUE = np.uint64(0x0101010101010101)  # eight bools, all True, as one uint64
# Time constant (seconds) of the background's running average for small differences (the rate
# is rounded to a power of two per frame: the actual time constant is within 1.5x of this).
BACKGROUND_SECONDS = 2.0
# The background moves toward the frame by at most this many luma levels per second.
LEARN_LIMIT = 3.0
# Changed share of the unmasked frame that counts as a frame-wide change, not motion.
GLOBAL_AREA = 0.5
# A frame-wide brightness shift of at least this share of the threshold is a global change.
GLOBAL_SHIFT = 0.5
# After a global change, motion stays suppressed (background relearned each frame) this long.
SETTLE_SECONDS = 1.0
# About this many pixels estimate the frame-wide brightness shift (their median).
SHIFT_SAMPLES = 2500

# Separate moving areas reported per frame, the largest ones: a scene full of swaying leaves
# must not cost a box (and a detection region) per leaf.
MAX_BOXES = 8
# Side (pixels of the analysed frame) of the blocks that group changed pixels into areas, and
# how many blocks apart changed blocks may be and still be one area: a plain object that moves
# changes along its leading and trailing edges, with an unchanged middle up to about a block.
AREA_BLOCK = 8
AREA_REACH = 2

_REACH = range(-AREA_REACH, AREA_REACH + 1)
_BLUR_AREA = 9  # pixels summed by the 3x3 box blur
_FRACTION = 8  # fixed point: sums are kept x8, so the background has 1/8 steps of a sum
_UNIT = _BLUR_AREA * _FRACTION  # fixed-point units per luma level (72)
_INT16 = np.iinfo(np.int16)
_MIN_SIDE = 4  # blur (-2) and erosion (-1) must leave at least one pixel

Gray = npt.NDArray[np.uint8]
Fixed = npt.NDArray[np.int16]
Box = tuple[float, float, float, float]  # normalised x0, y0, x1, y1


@dataclass(frozen=True, slots=True)
class MotionResult:
    """What one analysed frame showed. Scores are shares (0..1) of unmasked pixels."""

    # Whole camera: changed share of the unmasked frame >= settings.min_area, and not a global change.
    motion: bool
    # Changed share of the unmasked frame (also reported during a global change, for diagnostics).
    score: float
    # Per zone, every configured zone name present: its score >= its min_area, and not a global change.
    zones: dict[str, bool]
    # Changed share of each zone's own unmasked area.
    zone_scores: dict[str, float]
    # Frame-wide change (lights, infrared flip, exposure) or the settling time after one:
    # the background was relearned, motion and zones are False.
    global_change: bool
    # Normalised (x0, y0, x1, y1) around the changed pixels; None if none (or a global change).
    bbox: tuple[float, float, float, float] | None
    # Normalised boxes around each separate moving area, largest first (at most MAX_BOXES);
    # empty when bbox is None, or when they were not asked for.
    boxes: tuple[Box, ...] = ()


@dataclass(frozen=True, slots=True)
class _Zone:
    name: str
    min_area: float
    rows: slice  # the zone's bounding box in the analysed (eroded) grid, to test fewer pixels
    cols: slice
    mask: npt.NDArray[np.bool_]  # the zone's unmasked pixels within that box
    pixels: int


class _Layout:
    """Everything that depends only on the frame shape: masks, zones, work buffers.

    Grids, all with the frame's row stride ``width`` (see the module docstring):
    * blur grid, ``height - 2`` rows: element (i, j) is the 3x3 sum centred on frame pixel
      (i + 1, j + 1); valid for j < width - 2.
    * eroded grid, ``height - 3`` rows: element (i, j) is set when blur elements
      (i..i+1, j..j+1) all changed; valid for j < width - 3. It is matched with frame pixel
      (i + 1, j + 1) for masks and zones: half a pixel off, which no polygon can tell apart.
    """

    def __init__(self, settings: MotionSettings, height: int, width: int) -> None:
        self.shape = (height, width)
        self.width = width
        self.blur_size = (height - 2) * width
        self.eroded_size = (height - 3) * width
        eh, ew = height - 3, width - 3  # the valid part of the eroded grid

        unmasked = ~rasterize_all(settings.masks, width, height)
        active = np.zeros((eh, width), np.bool_)
        active[:, :ew] = unmasked[1 : 1 + eh, 1 : 1 + ew]
        self.active = active.ravel()
        self.active_pixels = int(np.count_nonzero(active))

        # A sparse grid of unmasked pixels for the median shift (a masked TV set or a road
        # outside the property must not pull the brightness estimate), as flat blur indices.
        bh, bw = height - 2, width - 2
        step = max(1, math.isqrt((bh * bw) // SHIFT_SAMPLES))
        rows = np.arange(0, bh, step)
        cols = np.arange(0, bw, step)
        grid = unmasked[1 : 1 + bh, 1 : 1 + bw][::step, ::step]
        self.sample = (rows[:, None] * width + cols[None, :])[grid].astype(np.intp)

        self.zones: list[_Zone] = []
        for zone in settings.zones:
            mask = np.zeros((eh, width), np.bool_)
            mask[:, :ew] = rasterize(zone.polygon, width, height)[1 : 1 + eh, 1 : 1 + ew]
            mask &= active
            zone_rows = np.flatnonzero(mask.any(axis=1))
            zone_cols = np.flatnonzero(mask.any(axis=0))
            if zone_rows.size:
                rs = slice(int(zone_rows[0]), int(zone_rows[-1]) + 1)
                cs = slice(int(zone_cols[0]), int(zone_cols[-1]) + 1)
            else:
                rs = cs = slice(0, 0)  # masked out or thinner than a pixel: never motion
            cropped = np.ascontiguousarray(mask[rs, cs])
            min_area = settings.min_area if zone.min_area is None else zone.min_area
            self.zones.append(_Zone(zone.name, min_area, rs, cs, cropped, int(np.count_nonzero(cropped))))

        # Work buffers, reused on every frame (no allocation in the steady state). The frame
        # buffer holds the widened frame, then (its first blur_size elements) the blurred one.
        self.frame = np.zeros(height * width, np.int16)
        self.rows = np.empty(self.blur_size, np.int16)
        self.diff = np.empty(self.blur_size, np.int16)
        self.step = np.empty(self.blur_size, np.int16)  # frame - recent picture
        self.moving_diff = np.empty(self.blur_size, np.int16)
        # Block grid for "changed recently near here", padded to whole blocks.
        blur_rows = height - 2
        self.blocks = (-(-blur_rows // NEAR_BLOCK), -(-width // NEAR_BLOCK))
        self.padded = np.zeros((self.blocks[0] * NEAR_BLOCK, self.blocks[1] * NEAR_BLOCK), np.bool_)
        self.expanded = np.zeros_like(self.padded)
        self.moving = np.empty(self.blur_size, np.bool_)
        # One spare element: the erosion reads one past the last row's end.
        self.changed = np.zeros(self.blur_size + 1, np.bool_)
        self.below = np.empty(self.blur_size, np.bool_)
        self.eroded = np.empty(self.eroded_size, np.bool_)
        # The eroded grid padded to whole blocks, for grouping changed pixels into areas.
        self.area_blocks = (-(-eh // AREA_BLOCK), -(-width // AREA_BLOCK))
        self.area_padded = np.zeros((self.area_blocks[0] * AREA_BLOCK, self.area_blocks[1] * AREA_BLOCK), np.bool_)


class MotionDetector:
    """Compares grey frames with a learned background; see the module docstring for how."""

    def __init__(self, settings: MotionSettings) -> None:
        self.settings = settings
        fps = settings.fps if settings.fps > 0 else 5.0
        # Background rate 2**-shift per frame, the power of two nearest to 1 / (fps x seconds),
        # so the analysis fps hardly changes how fast the background learns.
        self._rate_shift = max(0, round(math.log2(max(1.0, fps * BACKGROUND_SECONDS))))
        # Differences are clipped so one frame moves the background by at most LEARN_LIMIT / fps
        # luma levels: clip >> rate_shift = that step.
        clip = int(min(_INT16.max, LEARN_LIMIT / fps * _UNIT * (1 << self._rate_shift)))
        self._clip_low, self._clip_high = np.int16(-clip), np.int16(clip)  # numpy scalars: a faster np.clip
        self._settle_frames = max(1, round(fps * SETTLE_SECONDS))
        # The recent picture moves by recent_rate/8 of the difference per frame.
        self._recent_rate = np.int16(min(8, max(1, round(8 * (1 - math.exp(-1 / (fps * RECENT_SECONDS)))))))
        self._threshold = settings.threshold * _UNIT
        self._global_shift = max(1.0, settings.threshold * GLOBAL_SHIFT) * _UNIT
        self._layout: _Layout | None = None
        self._background: Fixed | None = None
        self._recent: Fixed | None = None  # the recent picture (blurred), see RECENT_SECONDS
        self._settling = 0  # frames left in the settling period after a global change

    def reset(self) -> None:
        """Forget the background (after a reconnect): the next frame is learned, not compared."""
        self._background = None
        self._recent = None
        self._settling = 0

    def analyze(self, gray: Gray, *, areas: bool = False) -> MotionResult:
        """Compare one HxW uint8 frame (any strides) with the background and learn from it.

        The first frame, or the first after :meth:`reset` or a change of shape, only becomes the
        background and reports no motion. ``areas``: also box each separate moving area.
        """
        if gray.ndim != 2 or gray.shape[0] < _MIN_SIDE or gray.shape[1] < _MIN_SIDE:
            raise ValueError(f"cannot analyse a frame of shape {gray.shape}")
        layout = self._layout
        if layout is None or layout.shape != gray.shape:
            layout = self._layout = _Layout(self.settings, gray.shape[0], gray.shape[1])
            self._background = None

        frame = self._blur(gray, layout)
        background = self._background
        recent = self._recent
        if background is None or recent is None:
            self._background = frame.copy()
            self._recent = frame.copy()
            self._settling = 0
            return self._quiet()

        # Signed difference, and the frame-wide shift as the median over the sample grid
        # (np.partition: a full sort, as np.median does, costs several times more).
        diff = np.subtract(frame, background, out=layout.diff)
        sample = diff[layout.sample]
        middle = sample.size // 2
        shift = int(np.partition(sample, middle)[middle]) if sample.size else 0

        # Changed pixels: |difference - shift| > threshold, as two comparisons (bounds clamped
        # to int16: differences never reach them then, as they are within +-18360).
        changed = layout.changed
        high = min(shift + self._threshold, _INT16.max)
        low = max(shift - self._threshold, _INT16.min)
        np.greater(diff, np.int16(high), out=changed[: layout.blur_size])
        np.less(diff, np.int16(low), out=layout.below)
        np.logical_or(changed[: layout.blur_size], layout.below, out=changed[: layout.blur_size])
        if np.count_nonzero(changed[: layout.blur_size]) < 4:
            # Nothing a 2x2 erosion could keep: most frames of a quiet scene. Skip the motion
            # masks and only learn (a third of the analysis cost saved on those frames).
            return self._learn_quiet(frame, diff, shift, background, recent, layout.step)
        # ...and still changing: |frame - recent picture| > threshold; then the recent picture
        # follows the frame.
        step = np.subtract(frame, recent, out=layout.step)
        np.abs(step, out=layout.moving_diff)
        np.greater(layout.moving_diff, np.int16(self._threshold), out=layout.moving)
        _near(layout)
        np.logical_and(changed[: layout.blur_size], layout.moving, out=changed[: layout.blur_size])
        self._follow(recent, step)
        # 2x2 erosion on the flat grid: the pixel, its right, lower and lower-right neighbours.
        size, width = layout.eroded_size, layout.width
        eroded = np.logical_and(changed[:size], changed[1 : size + 1], out=layout.eroded)
        np.logical_and(eroded, changed[width : width + size], out=eroded)
        np.logical_and(eroded, changed[width + 1 : width + 1 + size], out=eroded)
        np.logical_and(eroded, layout.active, out=eroded)

        count = int(np.count_nonzero(eroded))
        score = count / layout.active_pixels if layout.active_pixels else 0.0
        grid = eroded.reshape(-1, width)
        zone_scores = {
            zone.name: int(np.count_nonzero(grid[zone.rows, zone.cols] & zone.mask)) / zone.pixels
            if zone.pixels
            else 0.0
            for zone in layout.zones
        }

        if abs(shift) >= self._global_shift or score >= GLOBAL_AREA:
            self._settling = self._settle_frames + 1  # this frame and the settling period
        if self._settling:
            # Lights, infrared, exposure: learn the new picture at once, report no motion.
            self._settling -= 1
            np.copyto(background, frame)
            np.copyto(recent, frame)
            return MotionResult(
                motion=False,
                score=score,
                zones={zone.name: False for zone in layout.zones},
                zone_scores=zone_scores,
                global_change=True,
                bbox=None,
            )

        self._learn(background, diff)

        return MotionResult(
            motion=count > 0 and score >= self.settings.min_area,
            score=score,
            zones={
                zone.name: zone_scores[zone.name] > 0 and zone_scores[zone.name] >= zone.min_area
                for zone in layout.zones
            },
            zone_scores=zone_scores,
            global_change=False,
            bbox=_bbox(grid, gray.shape) if count else None,
            boxes=_areas(grid, gray.shape, layout) if count and areas else (),
        )

    def _learn_quiet(
        self, frame: Fixed, diff: Fixed, shift: int, background: Fixed, recent: Fixed, step: Fixed
    ) -> MotionResult:
        """What :meth:`analyze` does for a frame without changed pixels: learn, report nothing."""
        self._follow(recent, np.subtract(frame, recent, out=step))
        if abs(shift) >= self._global_shift:
            self._settling = self._settle_frames + 1
        if self._settling:
            self._settling -= 1
            np.copyto(background, frame)
            np.copyto(recent, frame)
            return replace(self._quiet(), global_change=True)
        self._learn(background, diff)
        return self._quiet()

    def _follow(self, recent: Fixed, step: Fixed) -> None:
        """The recent picture moves recent_rate/8 of ``step`` (frame - recent; overwritten) toward the frame.

        A right shift before the multiply: no int16 overflow.
        """
        np.right_shift(step, 3, out=step)
        np.multiply(step, self._recent_rate, out=step)
        np.add(recent, step, out=recent)

    def _learn(self, background: Fixed, diff: Fixed) -> None:
        """Learn ``diff`` (frame - background; overwritten), at most LEARN_LIMIT levels per second.

        The uncompensated difference, so the background also follows a brightness shift that
        the comparison compensated.
        """
        np.clip(diff, self._clip_low, self._clip_high, out=diff)
        np.right_shift(diff, self._rate_shift, out=diff)
        np.add(background, diff, out=background)

    @staticmethod
    def _blur(gray: Gray, layout: _Layout) -> Fixed:
        """3x3 box sums of ``gray`` on the flat blur grid, in fixed point (x8)."""
        wide, rows, width = layout.frame, layout.rows, layout.width
        np.copyto(wide.reshape(gray.shape), gray)
        # Vertical: rows i, i+1, i+2 are slices of the flat frame one row stride apart.
        np.add(wide[: -2 * width], wide[width:-width], out=rows)
        np.add(rows, wide[2 * width :], out=rows)
        # Horizontal: elements k, k+1, k+2 (wrapping into the next row in the last two columns),
        # written over the frame buffer, no longer needed. The last two stay as they were.
        blur = wide[: layout.blur_size]
        np.add(rows[:-2], rows[1:-1], out=blur[:-2])
        np.add(blur[:-2], rows[2:], out=blur[:-2])
        # Multiplying is faster than np.left_shift here; at most 2295 x 8 = 18360 fits int16.
        np.multiply(blur, _FRACTION, out=blur)
        return blur

    def _quiet(self) -> MotionResult:
        names = [zone.name for zone in self.settings.zones]
        return MotionResult(
            motion=False,
            score=0.0,
            zones=dict.fromkeys(names, False),
            zone_scores=dict.fromkeys(names, 0.0),
            global_change=False,
            bbox=None,
        )


def _near(layout: _Layout) -> None:
    """Widen ``layout.moving`` to every pixel of a block that, or whose neighbour, has a change.

    Blocks are 8 pixels wide so that a block's row is one uint64 of eight bools: "any pixel of
    the block" and "fill the block" are then whole-word operations on an eighth of the elements
    (about ten times faster than a 4-D ``np.any`` and two ``np.repeat``, with the same result).
    """
    rows, width = layout.blur_size // layout.width, layout.width
    moving = layout.moving.reshape(rows, width)
    padded = layout.padded  # its padding beyond rows x width stays False
    padded[:rows, :width] = moving
    hb, wb = layout.blocks
    blocks: npt.NDArray[np.bool_] = np.any(padded.view(np.uint64).reshape(hb, NEAR_BLOCK, wb), axis=1)
    near = blocks.copy()
    near[1:] |= blocks[:-1]
    near[:-1] |= blocks[1:]
    wide = near.copy()
    wide[:, 1:] |= near[:, :-1]
    wide[:, :-1] |= near[:, 1:]
    expanded = layout.expanded
    fill: npt.NDArray[np.uint64] = np.multiply(wide, _EIGHT_TRUE, dtype=np.uint64)
    expanded.view(np.uint64).reshape(hb, NEAR_BLOCK, wb)[...] = fill[:, None, :]
    moving[...] = expanded[:rows, :width]


def _bbox(grid: npt.NDArray[np.bool_], shape: tuple[int, ...]) -> tuple[float, float, float, float]:
    """Normalised box around the set pixels of the eroded grid (which starts at frame pixel 1)."""
    height, width = shape[0], shape[1]
    rows = np.flatnonzero(grid.any(axis=1))
    cols = np.flatnonzero(grid.any(axis=0))
    # An eroded element (i, j) stands for the 2x2 frame pixels (i+1..i+2, j+1..j+2).
    return (
        float(cols[0] + 1) / width,
        float(rows[0] + 1) / height,
        float(min(cols[-1] + 3, width)) / width,
        float(min(rows[-1] + 3, height)) / height,
    )


def _areas(grid: npt.NDArray[np.bool_], shape: tuple[int, ...], layout: _Layout) -> tuple[Box, ...]:
    """Normalised boxes around the separate moving areas of the eroded grid, largest first.

    Runs only on frames with motion. The grid is reduced to blocks of AREA_BLOCK pixels (a few
    hundred for a 256-pixel-wide analysis), blocks at most AREA_REACH blocks apart are grouped
    by a flood fill over the few changed blocks, and each group's box is then fitted to its changed
    pixels.
    """
    rows, width = grid.shape
    padded = layout.area_padded  # its padding beyond the grid stays False
    padded[:rows, :width] = grid
    hb, wb = layout.area_blocks
    blocks = padded.reshape(hb, AREA_BLOCK, wb, AREA_BLOCK).any(axis=(1, 3))
    pending = {(int(r), int(c)) for r, c in np.argwhere(blocks)}
    groups: list[tuple[int, int, int, int, int]] = []  # (blocks, r0, c0, r1, c1) in block units
    while pending:
        stack = [pending.pop()]
        r0 = r1 = stack[0][0]
        c0 = c1 = stack[0][1]
        size = 0
        while stack:
            r, c = stack.pop()
            size += 1
            r0, r1, c0, c1 = min(r0, r), max(r1, r), min(c0, c), max(c1, c)
            for dr in _REACH:
                for dc in _REACH:
                    neighbour = (r + dr, c + dc)
                    if neighbour in pending:
                        pending.discard(neighbour)
                        stack.append(neighbour)
        groups.append((size, r0, c0, r1, c1))
    height, frame_width = shape[0], shape[1]
    boxes: list[Box] = []
    for _size, r0, c0, r1, c1 in groups:
        top, left = r0 * AREA_BLOCK, c0 * AREA_BLOCK
        part = padded[top : (r1 + 1) * AREA_BLOCK, left : (c1 + 1) * AREA_BLOCK]
        set_rows = np.flatnonzero(part.any(axis=1))
        set_cols = np.flatnonzero(part.any(axis=0))
        # As in _bbox: eroded element (i, j) stands for frame pixels (i+1..i+2, j+1..j+2).
        boxes.append(
            (
                float(left + set_cols[0] + 1) / frame_width,
                float(top + set_rows[0] + 1) / height,
                float(min(left + set_cols[-1] + 3, frame_width)) / frame_width,
                float(min(top + set_rows[-1] + 3, height)) / height,
            )
        )
    boxes.sort(key=lambda box: (box[2] - box[0]) * (box[3] - box[1]), reverse=True)
    return tuple(boxes[:MAX_BOXES])
