"""The Home Assistant Supervisor's rules for an add-on ("app"), as a test-side validator.

Modelled on the Supervisor's own voluptuous schemas (``supervisor/apps/validate.py``,
``supervisor/apps/options.py``, ``supervisor/validate.py``, ``supervisor/store/validate.py``;
read for Supervisor 2026.x). The Supervisor itself is not installable here, so the rules
that matter to this add-on are restated, with three deliberate differences that make the
checks stricter than the Supervisor:

* an unknown key in config.yaml is an error (the Supervisor drops it silently, so a typo
  would quietly disable a setting);
* deprecated values (32-bit architectures, legacy ``map`` names, ``build.yaml``) are
  errors (the Supervisor accepts them with a warning);
* ``str(min,max)``/``password(min,max)`` are refused: the Supervisor's check for string
  bounds has applied a numeric range to a string, which refuses every value.

``validate_options`` is the Supervisor's option validation (``AppOptions``): what it
returns is exactly what the Supervisor writes to ``/data/options.json``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import voluptuous as vol
from awesomeversion import AwesomeVersion

# supervisor/apps/options.py
RE_SCHEMA_ELEMENT = re.compile(
    r"^(?:"
    r"|bool"
    r"|email"
    r"|url"
    r"|port"
    r"|device(?:\((?P<filter>subsystem=[a-z]+)\))?"
    r"|str(?:\((?P<s_min>\d+)?,(?P<s_max>\d+)?\))?"
    r"|password(?:\((?P<p_min>\d+)?,(?P<p_max>\d+)?\))?"
    r"|int(?:\((?P<i_min>-?\d+)?,(?P<i_max>-?\d+)?\))?"
    r"|float(?:\((?P<f_min>-?\d*\.?\d+)?,(?P<f_max>-?\d*\.?\d+)?\))?"
    r"|match\((?P<match>.*)\)"
    r"|list\((?P<list>.+)\)"
    r")\??$"
)
_RANGE_GROUPS = ("i_min", "i_max", "f_min", "f_max", "s_min", "s_max", "p_min", "p_max")

# supervisor/const.py, supervisor/apps/const.py
ARCH_ALL = ("aarch64", "amd64")
ARCH_DEPRECATED = ("armhf", "armv7", "i386")
STARTUP = ("initialize", "system", "services", "application", "once")
BOOT = ("auto", "manual", "manual_only")
STAGE = ("stable", "experimental", "deprecated")
BACKUP = ("hot", "cold")
ROLES = ("default", "homeassistant", "backup", "manager", "admin")
RE_SLUG = re.compile(r"^[-_.A-Za-z0-9]+$")
MAP_TYPES = (
    "data",
    "config",
    "ssl",
    "local_apps",
    "backup",
    "share",
    "media",
    "homeassistant_config",
    "all_app_configs",
    "app_config",
)
MAP_LEGACY = {"addons": "local_apps", "all_addon_configs": "all_app_configs", "addon_config": "app_config"}
RE_VOLUME = re.compile(
    r"^(data|config|ssl|local_apps|addons|backup|share|media|homeassistant_config|"
    r"all_app_configs|all_addon_configs|app_config|addon_config)(?::(rw|ro))?$"
)
RE_WATCHDOG = re.compile(r"^(?:https?|\[PROTO:\w+\]|tcp):\/\/\[HOST\]:(\[PORT:\d+\]|\d+).*$")
RE_WEBUI = re.compile(r"^(?:https?|\[PROTO:\w+\]):\/\/\[HOST\]:\[PORT:\d+\].*$")
RE_SERVICE = re.compile(r"^(?P<service>mqtt|mysql):(?P<rights>provide|want|need)$")
RE_DOCKER_IMAGE = re.compile(r"^([a-zA-Z\-\.:\d{}]+/)*?([\-\w{}]+)/([\-\w{}]+)$")

# supervisor/validate.py
network_port = vol.All(vol.Coerce(int), vol.Range(min=1, max=65535))
docker_port = vol.All(str, vol.Match(r"^\d+(?:/tcp|/udp)?$"))
docker_ports = vol.Schema({docker_port: vol.Maybe(network_port)})
docker_ports_description = vol.Schema({docker_port: str})


def version_tag(value: Any) -> AwesomeVersion:
    """A version: the Supervisor takes anything AwesomeVersion takes; we insist on a string."""
    if not isinstance(value, str) or not value.strip():
        raise vol.Invalid("a version must be a non-empty string (quote it in YAML)")
    version = AwesomeVersion(value)
    if not version.valid:
        raise vol.Invalid(f"{value!r} is not a version")
    return version


def _schema_element(value: Any) -> Any:
    """supervisor/apps/validate.py SCHEMA_ELEMENT: a type, a dict of them, or a list of one."""
    if isinstance(value, str):
        match = RE_SCHEMA_ELEMENT.match(value)
        if not match:
            raise vol.Invalid(f"unknown option type {value!r}")
        if any(match.group(group) for group in ("s_min", "s_max", "p_min", "p_max")):
            raise vol.Invalid(f"{value!r}: the Supervisor cannot check string lengths (it refuses every value)")
        if value.startswith("match("):
            re.compile(match.group("match"))
        return value
    if isinstance(value, dict):
        return {str(key): _schema_element(item) for key, item in value.items()}
    if isinstance(value, list):
        if len(value) != 1:
            raise vol.Invalid("a list type has exactly one element type")
        if isinstance(value[0], list):
            raise vol.Invalid("a list may not directly contain another list")
        return [_schema_element(value[0])]
    raise vol.Invalid(f"unknown option type {value!r}")


def _map_entry(entry: Any) -> dict[str, Any]:
    if isinstance(entry, str):
        match = RE_VOLUME.match(entry)
        if not match:
            raise vol.Invalid(f"invalid map entry {entry!r} (the Supervisor would skip it)")
        entry = {"type": match.group(1), "read_only": match.group(2) != "rw"}
    checked: dict[str, Any] = vol.Schema(
        {vol.Required("type"): str, vol.Optional("read_only", default=True): bool, vol.Optional("path"): str}
    )(entry)
    if checked["type"] in MAP_LEGACY:
        raise vol.Invalid(f"legacy map type {checked['type']!r}; use {MAP_LEGACY[checked['type']]!r}")
    if checked["type"] not in MAP_TYPES:
        raise vol.Invalid(f"unknown map type {checked['type']!r}")
    return checked


def _arch(value: Any) -> str:
    if value in ARCH_DEPRECATED:
        raise vol.Invalid(f"architecture {value!r} is deprecated")
    return str(vol.In(ARCH_ALL)(value))


ADDON_CONFIG = vol.Schema(
    {
        vol.Required("name"): vol.All(str, vol.Length(min=1)),
        vol.Required("version"): version_tag,
        vol.Required("slug"): vol.Match(RE_SLUG),
        vol.Required("description"): vol.All(str, vol.Length(min=1)),
        vol.Required("arch"): vol.All([_arch], vol.Length(min=1), vol.Unique()),
        vol.Optional("machine"): [str],
        vol.Optional("url"): vol.Url(),
        vol.Optional("startup", default="application"): vol.In(STARTUP),
        vol.Optional("boot", default="auto"): vol.In(BOOT),
        vol.Optional("init", default=True): bool,
        vol.Optional("stage", default="stable"): vol.In(STAGE),
        vol.Optional("ports"): docker_ports,
        vol.Optional("ports_description"): docker_ports_description,
        vol.Optional("watchdog"): vol.Match(RE_WATCHDOG),
        vol.Optional("watchdog_restart_policy"): str,
        vol.Optional("webui"): vol.Match(RE_WEBUI),
        vol.Optional("ingress", default=False): bool,
        vol.Optional("ingress_port", default=8099): vol.Any(network_port, vol.Equal(0)),
        vol.Optional("ingress_entry"): str,
        vol.Optional("ingress_stream", default=False): bool,
        vol.Optional("panel_icon", default="mdi:puzzle"): str,
        vol.Optional("panel_title"): str,
        vol.Optional("panel_admin", default=True): bool,
        vol.Optional("homeassistant"): version_tag,
        vol.Optional("host_network", default=False): bool,
        vol.Optional("host_pid", default=False): bool,
        vol.Optional("host_ipc", default=False): bool,
        vol.Optional("host_uts", default=False): bool,
        vol.Optional("host_dbus", default=False): bool,
        vol.Optional("devices"): [str],
        vol.Optional("udev", default=False): bool,
        vol.Optional("tmpfs", default=False): bool,
        vol.Optional("map", default=list): [_map_entry],
        vol.Optional("environment"): {vol.Match(r"\w*"): str},
        vol.Optional("privileged"): [str],
        vol.Optional("apparmor", default=True): bool,
        vol.Optional("full_access", default=False): bool,
        vol.Optional("audio", default=False): bool,
        vol.Optional("video", default=False): bool,
        vol.Optional("gpio", default=False): bool,
        vol.Optional("usb", default=False): bool,
        vol.Optional("uart", default=False): bool,
        vol.Optional("devicetree", default=False): bool,
        vol.Optional("kernel_modules", default=False): bool,
        vol.Optional("realtime", default=False): bool,
        vol.Optional("hassio_api", default=False): bool,
        vol.Optional("hassio_role", default="default"): vol.In(ROLES),
        vol.Optional("homeassistant_api", default=False): bool,
        vol.Optional("stdin", default=False): bool,
        vol.Optional("legacy", default=False): bool,
        vol.Optional("docker_api", default=False): bool,
        vol.Optional("auth_api", default=False): bool,
        vol.Optional("services"): [vol.Match(RE_SERVICE)],
        vol.Optional("discovery"): [str],
        vol.Optional("backup_exclude"): [str],
        vol.Optional("backup_pre"): str,
        vol.Optional("backup_post"): str,
        vol.Optional("backup", default="hot"): vol.In(BACKUP),
        vol.Optional("options", default=dict): dict,
        vol.Optional("schema", default=dict): vol.Any({str: _schema_element}, False),
        vol.Optional("image"): vol.Match(RE_DOCKER_IMAGE),
        vol.Optional("ulimits", default=dict): dict,
        vol.Optional("timeout", default=10): vol.All(vol.Coerce(int), vol.Range(min=10, max=300)),
        vol.Optional("journald", default=False): bool,
        vol.Optional("breaking_versions", default=list): [version_tag],
    },
    extra=vol.PREVENT_EXTRA,
)

# supervisor/store/validate.py
REPOSITORY_CONFIG = vol.Schema(
    {vol.Required("name"): str, vol.Optional("url"): vol.Url(), vol.Optional("maintainer"): str},
    extra=vol.PREVENT_EXTRA,
)

# supervisor/apps/validate.py
TRANSLATION_CONFIGURATION = vol.Schema(
    {
        vol.Required("name"): str,
        vol.Optional("description"): vol.Maybe(str),
        vol.Optional("fields"): {str: vol.Self},
    },
    extra=vol.PREVENT_EXTRA,
)
TRANSLATIONS = vol.Schema(
    {vol.Optional("configuration"): {str: TRANSLATION_CONFIGURATION}, vol.Optional("network"): {str: str}},
    extra=vol.PREVENT_EXTRA,
)


def validate_addon_config(raw: Any) -> dict[str, Any]:
    """config.yaml as the Supervisor's store reads it (stricter: see the module docstring)."""
    if not isinstance(raw, dict):
        raise vol.Invalid("config.yaml must be a mapping")
    config: dict[str, Any] = ADDON_CONFIG(raw)
    return config


