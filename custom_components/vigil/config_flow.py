"""Config flow: the engine's URL and API token (typed in, or discovered from the add-on)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, override
from urllib.parse import urlsplit

import probatio
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_URL
from homeassistant.core import callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.service_info.hassio import HassioServiceInfo

from .camera_flow import CameraOptionsFlow
from .client import (
    CannotConnect,
    InvalidAuth,
    InvalidServer,
    SchemaVersionMismatch,
    ServerInfo,
    VigilClient,
    normalize_url,
)
from .const import (
    CONF_ARCHIVE_ISSUE_MINUTES,
    CONF_LINK_EXPIRY_MINUTES,
    CONF_OBJECT_ZONE_SENSORS,
    CONF_OFFLINE_ISSUE_MINUTES,
    CONF_RECORDING_THRESHOLD,
    CONF_TOKEN,
    CONF_ZONE_SENSORS,
    DEFAULT_ARCHIVE_ISSUE_MINUTES,
    DEFAULT_LINK_EXPIRY_MINUTES,
    DEFAULT_OBJECT_ZONE_SENSORS,
    DEFAULT_OFFLINE_ISSUE_MINUTES,
    DEFAULT_RECORDING_THRESHOLD,
    DEFAULT_ZONE_SENSORS,
    DOMAIN,
    LOGGER,
    MAX_LINK_EXPIRY_MINUTES,
    MIN_LINK_EXPIRY_MINUTES,
)

DEFAULT_URL = "http://homeassistant.local:8750"
DEFAULT_TITLE = "Vigil NVR"
TOKEN_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="off"))
URL_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))


@dataclass(slots=True)
class Validation:
    """The outcome of trying an URL and token."""

    url: str = ""
    info: ServerInfo | None = None
    errors: dict[str, str] = field(default_factory=dict)
    placeholders: dict[str, str] = field(default_factory=dict)


def _title(url: str) -> str:
    host = urlsplit(url).hostname or url
    return f"{DEFAULT_TITLE} ({host})"


class VigilConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a Vigil engine."""

    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        self._discovered_url: str | None = None
        self._discovered_token: str | None = None
        self._addon_name = DEFAULT_TITLE

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: ConfigEntry) -> VigilOptionsFlow:
        return VigilOptionsFlow()

    async def _async_validate(self, url: str, token: str) -> Validation:
        """Connect once (authenticate, check the schema version) and close again."""
        result = Validation()
        try:
            result.url = normalize_url(url)
        except ValueError:
            result.errors[CONF_URL] = "invalid_url"
            return result
        client = VigilClient(async_get_clientsession(self.hass), result.url, token)
        try:
            result.info = await client.connect()
        except InvalidAuth:
            result.errors[CONF_TOKEN] = "invalid_auth"
        except SchemaVersionMismatch as err:
            result.errors["base"] = "update_addon" if err.update_engine else "update_integration"
            result.placeholders.update(server_schema=str(err.server_schema), client_schema=str(err.client_schema))
        except InvalidServer:
            result.errors[CONF_URL] = "not_vigil"
        except CannotConnect:
            result.errors[CONF_URL] = "cannot_connect"
        except Exception:  # noqa: BLE001 - any other failure is shown as "unknown", with its trace in the log
            LOGGER.exception("Unexpected error connecting to %s", result.url)
            result.errors["base"] = "unknown"
        finally:
            await client.disconnect()
        return result

    # --- typed in --------------------------------------------------------------------------

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the engine's URL and API token."""
        result = Validation()
        if user_input is not None:
            result = await self._async_validate(user_input[CONF_URL], user_input[CONF_TOKEN])
            if result.info is not None:
                await self.async_set_unique_id(result.info.instance_id)
                self._abort_if_unique_id_configured()
                return self.async_create_entry(
                    title=_title(result.url), data={CONF_URL: result.url, CONF_TOKEN: user_input[CONF_TOKEN]}
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                probatio.Schema(
                    {probatio.Required(CONF_URL): URL_SELECTOR, probatio.Required(CONF_TOKEN): TOKEN_SELECTOR}
                ),
                user_input or {CONF_URL: DEFAULT_URL},
            ),
            errors=result.errors,
            description_placeholders=result.placeholders,
        )

    # --- announced by the add-on through the Supervisor ------------------------------------

    @override
    async def async_step_hassio(self, discovery_info: HassioServiceInfo) -> ConfigFlowResult:
        """The add-on announced its API: {host, port, token}."""
        config = discovery_info.config
        if not config.get("host") or not config.get("port"):
            return self.async_abort(reason="invalid_discovery_info")
        self._discovered_url = f"http://{config['host']}:{config['port']}"
        self._discovered_token = str(config.get("token") or "")
        self._addon_name = discovery_info.name or DEFAULT_TITLE
        result = await self._async_validate(self._discovered_url, self._discovered_token)
        if result.info is not None:
            # A known engine that moved (new host, port or token): update it and stop here.
            await self.async_set_unique_id(result.info.instance_id)
            self._abort_if_unique_id_configured(updates={CONF_URL: result.url, CONF_TOKEN: self._discovered_token})
        self.context["title_placeholders"] = {"name": self._addon_name}
        return await self.async_step_hassio_confirm()

    async def async_step_hassio_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask before adding the discovered engine."""
        assert self._discovered_url is not None
        assert self._discovered_token is not None
        result = Validation()
        if user_input is not None:
            result = await self._async_validate(self._discovered_url, self._discovered_token)
            if result.info is not None:
                await self.async_set_unique_id(result.info.instance_id, raise_on_progress=False)
                self._abort_if_unique_id_configured(updates={CONF_URL: result.url, CONF_TOKEN: self._discovered_token})
                return self.async_create_entry(
                    title=self._addon_name, data={CONF_URL: result.url, CONF_TOKEN: self._discovered_token}
                )
        return self.async_show_form(
            step_id="hassio_confirm",
            description_placeholders={"addon": self._addon_name, **result.placeholders},
            errors=result.errors,
        )

    # --- the token stopped working ---------------------------------------------------------

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The engine refused the token."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the new token."""
        entry = self._get_reauth_entry()
        result = Validation()
        if user_input is not None:
            result = await self._async_validate(entry.data[CONF_URL], user_input[CONF_TOKEN])
            if result.info is not None:
                await self.async_set_unique_id(result.info.instance_id)
                self._abort_if_unique_id_mismatch(reason="wrong_engine")
                return self.async_update_reload_and_abort(entry, data_updates={CONF_TOKEN: user_input[CONF_TOKEN]})
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=probatio.Schema({probatio.Required(CONF_TOKEN): TOKEN_SELECTOR}),
            errors=result.errors,
            description_placeholders={"url": entry.data[CONF_URL], "title": entry.title, **result.placeholders},
        )

    # --- the engine moved ------------------------------------------------------------------

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Change the URL or the token of a configured engine."""
        entry = self._get_reconfigure_entry()
        result = Validation()
        if user_input is not None:
            result = await self._async_validate(user_input[CONF_URL], user_input[CONF_TOKEN])
            if result.info is not None:
                await self.async_set_unique_id(result.info.instance_id)
                self._abort_if_unique_id_mismatch(reason="wrong_engine")
                return self.async_update_reload_and_abort(
                    entry, data_updates={CONF_URL: result.url, CONF_TOKEN: user_input[CONF_TOKEN]}
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                probatio.Schema(
                    {probatio.Required(CONF_URL): URL_SELECTOR, probatio.Required(CONF_TOKEN): TOKEN_SELECTOR}
                ),
                user_input or dict(entry.data),
            ),
            errors=result.errors,
            description_placeholders=result.placeholders,
        )


class VigilOptionsFlow(CameraOptionsFlow, OptionsFlowWithReload):
    """Home Assistant's side (optional entities, alert thresholds) and the engine's cameras added here."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        return self.async_show_menu(step_id="init", menu_options=["settings", "add_camera", "remove_camera"])

    async def async_step_settings(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Optional entities and alert thresholds (saving them reloads the entry)."""
        if user_input is not None:
            return self.async_create_entry(
                data={
                    CONF_ZONE_SENSORS: user_input[CONF_ZONE_SENSORS],
                    CONF_OBJECT_ZONE_SENSORS: user_input[CONF_OBJECT_ZONE_SENSORS],
                    CONF_RECORDING_THRESHOLD: int(user_input[CONF_RECORDING_THRESHOLD]),
                    CONF_OFFLINE_ISSUE_MINUTES: int(user_input[CONF_OFFLINE_ISSUE_MINUTES]),
                    CONF_ARCHIVE_ISSUE_MINUTES: int(user_input[CONF_ARCHIVE_ISSUE_MINUTES]),
                    CONF_LINK_EXPIRY_MINUTES: int(user_input[CONF_LINK_EXPIRY_MINUTES]),
                }
            )
        options = self.config_entry.options
        return self.async_show_form(
            step_id="settings",
            data_schema=probatio.Schema(
                {
                    probatio.Required(
                        CONF_ZONE_SENSORS, default=options.get(CONF_ZONE_SENSORS, DEFAULT_ZONE_SENSORS)
                    ): BooleanSelector(),
                    probatio.Required(
                        CONF_OBJECT_ZONE_SENSORS,
                        default=options.get(CONF_OBJECT_ZONE_SENSORS, DEFAULT_OBJECT_ZONE_SENSORS),
                    ): BooleanSelector(),
                    probatio.Required(
                        CONF_RECORDING_THRESHOLD,
                        default=options.get(CONF_RECORDING_THRESHOLD, DEFAULT_RECORDING_THRESHOLD),
                    ): NumberSelector(
                        NumberSelectorConfig(
                            min=30, max=86400, step=1, unit_of_measurement="s", mode=NumberSelectorMode.BOX
                        )
                    ),
                    probatio.Required(
                        CONF_OFFLINE_ISSUE_MINUTES,
                        default=options.get(CONF_OFFLINE_ISSUE_MINUTES, DEFAULT_OFFLINE_ISSUE_MINUTES),
                    ): NumberSelector(
                        NumberSelectorConfig(
                            min=1, max=10080, step=1, unit_of_measurement="min", mode=NumberSelectorMode.BOX
                        )
                    ),
                    probatio.Required(
                        CONF_ARCHIVE_ISSUE_MINUTES,
                        default=options.get(CONF_ARCHIVE_ISSUE_MINUTES, DEFAULT_ARCHIVE_ISSUE_MINUTES),
                    ): NumberSelector(
                        NumberSelectorConfig(
                            min=1, max=10080, step=1, unit_of_measurement="min", mode=NumberSelectorMode.BOX
                        )
                    ),
                    probatio.Required(
                        CONF_LINK_EXPIRY_MINUTES,
                        default=options.get(CONF_LINK_EXPIRY_MINUTES, DEFAULT_LINK_EXPIRY_MINUTES),
                    ): NumberSelector(
                        NumberSelectorConfig(
                            min=MIN_LINK_EXPIRY_MINUTES,
                            max=MAX_LINK_EXPIRY_MINUTES,
                            step=1,
                            unit_of_measurement="min",
                            mode=NumberSelectorMode.BOX,
                        )
                    ),
                }
            ),
        )
