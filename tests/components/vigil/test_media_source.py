"""The media browser against the real engine: the whole tree, and every item fetched through Home Assistant."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from homeassistant.components.media_player.errors import BrowseError
from homeassistant.components.media_source import async_browse_media, async_resolve_media
from homeassistant.components.media_source.error import Unresolvable
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.vigil.client import Event
from custom_components.vigil.const import DOMAIN
from custom_components.vigil.media_source import event_title, hour_title
from custom_components.vigil.timeline import local_day, local_hours
from tests.components.vigil.conftest import FRONT, ZONE, EngineRig, SetupEntry, make_entry
from tests.components.vigil.media_support import JPEG, decoded_frames, finished_event

ROOT = f"media-source://{DOMAIN}"


async def _children(hass: HomeAssistant, identifier: str = "") -> list[Any]:
    node = await async_browse_media(hass, f"{ROOT}/{identifier}" if identifier else ROOT)
    return list(node.children or [])


async def _fetch(client: Any, url: str) -> tuple[int, bytes]:
    response = await client.get(url)
    return response.status, await response.read()


async def test_browse_the_whole_tree(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    engine: EngineRig,
    setup_entry: SetupEntry,
    media_dir: Path,
) -> None:
    assert await async_setup_component(hass, "media_source", {})
    entry = await setup_entry()
    event = await finished_event(engine)
    client = await hass_client_no_auth()
    zone = dt_util.get_time_zone(hass.config.time_zone)
    assert zone is not None
    start = dt_util.utc_from_timestamp(event["start_ms"] / 1000)
    day = local_day(start, zone).isoformat()

    # One engine: the root shows its cameras and folders directly.
    top = await _children(hass)
    assert [child.title for child in top] == ["Front", "Yard", "Clips", "Snapshots"]
    camera = f"{entry.entry_id}/camera/{FRONT}"
    assert top[0].media_content_id == f"{ROOT}/{camera}"
    assert [child.title for child in await _children(hass, camera)] == ["Events", "Recordings"]

    # Events: local days, newest first; the day's events with time, zone, length and thumbnail.
    days = await _children(hass, f"{camera}/events")
    listed = [child.media_content_id.rsplit("/", 1)[-1] for child in days]
    assert day in listed
    assert listed == sorted(listed, reverse=True)
    events = await _children(hass, f"{camera}/events/{day}")
    item = next(child for child in events if child.media_content_id == f"{ROOT}/{entry.entry_id}/event/{event['id']}")
    assert item.can_play
    assert item.title.startswith(start.astimezone(zone).strftime("%H:%M:%S"))
    assert ZONE in item.title
    assert item.title.endswith(" s")
    assert item.thumbnail.startswith(f"/api/vigil/{entry.entry_id}/events/{event['id']}/thumbnail.jpg?authSig=")
    status, body = await _fetch(client, item.thumbnail)
    assert status == 200
    assert body.startswith(JPEG)
    starts = [child.title[:8] for child in events]
    assert starts == sorted(starts, reverse=True)  # newest first

    played = await async_resolve_media(hass, item.media_content_id, None)
    assert played.mime_type == "video/mp4"
    status, body = await _fetch(client, played.url)
    assert status == 200
    assert decoded_frames(body) >= 15

    # Recordings: local days with footage, then the day's local hours, playable as HLS.
    recording_days = await _children(hass, f"{camera}/recordings")
    assert day in [child.media_content_id[-10:] for child in recording_days]
    assert all("recorded" in child.title for child in recording_days)
    hours = await _children(hass, f"{camera}/recordings/{day}")
    assert len(hours) == 24
    hour = next(
        child
        for child in hours
        if child.can_play
        and int(child.media_content_id.split("/")[-2]) <= event["start_ms"] < int(child.media_content_id.split("/")[-1])
    )
    assert hour.title.startswith(start.astimezone(zone).strftime("%H:00"))
    assert "recorded" in hour.title
    assert "event" in hour.title
    assert not any(child.can_play for child in hours if child.title.endswith("no footage"))
    media = await async_resolve_media(hass, hour.media_content_id, None)
    assert media.mime_type == "application/vnd.apple.mpegurl"
    status, body = await _fetch(client, media.url)
    assert status == 200
    segments = [line for line in body.decode().splitlines() if line and not line.startswith("#")]
    assert segments
    status, body = await _fetch(client, segments[-1])
    assert status == 200
    assert body[4:8] == b"moof"

    # Clips and snapshots the actions wrote.
    for service, folder, mime in (("export_clip", "clips", "video/mp4"), ("snapshot", "snapshots", "image/jpeg")):
        data = {"event_id": event["id"]} if service == "export_clip" else {}
        response = await hass.services.async_call(
            DOMAIN, service, data, target={ATTR_ENTITY_ID: "camera.front"}, blocking=True, return_response=True
        )
        assert response is not None
        written = response["camera.front"]
        assert isinstance(written, dict)
        files = await _children(hass, f"{entry.entry_id}/{folder}")
        found = next(child for child in files if child.media_content_id == written["media_content_id"])
        media = await async_resolve_media(hass, found.media_content_id, None)
        assert media.mime_type == mime
        assert media.path == Path(str(written["path"]))
        status, body = await _fetch(client, media.url)
        assert status == 200
        assert body == await hass.async_add_executor_job(media.path.read_bytes)


async def test_browse_and_resolve_errors(
    hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry, media_dir: Path
) -> None:
    assert await async_setup_component(hass, "media_source", {})
    entry = await setup_entry()
    camera = f"{entry.entry_id}/camera/{FRONT}"
    for identifier in (
        "01NOSUCHENTRY",
        f"{entry.entry_id}/camera/nosuch",
        f"{camera}/events/2026-02-30",
        f"{camera}/recordings/someday",
        f"{camera}/elsewhere",
        f"{camera}/events/{'2026-01-01'}/more",
    ):
        with pytest.raises(BrowseError):
            await async_browse_media(hass, f"{ROOT}/{identifier}")
    for identifier in (
        "01NOSUCHENTRY/event/" + "0" * 32,
        f"{entry.entry_id}/event/not-an-event",
        f"{camera}/play/2000/1000",
        f"{camera}/play/0/{25 * 3600_000}",
        f"{entry.entry_id}/camera/nosuch/play/1000/2000",
        f"{entry.entry_id}/clips/missing.mp4",
        f"{entry.entry_id}/clips/.hidden.mp4",
        f"{entry.entry_id}/clips/notes.txt",
        f"{entry.entry_id}/camera",
    ):
        with pytest.raises(Unresolvable):
            await async_resolve_media(hass, f"{ROOT}/{identifier}", None)
    # Empty folders, and a day without events, are empty, not errors.
    assert await _children(hass, f"{entry.entry_id}/clips") == []
    assert await _children(hass, f"{camera}/events/2001-01-01") == []

    # The engine's connection gone (closed for real): browsing says so instead of failing obscurely.
    await entry.runtime_data.client.disconnect()
    with pytest.raises(BrowseError, match="could not answer"):
        await async_browse_media(hass, f"{ROOT}/{camera}/events")


async def test_several_engines_are_listed(
    hass: HomeAssistant, engine: EngineRig, setup_entry: SetupEntry, media_dir: Path
) -> None:
    assert await async_setup_component(hass, "media_source", {})
    first = await setup_entry()
    second = make_entry(engine)
    second.add_to_hass(hass)
    assert await hass.config_entries.async_setup(second.entry_id)
    await hass.async_block_till_done()
    top = await _children(hass)
    assert sorted(child.media_content_id for child in top) == sorted(
        f"{ROOT}/{entry.entry_id}" for entry in (first, second)
    )
    assert [child.title for child in await _children(hass, second.entry_id)] == [
        "Front",
        "Yard",
        "Clips",
        "Snapshots",
    ]


def test_titles() -> None:
    """Event and hour titles in the browser (times in the zone given, lengths, gaps)."""
    zone = ZoneInfo("Europe/Berlin")
    start = 1767261600000  # 2026-01-01 11:00:00 CET
    motion = Event(id="a" * 32, camera_id=FRONT, kind="motion", start_ms=start, end_ms=start + 12_000, zones=("door",))
    manual = Event(id="b" * 32, camera_id=FRONT, kind="manual", start_ms=start, label="doorbell")
    other = Event(id="c" * 32, camera_id=FRONT, kind="camera", start_ms=start, end_ms=start + 185_000)
    assert event_title(motion, zone, start) == "11:00:00 · door · 12 s"
    assert event_title(manual, zone, start + 42_000) == "11:00:00 · doorbell · running (42 s)"
    assert event_title(other, zone, start) == "11:00:00 · camera · 3 min 05 s"

    hour = local_hours(date(2026, 1, 1), zone)[11]
    assert hour.label == "11:00"
    full = [(hour.start_ms - 5000, hour.end_ms + 5000)]
    assert hour_title(hour, full, 0, zone, hour.end_ms, show_offset=False) == "11:00 · 1 h 00 min recorded"
    holes = [(hour.start_ms, hour.start_ms + 600_000), (hour.start_ms + 660_000, hour.start_ms + 720_000)]
    assert hour_title(hour, holes, 1, zone, hour.end_ms, show_offset=True) == (
        "11:00 (+01:00) · 11 min recorded · 1 event · gaps 11:10:00–11:11:00, 11:12:00–12:00:00"
    )
    # The hour still running: no gap is claimed for the time that has not come yet.
    assert hour_title(hour, holes, 2, zone, hour.start_ms + 720_000, show_offset=False) == (
        "11:00 · 11 min recorded · 2 events · gap 11:10:00–11:11:00"
    )
    many = [(hour.start_ms + minute * 60_000, hour.start_ms + minute * 60_000 + 30_000) for minute in range(5)]
    assert hour_title(hour, many, 0, zone, hour.end_ms, show_offset=False).endswith(" +2 more")
    assert hour_title(hour, [], 0, zone, hour.end_ms, show_offset=False) == "11:00 · no footage"
