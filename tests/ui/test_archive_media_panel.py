"""Footage that only the off-site archive still holds, played from Home Assistant's Media panel.

The way a user meets it: the engine recorded the RTSP test camera and copied every segment,
encrypted, to a real S3 store (SeaweedFS); since then retention has deleted every local file
(a disk cap no footage fits in; the camera off, so nothing new is recorded). In Chromium,
*Media → Vigil NVR → Test camera → Recordings* still lists the day and the hour, and the hour
plays: the page's own requests show the playlist starting at the first archived segment and its
media answered (fetched from the store, decrypted, verified), while no footage is on the disk.

The stack is this module's own (``scripts/develop`` with an engine config file), not the
package's: it needs an archive and a storage whose footage is gone.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_socket
import yaml
from playwright.sync_api import Browser

from tests.archive.seaweedfs import SeaweedFS
from tests.support.camera import RtspCamera
from tests.support.develop_stack import DevelopStack, free_port, wait_for
from tests.support.engine_process import EngineProcess
from tests.ui.conftest import TIME_ZONE
from tests.ui.frontend import (
    DESKTOP,
    Fetched,
    MediaPanel,
    Steps,
    heading,
    log_in,
    play_folder,
    playlist_start,
    wait_playing,
)

CAMERA_ID = "test_camera"
KEY = bytes(range(40, 72)).hex()
SEGMENTS = 4
ZONE = ZoneInfo(TIME_ZONE)


@dataclass
class ArchivedOnly:
    stack: DevelopStack
    storage: Path
    segments: list[dict[str, Any]]  # archived-only rows, oldest first


def _rows(database: Path, sql: str) -> list[dict[str, Any]]:
    if not database.exists():
        return []
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute(sql).fetchall()]
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def _archived(database: Path) -> list[dict[str, Any]]:
    return _rows(
        database,
        "SELECT s.* FROM segments s JOIN archive_queue q ON q.segment_id = s.id"
        " WHERE q.state = 'done' ORDER BY s.start_ms",
    )


@pytest.fixture(scope="module")
def archived_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArchivedOnly]:
    pytest_socket.enable_socket()
    pytest_socket.socket_allow_hosts(["127.0.0.1"])
    folder = tmp_path_factory.mktemp("archive-media")
    store = SeaweedFS(folder / "seaweedfs")
    store.start()
    camera = RtspCamera(width=640, height=360, fps=15, keyint=1.0).start()
    stack: DevelopStack | None = None
    try:
        archive = store.archive_options(store.make_bucket("media-panel"), copy="all", encryption_key=KEY)
        storage = folder / "storage"
        cameras = [{"id": CAMERA_ID, "name": "Test camera", "url": camera.url("h264"), "motion": {"enabled": False}}]
        # First the engine alone records and archives a few segments.
        engine = EngineProcess(
            folder / "recording",
            {
                "storage_path": str(storage),
                "segment_seconds": 2,
                "min_free": "1MB",
                "archive": archive,
                "cameras": cameras,
            },
        )
        engine.start()
        try:
            engine.wait_for(lambda: len(_archived(engine.db_path)) >= SEGMENTS, 90, "segments to be archived")
        finally:
            assert engine.stop() == 0
        # Then Home Assistant's development stack on the same storage, with a disk cap no footage
        # fits in and the camera off: retention deletes every file, the archive keeps them all.
        config = folder / "engine.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "storage_path": str(storage),
                    "segment_seconds": 2,
                    "min_free": "1MB",
                    "disk_cap": 1,
                    "retention_interval": 0.2,
                    "archive": archive,
                    "cameras": [{**cameras[0], "enabled": False}],
                }
            ),
            encoding="utf-8",
        )
        stack = DevelopStack(
            folder / "develop", free_port(), free_port(), folder / "develop.out", time_zone=TIME_ZONE,
            extra_args=(str(config),),
        )  # fmt: skip
        stack.start()
        stack.wait_ready()
        database = storage / "vigil.db"
        wait_for(lambda: not list((storage / "recordings").rglob("*.mp4")), 30, "retention to delete every file")
        segments = _rows(database, "SELECT * FROM segments WHERE archived_only ORDER BY start_ms")
        assert len(segments) >= SEGMENTS, segments
        yield ArchivedOnly(stack, storage, segments)
    finally:
        if stack is not None:
            if stack.proc is not None and stack.proc.poll() is None:
                stack.stop()
            stack.kill_leftovers()
        camera.close()
        store.stop()


def test_footage_only_the_archive_holds_plays_in_the_media_panel(
    archived_only: ArchivedOnly, browser: Browser, steps: Steps
) -> None:
    stack = archived_only.stack
    first = archived_only.segments[0]
    context = browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id=TIME_ZONE)
    try:
        page = log_in(context, stack.ha_url, "dev", stack.password)
        fetched = Fetched(page)
        media = MediaPanel(page, stack.ha_url)
        media.open()
        for title in ("Vigil NVR", "Test camera", "Recordings"):
            media.click(title)
        steps.shot(page, "recordings")
        start = datetime.fromtimestamp(first["start_ms"] / 1000, UTC).astimezone(ZONE)
        # The day and the hour of the archived footage are listed, as for footage on the disk.
        day = media.click_first()
        assert day.startswith(f"{start:%a} {start.day} {start:%b}"), day
        hour = next(title for title in media.tiles() if title.startswith(f"{start:%H}:00"))
        media.click(hour)
        steps.shot(page, "hour")
        assert heading(media).startswith("Test camera · ")
        play_folder(media)
        video = wait_playing(page, seconds=45)
        steps.shot(page, "playing")
        assert video["width"] == 640, video

        # What played is the archive's: the playlist the page fetched starts at the first
        # archived segment, and the media it fetched of archived-only segments was answered.
        playlist = fetched.wait_for(rf"/api/vigil/\w+/cameras/{CAMERA_ID}/playlist\.m3u8\?")
        assert playlist.status == 200
        shown = playlist_start(playlist.text())
        assert abs(shown - datetime.fromtimestamp(first["start_ms"] / 1000, UTC)) <= timedelta(seconds=1)
        media_ids = {int(found.group(1)) for found in re.finditer(r"-(\d+)/media\.m4s", playlist.text())}
        assert {segment["id"] for segment in archived_only.segments} <= media_ids
        played = [response for response in fetched.matching(r"/media\.m4s") if response.status == 200]
        assert played, "no media segment was fetched"
        assert not list((archived_only.storage / "recordings").rglob("*.mp4")), "footage came back to the disk"
    finally:
        context.close()
