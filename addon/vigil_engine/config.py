"""Engine configuration: one schema for the YAML file and the add-on's ``/data/options.json``.

Validation reports every problem of a document in one pass, one line each, each naming its
key path and, for per-camera keys, the camera, e.g.
``cameras[front_door].record: value must be one of ['continuous', 'events', 'off']`` or
``cameras[porch].motion.treshold: unknown key (did you mean 'threshold'?)``. The top-level
keys and every camera are checked even when an earlier one is wrong, and the rules that tie
keys together (unique camera ids and zone names; ``url`` or ``onvif``) are checked alongside
the schema, so that fixing a file never takes more than one round. The engine's start and
``--check`` use the same validation. No error echoes a value of a key that may hold a
secret: a password that YAML read as a number is reported with a hint to quote it.

voluptuous checks each value. Two things it does not do are done here: a list of mappings
(``[schema]``) stops at the first bad item, so such lists are validated item by item
(:class:`_Each`); and an unknown key gets the closest allowed key of its level (difflib).

Where the document comes from decides one default: the add-on's options
(``/data/options.json``) make the API listen on every address of the add-on's network,
which Home Assistant reaches it over; any other configuration (or none) makes it listen on
loopback only, so that an engine run by hand is not open to the whole LAN until its owner
sets ``api_host``.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import difflib
import json
import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, cast
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import voluptuous as vol
import yaml

from .archive.settings import CAMERA_COPIES, COPY_MODES, MIN_PART_SIZE, ArchiveSettings, CameraCopy, CopyMode
from .detection.labels import COCO_LABELS, GROUPS, resolve_labels
from .detection.object_settings import DEFAULT_LABELS, LabelFilter, ObjectSettings
from .detection.settings import BACKENDS, BackendKind, DetectorSettings
from .motion.settings import EVENTS_FROM, EventSettings, EventsFrom, MotionSettings, Polygon, Zone
from .redact import SECRETS, url_secrets

RecordMode = Literal["continuous", "events", "off"]
RECORD_MODES: tuple[RecordMode, ...] = ("continuous", "events", "off")
# What starts motion events: Vigil's own detector, the camera's ONVIF events, or either.
MotionSource = Literal["own", "camera", "both"]
MOTION_SOURCES: tuple[MotionSource, ...] = ("own", "camera", "both")
_LOGGER = logging.getLogger(__name__)
ADDON_OPTIONS = Path("/data/options.json")
# The add-on's API must answer on the Supervisor's internal network (Home Assistant runs in
# another container); an engine run by hand answers on this machine only unless told otherwise.
ADDON_API_HOST = "0.0.0.0"  # noqa: S104 - see above: only for the add-on's options
STANDALONE_API_HOST = "127.0.0.1"
DEMO_URL = "demo://"
DEFAULT_API_PORT = 8750

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b|%)?\s*$", re.IGNORECASE)
_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
    "t": 1000**4,
    "tb": 1000**4,
    "tib": 1024**4,
}


class ConfigError(ValueError):
    """The configuration is unusable. ``errors`` holds every problem found, one line each,
    naming its key; the message joins them with "; " (one line for a log record or an API answer)."""

    def __init__(self, *errors: str) -> None:
        super().__init__("; ".join(errors))
        self.errors: tuple[str, ...] = errors


@dataclass(frozen=True, slots=True)
class DiskLimit:
    """A size given either in bytes or as a percentage of the storage volume."""

    bytes: int | None = None
    percent: float | None = None

    def resolve(self, volume_total: int) -> int:
        if self.percent is not None:
            return int(volume_total * self.percent / 100)
        return self.bytes or 0


@dataclass(frozen=True, slots=True)
class OnvifSettings:
    """A camera found by its ONVIF address: streams, snapshot, PTZ and events come from the camera."""

    host: str
    port: int = 80
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    # Profile tokens; None: the highest resolution is the main stream, the smallest the substream.
    main_profile: str | None = None
    sub_profile: str | None = None
    events: bool = True  # subscribe to the camera's own events (motion, people, vehicles)

    @property
    def address(self) -> str:
        return f"onvif://{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class CameraConfig:
    id: str
    name: str
    # For an ONVIF camera: its onvif:// address until the stream URIs are resolved.
    url: str
    substream_url: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    record: RecordMode = "continuous"
    retention_days: float = 7.0
    enabled: bool = True
    # Replaying a file as a camera (benchmarks, demos): pace packets at real time and loop.
    realtime: bool = True
    loop: bool = True
    motion: MotionSettings = field(default_factory=MotionSettings)
    events: EventSettings = field(default_factory=EventSettings)
    onvif: OnvifSettings | None = None
    motion_source: MotionSource = "own"
    objects: ObjectSettings = field(default_factory=ObjectSettings)
    # What the off-site archive copies of this camera; None: what the archive's ``copy`` says.
    archive: CameraCopy | None = None

    @property
    def is_demo(self) -> bool:
        return self.url.startswith(DEMO_URL)


@dataclass(frozen=True, slots=True)
class EngineConfig:
    storage_path: Path
    cameras: tuple[CameraConfig, ...]
    database_path: Path | None = None
    segment_seconds: float = 10.0
    disk_cap: DiskLimit | None = None
    min_free: DiskLimit = DiskLimit(bytes=1_000_000_000)
    time_zone: str = "UTC"
    open_timeout: float = 10.0
    read_timeout: float = 5.0
    retention_interval: float = 10.0
    log_level: str = "info"
    api_host: str = STANDALONE_API_HOST  # the add-on's options: ADDON_API_HOST (see the module's docstring)
    api_port: int = DEFAULT_API_PORT
    # None: generated on first start and kept beside the index database (see ``api.auth``).
    api_token: str | None = field(default=None, repr=False)
    # How object detection runs (one detector for every camera); see ``detection.settings``.
    detector: DetectorSettings = field(default_factory=DetectorSettings)
    # The off-site archive (S3-compatible object store); None: footage stays on this machine only.
    archive: ArchiveSettings | None = None

    @property
    def recordings_path(self) -> Path:
        return self.storage_path / "recordings"

    @property
    def db_path(self) -> Path:
        return self.database_path or self.storage_path / "vigil.db"

    def camera(self, camera_id: str) -> CameraConfig:
        for camera in self.cameras:
            if camera.id == camera_id:
                return camera
        raise KeyError(camera_id)


def _size(value: Any) -> DiskLimit:
    if isinstance(value, bool):
        raise vol.Invalid("expected a size such as 500GB, 80% or a number of bytes")
    if isinstance(value, int | float):
        if value < 0:
            raise vol.Invalid("must not be negative")
        return DiskLimit(bytes=int(value))
    if not isinstance(value, str) or not (match := _SIZE.match(value)):
        raise vol.Invalid("expected a size such as 500GB, 80% or a number of bytes")
    number, unit = float(match.group(1)), (match.group(2) or "").lower()
    if unit == "%":
        if not 0 < number <= 100:
            raise vol.Invalid("a percentage must be between 0 and 100")
        return DiskLimit(percent=number)
    # "GiB" and "Gi" are the same unit; so are "GB" and "G".
    factor = _UNITS[unit if unit.endswith("b") or not unit else unit + "b"]
    return DiskLimit(bytes=int(number * factor))


def _optional_size(value: Any) -> DiskLimit | None:
    return None if value is None else _size(value)


def _slug(value: Any) -> str:
    if not isinstance(value, str) or not _SLUG.match(value):
        raise vol.Invalid("must be a slug: lower-case letters, digits and '_', at most 64 characters")
    return value


def _stream_url(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise vol.Invalid("expected a stream URL such as rtsp://camera/stream1")
    url: str = value.strip()
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in {"rtsp", "rtsps", "rtmp", "http", "https", "file", "demo", "onvif"}:
        raise vol.Invalid("unsupported URL scheme (use rtsp://, rtsps://, http(s)://, file://, onvif:// or demo://)")
    try:
        urlsplit(url).port  # noqa: B018 - raises on a port that is not a number from 0 to 65535
    except ValueError:
        raise vol.Invalid("the URL's port must be a number from 1 to 65535") from None
    return url


def _time_zone(value: Any) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise vol.Invalid(f"unknown IANA time zone {value!r}") from err
    return str(value)


def _api_token(value: Any) -> str | None:
    if value is None or value == "":
        return None  # generate one (the add-on's empty option means the same)
    if not isinstance(value, str) or not 16 <= len(value) <= 256:
        raise vol.Invalid("must be 16 to 256 characters long")
    return value


def _default_time_zone() -> str:
    """The host's zone when it names one (the Supervisor sets ``TZ`` to Home Assistant's), else UTC."""
    zone = os.environ.get("TZ", "").strip()
    try:
        return _time_zone(zone) if zone else "UTC"
    except vol.Invalid:
        return "UTC"


def _point(value: Any) -> tuple[float, float]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise vol.Invalid("a point is [x, y] (or 'x,y') with 0 <= x, y <= 1")
    try:
        x, y = float(value[0]), float(value[1])
    except TypeError, ValueError:
        raise vol.Invalid("a point is [x, y] (or 'x,y') with 0 <= x, y <= 1") from None
    if not (0 <= x <= 1 and 0 <= y <= 1):
        raise vol.Invalid("point coordinates are fractions of the frame, between 0 and 1")
    return (x, y)


def _polygon(value: Any) -> Polygon:
    """A polygon: a list of [x, y] points, or the add-on's string form "x,y x,y x,y"."""
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list | tuple) or len(value) < 3:
        raise vol.Invalid("a polygon needs at least three points")
    return tuple(_point(point) for point in value)


