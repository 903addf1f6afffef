"""The card's WebSocket commands (vigil/timeline, vigil/playback) against the real engine.

A Home Assistant user asks over Home Assistant's own WebSocket, as the card does; the answers
come from the package's engine recording the RTSP test camera. Links in the answers are
fetched the way a browser would, without Home Assistant's header.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import probatio
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, WebSocketGenerator

from custom_components.vigil.client import (
    CannotConnect,
    CommandError,
    DaySummary,
    InvalidServer,
    NotFoundError,
    ProtocolError,
)
from custom_components.vigil.const import DOMAIN
from custom_components.vigil.websocket_api import (
    ERR_ENGINE_UNAVAILABLE,
    LINK_EXPIRY,
    PLAYBACK_MS,
    _day,
    _engine_error,
    resolve_camera,
    timeline_result,
)
from tests.components.vigil.conftest import (
    FRONT,
    TOKEN,
    EngineRig,
    SetupEntry,
    entity_id,
    start_engine_without_camera,
    wait_for,
)
from tests.components.vigil.media_support import JPEG, finished_event

BERLIN = "Europe/Berlin"


async def _ask(client: Any, message: dict[str, Any]) -> dict[str, Any]:
    await client.send_json_auto_id(message)
    answer: dict[str, Any] = await client.receive_json()
    return answer


def _claims(url: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(url.split("authSig=")[1], options={"verify_signature": False})
    return claims


async def test_timeline_of_today(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    hass_client_no_auth: ClientSessionGenerator,
    hass_access_token: str,
    engine: EngineRig,
    setup_entry: SetupEntry,
) -> None:
    await hass.config.async_set_time_zone(BERLIN)
    entry = await setup_entry()
    event = await finished_event(engine)
    camera = entity_id(hass, engine, "camera", "camera")
    client = await hass_ws_client(hass)

    answer = await _ask(client, {"type": "vigil/timeline", "entity_id": camera})
    assert answer["success"], answer
    day = answer["result"]
    today = dt_util.now(dt_util.get_time_zone(BERLIN)).date()
    assert (day["date"], day["today"], day["time_zone"]) == (today.isoformat(), today.isoformat(), BERLIN)
    assert (day["entity_id"], day["camera_id"], day["name"]) == (camera, FRONT, "Front")
    assert day["previous_date"] == (today - timedelta(days=1)).isoformat()
    assert day["next_date"] is None  # no day after today
    # The local day in Berlin, from local midnight to local midnight.
    midnight = datetime(today.year, today.month, today.day, tzinfo=dt_util.get_time_zone(BERLIN))
    assert day["start_ms"] == round(midnight.timestamp() * 1000)
    assert len(day["hours"]) in (23, 24, 25)
    assert day["hours"][0]["label"] == "00:00"
    assert day["start_ms"] <= day["now_ms"] < day["end_ms"]
    # Footage as [start, end] pairs inside the day, and the event with a thumbnail signed for this user.
    assert day["recorded"]
    assert all(day["start_ms"] <= start < end <= day["end_ms"] for start, end in day["recorded"])
    assert day["recorded_ms"] == sum(end - start for start, end in day["recorded"])
    assert day["live"] is True  # the camera records: its last range is the segment being written
    found = next(item for item in day["events"] if item["id"] == event["id"])
    assert (found["kind"], found["start_ms"], found["pre_ms"]) == ("motion", event["start_ms"], event["pre_ms"])
    path, _, query = found["thumbnail"].partition("?")
    assert path == f"/api/vigil/{entry.entry_id}/events/{event['id']}/thumbnail.jpg"
    assert query.startswith("authSig=")
    claims = _claims(found["thumbnail"])
    assert claims["exp"] - claims["iat"] == LINK_EXPIRY.total_seconds()
    refresh_token = hass.auth.async_validate_access_token(hass_access_token)
    assert refresh_token is not None
    assert claims["iss"] == refresh_token.id  # signed for the user of this connection
    assert day["links_expire_ms"] >= day["now_ms"] + LINK_EXPIRY.total_seconds() * 1000 - 1000

    anonymous = await hass_client_no_auth()
    response = await anonymous.get(found["thumbnail"])
    assert response.status == 200
    assert (await response.read()).startswith(JPEG)
    assert (await anonymous.get(path)).status == 401
    # The engine's token is nowhere in what the browser gets.
    assert TOKEN not in json.dumps(answer)


async def test_thumbnail_links_are_the_users_own(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    hass_client_no_auth: ClientSessionGenerator,
    hass_read_only_access_token: str,
    engine: EngineRig,
    setup_entry: SetupEntry,
) -> None:
    """A user who is not an administrator gets the day too; their links die with their login."""
    await setup_entry()
    await finished_event(engine)
    camera = entity_id(hass, engine, "camera", "camera")
    client = await hass_ws_client(hass, hass_read_only_access_token)
    answer = await _ask(client, {"type": "vigil/timeline", "entity_id": camera})
    assert answer["success"], answer
    thumbnail = next(item["thumbnail"] for item in answer["result"]["events"] if item["thumbnail"])
    refresh_token = hass.auth.async_validate_access_token(hass_read_only_access_token)
    assert refresh_token is not None
    assert _claims(thumbnail)["iss"] == refresh_token.id
    assert not refresh_token.user.is_admin

    anonymous = await hass_client_no_auth()
    assert (await anonymous.get(thumbnail)).status == 200
    hass.auth.async_remove_refresh_token(refresh_token)  # the user logs out (or is removed)
    assert (await anonymous.get(thumbnail)).status == 401


async def test_days_around_clock_changes(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, engine: EngineRig, setup_entry: SetupEntry
) -> None:
    """The days of Home Assistant's time zone, with 23 and 25 hours when its clocks change."""
    await hass.config.async_set_time_zone(BERLIN)
    await setup_entry()
    camera = entity_id(hass, engine, "camera", "camera")
    client = await hass_ws_client(hass)

    spring = (await _ask(client, {"type": "vigil/timeline", "entity_id": camera, "date": "2026-03-29"}))["result"]
    assert spring["end_ms"] - spring["start_ms"] == 23 * 3600_000
    assert [hour["label"] for hour in spring["hours"][:3]] == ["00:00", "01:00", "03:00"]
    assert spring["start_ms"] == round(datetime(2026, 3, 28, 23, tzinfo=UTC).timestamp() * 1000)
    assert (spring["previous_date"], spring["next_date"]) == ("2026-03-28", "2026-03-30")
    assert (spring["recorded"], spring["events"], spring["gaps"], spring["live"]) == ([], [], [], False)

    autumn = (await _ask(client, {"type": "vigil/timeline", "entity_id": camera, "date": "2026-10-25"}))["result"]
    assert autumn["end_ms"] - autumn["start_ms"] == 25 * 3600_000
    twice = [(hour["label"], hour["utc_offset"]) for hour in autumn["hours"] if hour["label"] == "02:00"]
    assert twice == [("02:00", "+02:00"), ("02:00", "+01:00")]

    # Another zone, another day: the same instant belongs to the zone's own date.
    await hass.config.async_set_time_zone("America/New_York")
    answer = await _ask(client, {"type": "vigil/timeline", "entity_id": camera, "date": "2026-11-01"})
    assert answer["result"]["time_zone"] == "America/New_York"
    assert len(answer["result"]["hours"]) == 25


