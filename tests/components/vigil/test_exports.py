"""The description kept beside an exported file (``exports.py``): written whole, read back, or ignored when wrong."""

from __future__ import annotations

import json
from pathlib import Path

from custom_components.vigil.exports import ExportInfo, info_path, read_info, thumbnail_path, write_sidecar


def test_written_and_read_back(tmp_path: Path) -> None:
    clip = tmp_path / "front_20261203-203000_12s.mp4"
    clip.write_bytes(b"mp4")
    info = ExportInfo("front", "Front door", 1_796_325_000_000, 1_796_325_012_000, "a" * 32)
    write_sidecar(clip, info, b"\xff\xd8\xffjpeg")
    assert read_info(clip) == info
    assert thumbnail_path(clip).read_bytes() == b"\xff\xd8\xffjpeg"
    assert info_path(clip).parent.name == ".vigil"  # hidden: Home Assistant's own media browser skips it
    assert not list(info_path(clip).parent.glob(".*.part"))
    snapshot = tmp_path / "front_20261203-203000.jpg"
    write_sidecar(snapshot, ExportInfo("front", "Front door", 1_796_325_000_000))
    assert read_info(snapshot) == ExportInfo("front", "Front door", 1_796_325_000_000)
    assert not thumbnail_path(snapshot).exists()


def test_what_is_not_a_description_is_ignored(tmp_path: Path) -> None:
    clip = tmp_path / "copied.mp4"
    assert read_info(clip) is None  # none at all
    info_path(clip).parent.mkdir()
    for text in (
        "not json",
        json.dumps(["a list"]),
        json.dumps({"camera_id": "front", "camera_name": "Front", "start_ms": "noon"}),
        json.dumps({"camera_id": "front", "camera_name": "Front", "start_ms": True}),
        json.dumps({"camera_id": "front", "camera_name": "Front", "start_ms": 2000, "end_ms": 1000}),
        json.dumps({"camera_id": "front", "camera_name": "Front", "start_ms": 1000, "end_ms": "later"}),
    ):
        info_path(clip).write_text(text)
        assert read_info(clip) is None, text
    info_path(clip).write_text(json.dumps({"camera_id": "front", "camera_name": "Front", "start_ms": 1, "event_id": 5}))
    assert read_info(clip) == ExportInfo("front", "Front", 1)
