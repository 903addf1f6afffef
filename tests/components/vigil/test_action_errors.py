"""Every action's errors, against the real engine: what the user can fix is a ServiceValidationError.

Home Assistant shows a ``ServiceValidationError`` as a mistake of the caller, translated; a
``HomeAssistantError`` as a failure. Each case checks the class, the translation key and its
placeholders (the English message is the one in strings.json, filled in), and that nothing is
logged at ERROR on the way: the caller gets the error, the log stays clean.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util import dt as dt_util

import custom_components.vigil as integration
from custom_components.vigil.client import (
    Camera,
    CannotConnect,
    CommandError,
    ConnectionClosed,
    InvalidAuth,
    InvalidServer,
    NotFoundError,
    VigilError,
)
from custom_components.vigil.const import CONF_LINK_EXPIRY_MINUTES, DOMAIN
from custom_components.vigil.errors import translate_error
from tests.components.vigil.conftest import (
    EngineRig,
    SetupEntry,
    enable_loopback_sockets,
    start_engine_without_camera,
    wait_for,
)

STRINGS = json.loads((Path(integration.__file__).parent / "strings.json").read_text(encoding="utf-8"))
FRONT = "camera.front"
YARD = "camera.yard"  # disabled in the engine's configuration
NO_EVENT = "0" * 32


def message(key: str, placeholders: dict[str, str]) -> str:
    """The English message of an exception key, as Home Assistant fills it in (without a final period)."""
    text: str = STRINGS["exceptions"][key]["message"]
    return text.format(**placeholders).rstrip(".")


async def call(hass: HomeAssistant, service: str, data: dict[str, Any], entity_id: str | None = FRONT) -> Any:
    target = {ATTR_ENTITY_ID: entity_id} if entity_id else None
    respond = service != "ptz"  # the one action without a response
    return await hass.services.async_call(DOMAIN, service, data, target=target, blocking=True, return_response=respond)


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{record.name}: {record.getMessage()}" for record in caplog.records if record.levelno >= logging.ERROR]


async def test_user_errors_are_validation_errors(
    hass: HomeAssistant,
    engine: EngineRig,
    setup_entry: SetupEntry,
    media_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await setup_entry()
    now = dt_util.utcnow()
    long_ago = now - timedelta(days=400)
    local = dt_util.as_local(now).strftime("%Y-%m-%d %H:%M:%S")
    local_before = dt_util.as_local(now - timedelta(seconds=5)).strftime("%Y-%m-%d %H:%M:%S")
    cases: list[tuple[str, str | None, dict[str, Any], str, dict[str, str]]] = [
        ("export_clip", FRONT, {}, "event_or_range", {}),
        ("export_clip", FRONT, {"start": now - timedelta(seconds=5)}, "event_or_range", {}),
        ("export_clip", FRONT, {"event_id": NO_EVENT, "start": now}, "event_or_range", {}),
        (
            "export_clip",
            FRONT,
            {"start": now, "end": now - timedelta(seconds=5)},
            "end_before_start",
            {"start": local, "end": local_before},
        ),
        ("export_clip", FRONT, {"start": now - timedelta(hours=7), "end": now}, "clip_too_long", {"hours": "6"}),
        # Valid times, but after the last UTC datetime once converted (was an OverflowError).
        (
            "export_clip",
            FRONT,
            {"start": "9999-12-31T23:00:00-12:00", "end": "9999-12-31T23:30:00-12:00"},
            "time_out_of_range",
            {},
        ),
        ("export_clip", FRONT, {"event_id": NO_EVENT}, "event_not_found", {"event_id": NO_EVENT}),
        (
            "export_clip",
            FRONT,
            {"start": long_ago, "end": long_ago + timedelta(seconds=5)},
            "no_footage",
            {"camera": "Front"},
        ),
        ("snapshot", YARD, {}, "camera_disabled", {"camera": "Yard"}),
        ("start_event", YARD, {}, "camera_disabled", {"camera": "Yard"}),
        ("end_event", FRONT, {}, "no_manual_event", {"camera": "Front"}),
        ("ptz", FRONT, {"mode": "stop"}, "no_ptz", {"camera": "Front"}),
        ("ptz", YARD, {"mode": "stop"}, "camera_disabled", {"camera": "Yard"}),
        ("ptz", FRONT, {"mode": "preset"}, "ptz_argument", {"mode": "preset", "field": "preset"}),
        ("get_event_media", None, {"event_id": NO_EVENT}, "event_not_found", {"event_id": NO_EVENT}),
        (
            "get_event_media",
            None,
            {"event_id": NO_EVENT, "expires_in": {"minutes": 1}},
            "expiry_out_of_range",
            {"expires_in": "0:01:00", "min_minutes": "5", "max_minutes": "1440"},
        ),
        (
            "get_event_media",
            None,
            {"event_id": NO_EVENT, "expires_in": {"days": 2}},
            "expiry_out_of_range",
            {"expires_in": "2 days, 0:00:00", "min_minutes": "5", "max_minutes": "1440"},
        ),
    ]
    caplog.clear()
    for service, entity_id, data, key, placeholders in cases:
        with pytest.raises(ServiceValidationError) as caught:
            await call(hass, service, data, entity_id)
        err = caught.value
        assert (err.translation_domain, err.translation_key) == (DOMAIN, key), (service, data, err)
        assert (err.translation_placeholders or {}) == placeholders, (service, data)
        assert str(err) == message(key, placeholders), (service, data)
    assert errors_logged(caplog) == []
    assert not (media_dir / "vigil" / "clips").exists() or not list((media_dir / "vigil" / "clips").iterdir())


async def test_get_event_media_caps_the_expiry_at_the_option(
    hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry
) -> None:
    """A user cannot mint links that outlive what the integration's option allows."""
    await setup_entry(options={CONF_LINK_EXPIRY_MINUTES: 30})
    with pytest.raises(ServiceValidationError) as caught:
        await call(hass, "get_event_media", {"event_id": NO_EVENT, "expires_in": "00:31:00"}, None)
    assert caught.value.translation_key == "expiry_out_of_range"
    assert caught.value.translation_placeholders == {"expires_in": "0:31:00", "min_minutes": "5", "max_minutes": "30"}


