"""Pytest plugin with RTSP test camera fixtures.

Register from ``tests/conftest.py`` with ``pytest_plugins = ["tests.support.fixtures"]``.

* ``rtsp_camera``: a started camera with default options (1280x720 @ 15 fps, keyframe
  every 2 s, static scene, no authentication).
* ``rtsp_camera_factory``: ``make(**options) -> RtspCamera`` returning started cameras;
  all of them are closed when the test ends.

When a test fails, the stderr of its cameras' servers is attached to the report.
Nothing is skipped: without the GStreamer stack the fixtures fail and say how to fix it.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Protocol, Unpack

import pytest

from tests.support.camera import CameraOptionsOverrides, RtspCamera, gstreamer_problem

__all__ = ["CameraFactory", "rtsp_camera", "rtsp_camera_factory"]

_CAMERAS = pytest.StashKey[list[RtspCamera]]()
_LOG_TAIL_LINES = 200


class CameraFactory(Protocol):
    """Type of the ``rtsp_camera_factory`` fixture."""

    def __call__(self, **options: Unpack[CameraOptionsOverrides]) -> RtspCamera: ...


def _require_gstreamer() -> None:
    problem = gstreamer_problem()
    if problem is not None:
        pytest.fail(f"RTSP test camera unavailable: {problem}", pytrace=False)


@pytest.fixture
def rtsp_camera_factory(request: pytest.FixtureRequest) -> Iterator[CameraFactory]:
    """Factory for started :class:`RtspCamera` instances, closed at teardown."""
    _require_gstreamer()
    cameras = request.node.stash.setdefault(_CAMERAS, [])
    made: list[RtspCamera] = []

    def make(**options: Unpack[CameraOptionsOverrides]) -> RtspCamera:
        camera = RtspCamera(**options)
        cameras.append(camera)
        made.append(camera)
        camera.start()
        return camera

    try:
        yield make
    finally:
        for camera in reversed(made):
            camera.close()


@pytest.fixture
def rtsp_camera(rtsp_camera_factory: CameraFactory) -> RtspCamera:
    """A started camera with default options (no auth, static scene)."""
    return rtsp_camera_factory()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        cameras: list[RtspCamera] = item.stash.get(_CAMERAS, [])
        for index, camera in enumerate(cameras):
            lines = camera.logs().splitlines()[-_LOG_TAIL_LINES:]
            title = f"rtsp camera {index} ({camera.options}) server log"
            report.sections.append((title, "\n".join(lines) or "(empty)"))
    return report
