"""WebSocket commands for ONVIF cameras: discovery and PTZ (one handler per command).

PTZ velocities and translations are in ONVIF's generic spaces, -1 to 1. A request the camera
refuses or cannot answer is ``camera_error`` (with the camera's reason, never a password); a
camera that cannot do it now or at all (not connected yet, no PTZ, no ONVIF) is
``camera_unavailable``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from vigil_engine.engine import CameraUnavailableError
from vigil_engine.protocol import (
    CameraIdResult,
    DiscoveredDevice,
    DiscoveredDevices,
    Model,
    Preset,
    PresetResult,
    Presets,
)

from . import params
from .errors import ApiError, invalid

if TYPE_CHECKING:
    from vigil_engine.onvif.device import OnvifDevice

    from .websocket import Connection

Handler = Callable[["Connection", dict[str, Any]], Awaitable[Model]]

DEFAULT_DISCOVERY_S = 3.0
MAX_DISCOVERY_S = 15.0
MAX_MOVE_S = 30.0
# A move's automatic stop, kept referenced until it has run.
_STOPS: set[asyncio.Task[None]] = set()


def _number(value: Any, name: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise invalid(f"{name}: expected a number from {lo:g} to {hi:g}")
    if not lo <= value <= hi:
        raise invalid(f"{name}: expected a number from {lo:g} to {hi:g}")
    return float(value)


def _optional_number(args: dict[str, Any], name: str, lo: float, hi: float, default: float) -> float:
    value = args.get(name)
    return default if value is None else _number(value, name, lo, hi)


def _ptz_device(conn: Connection, args: dict[str, Any]) -> tuple[str, OnvifDevice]:
    camera_id = conn.ctx.require_camera(params.camera_id(args.get("camera_id")))
    try:
        onvif = conn.ctx.engine.onvif_camera(camera_id)
    except CameraUnavailableError as err:
        raise ApiError("camera_unavailable", str(err)) from None
    if onvif.device is None or onvif.resolved is None:
        reason = onvif.status.last_error or "not connected yet"
        raise ApiError("camera_unavailable", f"camera {camera_id} is not connected over ONVIF: {reason}")
    if not onvif.resolved.has_ptz:
        raise ApiError("camera_unavailable", f"camera {camera_id} has no PTZ")
    return camera_id, onvif.device


async def _ask(request: Awaitable[Any]) -> Any:
    from vigil_engine.onvif.errors import OnvifError  # noqa: PLC0415 - loads zeep only when used

    try:
        return await request
    except OnvifError as err:
        raise ApiError("camera_unavailable" if err.kind == "not_supported" else "camera_error", str(err)) from None


async def _discover(conn: Connection, args: dict[str, Any]) -> DiscoveredDevices:
    from vigil_engine.onvif.discovery import DISCOVERY_PORT, discover  # noqa: PLC0415

    seconds = _optional_number(args, "seconds", 0.5, MAX_DISCOVERY_S, DEFAULT_DISCOVERY_S)
    target: tuple[str, int] | None = None
    address = args.get("address")
    if address is not None:
        if not isinstance(address, str):
            raise invalid("address: expected an IP address, optionally with :port")
        host, _, port = address.rpartition(":") if address.count(":") == 1 else (address, "", "")
        try:
            ip = ipaddress.ip_address(host.strip("[]"))
            target = (str(ip), int(port) if port else DISCOVERY_PORT)
        except ValueError:
            raise invalid("address: expected an IP address, optionally with :port") from None
        if not 1 <= target[1] <= 65535:
            raise invalid("address: the port must be from 1 to 65535")
    devices = await discover(seconds, target)
    return DiscoveredDevices(devices=tuple(DiscoveredDevice.parse(device.as_dict()) for device in devices))


async def _ptz_move(conn: Connection, args: dict[str, Any]) -> CameraIdResult:
    pan = _optional_number(args, "pan", -1, 1, 0.0)
    tilt = _optional_number(args, "tilt", -1, 1, 0.0)
    zoom = _optional_number(args, "zoom", -1, 1, 0.0)
    seconds = args.get("seconds")
    duration = None if seconds is None else _number(seconds, "seconds", 0.1, MAX_MOVE_S)
    camera_id, device = _ptz_device(conn, args)
    await _ask(device.continuous_move(pan, tilt, zoom))
    if duration is not None:

        async def stop_later() -> None:
            await asyncio.sleep(duration)
            try:
                await device.stop()
            except Exception:  # noqa: BLE001 - the camera went away; it stops moving on its own timeout
                return

        task = asyncio.create_task(stop_later())
        _STOPS.add(task)
        task.add_done_callback(_STOPS.discard)
    return CameraIdResult(camera_id=camera_id)


async def _ptz_stop(conn: Connection, args: dict[str, Any]) -> CameraIdResult:
    camera_id, device = _ptz_device(conn, args)
    await _ask(device.stop())
    return CameraIdResult(camera_id=camera_id)


async def _ptz_zoom(conn: Connection, args: dict[str, Any]) -> CameraIdResult:
    zoom = _number(args.get("zoom"), "zoom", -1, 1)
    camera_id, device = _ptz_device(conn, args)
    await _ask(device.relative_zoom(zoom))
    return CameraIdResult(camera_id=camera_id)


async def _ptz_goto_preset(conn: Connection, args: dict[str, Any]) -> PresetResult:
    preset = args.get("preset")
    if not isinstance(preset, str) or not 1 <= len(preset) <= 64 or not preset.isprintable():
        raise invalid("preset: expected a preset token (1-64 characters)")
    camera_id, device = _ptz_device(conn, args)
    await _ask(device.goto_preset(preset))
    return PresetResult(camera_id=camera_id, preset=preset)


async def _ptz_presets(conn: Connection, args: dict[str, Any]) -> Presets:
    camera_id, device = _ptz_device(conn, args)
    presets = await _ask(device.presets())
    return Presets(camera_id=camera_id, presets=tuple(Preset(token=p.token, name=p.name) for p in presets))


ONVIF_HANDLERS: dict[str, Handler] = {
    "discover": _discover,
    "ptz_move": _ptz_move,
    "ptz_stop": _ptz_stop,
    "ptz_zoom": _ptz_zoom,
    "ptz_goto_preset": _ptz_goto_preset,
    "ptz_presets": _ptz_presets,
}