# --- Options (supervisor/apps/options.py, AppOptions) -----------------------------------


def _single(typ: str, value: Any, key: str) -> Any:
    if value is None:
        raise vol.Invalid(f"Missing required option '{key}'")
    if isinstance(value, str) and value.startswith("!secret "):
        raise vol.Invalid(f"'{key}': secrets are resolved by the Supervisor, not by this validator")
    match = RE_SCHEMA_ELEMENT.match(typ)
    if not match:
        raise vol.Invalid(f"Unknown type '{typ}'")
    bounds = {group[2:]: float(match.group(group)) for group in _RANGE_GROUPS if match.group(group)}
    low, high = bounds.get("min"), bounds.get("max")
    validator: Callable[[Any], Any]
    if typ.startswith(("str", "password")):
        validator = vol.All(str, vol.Length(min=low, max=high))
    elif typ.startswith("int"):
        validator = vol.All(vol.Coerce(int), vol.Range(min=low, max=high))
    elif typ.startswith("float"):
        validator = vol.All(vol.Coerce(float), vol.Range(min=low, max=high))
    elif typ.startswith("bool"):
        validator = vol.Boolean()
    elif typ.startswith("email"):
        validator = vol.Email()
    elif typ.startswith("url"):
        validator = vol.Url()
    elif typ.startswith("port"):
        validator = network_port
    elif typ.startswith("match"):
        return vol.Match(match.group("match"))(str(value))
    elif typ.startswith("list"):
        return vol.In(match.group("list").split("|"))(str(value))
    else:
        raise vol.Invalid(f"'{key}': type '{typ}' is not supported by this validator")
    try:
        return validator(value)
    except vol.Invalid as err:
        raise vol.Invalid(f"'{key}': {err}") from None


