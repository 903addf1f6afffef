"""Object keys and metadata: the archive explains itself without the index.

A segment ``recordings/<camera>/<YYYY-MM-DD>/<HH>/<MM.SS>.mp4`` becomes the object
``<prefix>/<camera>/<YYYY>/<MM>/<DD>/<HH>/<MM.SS>.mp4`` (UTC, like the local folders; an
encrypted one ends in ``.mp4.enc``, since it is not an MP4 any player could open). Its
metadata says the camera, the segment's exact start and end (ms since the epoch, UTC), the
SHA-256 of the segment as recorded (of the plaintext when encrypted), and whether it is
encrypted; S3 sends them as ``x-amz-meta-vigil-*`` headers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import PurePosixPath

ENCRYPTED_SUFFIX = ".enc"
META_CAMERA = "vigil-camera"
META_START = "vigil-start-ms"
META_END = "vigil-end-ms"
META_SHA256 = "vigil-sha256"
META_ENCRYPTED = "vigil-encrypted"


def object_key(prefix: str, camera_id: str, start_ms: int, path: str, *, encrypted: bool) -> str:
    """The object key of the segment at ``path`` (relative to the recordings folder)."""
    parts = PurePosixPath(path).parts
    if len(parts) == 4 and len(parts[1]) == 10:
        # The local folders are the truth (the file was named by them): YYYY-MM-DD/HH.
        year, month, day = parts[1].split("-")
        hour = parts[2]
    else:
        start = datetime.fromtimestamp(start_ms / 1000, tz=UTC)
        year, month, day, hour = (start.strftime(code) for code in ("%Y", "%m", "%d", "%H"))
    name = PurePosixPath(path).name + (ENCRYPTED_SUFFIX if encrypted else "")
    key = f"{camera_id}/{year}/{month}/{day}/{hour}/{name}"
    return f"{prefix}/{key}" if prefix else key


def object_metadata(camera_id: str, start_ms: int, end_ms: int, sha256: str, *, encrypted: bool) -> dict[str, str]:
    """The object's user metadata (the store's client adds the ``x-amz-meta-`` prefix)."""
    return {
        META_CAMERA: camera_id,
        META_START: str(start_ms),
        META_END: str(end_ms),
        META_SHA256: sha256,
        META_ENCRYPTED: "true" if encrypted else "false",
    }


def content_type(*, encrypted: bool) -> str:
    return "application/octet-stream" if encrypted else "video/mp4"
