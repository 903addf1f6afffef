"""JPEG stills: on-demand snapshots of a camera's latest frame and event snapshots on disk.

Frames are kept decoded (cheap references) and encoded to JPEG only when asked, with
FFmpeg's MJPEG encoder: about 10-30 ms for a 1080p frame on this class of machine.
"""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av

THUMBNAIL_WIDTH = 320
# MJPEG quantiser range: 2 (best) to 31. 2-5 keeps faces and plates legible.
_QMIN, _QMAX = 2, 5


def encode_jpeg(frame: av.VideoFrame, width: int | None = None) -> bytes:
    """Encode ``frame`` as JPEG, downscaled to ``width`` (never upscaled), aspect kept."""
    out_width = frame.width if not width or width >= frame.width else max(16, width)
    out_width -= out_width % 2
    out_height = max(2, round(frame.height * out_width / frame.width / 2) * 2)
    ctx = av.CodecContext.create("mjpeg", "w")
    ctx.width, ctx.height, ctx.pix_fmt = out_width, out_height, "yuvj420p"
    ctx.time_base = Fraction(1, 25)
    ctx.options = {"qmin": str(_QMIN), "qmax": str(_QMAX)}
    converted = frame.reformat(width=out_width, height=out_height, format="yuvj420p")
    converted.pts = 0
    packets = [*ctx.encode(converted), *ctx.encode(None)]
    return b"".join(bytes(packet) for packet in packets)


def event_image_paths(camera_id: str, event_id: str, start_ms: int) -> tuple[str, str]:
    """Where an event's snapshot and thumbnail live, relative to the storage folder.

    ``events/<camera>/<YYYY-MM-DD>/<event id>.jpg`` (UTC day of the event's start), beside
    ``recordings/`` so a person browsing the storage folder finds them.
    """
    day = datetime.fromtimestamp(start_ms / 1000, tz=UTC).strftime("%Y-%m-%d")
    base = f"events/{camera_id}/{day}/{event_id}"
    return f"{base}.jpg", f"{base}-thumb.jpg"


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so a reader never sees half a JPEG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def remove_event_images(storage: Path, *relative: str | None) -> None:
    for rel in relative:
        if rel is None:
            continue
        path = storage / rel
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        folder = path.parent
        # Drop the emptied day and camera folders (never the events root itself).
        for _ in range(2):
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent
