"""vigil.get_event_media against the real engine: links minted on demand, for the media and the time asked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import probatio
import pytest
from homeassistant.core import HomeAssistant, SupportsResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, WebSocketGenerator

from custom_components.vigil.const import CONF_LINK_EXPIRY_MINUTES, DOMAIN
from custom_components.vigil.signing import event_path
from tests.components.vigil.conftest import EngineRig, SetupEntry
from tests.components.vigil.media_support import JPEG, decoded_frames, finished_event

SERVICE = "get_event_media"


async def get_event_media(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(DOMAIN, SERVICE, data, blocking=True, return_response=True)
    assert response is not None
    return dict(response)


def lifetime(url: str) -> int:
    """Seconds between a signed link's issue and its expiry."""
    claims = jwt.decode(url.split("authSig=")[1], options={"verify_signature": False})
    return int(claims["exp"]) - int(claims["iat"])


async def test_links_to_the_media_asked_for(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    engine: EngineRig,
    setup_entry: SetupEntry,
) -> None:
    entry = await setup_entry(options={CONF_LINK_EXPIRY_MINUTES: 120})
    event = await finished_event(engine)
    assert hass.services.supports_response(DOMAIN, SERVICE) is SupportsResponse.ONLY
    before = dt_util.utcnow()
    answer = await get_event_media(hass, config_entry_id=entry.entry_id, event_id=event["id"].upper())
    links = {"snapshot_url", "thumbnail_url", "clip_url"}
    assert set(answer) == {"event_id", "camera_id", "has_snapshot", "expires", *links}
    assert (answer["event_id"], answer["camera_id"], answer["has_snapshot"]) == (event["id"], "front", True)
    # Expires after the entry's option (2 h here), and the response says when.
    expires = dt_util.parse_datetime(answer["expires"])
    assert expires is not None
    assert timedelta(hours=2) - timedelta(seconds=2) <= expires - before <= timedelta(hours=2)

    client = await hass_client_no_auth()
    for key, name in (("snapshot_url", "snapshot.jpg"), ("thumbnail_url", "thumbnail.jpg"), ("clip_url", "clip.mp4")):
        url = answer[key]
        assert url.startswith(f"{event_path(entry.entry_id, event['id'], name)}?authSig=")
        assert lifetime(url) == 7200
        response = await client.get(url)  # no login: the signature is the key
        assert response.status == 200, key
        body = await response.read()
        assert decoded_frames(body) >= 15 if name == "clip.mp4" else body.startswith(JPEG)

    # Only the media asked for (each once), for a shorter time; the only entry needs no id.
    short = await get_event_media(hass, event_id=event["id"], media=["snapshot", "snapshot"], expires_in="00:10:00")
    assert [key for key in short if key.endswith("_url")] == ["snapshot_url"]
    assert lifetime(short["snapshot_url"]) == 600
    assert (await client.get(short["snapshot_url"])).status == 200


async def test_the_frontend_gets_the_answer(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, engine: EngineRig, setup_entry: SetupEntry
) -> None:
    """What Developer tools → Actions shows: the response over the WebSocket API."""
    entry = await setup_entry()
    event = await finished_event(engine)
    ws = await hass_ws_client(hass)
    await ws.send_json_auto_id(
        {
            "type": "call_service",
            "domain": DOMAIN,
            "service": SERVICE,
            "service_data": {"config_entry_id": entry.entry_id, "event_id": event["id"], "media": "clip"},
            "return_response": True,
        }
    )
    message = await ws.receive_json()
    assert message["success"], message
    response = message["result"]["response"]
    assert response["clip_url"].startswith(f"/api/vigil/{entry.entry_id}/events/{event['id']}/clip.mp4?authSig=")
    assert "snapshot_url" not in response


async def test_malformed_fields_are_refused_before_the_engine_is_asked(
    hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry
) -> None:
    await setup_entry()
    for data in (
        {},
        {"event_id": "not-an-event"},
        {"event_id": "0" * 32, "media": []},
        {"event_id": "0" * 32, "media": ["video"]},
        {"event_id": "0" * 32, "expires_in": "soon"},
        {"event_id": "0" * 32, "expires_in": "-00:10:00"},
    ):
        with pytest.raises(probatio.Invalid):
            await get_event_media(hass, **data)
    with pytest.raises(ServiceValidationError):  # Home Assistant's: a response is all this action gives
        await hass.services.async_call(DOMAIN, SERVICE, {"event_id": "0" * 32}, blocking=True)
