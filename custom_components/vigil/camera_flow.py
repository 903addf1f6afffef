"""Options-flow steps that add an ONVIF camera to the engine (found by discovery or typed in) and remove one.

Add: search the network (the engine sends one WS-Discovery probe, to the multicast group
or to one address), pick a found device or type an address, give the login and a name;
the engine connects to the camera before it adds it, so a wrong password or address is a
form error here. Remove: only cameras added this way (the engine's ``origin`` ``api``);
cameras of the add-on's configuration are removed there. Either way the engine announces
the change (``cameras_changed``) and the hub adds or removes the devices and entities:
no reload.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import probatio
from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult, OptionsFlow
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.util import slugify

from .client import CommandError, DiscoveredDevice, VigilError

if TYPE_CHECKING:
    from .hub import VigilHub

CONF_ADDRESS = "address"
CONF_DEVICE = "device"
CONF_CAMERA = "camera"
MANUAL = "manual"
DISCOVERY_SECONDS = 3.0
DEFAULT_ONVIF_PORT = 80
_CAMERA_ID = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")
# The engine's error codes -> (form field, translation key).
_ADD_ERRORS = {
    "camera_unreachable": (CONF_HOST, "camera_unreachable"),
    "camera_auth_failed": (CONF_PASSWORD, "camera_auth_failed"),
    "camera_exists": (CONF_NAME, "camera_exists"),
}
PASSWORD_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="off"))


def device_label(device: DiscoveredDevice) -> str:
    """What the list shows of a found device: its name, hardware and address."""
    what = " ".join(part for part in (device.name, device.hardware) if part) or device.endpoint
    return f"{what} ({device.host}:{device.port})"


def camera_id(name: str) -> str | None:
    """The engine's camera id for a name (a slug), or None if the name gives none."""
    if not any(char.isalnum() for char in name):
        return None  # slugify would make it "unknown"
    slug = slugify(name)[:64].strip("_")
    return slug if _CAMERA_ID.match(slug) else None


class CameraOptionsFlow(OptionsFlow):
    """The options flow's camera steps (mixed into the integration's options flow)."""

    def __init__(self) -> None:
        super().__init__()
        self._devices: list[DiscoveredDevice] = []
        self._chosen: dict[str, Any] = {}

    def _hub(self) -> VigilHub | None:
        """The engine's hub, if the entry is set up (the engine is only reached through it)."""
        if self.config_entry.state is not ConfigEntryState.LOADED:
            return None
        hub: VigilHub = self.config_entry.runtime_data
        return hub

    def _error(self, err: VigilError, errors: dict[str, str], placeholders: dict[str, str]) -> None:
        if isinstance(err, CommandError):
            field, key = _ADD_ERRORS.get(err.code, ("base", "camera_error"))
            errors[field] = key
            placeholders["error"] = err.message
        else:
            errors["base"] = "engine_unavailable"
            placeholders["error"] = str(err)

    async def async_step_add_camera(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Search the network (or one address) for ONVIF cameras."""
        if (hub := self._hub()) is None:
            return self.async_abort(reason="engine_unavailable")
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {"error": ""}
        if user_input is not None:
            address = str(user_input.get(CONF_ADDRESS) or "").strip() or None
            try:
                self._devices = await hub.client.discover(address=address, seconds=DISCOVERY_SECONDS)
            except CommandError as err:
                errors[CONF_ADDRESS] = "invalid_address"
                placeholders["error"] = err.message
            except VigilError as err:
                self._error(err, errors, placeholders)
            else:
                return await self.async_step_pick_device()
        return self.async_show_form(
            step_id="add_camera",
            data_schema=self.add_suggested_values_to_schema(
                probatio.Schema({probatio.Optional(CONF_ADDRESS): TextSelector()}), user_input or {}
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_pick_device(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick a found device, or type an address."""
        if user_input is not None:
            choice = user_input[CONF_DEVICE]
            self._chosen = {}
            if choice != MANUAL:
                device = self._devices[int(choice)]
                self._chosen = {CONF_HOST: device.host, CONF_PORT: device.port, CONF_NAME: device.name or ""}
            return await self.async_step_camera()
        options = [SelectOptionDict(value=str(i), label=device_label(d)) for i, d in enumerate(self._devices)]
        options.append(SelectOptionDict(value=MANUAL, label=MANUAL))
        return self.async_show_form(
            step_id="pick_device",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_DEVICE, default=options[0]["value"]): SelectSelector(
                        SelectSelectorConfig(
                            options=options, mode=SelectSelectorMode.LIST, translation_key="discovered_device"
                        )
                    )
                }
            ),
            description_placeholders={"count": str(len(self._devices))},
        )

    async def async_step_camera(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The camera's address, login and name; the engine connects to it before adding it."""
        if (hub := self._hub()) is None:
            return self.async_abort(reason="engine_unavailable")
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {"error": ""}
        if user_input is not None:
            name = str(user_input[CONF_NAME]).strip()
            new_id = camera_id(name)
            if new_id is None:
                errors[CONF_NAME] = "invalid_name"
            else:
                onvif = {
                    "host": str(user_input[CONF_HOST]).strip(),
                    "port": int(user_input[CONF_PORT]),
                    "username": user_input.get(CONF_USERNAME) or None,
                    "password": user_input.get(CONF_PASSWORD) or None,
                }
                try:
                    camera = await hub.client.add_camera({"id": new_id, "name": name, "onvif": onvif})
                except VigilError as err:
                    self._error(err, errors, placeholders)
                else:
                    return self.async_abort(reason="camera_added", description_placeholders={"name": camera.name})
        suggested = {key: value for key, value in (user_input or self._chosen).items() if key != CONF_PASSWORD}
        return self.async_show_form(
            step_id="camera",
            data_schema=self.add_suggested_values_to_schema(
                probatio.Schema(
                    {
                        probatio.Required(CONF_HOST): TextSelector(),
                        probatio.Required(CONF_PORT, default=DEFAULT_ONVIF_PORT): NumberSelector(
                            NumberSelectorConfig(min=1, max=65535, step=1, mode=NumberSelectorMode.BOX)
                        ),
                        probatio.Optional(CONF_USERNAME): TextSelector(),
                        probatio.Optional(CONF_PASSWORD): PASSWORD_SELECTOR,
                        probatio.Required(CONF_NAME): TextSelector(),
                    }
                ),
                suggested,
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_remove_camera(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Remove a camera added here (its footage stays until the engine's retention deletes it)."""
        if (hub := self._hub()) is None:
            return self.async_abort(reason="engine_unavailable")
        removable = {cid: state.camera.name for cid, state in hub.cameras.items() if state.camera.removable}
        if not removable:
            return self.async_abort(reason="no_removable_cameras")
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {"error": ""}
        if user_input is not None:
            chosen = user_input[CONF_CAMERA]
            try:
                await hub.client.remove_camera(chosen)
            except VigilError as err:
                self._error(err, errors, placeholders)
            else:
                return self.async_abort(reason="camera_removed", description_placeholders={"name": removable[chosen]})
        options = [SelectOptionDict(value=cid, label=name) for cid, name in removable.items()]
        return self.async_show_form(
            step_id="remove_camera",
            data_schema=probatio.Schema(
                {probatio.Required(CONF_CAMERA): SelectSelector(SelectSelectorConfig(options=options))}
            ),
            errors=errors,
            description_placeholders=placeholders,
        )