async def test_playback(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    hass_client_no_auth: ClientSessionGenerator,
    engine: EngineRig,
    setup_entry: SetupEntry,
) -> None:
    entry = await setup_entry()
    event = await finished_event(engine)
    camera = entity_id(hass, engine, "camera", "camera")
    client = await hass_ws_client(hass)
    start = event["start_ms"] - event["pre_ms"]

    answer = await _ask(client, {"type": "vigil/playback", "entity_id": camera, "start_ms": start})
    assert answer["success"], answer
    playback = answer["result"]
    assert (playback["start_ms"], playback["end_ms"]) == (start, start + PLAYBACK_MS)
    path, _, query = playback["url"].partition("?")
    assert path == f"/api/vigil/{entry.entry_id}/cameras/{FRONT}/playlist.m3u8"
    assert query.startswith(f"start={start}&end={start + PLAYBACK_MS}&authSig=")
    claims = _claims(playback["url"])
    assert claims["exp"] - claims["iat"] == LINK_EXPIRY.total_seconds()
    assert playback["expires_ms"] >= claims["exp"] * 1000 - 1000

    # The player opens it without a header: dated segments, each signed, from the instant asked for.
    anonymous = await hass_client_no_auth()
    response = await anonymous.get(playback["url"])
    assert response.status == 200
    text = await response.text()
    assert "#EXT-X-PROGRAM-DATE-TIME:" in text
    assert "#EXT-X-START:TIME-OFFSET=" in text or f"{start}" in text
    segments = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert segments
    assert all("authSig=" in uri for uri in segments)
    first = await anonymous.get(segments[0])
    assert first.status == 200
    assert (await first.read())[4:8] == b"moof"
    assert TOKEN not in json.dumps(answer) + text
    # The signature holds the time range: another range is refused.
    assert (await anonymous.get(playback["url"].replace(f"start={start}", f"start={start - 1000}"))).status == 401

    # An explicit end, up to 24 hours.
    answer = await _ask(
        client, {"type": "vigil/playback", "entity_id": camera, "start_ms": start, "end_ms": start + 5000}
    )
    assert answer["result"]["end_ms"] == start + 5000