async def test_an_unknown_entry_is_refused_by_home_assistant(
    hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry
) -> None:
    await setup_entry()
    with pytest.raises(ServiceValidationError) as caught:
        await call(hass, "get_event_media", {"event_id": NO_EVENT, "config_entry_id": "nosuchentry"}, None)
    assert caught.value.translation_key == "service_config_entry_not_found"


async def test_a_file_that_cannot_be_written(
    hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry, tmp_path: Path
) -> None:
    """The media folder is a file (a real fault, no mock): a translated failure, not a traceback."""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    hass.config.media_dirs = {"local": str(blocked)}
    await setup_entry()
    with pytest.raises(HomeAssistantError) as caught:
        await call(hass, "snapshot", {})
    assert not isinstance(caught.value, ServiceValidationError)
    assert caught.value.translation_key == "write_failed"
    assert str(caught.value).startswith("Cannot write the file under the media folder: ")


@pytest.fixture(scope="module")
def lone_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineRig]:
    """An engine of this module's own (its demo camera), stopped by the test."""
    enable_loopback_sockets()
    rig = start_engine_without_camera(tmp_path_factory.mktemp("vigil-down"), [{"id": "demo", "url": "demo://"}])
    try:
        rig.wait_ready(("demo",))
        yield rig
    finally:
        rig.process.stop()


async def test_engine_failure_is_a_home_assistant_error(
    hass: HomeAssistant,
    lone_engine: EngineRig,
    setup_entry: SetupEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The engine stops for real: asking it for an event fails with a translated error that is not the user's.

    (The camera actions are not tried: their entities turn unavailable with the engine, and
    Home Assistant runs no action on an unavailable entity. How each client error maps is
    ``test_every_client_error_is_translated``.)
    """
    entry = await setup_entry(lone_engine)
    lone_engine.process.stop()
    lone_engine.wait_down()
    await wait_for(lambda: not entry.runtime_data.available, 20, "the integration to see the engine gone")
    caplog.clear()
    with pytest.raises(HomeAssistantError) as caught:
        await call(hass, "get_event_media", {"event_id": NO_EVENT}, None)
    err = caught.value
    assert not isinstance(err, ServiceValidationError)
    assert (err.translation_domain, err.translation_key) == (DOMAIN, "not_connected")
    assert str(err).startswith("The Vigil engine is not reachable: ")
    assert errors_logged(caplog) == []


DOWN = "the engine did not answer"


async def _failing_stream(path: str, params: object = None, **kwargs: object) -> AsyncIterator[bytes]:
    raise CannotConnect(DOWN)
    yield b""  # an async generator, like VigilClient.http_stream


async def test_camera_actions_when_the_engine_fails_midway(
    hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry, media_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Fault injection: each client call the camera actions make raises the client's transport error.

    (For real, the engine going away makes the camera entities unavailable first, and Home
    Assistant runs no action on them; an engine that stops answering mid-command takes the
    client's timeouts, 10 to 30 s, to show.)
    """
    entry = await setup_entry()
    client = entry.runtime_data.client
    now = dt_util.utcnow()
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("snapshot", "camera_snapshot", {}),
        ("export_clip", "http_stream", {"start": now - timedelta(seconds=10), "end": now}),
        ("export_clip", "get_event", {"event_id": NO_EVENT}),
        ("start_event", "start_manual_event", {}),
        ("end_event", "end_manual_event", {}),
        ("ptz", "ptz_stop", {"mode": "stop"}),
    ]
    caplog.clear()
    for service, method, data in cases:
        # A clip is a stream: it fails when read, as the client's does.
        fault = {"new": _failing_stream} if method == "http_stream" else {"side_effect": CannotConnect(DOWN)}
        with patch.object(client, method, **fault), pytest.raises(HomeAssistantError) as caught:
            await call(hass, service, data)
        err = caught.value
        assert not isinstance(err, ServiceValidationError), (service, err)
        assert (err.translation_domain, err.translation_key) == (DOMAIN, "not_connected"), (service, err)
        assert str(err) == f"The Vigil engine is not reachable: {DOWN}"
    assert errors_logged(caplog) == []
    assert not (media_dir / "vigil" / "clips").exists() or not list((media_dir / "vigil" / "clips").iterdir())


