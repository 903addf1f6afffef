"""The Vigil engine protocol: every message shape of its WebSocket and HTTP API, defined once.

The engine builds what it sends from these models (``to_dict()``: a field is on the wire only if
its model has it) and the Home Assistant integration reads what it receives with them
(``Model.parse``: unknown fields are ignored, missing ones take their defaults, wrong types are a
:class:`ProtocolError`). docs/api/websocket.md's field tables and the OpenAPI document's schemas
are generated from them.

The source is ``protocol/vigil_protocol/`` at the repository's root. It is copied byte for byte
to ``addon/vigil_engine/protocol/`` (the add-on's build context) and to
``custom_components/vigil/protocol/`` (what HACS installs), so it imports only itself (relative
imports), the standard library and mashumaro. Never edit a copy: edit the source and run
``scripts/sync-protocol``, which writes the copies and regenerates the documents (the tests
fail while a copy or a document differs).

Modules: ``model`` (the base class and its parsing rules), ``objects`` (cameras, events,
storage, day summaries, ...), ``commands`` (every command's arguments and result, ``COMMANDS``),
``events`` (every pushed event's data, ``EVENTS``), ``envelopes`` (the messages around them,
``ENVELOPES``), ``error_codes`` and ``constants`` (schema versions, limits, close codes). The
engine makes JSON Schema of them for the documents (``vigil_engine.api.json_schema``).

How to add a command:

1. In ``commands.py``, a model for its arguments (or ``NoArgs``; optional arguments are
   ``X | None = None``) and one for its result (reuse one of the same shape), each field with
   ``metadata=describe("...")``; new objects go in ``objects.py``. Then a line in ``COMMANDS``.
2. In the engine, a handler returning the result model (``addon/vigil_engine/api/``: the
   ``HANDLERS`` of ``websocket.py``; engine state becomes a model in ``api/wire.py``); in the
   integration, a method of ``VigilClient`` that sends the arguments model and reads the answer
   with the result model (``_ask``). An HTTP JSON twin answers the same model (``api/rest.py``,
   listed in ``ANSWERS`` of ``api/openapi.py``).
3. In docs/api/websocket.md, a ``### `name` `` section under *Commands* with its prose and the
   table markers (``<!-- table: args name -->``, ``<!-- table: result name -->``), then
   ``scripts/sync-protocol``.

How to add an event: a model subclassing ``EventData`` in ``events.py`` with its ``NAME`` and
fields, listed in ``EVENTS``; the engine publishes a bus message of that kind with those fields
(anything else in the bus message is dropped); the integration's ``EngineEvent`` union
(``custom_components/vigil/client/events.py``) names the model; a section under *Events* in the
document with ``<!-- table: event name -->``; ``scripts/sync-protocol``.

How to add a field: to its model, with a default (what a client assumes of an older engine);
where the engine builds the model field by field, there too (``api/wire.py``: ``event()``; a test
compares it with the bus messages' ``as_dict()``); a line in the document's *Versioning* table and
``SCHEMA_VERSION`` bumped in ``constants.py`` (``MIN_SCHEMA_VERSION`` only for a change that breaks
older clients).
"""