async def test_errors(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, engine: EngineRig, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry()
    camera = entity_id(hass, engine, "camera", "camera")
    motion = entity_id(hass, engine, "binary_sensor", "motion")
    client = await hass_ws_client(hass)
    now_ms = round(dt_util.utcnow().timestamp() * 1000)
    # A camera entity left in the registry after the engine dropped its camera.
    ghost = (
        er.async_get(hass)
        .async_get_or_create("camera", DOMAIN, f"{engine.instance_id}-ghost-camera", config_entry=entry)
        .entity_id
    )

    cases: list[tuple[dict[str, Any], str]] = [
        ({"type": "vigil/timeline", "entity_id": "camera.nothing_here"}, "not_found"),
        ({"type": "vigil/timeline", "entity_id": motion}, "not_found"),  # a Vigil entity, not a camera
        ({"type": "vigil/timeline", "entity_id": ghost}, "not_found"),
        ({"type": "vigil/timeline", "entity_id": camera, "date": "2026-02-30"}, "invalid_format"),
        ({"type": "vigil/timeline", "entity_id": camera, "date": "yesterday"}, "invalid_format"),
        ({"type": "vigil/timeline", "entity_id": "not an entity"}, "invalid_format"),
        ({"type": "vigil/playback", "entity_id": camera}, "invalid_format"),  # no start
        ({"type": "vigil/playback", "entity_id": camera, "start_ms": "soon"}, "invalid_format"),
        ({"type": "vigil/playback", "entity_id": camera, "start_ms": 5}, "invalid_format"),  # 1970
        ({"type": "vigil/playback", "entity_id": camera, "start_ms": now_ms, "end_ms": now_ms}, "invalid_format"),
        (
            {"type": "vigil/playback", "entity_id": camera, "start_ms": now_ms, "end_ms": now_ms + 25 * 3600_000},
            "invalid_format",
        ),
        ({"type": "vigil/playback", "entity_id": ghost, "start_ms": now_ms}, "not_found"),
    ]
    for message, code in cases:
        answer = await _ask(client, message)
        assert not answer["success"], message
        assert answer["error"]["code"] == code, (message, answer)

    # An engine that is not set up (the entry unloaded) is not found either.
    assert await hass.config_entries.async_unload(entry.entry_id)
    for message in (
        {"type": "vigil/timeline", "entity_id": camera},
        {"type": "vigil/playback", "entity_id": camera, "start_ms": now_ms},
    ):
        answer = await _ask(client, message)
        assert answer["error"]["code"] == "not_found", answer


async def test_engine_that_went_away(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, tmp_path: Path, setup_entry: SetupEntry
) -> None:
    """The engine stops for real while its entry is loaded: the card is told it cannot be reached."""
    rig = start_engine_without_camera(tmp_path, [{"id": "demo", "name": "Demo", "url": "demo://"}])
    try:
        rig.wait_ready(("demo",))
        await setup_entry(rig)
        camera = await wait_for(
            lambda: er.async_get(hass).async_get_entity_id("camera", DOMAIN, f"{rig.instance_id}-demo-camera"),
            10,
            "the demo camera's entity",
        )
        client = await hass_ws_client(hass)
        assert (await _ask(client, {"type": "vigil/timeline", "entity_id": camera}))["success"]
    finally:
        rig.process.stop()
    answer = await _ask(client, {"type": "vigil/timeline", "entity_id": camera})
    assert answer["error"]["code"] == ERR_ENGINE_UNAVAILABLE, answer
    assert "127.0.0.1" not in answer["error"]["message"]


def test_engine_errors_as_the_card_sees_them() -> None:
    """How each engine failure is told to the card (the engine's messages carry no secrets)."""
    assert _engine_error(NotFoundError("camera_not_found", "no camera 'x'")).code == "not_found"
    assert _engine_error(CommandError("invalid_argument", "bad date")).code == "invalid_format"
    assert _engine_error(CommandError("range_too_long", "too long")).code == "invalid_format"
    assert _engine_error(CannotConnect("http://10.0.0.5:8750: refused")).code == ERR_ENGINE_UNAVAILABLE
    assert "10.0.0.5" not in _engine_error(CannotConnect("http://10.0.0.5:8750: refused")).message
    other = _engine_error(CommandError("internal_error", "the server failed"))
    assert (other.code, other.message) == ("home_assistant_error", "the Vigil engine failed: the server failed")
    odd = _engine_error(InvalidServer("http://10.0.0.5:8750 is not a Vigil engine"))
    assert odd.code == "home_assistant_error"
    assert "10.0.0.5" not in odd.message


def test_days_are_checked_before_the_engine_is_asked() -> None:
    assert _day("2026-03-29") == date(2026, 3, 29).isoformat()
    for bad in ("2026-3-29", "29.03.2026", "2026-02-30", 20260329):
        with pytest.raises(probatio.Invalid):
            _day(bad)


async def test_what_the_card_gets_of_a_summary(hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry) -> None:
    """Events without a snapshot get no thumbnail link; what an event saw is passed through with its
    groups; what an older engine leaves out takes its default."""
    await setup_entry()
    camera = entity_id(hass, engine, "camera", "camera")
    target = resolve_camera(hass, camera)
    running = {"id": "a" * 32, "kind": "manual", "label": "doorbell", "start_ms": 2_000, "end_ms": None}
    seen = {"id": "b" * 32, "kind": "motion", "start_ms": 1_500, "end_ms": 1_900, "top_score": 0.91}
    day = {"camera_id": FRONT, "date": "2026-03-29", "time_zone": BERLIN, "start_ms": 1_000, "end_ms": 9_000}
    summary = DaySummary.parse(
        {
            **day,
            "recorded": [{"start_ms": 1_000, "end_ms": 3_000}],
            "gaps": [{"start_ms": 3_000, "end_ms": 4_000, "reason": None}],
            "events": [
                {**seen, "camera_id": FRONT, "has_snapshot": False, "zones": ["drive"], "labels": ["car", "person"]},
                {**running, "camera_id": FRONT, "has_snapshot": False, "pre_ms": 500},
            ],
            "hours": [{"start_ms": 1_000, "end_ms": 9_000, "label": "00:00", "utc_offset": "+01:00"}],
        }
    )  # no "live": an engine of schema version 1
    result = timeline_result(hass, target, camera, summary, date(2026, 3, 29), None)
    assert result["recorded"] == [[1_000, 3_000]]
    assert result["gaps"] == [{"start_ms": 3_000, "end_ms": 4_000, "reason": ""}]
    nothing_seen = {"labels": [], "groups": [], "top_score": 0.0}
    assert result["events"] == [
        # What an event saw, with the groups the card filters by (person before vehicle).
        {
            **seen,
            "label": None,
            "zones": ["drive"],
            "pre_ms": 0,
            "post_ms": 0,
            "peak_score": 0.0,
            "labels": ["car", "person"],
            "groups": ["person", "vehicle"],
            "top_score": 0.91,
            "thumbnail": None,
        },
        {**running, "zones": [], "pre_ms": 500, "post_ms": 0, "peak_score": 0.0, **nothing_seen, "thumbnail": None},
    ]
    assert result["hours"] == [
        {"start_ms": 1_000, "end_ms": 9_000, "label": "00:00", "utc_offset": "+01:00", "events": 0, "recorded_ms": 0}
    ]
    # What the card could not use never reaches it: the client refuses such an answer.
    for odd in ({"recorded": [{"start_ms": 4_000}]}, {"events": ["not an event"]}, {"live": "yes"}):
        with pytest.raises(ProtocolError):
            DaySummary.parse({**day, **odd})
    assert (result["live"], result["next_date"], result["today"]) == (False, None, "2026-03-29")