def test_every_client_error_is_translated() -> None:
    """Each error the client raises (real error objects, as it raises them), with and without a camera."""
    front = Camera(camera_id="front", name="Front", enabled=True, online=True)
    offline = replace(front, online=False)
    disabled = replace(front, enabled=False)
    user, failure = ServiceValidationError, HomeAssistantError
    cases: list[tuple[VigilError, Camera | None, str | None, type[HomeAssistantError], str, dict[str, str]]] = [
        (NotFoundError("event_not_found", "no event"), None, NO_EVENT, user, "event_not_found", {"event_id": NO_EVENT}),
        (NotFoundError("no_footage", "none"), front, None, user, "no_footage", {"camera": "Front"}),
        (NotFoundError("no_snapshot", "none"), front, None, user, "no_snapshot", {"camera": "Front"}),
        (NotFoundError("no_snapshot", "none"), offline, None, user, "camera_offline", {"camera": "Front"}),
        (NotFoundError("no_snapshot", "none"), disabled, None, user, "camera_disabled", {"camera": "Front"}),
        (NotFoundError("camera_not_found", "gone"), front, None, user, "camera_not_found", {"camera": "Front"}),
        (NotFoundError("event_not_found", "no event"), None, None, user, "not_found", {"error": "no event"}),
        (CommandError("camera_unavailable", "no onvif"), offline, None, user, "camera_offline", {"camera": "Front"}),
        (
            CommandError("camera_unavailable", "no onvif"),
            front,
            None,
            user,
            "camera_unavailable",
            {"error": "no onvif"},
        ),
        (CommandError("event_state", "disabled"), disabled, None, user, "camera_disabled", {"camera": "Front"}),
        (CommandError("event_state", "running"), offline, None, user, "event_state", {"error": "running"}),
        (CommandError("invalid_argument", "bad"), None, None, user, "invalid_argument", {"error": "bad"}),
        (CommandError("range_too_long", "long"), None, None, user, "range_too_long", {"error": "long"}),
        (
            CommandError("camera_error", "401 from camera"),
            front,
            None,
            failure,
            "camera_error",
            {"camera": "Front", "error": "401 from camera"},
        ),
        (
            CommandError("internal_error", "failed"),
            front,
            None,
            failure,
            "command_failed",
            {"code": "internal_error", "error": "failed"},
        ),
        (CannotConnect("timeout"), front, None, failure, "not_connected", {"error": "timeout"}),
        (ConnectionClosed("closed"), None, None, failure, "not_connected", {"error": "closed"}),
        (InvalidAuth("refused"), None, None, failure, "engine_error", {"error": "refused"}),
        (InvalidServer("garbage"), None, None, failure, "engine_error", {"error": "garbage"}),
    ]
    for error, camera, event_id, kind, key, placeholders in cases:
        translated = translate_error(error, camera, event_id)
        assert type(translated) is kind, (error, camera)
        assert (translated.translation_domain, translated.translation_key) == (DOMAIN, key), (error, camera)
        assert translated.translation_placeholders == placeholders, (error, camera)
        # The placeholders are exactly those of the message.
        assert set(re.findall(r"{(\w+)}", STRINGS["exceptions"][key]["message"])) == set(placeholders), key