from .commands import (
    COMMANDS,
    AddCameraArgs,
    AddedCamera,
    CameraArgs,
    CameraIdResult,
    CameraList,
    CameraResult,
    Command,
    DaySummaryResult,
    DiscoverArgs,
    DiscoveredDevices,
    EventPage,
    EventResult,
    GetDaySummaryArgs,
    GetEventArgs,
    GetStreamUrlArgs,
    ListEventsArgs,
    MotionDetectionResult,
    NoArgs,
    ObjectDetectionResult,
    PresetResult,
    Presets,
    PtzGotoPresetArgs,
    PtzMoveArgs,
    PtzZoomArgs,
    RecordModeResult,
    RestoreArchiveArgs,
    RestoreArchiveResult,
    ServerInfo,
    SetMotionDetectionArgs,
    SetObjectDetectionArgs,
    SetRecordModeArgs,
    SignedPath,
    SignPathArgs,
    StartManualEventArgs,
    StorageResult,
    StreamUrl,
    SubscribeArgs,
    Subscription,
    Unsubscribed,
)
from .constants import (
    AUTH_TIMEOUT_S,
    CLOSE_PROTOCOL,
    CLOSE_TOO_SLOW,
    CLOSE_UNAUTHORIZED,
    MAX_MESSAGE_BYTES,
    MAX_PENDING_COMMANDS,
    MIN_SCHEMA_VERSION,
    SCHEMA_VERSION,
    SUBSCRIBER_QUEUE,
)
from .envelopes import (
    ENVELOPES,
    AuthMessage,
    CommandMessage,
    ErrorBody,
    ErrorMessage,
    EventMessage,
    ResultMessage,
    ServerInfoMessage,
)
from .error_codes import ERROR_CODES, NOT_FOUND_CODES, ErrorCode
from .events import (
    EVENTS,
    ArchiveRestoreChanged,
    CameraDetection,
    CameraOffline,
    CameraOnline,
    CamerasChanged,
    CameraSettingsChanged,
    EventChanged,
    EventData,
    EventEnded,
    EventStarted,
    EventUpdated,
    MotionChanged,
    ObjectAppeared,
    ObjectChanged,
    ObjectEnded,
    ObjectUpdated,
    RecordingChanged,
    SegmentWritten,
    StorageWarningChanged,
)
from .model import Model, ProtocolError, describe
from .objects import (
    OBJECTS,
    ArchiveStatus,
    Camera,
    DaySummary,
    Device,
    DiscoveredDevice,
    Error,
    Event,
    EventKind,
    EventObject,
    Gap,
    Hour,
    ObjectDetection,
    Preset,
    Range,
    RecordMode,
    RestoreStatus,
    Storage,
    StorageWarning,
    TrackedObject,
    datetime_to_ms,
    ms_to_datetime,
)

__all__ = [
    "AUTH_TIMEOUT_S",
    "CLOSE_PROTOCOL",
    "CLOSE_TOO_SLOW",
    "CLOSE_UNAUTHORIZED",
    "COMMANDS",
    "ENVELOPES",
    "ERROR_CODES",
    "EVENTS",
    "MAX_MESSAGE_BYTES",
    "MAX_PENDING_COMMANDS",
    "MIN_SCHEMA_VERSION",
    "NOT_FOUND_CODES",
    "OBJECTS",
    "SCHEMA_VERSION",
    "SUBSCRIBER_QUEUE",
    "AddCameraArgs",
    "AddedCamera",
    "ArchiveRestoreChanged",
    "ArchiveStatus",
    "AuthMessage",
    "Camera",
    "CameraArgs",
    "CameraDetection",
    "CameraIdResult",
    "CameraList",
    "CameraOffline",
    "CameraOnline",
    "CameraResult",
    "CameraSettingsChanged",
    "CamerasChanged",
    "Command",
    "CommandMessage",
    "DaySummary",
    "DaySummaryResult",
    "Device",
    "DiscoverArgs",
    "DiscoveredDevice",
    "DiscoveredDevices",
    "Error",
    "ErrorBody",
    "ErrorCode",
    "ErrorMessage",
    "Event",
    "EventChanged",
    "EventData",
    "EventEnded",
    "EventKind",
    "EventMessage",
    "EventObject",
    "EventPage",
    "EventResult",
    "EventStarted",
    "EventUpdated",
    "Gap",
    "GetDaySummaryArgs",
    "GetEventArgs",
    "GetStreamUrlArgs",
    "Hour",
    "ListEventsArgs",
    "Model",
    "MotionChanged",
    "MotionDetectionResult",
    "NoArgs",
    "ObjectAppeared",
    "ObjectChanged",
    "ObjectDetection",
    "ObjectDetectionResult",
    "ObjectEnded",
    "ObjectUpdated",
    "Preset",
    "PresetResult",
    "Presets",
    "ProtocolError",
    "PtzGotoPresetArgs",
    "PtzMoveArgs",
    "PtzZoomArgs",
    "Range",
    "RecordMode",
    "RecordModeResult",
    "RecordingChanged",
    "RestoreArchiveArgs",
    "RestoreArchiveResult",
    "RestoreStatus",
    "ResultMessage",
    "SegmentWritten",
    "ServerInfo",
    "ServerInfoMessage",
    "SetMotionDetectionArgs",
    "SetObjectDetectionArgs",
    "SetRecordModeArgs",
    "SignPathArgs",
    "SignedPath",
    "StartManualEventArgs",
    "Storage",
    "StorageResult",
    "StorageWarning",
    "StorageWarningChanged",
    "StreamUrl",
    "SubscribeArgs",
    "Subscription",
    "TrackedObject",
    "Unsubscribed",
    "datetime_to_ms",
    "describe",
    "ms_to_datetime",
]
