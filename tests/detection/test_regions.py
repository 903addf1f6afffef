"""Where the detector looks: square crops around what moves, the model's size at least, inside the frame."""

from __future__ import annotations

import pytest

from vigil_engine.detection.regions import MAX_REGIONS, Box, cut_by, inside_share, region_around, select_regions

FULL_HD = (1920, 1080)
MODEL = 416


def _box(region: tuple[int, int, int, int]) -> Box:
    left, top, right, bottom = region
    return (float(left), float(top), float(right), float(bottom))


def test_a_small_distant_person_is_looked_at_in_a_crop_of_the_models_size() -> None:
    """A person 30x80 pixels at the end of a 1080p garden: a 416-pixel crop around them, so the
    model sees them at their own size instead of shrunk to a fifth (6x17 pixels, lost)."""
    person: Box = (1500.0, 300.0, 1530.0, 380.0)
    (region,) = select_regions([person], *FULL_HD, MODEL)
    left, top, right, bottom = region
    assert (right - left, bottom - top) == (MODEL, MODEL)
    assert inside_share(person, _box(region)) == 1
    assert all(value % 2 == 0 for value in region)
    centre = ((left + right) / 2, (top + bottom) / 2)
    assert centre == pytest.approx((1515, 340), abs=2)


def test_a_large_object_gets_a_larger_square_with_context() -> None:
    car: Box = (200.0, 300.0, 900.0, 700.0)
    (region,) = select_regions([car], *FULL_HD, MODEL)
    left, top, right, bottom = region
    assert right - left == bottom - top == pytest.approx(1.35 * 700, abs=2)
    assert inside_share(car, _box(region)) == 1


def test_regions_stay_inside_the_frame() -> None:
    corner: Box = (1900.0, 1060.0, 1920.0, 1080.0)
    (region,) = select_regions([corner], *FULL_HD, MODEL)
    assert region == (1920 - MODEL, 1080 - MODEL, 1920, 1080)
    # A frame smaller than the model's input is used whole in that direction.
    assert region_around((10.0, 10.0, 40.0, 60.0), 640, 360, MODEL) == (0, 0, MODEL, 360)
    huge: Box = (0.0, 0.0, 1920.0, 1080.0)
    assert select_regions([huge], *FULL_HD, MODEL) == [(0, 0, 1920, 1080)]


def test_areas_close_together_share_a_region_far_apart_each_have_one() -> None:
    near = [(500.0, 500.0, 540.0, 600.0), (600.0, 520.0, 640.0, 610.0)]
    assert len(select_regions(near, *FULL_HD, MODEL)) == 1
    far = [(100.0, 100.0, 140.0, 200.0), (1700.0, 800.0, 1740.0, 900.0)]
    regions = select_regions(far, *FULL_HD, MODEL)
    assert len(regions) == 2
    for box in far:
        assert any(inside_share(box, _box(region)) == 1 for region in regions)


def test_too_many_areas_are_looked_at_in_one_region() -> None:
    """Each region costs an inference: a frame with leaves moving everywhere is looked at whole."""
    spread = [(100.0 + 450 * i, 100.0 + 200 * (i % 2), 130.0 + 450 * i, 160.0 + 200 * (i % 2)) for i in range(4)]
    assert len(spread) > MAX_REGIONS
    (region,) = select_regions(spread, *FULL_HD, MODEL)
    assert all(inside_share(box, _box(region)) == 1 for box in spread)


def test_no_areas_no_regions() -> None:
    assert select_regions([], *FULL_HD, MODEL) == []
    assert select_regions([(10.0, 10.0, 10.0, 30.0)], *FULL_HD, MODEL) == []  # empty box


def test_an_object_touching_an_inner_edge_of_its_region_is_cut() -> None:
    region = (400, 200, 816, 616)
    assert cut_by((500.0, 300.0, 600.0, 615.0), region, *FULL_HD)  # its legs are below the crop
    assert cut_by((401.0, 300.0, 500.0, 500.0), region, *FULL_HD)
    assert not cut_by((500.0, 300.0, 600.0, 560.0), region, *FULL_HD)
    # The frame's own edges cut nothing: an object at the edge of the picture is what there is.
    corner = (0, 0, 416, 416)
    assert not cut_by((0.0, 0.0, 100.0, 200.0), corner, *FULL_HD)
    assert cut_by((300.0, 0.0, 416.0, 200.0), corner, *FULL_HD)
