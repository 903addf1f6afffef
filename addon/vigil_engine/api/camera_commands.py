"""WebSocket commands that add and remove cameras at run time (one handler per command).

A camera is given as in the config file (``cameras`` entry; the same schema validates it,
so errors name the key). An ONVIF camera is connected to once before it is added: a wrong
address or login is an error now, not a camera that stays offline. Cameras added here are
kept in ``cameras.json`` beside the index; cameras of the config file cannot be removed here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from vigil_engine.config import CameraConfig, ConfigError
from vigil_engine.engine import CameraExistsError, ConfigCameraError
from vigil_engine.protocol import AddedCamera, CameraIdResult, Model
from vigil_engine.redact import redact

from . import params, queries
from .errors import ApiError, invalid

if TYPE_CHECKING:
    from .websocket import Connection

Handler = Callable[["Connection", dict[str, Any]], Awaitable[Model]]

# The config file's camera keys, less those for replaying files (``realtime``, ``loop``).
CAMERA_KEYS = frozenset(
    {
        "id",
        "name",
        "url",
        "substream_url",
        "username",
        "password",
        "onvif",
        "record",
        "retention_days",
        "enabled",
        "motion",
        "events",
    }
)
_ONVIF_ERRORS = {"auth": "camera_auth_failed", "unreachable": "camera_unreachable", "timeout": "camera_unreachable"}


async def _check_onvif(camera: CameraConfig) -> None:
    """Connect to an ONVIF camera once: refuse it now if the address or the login is wrong."""
    if camera.onvif is None:
        return
    from vigil_engine.onvif.camera import probe  # noqa: PLC0415 - loads zeep only when used
    from vigil_engine.onvif.errors import OnvifError  # noqa: PLC0415

    try:
        await probe(camera.onvif)
    except OnvifError as err:
        raise ApiError(_ONVIF_ERRORS.get(err.kind, "camera_error"), str(err)) from None


def _entry(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid("camera: expected an object like a camera of the config file (id, name, url or onvif, ...)")
    unknown = sorted(str(key) for key in set(value) - CAMERA_KEYS)
    if unknown:
        raise invalid(f"camera.{unknown[0][:64]}: unknown key")
    for key in ("url", "substream_url"):
        url = value.get(key)
        if isinstance(url, str) and url.strip().lower().startswith("file://"):
            # A file on the engine's disk is not a camera a client may point it at.
            raise invalid(f"camera.{key}: file:// sources can only be set in the config file")
    return value


async def _add_camera(conn: Connection, args: dict[str, Any]) -> AddedCamera:
    entry = _entry(args.get("camera"))
    try:
        camera_id = await conn.ctx.engine.add_camera(entry, check=_check_onvif)
    except ConfigError as err:
        raise invalid(redact(str(err))) from None
    except CameraExistsError as err:
        raise ApiError("camera_exists", str(err)) from None
    return AddedCamera(camera=queries.camera(conn.ctx, camera_id))


async def _remove_camera(conn: Connection, args: dict[str, Any]) -> CameraIdResult:
    camera_id = conn.ctx.require_camera(params.camera_id(args.get("camera_id")))
    try:
        await conn.ctx.engine.remove_camera(camera_id)
    except ConfigCameraError as err:
        raise ApiError("camera_in_config", str(err)) from None
    return CameraIdResult(camera_id=camera_id)


CAMERA_HANDLERS: dict[str, Handler] = {"add_camera": _add_camera, "remove_camera": _remove_camera}