# Every name a label filter may use: the model's labels (a space may be written as "_", as the
# add-on's form needs: traffic_light) and the groups.
_LABEL_NAMES: tuple[str, ...] = (*(label.replace(" ", "_") for label in COCO_LABELS), *GROUPS)
_FILTER_KEYS = {"min_score": (0.0, 1.0), "min_area_percent": (0.0, 100.0)}


_LABEL_HINT = "a COCO label such as person, car or dog, or a group: person, vehicle, animal"


def _unknown_label(value: Any) -> str | None:
    """Why ``value`` is not a label or group name (with the closest name), or None."""
    if not isinstance(value, str) or not value.strip():
        return f"expected {_LABEL_HINT}"
    name = value.strip().lower().replace(" ", "_")
    if name in _LABEL_NAMES:
        return None
    close = difflib.get_close_matches(name, _LABEL_NAMES, n=1, cutoff=_CLOSE_ENOUGH)
    hint = f"did you mean {close[0]!r}?" if close else _LABEL_HINT
    return f"unknown label {value.strip()[:_MAX_KEY_IN_MESSAGE]!r} ({hint})"


def _labels(value: Any) -> frozenset[str]:
    """A list of labels and groups (the labels to track, or those that enter a zone): the labels
    they stand for. Every unknown name of the list is reported at once."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise vol.Invalid("expected a list of labels, such as [person, car]")
    problems = [problem for item in value if (problem := _unknown_label(item)) is not None]
    if problems:
        raise vol.Invalid("; ".join(problems))
    return resolve_labels(value)


def _optional_labels(value: Any) -> frozenset[str] | None:
    return None if value is None else _labels(value)


def _object_filter(value: Any) -> tuple[frozenset[str], dict[str, float]]:
    """``"person min_score=0.6 min_area_percent=0.5"``: a label (or group) and its limits."""
    usage = "expected 'LABEL min_score=0.6 min_area_percent=0.5' (either limit may be left out)"
    if not isinstance(value, str) or not value.split():
        raise vol.Invalid(usage)
    name, *settings = value.split()
    if (problem := _unknown_label(name)) is not None:
        raise vol.Invalid(problem)
    labels = resolve_labels([name])
    limits: dict[str, float] = {}
    for setting in settings:
        key, sep, number = setting.partition("=")
        if not sep or key not in _FILTER_KEYS:
            close = difflib.get_close_matches(key, list(_FILTER_KEYS), n=1, cutoff=_CLOSE_ENOUGH)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise vol.Invalid(f"unknown limit {key[:_MAX_KEY_IN_MESSAGE]!r}{hint}: {usage}")
        low, high = _FILTER_KEYS[key]
        try:
            limit = float(number)
        except ValueError:
            raise vol.Invalid(f"{key} must be a number from {low:g} to {high:g}") from None
        if not low <= limit <= high:
            raise vol.Invalid(f"{key} must be a number from {low:g} to {high:g}")
        limits[key] = limit
    return labels, limits


def _model_url(value: Any) -> str:
    if not isinstance(value, str) or urlsplit(value.strip()).scheme not in {"http", "https"}:
        raise vol.Invalid("expected the inference server's URL, such as http://192.168.1.20:8000")
    return value.strip()


class _Each:
    """A list whose items all follow ``schema``. Unlike voluptuous's ``[schema]``, which stops
    at the first item with an error inside it, every item's errors are reported."""

    def __init__(self, schema: vol.Schema) -> None:
        self.schema = schema

    def __call__(self, value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise vol.Invalid("expected a list")
        items: list[Any] = []
        errors: list[vol.Invalid] = []
        for index, item in enumerate(value):
            try:
                items.append(self.schema(item))
            except vol.Invalid as err:
                for error in err.errors if isinstance(err, vol.MultipleInvalid) else [err]:
                    error.prepend([index])
                    errors.append(error)
        if errors:
            raise vol.MultipleInvalid(errors)
        return items


def _nullable[T](validate: Callable[[Any], T]) -> Callable[[Any], T | None]:
    """``validate``, or None for a null value. (``vol.Any(None, …)`` would replace the validator's
    own message with "not a valid value".)"""

    def check(value: Any) -> T | None:
        return None if value is None else validate(value)

    return check


def _camera_copy(value: Any) -> CameraCopy | None:
    """A camera's ``archive``: false/off, events or all; true means the archive's own ``copy``."""
    if value is None or value is True:
        return None
    if value is False:
        return "off"
    if value not in CAMERA_COPIES:
        raise vol.Invalid(f"must be one of {list(CAMERA_COPIES)} (or false)")
    return cast(CameraCopy, value)


_ZONE = vol.Schema(
    {
        vol.Required("name"): _slug,
        vol.Required("polygon"): _polygon,
        vol.Optional("min_area_percent"): vol.Any(None, vol.All(vol.Coerce(float), vol.Range(min=0.01, max=100))),
        # Only these objects enter the zone (default: any tracked object).
        vol.Optional("objects"): _optional_labels,
    },
    extra=vol.PREVENT_EXTRA,
)

_MOTION = vol.Schema(
    {
        vol.Optional("enabled", default=True): bool,
        vol.Optional("fps", default=5): vol.All(vol.Coerce(float), vol.Range(min=0.5, max=30)),
        vol.Optional("threshold", default=25): vol.All(vol.Coerce(int), vol.Range(min=1, max=255)),
        vol.Optional("min_area_percent", default=0.3): vol.All(vol.Coerce(float), vol.Range(min=0.01, max=100)),
        vol.Optional("masks", default=list): [_polygon],
        vol.Optional("zones", default=list): _Each(_ZONE),
        vol.Optional("analysis_width", default=256): vol.All(vol.Coerce(int), vol.Range(min=64, max=1280)),
        vol.Optional("source", default="own"): vol.In(MOTION_SOURCES),
    },
    extra=vol.PREVENT_EXTRA,
)

_EVENTS = vol.Schema(
    {
        vol.Optional("confirm_seconds", default=0.4): vol.All(vol.Coerce(float), vol.Range(min=0, max=30)),
        vol.Optional("quiet_seconds", default=5): vol.All(vol.Coerce(float), vol.Range(min=0.5, max=600)),
        vol.Optional("pre_capture", default=5): vol.All(vol.Coerce(float), vol.Range(min=0, max=120)),
        vol.Optional("post_capture", default=5): vol.All(vol.Coerce(float), vol.Range(min=0, max=120)),
        vol.Optional("max_seconds", default=300): vol.All(vol.Coerce(float), vol.Range(min=10, max=86400)),
        vol.Optional("retention_days", default=30): vol.All(vol.Coerce(float), vol.Range(min=0.01, max=3650)),
    },
    extra=vol.PREVENT_EXTRA,
)


def _motion_settings(raw: dict[str, Any]) -> MotionSettings:
    zones = tuple(
        Zone(
            name=zone["name"],
            polygon=zone["polygon"],
            min_area=None if zone.get("min_area_percent") is None else zone["min_area_percent"] / 100,
            objects=zone.get("objects"),
        )
        for zone in raw["zones"]
    )
    return MotionSettings(
        enabled=raw["enabled"],
        fps=raw["fps"],
        threshold=raw["threshold"],
        min_area=raw["min_area_percent"] / 100,
        masks=tuple(raw["masks"]),
        zones=zones,
        analysis_width=raw["analysis_width"],
    )


def _object_settings(cam: dict[str, Any]) -> ObjectSettings:
    """A filter naming a group sets the limits of each of its labels; one naming a label
    overrides the limits it gives (whatever the order of the list)."""
    limits: dict[str, dict[str, float]] = {}
    for labels, given in sorted(cam["object_filters"], key=lambda item: -len(item[0])):
        for label in labels:
            limits.setdefault(label, {}).update(given)
    base = LabelFilter()
    filters = {
        label: LabelFilter(
            min_score=given.get("min_score", base.min_score),
            min_area=given.get("min_area_percent", base.min_area * 100) / 100,
        )
        for label, given in limits.items()
    }
    return ObjectSettings(
        enabled=cam["object_detection"],
        fps=cam["object_fps"],
        labels=cam["objects"],
        filters=MappingProxyType(filters),
        masks=tuple(cam["object_masks"]),
    )


_ONVIF = vol.Schema(
    {
        vol.Required("host"): vol.All(str, vol.Strip, vol.Length(min=1, max=253)),
        vol.Optional("port", default=80): vol.All(vol.Coerce(int), vol.Range(min=1, max=65535)),
        vol.Optional("username"): vol.Any(None, str),
        vol.Optional("password"): vol.Any(None, str),
        vol.Optional("main_profile"): vol.Any(None, vol.All(str, vol.Length(min=1, max=64))),
        vol.Optional("sub_profile"): vol.Any(None, vol.All(str, vol.Length(min=1, max=64))),
        vol.Optional("events", default=True): bool,
    },
    extra=vol.PREVENT_EXTRA,
)

_CAMERA = vol.Schema(
    {
        vol.Required("id"): _slug,
        vol.Optional("name"): vol.All(str, vol.Length(min=1, max=100)),
        # Either a stream URL or an ONVIF address (checked by _camera_rule_errors, with the other rules).
        vol.Optional("url"): _stream_url,
        vol.Optional("onvif"): vol.Any(None, _ONVIF),
        vol.Optional("substream_url"): vol.Any(None, _stream_url),
        vol.Optional("username"): vol.Any(None, str),
        vol.Optional("password"): vol.Any(None, str),
        vol.Optional("record", default="continuous"): vol.In(RECORD_MODES),
        vol.Optional("retention_days", default=7): vol.All(vol.Coerce(float), vol.Range(min=0.01, max=3650)),
        vol.Optional("enabled", default=True): bool,
        vol.Optional("realtime", default=True): bool,
        vol.Optional("loop", default=True): bool,
        vol.Optional("motion", default=dict): _MOTION,
        vol.Optional("events", default=dict): _EVENTS,
        # Object detection: flat keys, not a section, because the add-on's form (the
        # Supervisor) demands every section in every camera: a new one would invalidate every
        # configuration written before it.
        vol.Optional("events_from", default="motion"): vol.In(EVENTS_FROM),
        vol.Optional("object_detection", default=True): bool,
        vol.Optional("objects", default=lambda: list(DEFAULT_LABELS)): _labels,
        vol.Optional("object_fps", default=5): vol.All(vol.Coerce(float), vol.Range(min=0.5, max=30)),
        vol.Optional("object_filters", default=list): [_object_filter],
        vol.Optional("object_masks", default=list): [_polygon],
        # What the off-site archive copies of this camera (flat, like the keys above).
        vol.Optional("archive"): _camera_copy,
    },
    extra=vol.PREVENT_EXTRA,
)

_DETECTOR = vol.Schema(
    {
        vol.Optional("backend", default="onnx"): vol.In(BACKENDS),
        # None: the YOLOX-Nano the add-on image (or scripts/setup) provides, checked by its sha256.
        vol.Optional("model"): vol.Any(None, vol.All(str, vol.Length(min=1))),
        vol.Optional("url"): vol.Any(None, _model_url),
        vol.Optional("threads", default=1): vol.All(vol.Coerce(int), vol.Range(min=1, max=16)),
        vol.Optional("device", default="CPU"): vol.All(str, vol.Length(min=1, max=32)),
        vol.Optional("timeout", default=2): vol.All(vol.Coerce(float), vol.Range(min=0.1, max=60)),
    },
    extra=vol.PREVENT_EXTRA,
)

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")


def _endpoint(value: Any) -> str:
    usage = "expected the store's URL, such as https://s3.eu-central-1.amazonaws.com or http://192.168.1.5:8333"
    if not isinstance(value, str):
        raise vol.Invalid(usage)
    if "@" in value:
        # The credentials have keys of their own; one in the URL would be sent and logged as part of it.
        raise vol.Invalid("put the credentials in access_key_id and secret_access_key, not in the URL")
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 - raises on a port that is not a number from 0 to 65535
    except ValueError:
        raise vol.Invalid(usage) from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise vol.Invalid(usage)
    return value.strip().rstrip("/")


def _bucket(value: Any) -> str:
    if not isinstance(value, str) or not _BUCKET.match(value) or ".." in value:
        raise vol.Invalid("a bucket name is 3 to 63 lower-case letters, digits, '.' and '-'")
    return value


def _prefix(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise vol.Invalid("expected a folder of the bucket, such as vigil or footage/home")
    prefix = value.strip().strip("/")
    if prefix and (not _PREFIX.match(prefix) or any(part in {".", ".."} for part in prefix.split("/"))):
        raise vol.Invalid("a prefix is made of letters, digits, '.', '_', '-' and '/' between folders")
    if len(prefix) > 200:
        raise vol.Invalid("a prefix is at most 200 characters long")
    return prefix


def _credential(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise vol.Invalid("must not be empty")
    return value.strip()


def _encryption_key(value: Any) -> bytes | None:
    """32 bytes, written as 64 hex digits or in base64 (44 characters). Never echoed."""
    if value is None or value == "":
        return None
    usage = "must be 32 random bytes as 64 hex digits or base64 (e.g. from: openssl rand -base64 32)"
    if not isinstance(value, str):
        raise vol.Invalid(usage)
    text = value.strip()
    key: bytes | None = None
    if re.fullmatch(r"[0-9a-fA-F]{64}", text):
        key = bytes.fromhex(text)
    else:
        try:
            key = base64.b64decode(text, validate=True)
        except binascii.Error, ValueError:
            key = None
    if key is None or len(key) != 32:
        raise vol.Invalid(usage)
    return key


_ARCHIVE = vol.Schema(
    {
        # On when a bucket is given, unless this says otherwise (the add-on's form keeps the rest).
        vol.Optional("enabled", default=True): bool,
        vol.Optional("endpoint"): _nullable(_endpoint),
        vol.Optional("region", default="us-east-1"): vol.Any(
            None, vol.All(str, vol.Strip, vol.Match(r"^[a-z0-9-]{1,40}$", msg="expected a region such as eu-central-1"))
        ),
        vol.Optional("bucket"): _nullable(_bucket),
        vol.Optional("prefix", default="vigil"): _prefix,
        vol.Optional("access_key_id"): _nullable(_credential),
        vol.Optional("secret_access_key"): _nullable(_credential),
        vol.Optional("copy", default="events"): vol.In(COPY_MODES),
        vol.Optional("keep_days"): _nullable(vol.All(vol.Coerce(float), vol.Range(min=1, max=36500))),
        vol.Optional("max_mbps"): _nullable(vol.All(vol.Coerce(float), vol.Range(min=0.1, max=100000))),
        vol.Optional("encryption_key"): _encryption_key,
        vol.Optional("keep_local_until_archived", default=False): bool,
        # Playback of footage only the archive holds goes through a local cache of this size (MB).
        vol.Optional("cache_mb", default=512): vol.All(vol.Coerce(int), vol.Range(min=64, max=1_000_000)),
        vol.Optional("part_size", default="8MiB"): _size,
        vol.Optional("multipart_threshold", default="8MiB"): _size,
    },
    extra=vol.PREVENT_EXTRA,
)
_ARCHIVE_REQUIRED = ("endpoint", "access_key_id", "secret_access_key")


def _archive_rule_errors(raw: Any) -> list[str]:
    """An archive with a bucket needs the store and its credentials; part sizes S3 accepts."""
    if not isinstance(raw, dict) or not raw.get("bucket") or raw.get("enabled") is False:
        return []
    errors = [f"archive.{key}: is required when archive.bucket is set" for key in _ARCHIVE_REQUIRED if not raw.get(key)]
    for key in ("part_size", "multipart_threshold"):
        try:
            size = _size(raw[key]) if key in raw else None
        except vol.Invalid:
            continue  # the schema reports it
        if size is not None and size.percent is not None:
            errors.append(f"archive.{key}: expected a size such as 8MiB, not a percentage")
        elif size is not None and (size.bytes or 0) < MIN_PART_SIZE:
            errors.append(f"archive.{key}: must be at least 5MiB (S3 refuses smaller parts)")
    return errors


def _archive_settings(raw: dict[str, Any]) -> ArchiveSettings | None:
    """The archive's settings from a checked section; None when it is off or names no bucket."""
    if not raw.get("bucket") or not raw["enabled"]:
        return None
    key = raw.get("encryption_key")
    SECRETS.add(raw["access_key_id"], raw["secret_access_key"])
    return ArchiveSettings(
        endpoint=raw["endpoint"],
        bucket=raw["bucket"],
        access_key_id=raw["access_key_id"],
        secret_access_key=raw["secret_access_key"],
        region=raw.get("region") or "us-east-1",
        prefix=raw["prefix"],
        copy=cast(CopyMode, raw["copy"]),
        keep_days=raw.get("keep_days"),
        max_mbps=raw.get("max_mbps"),
        encryption_key=key,
        keep_local_until_archived=raw["keep_local_until_archived"],
        cache_bytes=raw["cache_mb"] * 1_000_000,
        part_size=raw["part_size"].bytes,
        multipart_threshold=raw["multipart_threshold"].bytes,
    )


_ENGINE = vol.Schema(
    {
        vol.Optional("storage_path", default="vigil-data"): vol.All(str, vol.Length(min=1)),
        vol.Optional("database_path"): vol.Any(None, vol.All(str, vol.Length(min=1))),
        vol.Optional("segment_seconds", default=10): vol.All(vol.Coerce(float), vol.Range(min=1, max=600)),
        vol.Optional("disk_cap"): _optional_size,
        vol.Optional("min_free", default="1GB"): _size,
        vol.Optional("time_zone", default=_default_time_zone): _time_zone,
        vol.Optional("open_timeout", default=10): vol.All(vol.Coerce(float), vol.Range(min=1, max=120)),
        vol.Optional("read_timeout", default=5): vol.All(vol.Coerce(float), vol.Range(min=1, max=120)),
        vol.Optional("retention_interval", default=10): vol.All(vol.Coerce(float), vol.Range(min=0.2, max=3600)),
        vol.Optional("log_level", default="info"): vol.All(
            str, vol.Lower, vol.In(["debug", "info", "warning", "error"])
        ),
        # No default here: it depends on where the document comes from (see parse_config).
        vol.Optional("api_host"): vol.All(str, vol.Length(min=1)),
        vol.Optional("api_port", default=DEFAULT_API_PORT): vol.All(vol.Coerce(int), vol.Range(min=0, max=65535)),
        vol.Optional("api_token"): _api_token,
        vol.Optional("detector", default=dict): _DETECTOR,
        vol.Optional("archive", default=dict): vol.Any(None, _ARCHIVE),
        # Each camera is validated on its own (parse_camera), so that all of them are.
        vol.Optional("cameras", default=list): list,
    },
    extra=vol.PREVENT_EXTRA,
)

# --- Error messages ------------------------------------------------------------------------

# Keys whose value is text. YAML reads unquoted 123456, yes or 2024-01-01 as a number, a
# boolean or a date; for these keys the error says so instead of "expected str".
_TEXT_KEYS = frozenset(
    {
        "id",
        "name",
        "url",
        "substream_url",
        "username",
        "password",
        "host",
        "main_profile",
        "sub_profile",
        "api_token",
        "api_host",
        "storage_path",
        "database_path",
        "time_zone",
        "endpoint",
        "region",
        "bucket",
        "prefix",
        "access_key_id",
        "secret_access_key",
        "encryption_key",
    }
)
_MAX_KEY_IN_MESSAGE = 64  # an unknown key is echoed, cut to this length
# difflib's default (0.6) suggests keys that share only a prefix; one typo in a key of four
# letters or more still scores above this.
_CLOSE_ENOUGH = 0.7
_MISSING = object()


def _key_path(label: str, parts: Sequence[Any]) -> str:
    path = label
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            key = str(part)[:_MAX_KEY_IN_MESSAGE]
            path += f".{key}" if path else key
    return path or "config"


def _inner(validator: Any) -> Any:
    """The mapping (dict) or list schema inside a validator, or None for a plain value's."""
    if isinstance(validator, vol.Schema):
        return _inner(validator.schema)
    if isinstance(validator, _Each):
        return [validator.schema]
    if isinstance(validator, vol.Any | vol.All):
        for option in validator.validators:
            if (found := _inner(option)) is not None:
                return found
        return None
    return validator if isinstance(validator, dict | list) else None


def _allowed_keys(schema: vol.Schema, path: Sequence[Any]) -> list[str]:
    """The keys ``schema`` allows in the mapping at ``path`` (empty if there is none there)."""
    node = _inner(schema)
    for part in path:
        if isinstance(node, list) and node and isinstance(part, int):
            node = _inner(node[0])
        elif isinstance(node, dict) and isinstance(part, str):
            node = _inner(next((value for key, value in node.items() if str(key) == part), None))
        else:
            return []
    return [str(key) for key in node] if isinstance(node, dict) else []


def _value_at(raw: Any, path: Sequence[Any]) -> Any:
    for part in path:
        in_list = isinstance(raw, list) and isinstance(part, int) and 0 <= part < len(raw)
        if not (in_list or (isinstance(raw, dict) and part in raw)):
            return _MISSING
        raw = raw[part]
    return raw


def _not_text(value: Any) -> str | None:
    """What YAML made of an unquoted scalar that should have been text, or None."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, datetime.date):
        return "a date"
    return None


def _message(err: vol.Invalid, schema: vol.Schema, raw: Any) -> str:
    """The text after the key path. Only the key is ever named, never the value."""
    path = list(err.path)
    key = path[-1] if path else None
    message = err.error_message or str(err)
    # voluptuous says "extra keys not allowed"; probatio, which Home Assistant installs in its
    # place (in the test process), "not a valid option" with a suggestion of its own.
    if message.startswith(("extra keys not allowed", "not a valid option")):
        close = difflib.get_close_matches(str(key), _allowed_keys(schema, path[:-1]), n=1, cutoff=_CLOSE_ENOUGH)
        return f"unknown key (did you mean {close[0]!r}?)" if close else "unknown key"
    if message == "required key not provided":
        return "is required"
    if key in _TEXT_KEYS and (kind := _not_text(_value_at(raw, path))) is not None:
        return f'YAML reads this as {kind}, not text: quote it: {key}: "…"'
    return message


def _validate(schema: vol.Schema, raw: dict[Any, Any], label: str) -> tuple[dict[str, Any] | None, list[str]]:
    """``raw`` checked by ``schema``: (the normalised mapping, []) or (None, every error)."""
    try:
        return schema(raw), []
    except vol.Invalid as err:
        errors = err.errors if isinstance(err, vol.MultipleInvalid) else [err]
        return None, [f"{_key_path(label, e.path)}: {_message(e, schema, raw)}" for e in errors]


def _is_onvif_url(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower().startswith("onvif://")


def _camera_rule_errors(raw: dict[Any, Any], label: str) -> list[str]:
    """The rules that tie a camera's keys together, checked on the raw entry so that they are
    reported alongside its schema errors (values of the wrong type are the schema's to report)."""
    errors: list[str] = []
    url, onvif = raw.get("url"), raw.get("onvif")
    if _is_onvif_url(url):
        try:
            host = urlsplit(str(url).strip()).hostname
        except ValueError:
            host = "-"  # a bad port: _stream_url reports it
        if not host:
            errors.append(f"{label}.url: an onvif:// address needs a host")
    if onvif is not None and url:
        errors.append(f"{label}.onvif: give either onvif or url, not both")
    if onvif is None and "url" not in raw:
        errors.append(f"{label}.url: is required (or give the camera's onvif address)")
    if _is_onvif_url(raw.get("substream_url")):
        errors.append(f"{label}.substream_url: must be a stream URL (the camera's onvif address goes in url)")
    motion = raw.get("motion")
    zones = motion.get("zones") if isinstance(motion, dict) else None
    names: set[str] = set()
    for index, zone in enumerate(zones if isinstance(zones, list) else []):
        name = zone.get("name") if isinstance(zone, dict) else None
        if isinstance(name, str):
            if name in names:
                errors.append(f"{label}.motion.zones[{index}].name: duplicate zone name {name!r}")
            names.add(name)
    filters = raw.get("object_filters")
    seen: set[str] = set()
    for index, entry in enumerate(filters if isinstance(filters, list) else []):
        name = entry.split()[0].lower() if isinstance(entry, str) and entry.split() else None
        if name is not None:
            if name in seen:
                errors.append(f"{label}.object_filters[{index}]: a second filter for {name!r}")
            seen.add(name)
    return errors


# --- Building the configuration ------------------------------------------------------------


def _onvif_settings(cam: dict[str, Any]) -> OnvifSettings | None:
    """The camera's ONVIF block, or its short form ``url: onvif://[user:password@]host[:port]``
    (the add-on's); None for a camera with stream URLs. ``cam`` has passed every check."""
    raw = cam.get("onvif")
    url = cam.get("url") or ""
    if raw is None and _is_onvif_url(url):
        parts = urlsplit(url)
        raw = {
            "host": parts.hostname,
            "port": parts.port or 80,
            "username": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None,
            "events": True,
        }
    if raw is None:
        return None
    # The camera's username/password serve for ONVIF too unless the onvif block has its own.
    username = raw.get("username") or cam.get("username")
    password = raw.get("password") or cam.get("password")
    SECRETS.add(password)
    return OnvifSettings(
        host=raw["host"],
        port=raw["port"],
        username=username,
        password=password,
        main_profile=raw.get("main_profile"),
        sub_profile=raw.get("sub_profile"),
        events=raw["events"],
    )


def parse_camera(raw: Any, label: str) -> CameraConfig:
    """Validate one camera entry (of the config file, or added through the API).

    Raises :class:`ConfigError` with every problem of the entry, each starting with ``label``.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{label}: expected a mapping of keys to values")
    cam, errors = _validate(_CAMERA, raw, label)
    errors += _camera_rule_errors(raw, label)
    if errors or cam is None:
        raise ConfigError(*errors)
    onvif = _onvif_settings(cam)
    if onvif is None and cam["motion"]["source"] != "own":
        # Only an ONVIF camera reports events; the add-on's form cannot tie the two keys.
        _LOGGER.warning("%s.motion.source: camera events need an ONVIF camera; using Vigil's detector", label)
        cam["motion"]["source"] = "own"
    # An ONVIF camera's url is its address (no login) until its stream URIs are resolved.
    url = onvif.address if onvif is not None else cam["url"]
    url_user, url_password = url_secrets(url)
    SECRETS.add(cam.get("password"), url_password)
    if cam.get("substream_url"):
        SECRETS.add(url_secrets(cam["substream_url"])[1])
    return CameraConfig(
        id=cam["id"],
        name=cam.get("name") or cam["id"].replace("_", " ").title(),
        url=url,
        substream_url=cam.get("substream_url"),
        # An ONVIF camera's RTSP streams take the ONVIF login (injected into their URLs).
        username=onvif.username if onvif is not None else cam.get("username") or url_user,
        password=onvif.password if onvif is not None else cam.get("password"),
        record=cast(RecordMode, cam["record"]),
        retention_days=cam["retention_days"],
        enabled=cam["enabled"],
        realtime=cam["realtime"],
        loop=cam["loop"],
        motion=_motion_settings(cam["motion"]),
        events=EventSettings(**cam["events"], events_from=cast(EventsFrom, cam["events_from"])),
        onvif=onvif,
        motion_source=cast(MotionSource, cam["motion"]["source"]),
        objects=_object_settings(cam),
        archive=cam.get("archive"),
    )


def _camera_label(entry: Any, index: int) -> str:
    camera_id = entry.get("id") if isinstance(entry, dict) else None
    if isinstance(camera_id, str) and camera_id:
        return f"cameras[{camera_id[:_MAX_KEY_IN_MESSAGE]}]"
    return f"cameras[{index}]"


def _parse_cameras(entries: Any, errors: list[str]) -> list[CameraConfig]:
    """Every camera of the list; the errors of all of them (and duplicate ids) go to ``errors``."""
    if not isinstance(entries, list):
        return []  # the top-level schema reports it
    cameras: list[CameraConfig] = []
    ids: set[str] = set()
    for index, entry in enumerate(entries):
        label = _camera_label(entry, index)
        try:
            cameras.append(parse_camera(entry, label))
        except ConfigError as err:
            errors.extend(err.errors)
        camera_id = entry.get("id") if isinstance(entry, dict) else None
        if isinstance(camera_id, str):
            if camera_id in ids:
                errors.append(f"{label}.id: duplicate camera id {camera_id!r}")
            ids.add(camera_id)
    return cameras


def parse_config(raw: Any, base_dir: Path | None = None, *, addon: bool | None = None) -> EngineConfig:
    """Validate a decoded YAML/JSON document and build an :class:`EngineConfig`.

    Raises :class:`ConfigError` with every problem of the document. Relative paths are taken
    from ``base_dir``. ``addon``: the document is the add-on's options, whose API listens on
    every address of the add-on's network by default; None: it is when ``base_dir`` is the
    add-on's data folder (where the Supervisor writes them).
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("config: expected a mapping of keys to values at the top level")
    data, errors = _validate(_ENGINE, raw, "")
    detector = raw.get("detector")
    if isinstance(detector, dict) and detector.get("backend") == "remote" and not detector.get("url"):
        errors.append("detector.url: the remote backend needs the server's URL, such as http://192.168.1.20:8000")
    errors += _archive_rule_errors(raw.get("archive"))
    cameras = _parse_cameras(raw.get("cameras", []), errors)
    if errors or data is None:
        raise ConfigError(*errors)

    def _path(value: str | None) -> Path | None:
        if value is None:
            return None
        path = Path(value).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        return path

    if addon is None:
        addon = base_dir is not None and base_dir == ADDON_OPTIONS.parent
    SECRETS.add(data.get("api_token"))
    archive = raw.get("archive")
    if isinstance(archive, dict) and isinstance(archive.get("encryption_key"), str):
        SECRETS.add(archive["encryption_key"].strip())  # as written; the settings hold its bytes
    storage = _path(data["storage_path"])
    assert storage is not None
    return EngineConfig(
        storage_path=storage,
        database_path=_path(data.get("database_path")),
        cameras=tuple(cameras),
        segment_seconds=data["segment_seconds"],
        disk_cap=data.get("disk_cap"),
        min_free=data["min_free"],
        time_zone=data["time_zone"],
        open_timeout=data["open_timeout"],
        read_timeout=data["read_timeout"],
        retention_interval=data["retention_interval"],
        log_level=data["log_level"],
        api_host=data.get("api_host") or (ADDON_API_HOST if addon else STANDALONE_API_HOST),
        api_port=data["api_port"],
        api_token=data.get("api_token"),
        detector=_detector_settings(data["detector"], _path),
        archive=_archive_settings(data["archive"] or {}) if data["archive"] is not None else None,
    )


def _detector_settings(raw: dict[str, Any], path: Callable[[str | None], Path | None]) -> DetectorSettings:
    return DetectorSettings(
        backend=cast(BackendKind, raw["backend"]),
        model=path(raw.get("model")),
        threads=raw["threads"],
        device=raw["device"],
        url=raw.get("url"),
        timeout=raw["timeout"],
    )


def load_config(path: Path | None) -> EngineConfig:
    """Load the config file (YAML or JSON). Without a path: the add-on's options, else the demo."""
    if path is None:
        if ADDON_OPTIONS.is_file():
            path = ADDON_OPTIONS
        else:
            return demo_config(Path("vigil-data").resolve())
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror}") from None
    try:
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as err:
        # Only the position: the parser's excerpt of the line could contain a password.
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        if isinstance(err, json.JSONDecodeError):
            where = f" at line {err.lineno}, column {err.colno}"
        raise ConfigError(f"{path.name}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}{where}") from None
    # The add-on runs ``--config /data/options.json`` (its run script), or no --config at all.
    addon = path.resolve() == ADDON_OPTIONS.resolve()
    return parse_config(raw, base_dir=path.parent.resolve(), addon=addon)


def demo_config(storage: Path) -> EngineConfig:
    """The embedded default: one synthetic camera, so the engine records something at once."""
    return parse_config(
        {
            "storage_path": str(storage),
            "cameras": [{"id": "demo", "name": "Demo camera", "url": DEMO_URL}],
        }
    )