def _element(typ: Any, value: Any, key: str) -> Any:
    if isinstance(typ, list):
        if not isinstance(value, list):
            raise vol.Invalid(f"Invalid list for option '{key}'")
        return [_element(typ[0], item, key) for item in value]
    if isinstance(typ, dict):
        if not isinstance(value, dict):
            raise vol.Invalid(f"Invalid dict for option '{key}'")
        return _dict(typ, value, key)
    return _single(typ, value, key)


def _dict(schema: dict[str, Any], values: dict[str, Any], root: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for key, value in values.items():
        if key not in schema:
            # The Supervisor drops it with a warning; a test wants to know.
            raise vol.Invalid(f"Option '{key}' does not exist in the schema ({root})")
        options[key] = _element(schema[key], value, key)
    for missing in set(schema) - set(options):
        typ = schema[missing]
        if isinstance(typ, list) and typ:
            typ = typ[0]
        if isinstance(typ, str) and typ.endswith("?"):
            continue
        raise vol.Invalid(f"Missing option '{missing}' in {root}")
    return options


def validate_options(schema: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """The options as the Supervisor validates them and writes them to /data/options.json."""
    return _dict(schema, options, "root")


def merged_options(config: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    """The Supervisor's options: the add-on's defaults, shallowly overlaid by the user's."""
    return validate_options(config["schema"], {**config.get("options", {}), **user})
