"""The off-site archive's settings: where footage goes, what is copied, and how.

Built by ``config.py`` from the ``archive:`` section (None when the section is absent, has no
bucket, or says ``enabled: false``). The credentials and the encryption key are kept out of
``repr`` (and so out of every log line and ``--check`` output that prints the settings); the
config registers them with the log redactor as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# What the archive copies: only footage an event protects (with its pre/post capture), or all.
CopyMode = Literal["events", "all"]
COPY_MODES: tuple[CopyMode, ...] = ("events", "all")
# A camera's own choice: off, or one of the above (None in CameraConfig: the archive's default).
CameraCopy = Literal["off", "events", "all"]
CAMERA_COPIES: tuple[CameraCopy, ...] = ("off", "events", "all")

MIB = 1024 * 1024
# S3 refuses parts under 5 MiB (all but the last one), and allows at most 10,000 parts.
MIN_PART_SIZE = 5 * MIB
DEFAULT_PART_SIZE = 8 * MIB


@dataclass(frozen=True, slots=True)
class ArchiveSettings:
    endpoint: str  # https://s3.eu-central-1.amazonaws.com, http://127.0.0.1:8333 ...
    bucket: str
    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    region: str = "us-east-1"
    prefix: str = "vigil"  # no leading or trailing '/'; '' puts cameras at the bucket's top
    copy: CopyMode = "events"
    keep_days: float | None = None  # remote retention; None keeps objects until the user deletes them
    max_mbps: float | None = None  # upload bandwidth cap in Mbit/s; None: as fast as the link goes
    # 32 bytes (AES-256) or None for no client-side encryption.
    encryption_key: bytes | None = field(default=None, repr=False)
    keep_local_until_archived: bool = False
    # Objects larger than this go up as multipart uploads of ``part_size`` parts.
    multipart_threshold: int = DEFAULT_PART_SIZE
    part_size: int = DEFAULT_PART_SIZE
    # Playback of footage kept only in the archive: the local cache's size (``archive.cache_mb``).
    cache_bytes: int = 512_000_000
    # Seconds: connecting to the store, and waiting for its answer.
    connect_timeout: float = 5.0
    read_timeout: float = 30.0

    @property
    def encrypted(self) -> bool:
        return self.encryption_key is not None
