"""An index holding one busy day of a camera, written straight into SQLite (no recording needed).

Yesterday (UTC) of camera ``cam``: 8,640 segments of 10 s (their files exist, empty), 500 motion
events and 20 outages of 2 s. The speed tests of the day summary (the engine's, and the
integration's ``vigil/timeline`` built from it) run against it.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from vigil_engine.api.summary import day_bounds
from vigil_engine.storage.index import Index
from vigil_engine.storage.layout import segment_path

CAMERA_ID = "cam"
SEGMENTS = 8_640
EVENTS = 500
GAPS = 20


def write_busy_day(storage: Path) -> date:
    """Write the busy day into the index at ``storage/vigil.db`` (created); the day, in UTC."""
    recordings = storage / "recordings"
    day = datetime.now(UTC).date() - timedelta(days=1)
    start, end = day_bounds(day, ZoneInfo("UTC"))
    index, _ = Index.open(storage / "vigil.db")
    index.upsert_camera(CAMERA_ID, "Busy", start)
    index.close()
    conn = sqlite3.connect(storage / "vigil.db")
    segments, events, gaps = [], [], []
    for number, t in enumerate(range(start, end, 10_000)):
        path = segment_path(recordings, CAMERA_ID, t)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        if number % 432 == 200:
            gaps.append((CAMERA_ID, t + 8_000, t + 10_000, "camera offline"))  # 20 outages of 2 s
            end_ms = t + 8_000
        else:
            end_ms = t + 10_000
        segments.append((CAMERA_ID, t, end_ms, end_ms - t, 1000, path.relative_to(recordings).as_posix(), 150))
    for number in range(EVENTS):
        at = start + number * 172_000
        events.append((f"{number:032x}", CAMERA_ID, "motion", at, at + 20_000, 5000, 5000, '["yard"]', 0.2))
    with conn:
        conn.executemany(
            "INSERT INTO segments (camera_id, start_ms, end_ms, duration_ms, bytes, path, frames)"
            " VALUES (?,?,?,?,?,?,?)",
            segments,
        )
        conn.executemany("INSERT INTO gaps (camera_id, start_ms, end_ms, reason) VALUES (?,?,?,?)", gaps)
        conn.executemany(
            "INSERT INTO events (id, camera_id, kind, start_ms, end_ms, pre_ms, post_ms, zones, peak_score)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            events,
        )
    conn.close()
    return day
