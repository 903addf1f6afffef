"""The engine clock never jumps; packet timestamps are repaired, never fatal."""

from __future__ import annotations

import itertools
from fractions import Fraction

from vigil_engine.clock import MAX_SLEW_PPM, EngineClock, iso_ms
from vigil_engine.ingest.timestamps import TimestampRepair


class FakeTime:
    def __init__(self, wall: float, mono: float = 1000.0) -> None:
        self.wall_value = wall
        self.mono_value = mono

    def wall(self) -> float:
        return self.wall_value

    def mono(self) -> float:
        return self.mono_value

    def advance(self, seconds: float) -> None:
        self.wall_value += seconds
        self.mono_value += seconds


def test_host_clock_step_is_slewed_not_jumped() -> None:
    fake = FakeTime(1_800_000_000.0)
    clock = EngineClock(fake.wall, fake.mono)
    start = clock.now()
    fake.advance(10)
    assert clock.now() == start + 10
    # Somebody sets the host clock back by a minute: our clock keeps running forward.
    fake.wall_value -= 60
    readings = []
    for _ in range(100):
        fake.advance(1)
        readings.append(clock.now())
    assert all(b > a for a, b in itertools.pairwise(readings))
    # …and converges toward the wall clock at no more than 500 ppm.
    drift = readings[-1] - (start + 110)
    assert -100 * MAX_SLEW_PPM / 1e6 - 1e-6 <= drift < 0


def test_large_disagreement_reanchors_but_never_goes_back() -> None:
    fake = FakeTime(1_000_000_000.0)
    clock = EngineClock(fake.wall, fake.mono)
    fake.advance(1)
    # The wall clock was wrong at boot and is set right (an hour later).
    fake.wall_value += 3600
    fake.advance(1)
    assert abs(clock.now() - fake.wall_value) < 1e-6
    fake.wall_value -= 7200
    fake.advance(1)
    value = clock.now()
    fake.advance(1)
    assert clock.now() >= value
    assert iso_ms(1_000) == "1970-01-01T00:00:01.000Z"
    assert clock.utc_for_monotonic(fake.mono_value) <= clock.now() + 1


def test_timestamp_repair() -> None:
    fix = TimestampRepair(Fraction(1, 90000), 1 / 15)
    step = 6000
    assert fix.fix(None, None) == (0, 0)  # the first keyframe over RTSP often has none
    assert fix.fix(step, step) == (step, step)
    assert fix.fix(None, None) == (2 * step, 2 * step)
    assert fix.fix(3 * step, None) == (3 * step, 3 * step)
    # A one-tick reorder is nudged forward, not dropped.
    assert fix.fix(3 * step, 3 * step - 10) == (3 * step + 1, 3 * step + 1)
    # The camera resets its clock: the timeline continues one frame later.
    _pts, dts = fix.fix(500, 500)
    assert dts == 3 * step + 1 + step
    # A jump forward of a minute is also a discontinuity.
    _pts2, dts2 = fix.fix(500 + 60 * 90000, 500 + 60 * 90000)
    assert dts2 == dts + step
    assert fix.discontinuities == 2
    assert fix.repaired >= 3
    # B-frames: pts ahead of dts is kept.
    assert fix.fix(500 + 60 * 90000 + 3 * step, 500 + 60 * 90000 + step) == (dts2 + 3 * step, dts2 + step)
