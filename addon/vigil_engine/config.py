"""Engine configuration: one schema for the YAML file and the add-on's ``/data/options.json``.

Validation errors name the offending key and, for per-camera keys, the camera, e.g.
``cameras[front_door].record: value must be one of 'continuous', 'events', 'off'``.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import voluptuous as vol
import yaml

from .motion.settings import EventSettings, MotionSettings, Polygon, Zone
from .redact import SECRETS, url_secrets

RecordMode = Literal["continuous", "events", "off"]
RECORD_MODES: tuple[RecordMode, ...] = ("continuous", "events", "off")
# What starts motion events: Vigil's own detector, the camera's ONVIF events, or either.
MotionSource = Literal["own", "camera", "both"]
MOTION_SOURCES: tuple[MotionSource, ...] = ("own", "camera", "both")
_LOGGER = logging.getLogger(__name__)
ADDON_OPTIONS = Path("/data/options.json")
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
    """The configuration is unusable; the message says which key and why."""


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
    api_host: str = "0.0.0.0"  # noqa: S104 - the add-on's API is reached from Home Assistant's container
    api_port: int = DEFAULT_API_PORT
    # None: generated on first start and kept in the storage folder (see ``api.auth``).
    api_token: str | None = field(default=None, repr=False)

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


_ZONE = vol.Schema(
    {
        vol.Required("name"): _slug,
        vol.Required("polygon"): _polygon,
        vol.Optional("min_area_percent"): vol.Any(None, vol.All(vol.Coerce(float), vol.Range(min=0.01, max=100))),
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
        vol.Optional("zones", default=list): [_ZONE],
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
        )
        for zone in raw["zones"]
    )
    names = [zone.name for zone in zones]
    if len(set(names)) != len(names):
        raise vol.Invalid("zone names must be unique", path=["zones"])
    return MotionSettings(
        enabled=raw["enabled"],
        fps=raw["fps"],
        threshold=raw["threshold"],
        min_area=raw["min_area_percent"] / 100,
        masks=tuple(raw["masks"]),
        zones=zones,
        analysis_width=raw["analysis_width"],
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
        # Either a stream URL or an ONVIF address (checked in parse_config, which names the camera).
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
    },
    extra=vol.PREVENT_EXTRA,
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
        vol.Optional("api_host", default="0.0.0.0"): vol.All(str, vol.Length(min=1)),  # noqa: S104
        vol.Optional("api_port", default=DEFAULT_API_PORT): vol.All(vol.Coerce(int), vol.Range(min=0, max=65535)),
        vol.Optional("api_token"): _api_token,
        vol.Optional("cameras", default=list): [dict],
    },
    extra=vol.PREVENT_EXTRA,
)


def _format_error(err: vol.Invalid, prefix: str = "") -> str:
    path = prefix
    for part in err.path:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    message = err.error_message or str(err)
    if message in ("extra keys not allowed", "not a valid option"):
        message = "unknown key"
    elif message == "required key not provided":
        message = "is required"
    return f"{path or 'config'}: {message}"


def _onvif_settings(cam: dict[str, Any], label: str) -> OnvifSettings | None:
    raw = cam.get("onvif")
    url = cam.get("url") or ""
    if raw is None and url.lower().startswith("onvif://"):
        # The short form (the add-on's): url: onvif://[user:password@]host[:port]
        parts = urlsplit(url)
        if not parts.hostname:
            raise ConfigError(f"{label}.url: an onvif:// address needs a host")
        raw = {
            "host": parts.hostname,
            "port": parts.port or 80,
            "username": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None,
            "events": True,
        }
        cam = {**cam, "url": None}
    if raw is None:
        return None
    if cam.get("url"):
        raise ConfigError(f"{label}.onvif: give either onvif or url, not both")
    if str(cam.get("substream_url") or "").lower().startswith("onvif://"):
        raise ConfigError(f"{label}.substream_url: must be a stream URL (the camera's onvif address goes in url)")
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
    """Validate one camera entry (of the config file, or added through the API); errors start with ``label``."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{label}: expected a mapping of keys to values")
    try:
        cam = _CAMERA(raw)
        motion = _motion_settings(cam["motion"])
    except vol.MultipleInvalid as err:
        raise ConfigError("; ".join(_format_error(e, label) for e in err.errors)) from None
    except vol.Invalid as err:
        raise ConfigError(_format_error(vol.Invalid(err.msg, path=["motion", *err.path]), label)) from None
    onvif = _onvif_settings(cam, label)
    if onvif is None and not cam.get("url"):
        raise ConfigError(f"{label}.url: is required (or give the camera's onvif address)")
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
        motion=motion,
        events=EventSettings(**cam["events"]),
        onvif=onvif,
        motion_source=cast(MotionSource, cam["motion"]["source"]),
    )


def parse_config(raw: Any, base_dir: Path | None = None) -> EngineConfig:
    """Validate a decoded YAML/JSON document and build an :class:`EngineConfig`."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("config: expected a mapping of keys to values at the top level")
    try:
        data = _ENGINE(raw)
    except vol.MultipleInvalid as err:
        raise ConfigError("; ".join(_format_error(e) for e in err.errors)) from None

    cameras: list[CameraConfig] = []
    seen: set[str] = set()
    for index, raw_camera in enumerate(data["cameras"]):
        label = f"cameras[{raw_camera.get('id') or index}]"
        camera = parse_camera(raw_camera, label)
        if camera.id in seen:
            raise ConfigError(f"{label}.id: duplicate camera id {camera.id!r}")
        seen.add(camera.id)
        cameras.append(camera)

    def _path(value: str | None) -> Path | None:
        if value is None:
            return None
        path = Path(value).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        return path

    SECRETS.add(data.get("api_token"))
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
        api_host=data["api_host"],
        api_port=data["api_port"],
        api_token=data.get("api_token"),
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
    return parse_config(raw, base_dir=path.parent.resolve())


def demo_config(storage: Path) -> EngineConfig:
    """The embedded default: one synthetic camera, so the engine records something at once."""
    return parse_config(
        {
            "storage_path": str(storage),
            "cameras": [{"id": "demo", "name": "Demo camera", "url": DEMO_URL}],
        }
    )
