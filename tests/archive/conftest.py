"""Archive test fixtures: real S3 stores on loopback, and a bucket per test.

SeaweedFS is the store of every archive test. The store-level tests (the uploader's) take
``store`` and ``store_bucket`` instead, and so run once against SeaweedFS and once against
moto (``moto_server``): two independent implementations of S3, so that a dialect of one does
not pass for S3. The engine-process tests stay on SeaweedFS alone (each engine run costs
seconds, and what they add is the engine, not the store).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.archive.helpers import archive_settings
from tests.archive.moto_server import MotoServer
from tests.archive.s3_server import S3TestStore
from tests.archive.seaweedfs import SeaweedFS
from tests.engine.conftest import enable_loopback_sockets, engine_factory  # noqa: F401 - fixtures
from tests.support.outside_hass import verify_cleanup  # noqa: F401 - replaces Home Assistant's check
from vigil_engine.archive.store import S3Store
from vigil_engine.storage.index import Index

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


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """One moto server for the tests of a module (each test takes its own bucket)."""
    enable_loopback_sockets()
    server = MotoServer(tmp_path_factory.mktemp("moto"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["seaweedfs", "moto"])
def store(request: pytest.FixtureRequest) -> S3TestStore:
    """Each S3 implementation in turn (module scope: pytest runs a module's tests store by store,
    so each server starts once per module; the SeaweedFS one is the module's ``seaweedfs``)."""
    found: S3TestStore = request.getfixturevalue(request.param)
    return found


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


@pytest.fixture
def index(tmp_path: Path) -> Index:
    """A real index of the test's own (the uploader's queue lives in it)."""
    index, _ = Index.open(tmp_path / "vigil.db")
    return index


@pytest.fixture
def store_bucket(store: S3TestStore) -> str:
    return store.make_bucket(f"vigil-test-{next(_BUCKETS)}")


@pytest.fixture
def s3(store: S3TestStore, store_bucket: str) -> Iterator[S3Store]:
    """The engine's S3 client of the test's bucket (on each store in turn)."""
    client = S3Store(archive_settings(store, store_bucket))
    yield client
    client.close()
