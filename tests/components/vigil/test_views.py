"""Home Assistant's media views against the real engine: streaming, Range, HLS, signed links, errors."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import jwt
import pytest
from homeassistant.components.media_source import async_resolve_media
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Event, HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from PIL import Image
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.vigil.client import (
    CannotConnect,
    CommandError,
    ConnectionClosed,
    InvalidAuth,
    InvalidServer,
    NotFoundError,
    VigilError,
)
from custom_components.vigil.const import BUS_EVENT, CONF_LINK_EXPIRY_MINUTES, DOMAIN
from custom_components.vigil.signing import event_path, sign
from custom_components.vigil.views import MediaError, _engine_error, parse_time
from tests.components.vigil.conftest import FRONT, TOKEN, EngineRig, SetupEntry, state_of, wait_for
from tests.components.vigil.media_support import JPEG, decoded_frames, finished_event

MEDIA = {"snapshot_url": "snapshot.jpg", "thumbnail_url": "thumbnail.jpg", "clip_url": "clip.mp4"}
URL_KEYS = tuple(MEDIA)


async def event_links(hass: HomeAssistant, event_id: str, **data: Any) -> dict[str, Any]:
    """What vigil.get_event_media answers for the event (the one way to get a signed event link)."""
    response = await hass.services.async_call(
        DOMAIN, "get_event_media", {"event_id": event_id, **data}, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


async def test_event_media_with_range_requests(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, engine: EngineRig, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry()
    event = await finished_event(engine)
    client = await hass_client()
    clip_path = event_path(entry.entry_id, event["id"], "clip.mp4")

    response = await client.get(clip_path)
    assert response.status == 200
    assert response.headers["Content-Type"] == "video/mp4"
    assert response.headers["Accept-Ranges"] == "bytes"
    whole = await response.read()
    assert int(response.headers["Content-Length"]) == len(whole)
    assert decoded_frames(whole) >= 15  # at least a second at 15 fps: pre-capture, the motion, post-capture

    response = await client.get(clip_path, headers={"Range": "bytes=100-1099"})
    assert response.status == 206
    assert response.headers["Content-Range"] == f"bytes 100-1099/{len(whole)}"
    assert await response.read() == whole[100:1100]

    response = await client.get(clip_path, headers={"Range": f"bytes={len(whole)}-"})
    assert response.status == 416
    assert response.headers["Content-Range"] == f"bytes */{len(whole)}"

    for name in ("snapshot.jpg", "thumbnail.jpg"):
        response = await client.get(event_path(entry.entry_id, event["id"], name))
        assert response.status == 200, name
        assert response.headers["Content-Type"] == "image/jpeg"
        assert (await response.read()).startswith(JPEG)


async def test_camera_clip_and_playlist(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
    engine: EngineRig,
    setup_entry: SetupEntry,
) -> None:
    entry = await setup_entry()
    event = await finished_event(engine)
    client = await hass_client()
    base = f"/api/vigil/{entry.entry_id}/cameras/{FRONT}"
    start_ms, end_ms = event["start_ms"] - event["pre_ms"], event["end_ms"] + event["post_ms"]
    start_iso = dt_util.utc_from_timestamp(start_ms / 1000).isoformat()
    end_iso = dt_util.utc_from_timestamp(end_ms / 1000).isoformat()

    by_ms = await client.get(f"{base}/clip.mp4", params={"start": str(start_ms), "end": str(end_ms)})
    by_iso = await client.get(f"{base}/clip.mp4", params={"start": start_iso, "end": end_iso})
    assert by_ms.status == by_iso.status == 200
    clip = await by_ms.read()
    assert clip == await by_iso.read()
    assert decoded_frames(clip) >= 15
    assert int(by_ms.headers["X-Vigil-Start-Ms"]) <= start_ms

    response = await client.get(f"{base}/playlist.m3u8", params={"start": str(start_ms), "end": str(end_ms)})
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/vnd.apple.mpegurl")
    playlist = await response.text()
    assert playlist.startswith("#EXTM3U")
    assert "#EXT-X-PROGRAM-DATE-TIME:" in playlist
    maps = [line.split('URI="')[1].rstrip('"') for line in playlist.splitlines() if line.startswith("#EXT-X-MAP")]
    media = [line for line in playlist.splitlines() if line and not line.startswith("#")]
    assert maps
    assert media
    # A player fetches the segments without Home Assistant's header: each URI is signed.
    anonymous = await hass_client_no_auth()
    for uri in maps + media:
        assert uri.startswith(f"{base}/recordings/")
        assert "authSig=" in uri
        response = await anonymous.get(uri)
        assert response.status == 200, uri
        body = await response.read()
        assert body[4:8] == (b"ftyp" if uri in maps else b"moof"), uri
    unsigned = await anonymous.get(media[0].split("?")[0], params={"base_ms": "0"})
    assert unsigned.status == 401

    # The footage at one instant, as a JPEG of the width asked for (the media browser's thumbnails).
    middle = dt_util.utc_from_timestamp((start_ms + end_ms) / 2000).isoformat()
    response = await client.get(f"{base}/still.jpg", params={"at": middle, "width": "320"})
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(await response.read())) as picture:
        assert picture.format == "JPEG"
        assert picture.width == 320


async def test_signed_links(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator, engine: EngineRig, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry()
    event = await finished_event(engine)
    client = await hass_client_no_auth()
    answer = await event_links(hass, event["id"], config_entry_id=entry.entry_id)
    urls = {key: answer[key] for key in URL_KEYS}

    for key, url in urls.items():
        path, _, query = url.partition("?")
        assert path == event_path(entry.entry_id, event["id"], MEDIA[key])
        assert query.startswith("authSig=")
        response = await client.get(url)
        assert response.status == 200, key
        body = await response.read()
        if key == "clip_url":
            assert decoded_frames(body) >= 15
        else:
            assert body.startswith(JPEG)

        # Without the signature, with a tampered one, or the signature of another path: 401.
        assert (await client.get(path)).status == 401
        signature = query.removeprefix("authSig=")
        # A character inside the HMAC (the last one also carries padding bits that decoding ignores).
        at = len(signature) - 10
        tampered = signature[:at] + ("A" if signature[at] != "A" else "B") + signature[at + 1 :]
        assert (await client.get(f"{path}?authSig={tampered}")).status == 401
        other = event_path(entry.entry_id, "0" * 32, "snapshot.jpg")
        assert (await client.get(f"{other}?{query}")).status == 401

    # The default expiry is 24 h; the option changes it; an expired link is refused.
    claims = jwt.decode(urls["clip_url"].split("authSig=")[1], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 24 * 3600
    hass.config_entries.async_update_entry(entry, options={**entry.options, CONF_LINK_EXPIRY_MINUTES: 5})
    short = (await event_links(hass, event["id"]))["snapshot_url"]
    claims = jwt.decode(short.split("authSig=")[1], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 300
    assert (await client.get(short)).status == 200
    expired = sign(
        hass, event_path(entry.entry_id, event["id"], "snapshot.jpg"), timedelta(seconds=-1), content_user=True
    )
    assert (await client.get(expired)).status == 401
    # A link whose time range was changed after signing is refused as well.
    span = sign(hass, f"/api/vigil/{entry.entry_id}/cameras/{FRONT}/clip.mp4?start=1&end=2", timedelta(minutes=5))
    assert (await client.get(span.replace("end=2", "end=3"))).status == 401


async def test_errors(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, engine: EngineRig, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry()
    client = await hass_client()
    base = f"/api/vigil/{entry.entry_id}"
    now_ms = int(dt_util.utcnow().timestamp() * 1000)
    cases: list[tuple[str, dict[str, str], int, str]] = [
        ("/api/vigil/01NOSUCHENTRY/events/" + "0" * 32 + "/clip.mp4", {}, 404, "entry_not_found"),
        ("/api/vigil/not-an-entry/events/" + "0" * 32 + "/clip.mp4", {}, 400, "invalid_argument"),
        (f"{base}/events/{'0' * 32}/clip.mp4", {}, 404, "event_not_found"),
        (f"{base}/events/NOT-AN-EVENT/clip.mp4", {}, 400, "invalid_argument"),
        (f"{base}/events/{'0' * 32}/video.avi", {}, 404, "not_found"),
        (f"{base}/cameras/{FRONT}/clip.mp4", {}, 400, "invalid_argument"),
        (f"{base}/cameras/{FRONT}/clip.mp4", {"start": "yesterday", "end": "1"}, 400, "invalid_argument"),
        (f"{base}/cameras/{FRONT}/clip.mp4", {"start": "2000", "end": "1000"}, 400, "invalid_argument"),
        # A valid ISO 8601 time past the last UTC datetime (was a 500: OverflowError).
        (
            f"{base}/cameras/{FRONT}/clip.mp4",
            {"start": "9999-12-31T23:00:00-12:00", "end": "1"},
            400,
            "invalid_argument",
        ),
        (
            f"{base}/cameras/{FRONT}/clip.mp4",
            {"start": str(now_ms - 3 * 3600_000), "end": str(now_ms)},
            400,
            "range_too_long",
        ),
        (f"{base}/cameras/nosuch/clip.mp4", {"start": "1000", "end": "2000"}, 404, "camera_not_found"),
        (f"{base}/cameras/Not-A-Camera/clip.mp4", {"start": "1000", "end": "2000"}, 400, "invalid_argument"),
        (f"{base}/cameras/{FRONT}/movie.mkv", {"start": "1000", "end": "2000"}, 404, "not_found"),
        (f"{base}/cameras/{FRONT}/playlist.m3u8", {"start": "1000", "end": "2000"}, 404, "no_footage"),
        (f"{base}/cameras/{FRONT}/recordings/bad/init.mp4", {}, 400, "invalid_argument"),
        (f"{base}/cameras/{FRONT}/recordings/1-1/media.m4s", {}, 400, "invalid_argument"),
        (f"{base}/cameras/{FRONT}/recordings/1-1/other.bin", {}, 404, "not_found"),
        (f"{base}/cameras/{FRONT}/recordings/1-1/init.mp4", {}, 404, "no_footage"),
        (f"{base}/cameras/{FRONT}/still.jpg", {}, 400, "invalid_argument"),
        (f"{base}/cameras/{FRONT}/still.jpg", {"at": "soon"}, 400, "invalid_argument"),
        (f"{base}/cameras/{FRONT}/still.jpg", {"at": str(now_ms), "width": "5"}, 400, "invalid_argument"),
        (f"{base}/cameras/{FRONT}/still.jpg", {"at": str(now_ms), "width": "wide"}, 400, "invalid_argument"),
        ("/api/vigil/exports/clips/missing.mp4/thumbnail.jpg", {}, 404, "not_found"),
        ("/api/vigil/exports/clips/missing.mp4/poster.png", {}, 404, "not_found"),
        ("/api/vigil/exports/elsewhere/missing.mp4/thumbnail.jpg", {}, 404, "not_found"),
        ("/api/vigil/exports/clips/.hidden.mp4/thumbnail.jpg", {}, 400, "invalid_argument"),
    ]
    for path, params, status, code in cases:
        response = await client.get(path, params=params)
        text = await response.text()
        assert response.status == status, (path, params, text)
        body: dict[str, Any] = await response.json()
        assert body["error"]["code"] == code, (path, params, body)
        # Nothing about the engine leaks: not its address, not its token.
        assert engine.url not in text
        assert str(engine.port) not in text
        assert TOKEN not in text

    # A still of an instant without footage: the engine's 404, passed on.
    response = await client.get(f"{base}/cameras/{FRONT}/still.jpg", params={"at": "978307200000"})
    assert response.status == 404, await response.text()

    # An entry that is not set up (any more) cannot serve media.
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    response = await client.get(f"{base}/events/{'0' * 32}/clip.mp4")
    assert response.status == 503
    assert (await response.json())["error"]["code"] == "entry_not_loaded"


async def test_event_data_and_bus_event(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator, engine: EngineRig, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry()
    fired: list[Event] = []
    hass.bus.async_listen(BUS_EVENT, fired.append)

    def started_and_ended() -> tuple[Event, Event] | None:
        for end in fired:
            if end.data["phase"] != "end":
                continue
            start = next(
                (e for e in fired if e.data["phase"] == "start" and e.data["event_id"] == end.data["event_id"]), None
            )
            if start is not None:
                return start, end
        return None

    start, end = await wait_for(started_and_ended, 30, "an event's start and end on the bus", interval=0.2)
    for bus_event, phase in ((start, "start"), (end, "end")):
        data = bus_event.data
        assert data["phase"] == phase
        assert data["event_type"] == ("motion" if phase == "start" else "motion_ended")
        assert data["entry_id"] == entry.entry_id
        assert data["camera_id"] == FRONT
        assert data["camera_name"] == "Front"
        assert data["camera_entity_id"] == "camera.front"
        assert data["kind"] == "motion"
        assert "path" in data["zones"]
        assert dt_util.parse_datetime(data["start"]) is not None
        assert (data["end"] is None) == (phase == "start")
        # No bearer link (the recorder keeps bus events): only the clip's media-source id.
        assert not set(URL_KEYS) & set(data)
        assert data["clip_media_content_id"] == f"media-source://vigil/{entry.entry_id}/event/{data['event_id']}"

    # The event entity carries the same data (its attributes are what the blueprint reads).
    def entity_ended() -> bool:
        attributes = state_of(hass, "event.front_events").attributes
        return attributes.get("event_type") == "motion_ended" and attributes.get("event_id") is not None

    await wait_for(entity_ended, 30, "the event entity's motion_ended")
    attributes = state_of(hass, "event.front_events").attributes
    for key in ("event_id", "zones", "camera_name", "camera_entity_id", "start", "end", "clip_media_content_id"):
        assert attributes[key] is not None, key
    assert attributes["camera_entity_id"] == "camera.front"
    assert not set(URL_KEYS) & set(attributes)

    # The clip's id plays through the media source (for a logged-in user, or a player it hands a link to).
    assert await async_setup_component(hass, "media_source", {})
    played = await async_resolve_media(hass, end.data["clip_media_content_id"], None)
    assert played.mime_type == "video/mp4"
    response = await (await hass_client_no_auth()).get(played.url)
    assert response.status == 200
    assert decoded_frames(await response.read()) >= 15


def test_engine_errors_become_json_without_engine_details() -> None:
    """How each failure of the engine is told to a browser (real error objects, as the client raises them)."""
    cases: list[tuple[VigilError, int, str]] = [
        (NotFoundError("no_footage", "no footage is stored in the requested range"), 404, "no_footage"),
        (CommandError("range_too_long", "the range may be at most 7200 seconds long"), 400, "range_too_long"),
        (CommandError("internal_error", "the server failed"), 502, "internal_error"),
        (InvalidAuth("the engine refused the API token"), 502, "engine_refused"),
        (CannotConnect("http://10.0.0.5:8750/api/events: timeout"), 502, "engine_unavailable"),
        (ConnectionClosed("the connection to the engine closed"), 502, "engine_unavailable"),
        (InvalidServer("http://10.0.0.5:8750: garbage"), 502, "engine_error"),
    ]
    for err, status, code in cases:
        error = _engine_error(err)
        assert (error.status, error.code) == (status, code)
        assert "10.0.0.5" not in error.message


def test_time_parameters() -> None:
    assert parse_time("1767261600123", "start") == 1767261600123
    assert parse_time("2026-01-01T10:00:00+00:00", "start") == 1767261600000
    assert parse_time("2026-01-01T11:00:00+01:00", "start") == 1767261600000
    # Past the last UTC datetime / before the first, once converted (was a 500: OverflowError).
    for bad in (
        None,
        "",
        "tomorrow",
        "2026-13-01T00:00:00",
        "-5",
        "9999-12-31T23:00:00-12:00",
        "0001-01-01T00:30+01:00",
    ):
        with pytest.raises(MediaError) as err:
            parse_time(bad, "start")
        assert err.value.status == 400
