"""The client's errors as the translated errors Home Assistant shows for an action, a switch or a button.

Home Assistant tells two kinds apart: a ``ServiceValidationError`` is something the user can
fix (a camera that is offline, disabled or without PTZ, an event that does not exist, no
footage in a range) and is shown as such; a ``HomeAssistantError`` is a failure of the
engine or of the way to it. Both carry a translation key of the integration, so the message
is translated and never names the engine's address, token or file paths.
"""

from __future__ import annotations

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .client import Camera, CannotConnect, CommandError, ConnectionClosed, NotFoundError, VigilError
from .const import DOMAIN

# Engine error codes (docs/api/websocket.md) that say what the user asked for cannot be done.
USER_FIXABLE_CODES = frozenset({"event_state", "invalid_argument", "range_too_long", "camera_unavailable"})


def user_error(key: str, **placeholders: str) -> ServiceValidationError:
    """A translated error the user can fix (``exceptions.<key>`` in strings.json)."""
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders or None
    )


def engine_failure(key: str, **placeholders: str) -> HomeAssistantError:
    """A translated failure of the engine or of the connection to it."""
    return HomeAssistantError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders or None
    )


def camera_state_error(camera: Camera) -> ServiceValidationError | None:
    """Why nothing can be asked of this camera now (disabled, offline), or None."""
    if not camera.enabled:
        return user_error("camera_disabled", camera=camera.name)
    if not camera.online:
        return user_error("camera_offline", camera=camera.name)
    return None


def translate_error(err: VigilError, camera: Camera | None = None, event_id: str | None = None) -> HomeAssistantError:
    """A translated Home Assistant error for a failed engine command.

    ``camera`` and ``event_id`` (what the command was about) let the message name them and
    tell a disabled or offline camera from other refusals.
    """
    name = camera.name if camera is not None else ""
    if isinstance(err, NotFoundError):
        if err.code == "event_not_found" and event_id is not None:
            return user_error("event_not_found", event_id=event_id)
        if err.code == "no_footage" and camera is not None:
            return user_error("no_footage", camera=name)
        if err.code == "no_snapshot" and camera is not None:
            return camera_state_error(camera) or user_error("no_snapshot", camera=name)
        if err.code == "camera_not_found" and camera is not None:
            return user_error("camera_not_found", camera=name)
        return user_error("not_found", error=err.message)
    if isinstance(err, CommandError):
        if err.code == "event_state" and camera is not None and not camera.enabled:
            return user_error("camera_disabled", camera=name)  # a disabled camera keeps nothing
        if err.code == "camera_unavailable" and camera is not None and (state := camera_state_error(camera)):
            return state
        if err.code in USER_FIXABLE_CODES:
            return user_error(err.code, error=err.message)
        if err.code == "camera_error" and camera is not None:
            return engine_failure("camera_error", camera=name, error=err.message)
        return engine_failure("command_failed", code=err.code, error=err.message)
    if isinstance(err, CannotConnect | ConnectionClosed):
        return engine_failure("not_connected", error=str(err))
    return engine_failure("engine_error", error=str(err))
