"""The protocol's versions, limits and WebSocket close codes (docs/api/websocket.md states each)."""

from __future__ import annotations

from typing import Final

# Grows with every change of the protocol; MIN_SCHEMA_VERSION only with one that breaks clients.
# 2: live HLS, stills of any instant, DaySummary.live (the segment being written counts as footage).
# 3: object detection: events' labels, top score and objects; the object_* events; the cameras'
#    detection state and the get/set_object_detection commands; list_events by label and score.
# 4: the off-site archive's status: Storage.archive (ArchiveStatus), in get_storage, GET /api/storage and subscribe.
# 5: restoring from the archive while the engine runs: the restore_archive command, ArchiveStatus.restore
#    (RestoreStatus) and the archive_restore event.
SCHEMA_VERSION: Final = 5
MIN_SCHEMA_VERSION: Final = 1

MAX_MESSAGE_BYTES: Final = 64 * 1024  # a client's frame
MAX_PENDING_COMMANDS: Final = 32  # commands outstanding on one connection
SUBSCRIBER_QUEUE: Final = 1000  # events waiting to be forwarded to one connection
AUTH_TIMEOUT_S: Final = 10.0  # for the auth message

CLOSE_UNAUTHORIZED: Final = 4001
CLOSE_TOO_SLOW: Final = 4002
CLOSE_PROTOCOL: Final = 4003
