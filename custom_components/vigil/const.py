"""Constants of the Vigil integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "vigil"
LOGGER = logging.getLogger(__package__)

MANUFACTURER: Final = "Vigil NVR"

CONF_TOKEN: Final = "token"  # noqa: S105 - the name of a field, not a secret

# Options (Home Assistant's side only; the engine's settings live in the add-on).
CONF_ZONE_SENSORS: Final = "zone_sensors"
CONF_OBJECT_ZONE_SENSORS: Final = "object_zone_sensors"
CONF_RECORDING_THRESHOLD: Final = "recording_threshold"
CONF_OFFLINE_ISSUE_MINUTES: Final = "offline_issue_minutes"
CONF_ARCHIVE_ISSUE_MINUTES: Final = "archive_issue_minutes"
DEFAULT_ZONE_SENSORS: Final = True
# Per zone and label group ("Person in driveway"): many entities, so only on request.
DEFAULT_OBJECT_ZONE_SENSORS: Final = False
DEFAULT_RECORDING_THRESHOLD: Final = 120  # seconds without footage before the problem sensor turns on
DEFAULT_OFFLINE_ISSUE_MINUTES: Final = 30
# Minutes the off-site archive's store may fail before a repair issue says so (short outages are normal).
DEFAULT_ARCHIVE_ISSUE_MINUTES: Final = 30

# How often camera statistics (fps, bitrate) and storage are refreshed; everything else is pushed.
STATS_INTERVAL_SECONDS: Final = 30
# Reconnection attempts back off from 0.5 s to this (the engine is local: retrying is cheap).
RECONNECT_MAX_SECONDS: Final = 10.0
# How long setup waits for the first subscription (the state snapshot) before retrying later.
SETUP_TIMEOUT_SECONDS: Final = 15

# Where services write files, under the media folder.
MEDIA_SUBDIR: Final = "vigil"
CLIPS_DIR: Final = "clips"
SNAPSHOTS_DIR: Final = "snapshots"

# Event entity types.
EVENT_MOTION: Final = "motion"
EVENT_MOTION_ENDED: Final = "motion_ended"
EVENT_MANUAL: Final = "manual"
EVENT_MANUAL_ENDED: Final = "manual_ended"
# ... and one per label group (labels.GROUPS): person, vehicle, animal.

# Service names and fields.
SERVICE_EXPORT_CLIP: Final = "export_clip"
SERVICE_START_EVENT: Final = "start_event"
SERVICE_END_EVENT: Final = "end_event"
SERVICE_SNAPSHOT: Final = "snapshot"
SERVICE_PTZ: Final = "ptz"
SERVICE_GET_EVENT_MEDIA: Final = "get_event_media"
SERVICE_SNOOZE_NOTIFICATIONS: Final = "snooze_notifications"
ATTR_DURATION: Final = "duration"
ATTR_MODE: Final = "mode"
ATTR_PAN: Final = "pan"
ATTR_TILT: Final = "tilt"
ATTR_ZOOM: Final = "zoom"
ATTR_SECONDS: Final = "seconds"
ATTR_PRESET: Final = "preset"
PTZ_MODES: Final = ("move", "stop", "zoom", "preset")
ATTR_START: Final = "start"
ATTR_END: Final = "end"
ATTR_EVENT_ID: Final = "event_id"
ATTR_LABEL: Final = "label"
ATTR_MEDIA: Final = "media"
ATTR_EXPIRES_IN: Final = "expires_in"

# The engine's schema version that added stills of any instant and live HLS of every camera
# (docs/api/websocket.md, *Versioning*): an older engine gets neither asked for.
SCHEMA_STILLS_AND_LIVE: Final = 2
# The schema version that added object detection (labels on events, list_events by label).
SCHEMA_OBJECTS: Final = 3
# The schema version that added the off-site archive's status (Storage.archive).
SCHEMA_ARCHIVE: Final = 4

# Repair issue ids (suffixed with the entry id, and the camera id where one applies).
ISSUE_SCHEMA_MISMATCH: Final = "schema_mismatch"
ISSUE_CAMERA_OFFLINE: Final = "camera_offline"
ISSUE_STORAGE: Final = "storage"
ISSUE_ARCHIVE: Final = "archive_failing"
STORAGE_WARNING_CODES: Final = frozenset(
    {"retention_not_met", "storage_full", "low_space", "write_failed", "archive_not_copied"}
)

# Signed media links (vigil.get_event_media for notifications, the media browser): how long they work.
CONF_LINK_EXPIRY_MINUTES: Final = "link_expiry_minutes"
DEFAULT_LINK_EXPIRY_MINUTES: Final = 24 * 60  # long enough for a notification to be opened the next day
MIN_LINK_EXPIRY_MINUTES: Final = 5
MAX_LINK_EXPIRY_MINUTES: Final = 30 * 24 * 60

# Fired on Home Assistant's bus when an event starts or ends (the event entity's data and more).
BUS_EVENT: Final = "vigil_event"

# The key (last part of the unique id) of each camera's "Notifications snoozed until" sensor.
SNOOZE_KEY: Final = "notifications_snoozed_until"
# The companion app's notification action that snoozes a camera's notifications, as the
# blueprint sends it: vigil_snooze:<config entry id>:<camera id>:<minutes>.
SNOOZE_ACTION_PREFIX: Final = "vigil_snooze"
MAX_SNOOZE_MINUTES: Final = 7 * 24 * 60
