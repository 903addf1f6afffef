"""The playback cache of archived-only footage, against a real S3 store (SeaweedFS): whole
copies verified by their SHA-256, bounded by least-recent use, never a damaged file."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import time
from pathlib import Path

import pytest

from tests.archive.helpers import random_bytes
from tests.archive.seaweedfs import SeaweedFS
from vigil_engine.archive.cache import FOLDER, ArchiveCache
from vigil_engine.archive.settings import ArchiveSettings
from vigil_engine.config import parse_config

SIZE = 100_000


def _settings(
    store: SeaweedFS, bucket: str, *, cache_bytes: int = 512 * 1024 * 1024, endpoint: str | None = None
) -> ArchiveSettings:
    settings = parse_config({"archive": store.archive_options(bucket)}).archive
    assert settings is not None
    return dataclasses.replace(settings, cache_bytes=cache_bytes, endpoint=endpoint or settings.endpoint)


def _put(store: SeaweedFS, bucket: str, key: str) -> tuple[bytes, str]:
    data = random_bytes(SIZE)
    store.client().put_object(Bucket=bucket, Key=key, Body=data)
    return data, hashlib.sha256(data).hexdigest()


def _age(path: Path, seconds: float) -> None:
    moment = time.time() - seconds
    os.utime(path, (moment, moment))


def test_the_least_recently_used_copies_go_first(seaweedfs: SeaweedFS, bucket: str, tmp_path: Path) -> None:
    objects = [_put(seaweedfs, bucket, f"vigil/cam/2026/12/04/00/10.0{n}.mp4") for n in range(3)]
    cache = ArchiveCache(_settings(seaweedfs, bucket, cache_bytes=int(2.5 * SIZE)), tmp_path)
    try:
        first = cache.file("vigil/cam/2026/12/04/00/10.00.mp4", objects[0][1])
        second = cache.file("vigil/cam/2026/12/04/00/10.01.mp4", objects[1][1])
        assert first is not None
        assert second is not None
        assert first.read_bytes() == objects[0][0]
        assert first.parent == tmp_path / FOLDER
        _age(first, 1000)
        _age(second, 900)
        # A hit makes the first one the most recently used: the second is evicted instead.
        assert cache.file("vigil/cam/2026/12/04/00/10.00.mp4", objects[0][1]) == first
        third = cache.file("vigil/cam/2026/12/04/00/10.02.mp4", objects[2][1])
        assert third is not None
        assert third.read_bytes() == objects[2][0]
        assert first.is_file()
        assert not second.exists()
        assert sum(path.stat().st_size for path in (tmp_path / FOLDER).iterdir()) <= 2.5 * SIZE
    finally:
        cache.close()


def test_a_damaged_or_unreachable_object_is_missing_and_logged_once(
    seaweedfs: SeaweedFS, bucket: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _data, _sha = _put(seaweedfs, bucket, "vigil/cam/2026/12/04/00/10.00.mp4")
    cache = ArchiveCache(_settings(seaweedfs, bucket), tmp_path)
    unreachable = ArchiveCache(_settings(seaweedfs, bucket, endpoint="http://127.0.0.1:9"), tmp_path / "other")
    try:
        with caplog.at_level(logging.DEBUG, logger="vigil_engine.archive.cache"):
            assert cache.file("vigil/cam/2026/12/04/00/10.00.mp4", "0" * 64) is None
            assert cache.file("vigil/cam/2026/12/04/00/10.00.mp4", "0" * 64) is None
            assert unreachable.file("vigil/cam/2026/12/04/00/10.00.mp4", "1" * 64) is None
        assert list((tmp_path / FOLDER).iterdir()) == []
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 2, warnings  # one per cache per minute
        assert "SHA-256" in warnings[0]
        assert "cannot reach the store" in warnings[1]
        assert all("vigil-test-secret" not in r.getMessage() for r in caplog.records)
    finally:
        cache.close()
        unreachable.close()
