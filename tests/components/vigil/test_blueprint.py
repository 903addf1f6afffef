"""The notification blueprint, run by Home Assistant's own blueprint and automation code.

The blueprint file of the repository is loaded by the ``blueprint`` machinery, automations
using it are set up by ``automation``, and real events of the real engine (manual events
started through ``vigil.start_event``, and motion of the test camera's box) trigger them.
The notify actions they call are registered with ``async_mock_service``, which only records
the calls: what the companion app would receive is exactly what the test inspects.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import urllib.parse
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import probatio
import pytest
from homeassistant.components.automation.helpers import async_get_blueprints
from homeassistant.components.blueprint import importer
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import selector
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from homeassistant.util.yaml import load_yaml_dict
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMocker
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.vigil.const import DOMAIN
from tests.components.vigil.conftest import (
    FRONT,
    ZONE,
    EngineRig,
    SetupEntry,
    state_of,
    wait_engine,
    wait_for,
    wait_state,
)

ROOT = Path(__file__).resolve().parents[3]
BLUEPRINT = ROOT / "blueprints" / "automation" / "vigil" / "notify_on_event.yaml"
BLUEPRINT_PATH = "vigil/notify_on_event.yaml"  # relative to <config>/blueprints/automation/
EVENTS = "event.front_events"
CAMERA = "camera.front"
DETECTION = "switch.front_motion_detection"
SOURCE_URL = "https://github.com/vigil-nvr/vigil/blob/main/blueprints/automation/vigil/notify_on_event.yaml"
TIME = r"\d\d:\d\d:\d\d"  # the event's local start time in the default message
# Where a template error or an undefined variable of the blueprint would be logged.
AUTOMATION_LOGGERS = (
    "homeassistant.components.automation",
    "homeassistant.helpers.template",
    "homeassistant.helpers.script",
)


@pytest.fixture
def config_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """A config directory of this test's own, with the blueprint where a user would put it.

    (The harness's default config directory belongs to the installed test plugin.)
    """
    hass.config.config_dir = str(tmp_path)
    target = tmp_path / "blueprints" / "automation" / BLUEPRINT_PATH
    target.parent.mkdir(parents=True)
    shutil.copyfile(BLUEPRINT, target)
    return tmp_path


def phone(hass: HomeAssistant, name: str = "Phone") -> str:
    """A companion-app device in the device registry (what registering the app creates)."""
    entry = MockConfigEntry(domain="mobile_app", title=name)
    entry.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={("mobile_app", f"{name}-id")}, name=name
    )
    return device.id


def automation(alias: str, **inputs: Any) -> dict[str, Any]:
    return {"alias": alias, "use_blueprint": {"path": BLUEPRINT_PATH, "input": {"event_entity": EVENTS, **inputs}}}


async def setup_automations(hass: HomeAssistant, *configs: dict[str, Any]) -> None:
    assert await async_setup_component(hass, "automation", {"automation": list(configs)})
    await hass.async_block_till_done()
    for config in configs:
        entity = f"automation.{config['alias']}"
        # An automation whose blueprint or inputs fail validation is set up unavailable.
        assert state_of(hass, entity).state == STATE_ON, f"{entity}: {state_of(hass, entity)}"


async def switch(hass: HomeAssistant, on: bool) -> None:
    await hass.services.async_call(
        "switch", "turn_on" if on else "turn_off", {ATTR_ENTITY_ID: DETECTION}, blocking=True
    )


async def detection_off(hass: HomeAssistant, engine: EngineRig) -> None:
    """No motion events (the box moves every 10 s): only the test's manual events fire."""
    await switch(hass, False)
    await wait_engine(engine, FRONT, lambda camera: not camera["motion_enabled"], "detection off")
    await wait_state(hass, "binary_sensor.front_motion", STATE_OFF)


async def manual_event(hass: HomeAssistant, label: str) -> dict[str, Any]:
    """Start a manual event, wait for the event entity to fire it, end it; its attributes."""
    response = await hass.services.async_call(
        DOMAIN, "start_event", {"label": label}, target={ATTR_ENTITY_ID: CAMERA}, blocking=True, return_response=True
    )
    assert response is not None
    started = response[CAMERA]
    assert isinstance(started, dict)
    await wait_for(
        lambda: state_of(hass, EVENTS).attributes.get("event_id") == started["event_id"], 5, f"{label} on {EVENTS}"
    )
    state = state_of(hass, EVENTS)
    # When the automations saw it (for the timing preconditions of the test).
    attributes = {**state.attributes, "fired_at": state.last_changed}
    await hass.services.async_call(DOMAIN, "end_event", target={ATTR_ENTITY_ID: CAMERA}, blocking=True)
    await wait_for(lambda: state_of(hass, EVENTS).attributes.get("event_type") == "manual_ended", 5, "event end")
    await hass.async_block_till_done()  # the automations' runs
    return attributes


def assert_notification(
    call: ServiceCall, event: dict[str, Any], entry_id: str, *, message: str | Callable[[str], object]
) -> None:
    """What the companion app gets: picture, text, tap target and the two buttons."""
    assert call.data["title"] == "Front"
    if callable(message):
        assert message(call.data["message"]), call.data["message"]
    else:
        assert call.data["message"] == message
    # The event's state holds no link: the blueprint asked vigil.get_event_media for them.
    assert not {"snapshot_url", "thumbnail_url", "clip_url"} & set(event)
    data = call.data["data"]
    snapshot_url, clip_url = data["image"], data["clickAction"]
    # Signed relative URLs of the integration's views: the app fetches them without a token.
    media = f"/api/vigil/{entry_id}/events/{event['event_id']}"
    assert snapshot_url.startswith(f"{media}/snapshot.jpg?authSig=")
    assert clip_url.startswith(f"{media}/clip.mp4?authSig=")
    assert data["attachment"] == {"url": snapshot_url, "content-type": "jpeg", "hide-thumbnail": False}
    assert data["url"] == clip_url
    assert data["tag"] == f"vigil-{event['event_id']}"
    assert data["group"] == f"vigil-{EVENTS}"
    assert data["actions"] == [
        {"action": "URI", "title": "Open clip", "uri": clip_url},
        {"action": "URI", "title": "Live view", "uri": f"entityId:{CAMERA}"},
        # The integration snoozes the camera when this is tapped (the snooze tests tap it).
        {"action": f"vigil_snooze:{entry_id}:{FRONT}:30", "title": "Snooze 30 min"},
    ]
    # A first notification alerts; a normal one is not critical.
    assert "alert_once" not in data
    assert "push" not in data
    assert "channel" not in data


def assert_replaces(call: ServiceCall, first: ServiceCall) -> None:
    """An update of a notification already sent: the same tag (the phone replaces it), silently."""
    data = call.data["data"]
    assert data["tag"] == first.data["data"]["tag"]
    assert data["alert_once"] is True
    assert data["push"] == {"interruption-level": "passive"}


def tags(calls: list[ServiceCall]) -> list[str]:
    return [call.data["data"]["tag"] for call in calls]


async def test_blueprint_loads_validates_and_imports(
    hass: HomeAssistant, config_dir: Path, aioclient_mock: AiohttpClientMocker
) -> None:
    """Home Assistant's blueprint code accepts the file, from disk and from the README's import link."""
    assert await async_setup_component(hass, "blueprint", {})
    blueprint = await async_get_blueprints(hass).async_get_blueprint(BLUEPRINT_PATH)
    assert blueprint.validate() is None  # no Home Assistant version requirement this one fails
    assert blueprint.domain == "automation"
    assert blueprint.metadata["source_url"] == SOURCE_URL
    assert set(blueprint.inputs) == {
        "event_entity",
        "notify_devices",
        "notify_service",
        "title",
        "message",
        "event_types",
        "min_score",
        "cooldown",
        "zones",
        "quiet_start",
        "quiet_end",
        "critical_at_night",
        "night_start",
        "night_end",
        "snooze_minutes",
    }
    # Only the camera is required; everything else has a default.
    assert [name for name, spec in blueprint.inputs.items() if "default" not in (spec or {})] == ["event_entity"]
    assert blueprint.inputs["cooldown"]["default"] == 120

    # The README's "My Home Assistant" link imports the file from GitHub. GitHub is out of
    # reach here: the mocked HTTP session serves the repository's file at the raw URL the
    # importer derives, so the importer's own URL handling and validation are what is tested.
    readme = (ROOT / "README.md").read_text()
    link = re.search(r"https://my\.home-assistant\.io/redirect/blueprint_import/\?blueprint_url=([^)\s\"]+)", readme)
    assert link is not None, "README: no blueprint import link"
    url = urllib.parse.unquote(link.group(1))
    assert url == SOURCE_URL
    raw = "https://raw.githubusercontent.com/vigil-nvr/vigil/main/blueprints/automation/vigil/notify_on_event.yaml"
    aioclient_mock.get(raw, text=BLUEPRINT.read_text())
    imported = await importer.fetch_blueprint_from_url(hass, url)
    assert imported.blueprint.inputs == blueprint.inputs
    assert imported.blueprint.metadata["source_url"] == SOURCE_URL
    assert "blueprints/automation/vigil/notify_on_event.yaml" in readme  # the manual path


BLUEPRINTS = sorted((ROOT / "blueprints").rglob("*.yaml"))


def blueprint_inputs(inputs: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every input of a blueprint, those inside sections (``input:`` of their own) included."""
    for name, spec in inputs.items():
        if isinstance(spec, dict) and "input" in spec:
            yield from blueprint_inputs(spec["input"])
        else:
            yield name, spec or {}


@pytest.mark.parametrize("path", BLUEPRINTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_input_default_fits_its_selector(path: Path) -> None:
    """The UI fills an input with its default: Home Assistant's selector must accept it (a time "" it does not)."""
    inputs = list(blueprint_inputs(load_yaml_dict(path)["blueprint"]["input"]))
    assert inputs
    checked, rejected = 0, []
    for name, spec in inputs:
        if "default" not in spec or "selector" not in spec:
            continue
        checked += 1
        try:
            probatio.Schema(selector(spec["selector"]))(spec["default"])  # a selector validates when called
        except probatio.Invalid as err:
            rejected.append(f"{name}: default {spec['default']!r}: {err}")
    assert checked
    assert not rejected, rejected


def test_blueprints_are_found() -> None:
    assert BLUEPRINT in BLUEPRINTS


async def test_notifications_cooldown_quiet_hours_and_zone_filter(
    hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry, config_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Three manual events a moment apart; each automation notifies for the ones it should."""
    caplog.set_level(logging.WARNING)
    entry = await setup_entry()
    assert entry.state is ConfigEntryState.LOADED
    plain = async_mock_service(hass, "notify", "mobile_app_phone")
    cooldown_long = async_mock_service(hass, "notify", "cooldown_long")
    cooldown_short = async_mock_service(hass, "notify", "cooldown_short")
    quiet = async_mock_service(hass, "notify", "quiet")
    overnight = async_mock_service(hass, "notify", "overnight")
    zones = async_mock_service(hass, "notify", "zones")
    await detection_off(hass, engine)
    try:
        # Quiet hours begin 4 s from now (local time, to the second) and last an hour.
        quiet_from = dt_util.now() + timedelta(seconds=4)
        await setup_automations(
            hass,
            automation("plain", notify_devices=[phone(hass)], cooldown=0),
            automation("cooldown_long", notify_service="notify.cooldown_long"),  # the default: 2 min
            automation("cooldown_short", notify_service="cooldown_short", cooldown=2),
            automation(
                "quiet",
                notify_service="notify.quiet",
                cooldown=0,
                quiet_start=quiet_from.strftime("%H:%M:%S"),
                quiet_end=(quiet_from + timedelta(hours=1)).strftime("%H:%M:%S"),
            ),
            automation(  # start after end: the quiet hours span midnight (23 h of them here)
                "overnight",
                notify_service="notify.overnight",
                cooldown=0,
                quiet_start=quiet_from.strftime("%H:%M:%S"),
                quiet_end=(quiet_from - timedelta(hours=1)).strftime("%H:%M:%S"),
            ),
            automation("zones", notify_service="notify.zones", cooldown=0, zones=["driveway"]),
        )

        first = await manual_event(hass, "doorbell")
        second = await manual_event(hass, "doorbell")
        # Preconditions (a machine too slow for this timeline fails here, not below).
        assert second["fired_at"] - first["fired_at"] < timedelta(seconds=2), "second event after the short cooldown"
        assert second["fired_at"] < quiet_from.replace(microsecond=0), "second event in the quiet hours already"
        assert second["event_id"] != first["event_id"]
        # Past the short cooldown and into the quiet hours.
        await wait_for(lambda: dt_util.now() >= quiet_from + timedelta(seconds=0.2), 5, "quiet hours")
        third = await manual_event(hass, "gate")
        await asyncio.sleep(0.2)
        await hass.async_block_till_done()

        def doorbell(message: str) -> bool:
            return re.fullmatch(f"Doorbell at {TIME}", message) is not None

        # Each event is notified when it starts, and that notification is replaced when it ends.
        first_tag, second_tag, third_tag = (f"vigil-{event['event_id']}" for event in (first, second, third))
        assert tags(plain) == [first_tag, first_tag, second_tag, second_tag, third_tag, third_tag]
        assert_notification(plain[0], first, entry.entry_id, message=doorbell)
        assert_notification(plain[2], second, entry.entry_id, message=doorbell)
        assert_notification(plain[4], third, entry.entry_id, message=lambda text: re.fullmatch(f"Gate at {TIME}", text))
        for start, end in ((0, 1), (2, 3), (4, 5)):
            assert_replaces(plain[end], plain[start])
        # The cooldown holds back new events, not the update of the one notified.
        assert tags(cooldown_long) == [first_tag, first_tag]
        assert tags(cooldown_short) == [first_tag, first_tag, third_tag, third_tag]
        for calls in (quiet, overnight):
            # (The second event's end may fall into the quiet hours already.)
            assert list(dict.fromkeys(tags(calls))) == [first_tag, second_tag]
        assert zones == []  # manual events have no zones

        # The event entity goes away (deleted by the user): its state is removed, which
        # triggers the automations with no new state; they must stay silent, without errors.
        er.async_get(hass).async_remove(EVENTS)
        await hass.async_block_till_done()
        assert hass.states.get(EVENTS) is None
        assert len(plain) == 6
        # Every template rendered cleanly (an undefined variable would be logged).
        problems = [r.getMessage() for r in caplog.records if r.name.startswith(AUTOMATION_LOGGERS)]
        assert not problems, problems
    finally:
        await switch(hass, True)


async def test_zone_filter_with_real_motion(
    hass: HomeAssistant,
    engine: EngineRig,
    setup_entry: SetupEntry,
    config_dir: Path,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A motion event in the zone notifies (with a picture the app can fetch); a manual event (no zone) does not."""
    entry = await setup_entry()
    in_zone = async_mock_service(hass, "notify", "in_zone")
    other_zone = async_mock_service(hass, "notify", "other_zone")
    people_only = async_mock_service(hass, "notify", "people_only")
    await setup_automations(
        hass,
        automation("in_zone", notify_service="notify.in_zone", cooldown=0, zones=[ZONE.upper()]),
        automation("other_zone", notify_service="notify.other_zone", cooldown=0, zones=["driveway"]),
        # The box is motion, not an object: an automation for people stays silent.
        automation("people_only", notify_service="notify.people_only", cooldown=0, event_types=["person"]),
    )
    # A fresh background, so that the box's next sweep is motion (see the conftest).
    await detection_off(hass, engine)
    await switch(hass, True)
    try:
        await wait_for(
            lambda: state_of(hass, EVENTS).attributes.get("event_type") == "motion", 25, "a motion event", interval=0.1
        )
        motion = dict(state_of(hass, EVENTS).attributes)
        await wait_for(lambda: len(in_zone) == 1, 5, "the motion notification")
        assert_notification(
            in_zone[0], motion, entry.entry_id, message=lambda text: re.fullmatch(rf"Motion in {ZONE} at {TIME}", text)
        )
        assert other_zone == []
        # The picture is there when the notification goes out, and the signed link is all
        # the app needs (no Authorization header): Home Assistant's real HTTP app answers.
        client = await hass_client_no_auth()
        snapshot = await client.get(in_zone[0].data["data"]["image"])
        assert snapshot.status == 200
        assert snapshot.content_type == "image/jpeg"
        assert (await snapshot.read()).startswith(b"\xff\xd8\xff")

        await detection_off(hass, engine)  # ends the motion event; no more until switched on
        await manual_event(hass, "doorbell")
        # Only the motion event's notification, replaced (a better snapshot, its end), never repeated.
        assert set(tags(in_zone)) == {f"vigil-{motion['event_id']}"}
        for call in in_zone[1:]:
            assert_replaces(call, in_zone[0])
        assert other_zone == []
        assert people_only == []
    finally:
        await switch(hass, True)
        assert state_of(hass, DETECTION).state == STATE_ON
