"""Archive test fixtures: a real SeaweedFS S3 store on loopback, and a bucket per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.archive.seaweedfs import SeaweedFS
from tests.engine.conftest import enable_loopback_sockets, engine_factory  # noqa: F401 - fixtures
from tests.support.outside_hass import verify_cleanup  # noqa: F401 - replaces Home Assistant's check

_BUCKETS = itertools.count(1)


@pytest.fixture(autouse=True)
def _loopback_sockets() -> None:
    enable_loopback_sockets()


@pytest.fixture(scope="module")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """One store for the tests of a module (each test takes its own bucket)."""
    enable_loopback_sockets()  # set up before the function-scoped fixture that allows them
    store = SeaweedFS(tmp_path_factory.mktemp("seaweedfs"))
    store.start()
    yield store
    store.stop()


@pytest.fixture
def own_seaweedfs(tmp_path: Path) -> Iterator[SeaweedFS]:
    """A store of the test's own, for a test that stops and starts it."""
    store = SeaweedFS(tmp_path / "seaweedfs")
    store.start()
    yield store
    store.stop()


@pytest.fixture
def bucket(seaweedfs: SeaweedFS) -> str:
    return seaweedfs.make_bucket(f"vigil-test-{next(_BUCKETS)}")
