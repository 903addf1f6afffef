"""What every request handler shares: the engine, the token's signer, the clip cache, footage lookups,
the live parts and the still decoders."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from vigil_engine.recording.fragments import SegmentView
from vigil_engine.storage.index import Index, SegmentRecord

from .auth import Signer
from .clips import Clip, build_clip
from .errors import ApiError, camera_not_found
from .live import LiveParts
from .reads import IndexReader
from .still import StillPool
from .summary import Writing

if TYPE_CHECKING:
    from vigil_engine.archive.cache import ArchiveCache
    from vigil_engine.engine import Engine

    from .websocket import Connection

CLIP_CACHE_ENTRIES = 8


@dataclass(eq=False)
class ApiContext:
    engine: Engine
    token: str
    signer: Signer
    connections: set[Connection] = field(default_factory=set)
    live: LiveParts = field(default_factory=LiveParts)
    stills: StillPool = field(default_factory=StillPool)
    _clips: OrderedDict[tuple[object, ...], Clip] = field(default_factory=OrderedDict)
    _reader: IndexReader | None = None
    _archive_cache: ArchiveCache | None = None

    @property
    def index(self) -> Index:
        index = self.engine.index
        if index is None:
            raise ApiError("internal_error", "the engine is not running")
        return index

    @property
    def reader(self) -> IndexReader:
        """The API's own read connection to the index (see ``reads``)."""
        index = self.index
        if self._reader is None or self._reader.path != index.path:
            self._reader = IndexReader(index.path, archived_only=index.archived_only_playable)
        return self._reader

    def close(self) -> None:
        self.stills.close()
        if self._reader is not None:
            self._reader.close()
        if self._archive_cache is not None:
            self._archive_cache.close()

    def writing(self, camera_id: str) -> Writing | None:
        """The segment the camera is writing now, up to its newest complete fragment (None if it records nothing)."""
        camera = self.engine.cameras.get(camera_id)
        worker = camera.worker if camera is not None else None
        if worker is None:
            return None
        extent = self.live.writing_extent(worker.live_feed.segments())
        return Writing(*extent) if extent is not None else None

    def require_camera(self, camera_id: str) -> str:
        if camera_id not in self.engine.camera_ids():
            raise camera_not_found(camera_id)
        return camera_id

    def live_segments(self, camera_id: str) -> list[SegmentView]:
        """The segments the camera's worker is writing and has just written (see ``recording.live``)."""
        camera = self.engine.cameras.get(camera_id)
        worker = camera.worker if camera is not None else None
        if worker is None:
            raise ApiError("no_footage", f"camera {camera_id} is not recording (disabled, or not connected yet)")
        return worker.live_feed.segments()

    def segment_path(self, segment: SegmentRecord) -> Path | None:
        """The segment's file, if the index's relative path stays inside the recordings folder."""
        root = self.engine.config.recordings_path
        path = root / segment.path
        try:
            if not path.resolve().is_relative_to(root.resolve()):
                return None
        except OSError:
            return None
        return path

    def archived_file(self, segment: SegmentRecord, *, whole: bool = True) -> Path | None:
        """The local copy of a segment kept only in the archive, fetched if need be (blocking;
        see ``archive.cache``); None when there is no archive or the object cannot be had.
        ``whole=False``: a file with only the segment's start (its codecs), for a playlist."""
        settings = self.engine.config.archive
        if settings is None or segment.id is None:
            return None
        found = self.index.archive_object(segment.id)
        if found is None:
            return None
        if self._archive_cache is None:
            # Imported on first use: an engine without archived-only footage never needs the
            # archive's modules (tests/engine/test_startup_imports.py).
            from vigil_engine.archive.cache import ArchiveCache  # noqa: PLC0415

            self._archive_cache = ArchiveCache(settings, self.engine.config.storage_path)
        return self._archive_cache.file(*found) if whole else self._archive_cache.head(*found)

    def segment_files(
        self, camera_id: str, start_ms: int, end_ms: int, *, whole: bool = True
    ) -> list[tuple[SegmentRecord, Path]]:
        """Indexed segments of a camera overlapping ``[start_ms, end_ms)``, oldest first, with their files
        (those kept only in the archive fetched into its cache: blocking, call it in a thread;
        ``whole=False`` fetches only their start, all a playlist reads of them)."""
        found: list[tuple[SegmentRecord, Path]] = []
        for segment in self.index.segments(camera_id, start_ms, end_ms):
            path = self.archived_file(segment, whole=whole) if segment.archived_only else self.segment_path(segment)
            if path is not None:
                found.append((segment, path))
        return found

    def find_segment(self, camera_id: str, start_ms: int, segment_id: int) -> tuple[SegmentRecord, Path]:
        for segment in self.index.segments(camera_id, start_ms, start_ms + 1):
            if segment.id == segment_id and segment.start_ms == start_ms:
                # Only this one is fetched from the archive, if it is kept only there.
                path = self.archived_file(segment) if segment.archived_only else self.segment_path(segment)
                if path is not None:
                    return segment, path
        raise ApiError("no_footage", "no such recording (it may have been deleted by retention)")

    async def clip(self, camera_id: str, start_ms: int, end_ms: int) -> Clip:
        """The clip of a range, from a small cache of recent ones (a player asks for many byte ranges)."""
        files = await asyncio.to_thread(self.segment_files, camera_id, start_ms, end_ms)
        if not files:
            raise ApiError("no_footage", "no footage is stored in the requested range")
        key = (camera_id, start_ms, end_ms, *((seg.id, seg.bytes) for seg, _path in files))
        cached = self._clips.get(key)
        if cached is not None:
            self._clips.move_to_end(key)
            return cached
        try:
            clip = await asyncio.to_thread(build_clip, files, start_ms, end_ms)
        except LookupError:
            raise ApiError("no_footage", "no footage is stored in the requested range") from None
        self._clips[key] = clip
        while len(self._clips) > CLIP_CACHE_ENTRIES:
            self._clips.popitem(last=False)
        return clip


CONTEXT: web.AppKey[ApiContext] = web.AppKey("vigil_api", ApiContext)
