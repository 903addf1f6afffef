"""The media browser against the real engine: the whole tree, and every item fetched through Home Assistant."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from homeassistant.components.media_player.errors import BrowseError
from homeassistant.components.media_source import async_browse_media, async_resolve_media
from homeassistant.components.media_source.error import Unresolvable
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.vigil.const import DOMAIN
from custom_components.vigil.timeline import local_day
from tests.components.vigil.conftest import FRONT, ZONE, EngineRig, SetupEntry, make_entry, wait_engine
from tests.components.vigil.media_support import JPEG, decoded_frames, finished_event

ROOT = f"media-source://{DOMAIN}"


async def _children(hass: HomeAssistant, identifier: str = "") -> list[Any]:
    node = await async_browse_media(hass, f"{ROOT}/{identifier}" if identifier else ROOT)
    return list(node.children or [])


async def _fetch(client: Any, url: str) -> tuple[int, bytes]:
    response = await client.get(url)
    return response.status, await response.read()


HLS = "application/x-mpegURL"  # the one HLS type Home Assistant's Media panel plays


def _span(content_id: str) -> tuple[int, int]:
    """The UTC ms span of a ``.../play/<start>/<end>`` item."""
    start, end = content_id.split("/")[-2:]
    return int(start), int(end)


async def _assert_jpeg(client: Any, url: str | None) -> None:
    """A thumbnail loads through Home Assistant, by its signed link alone."""
    assert url is not None
    assert "authSig=" in url, url
    status, body = await _fetch(client, url)
    assert status == 200, (url, body[:200])
    assert body.startswith(JPEG), url


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

    # One engine: the root shows its cameras (with a recent picture) and folders directly.
    top = await _children(hass)
    assert [child.title for child in top] == ["Front", "Yard", "Clips", "Snapshots"]
    camera = f"{entry.entry_id}/camera/{FRONT}"
    assert top[0].media_content_id == f"{ROOT}/{camera}"
    await _assert_jpeg(client, top[0].thumbnail)
    assert top[1].thumbnail is None  # the disabled camera never recorded
    assert [child.title for child in await _children(hass, camera)] == ["Events", "Recordings"]

    # Events: local days, newest first, each with its newest event's picture; the day's events
    # with time, zone, length and thumbnail.
    days = await _children(hass, f"{camera}/events")
    listed = [child.media_content_id.rsplit("/", 1)[-1] for child in days]
    assert day in listed
    assert listed == sorted(listed, reverse=True)
    await _assert_jpeg(client, days[0].thumbnail)
    events = await _children(hass, f"{camera}/events/{day}")
    item = next(child for child in events if child.media_content_id == f"{ROOT}/{entry.entry_id}/event/{event['id']}")
    assert item.can_play
    assert item.title.startswith(start.astimezone(zone).strftime("%H:%M:%S"))
    assert ZONE in item.title
    assert item.title.endswith(" s")
    assert item.thumbnail.startswith(f"/api/vigil/{entry.entry_id}/events/{event['id']}/thumbnail.jpg?authSig=")
    await _assert_jpeg(client, item.thumbnail)
    starts = [child.title[:8] for child in events]
    assert starts == sorted(starts, reverse=True)  # newest first

    played = await async_resolve_media(hass, item.media_content_id, None)
    assert played.mime_type == "video/mp4"
    status, body = await _fetch(client, played.url)
    assert status == 200
    assert decoded_frames(body) >= 15

    # Recordings: only local days with footage, each playable (HLS) and opening into its hours.
    recording_days = await _children(hass, f"{camera}/recordings")
    recording_day = next(child for child in recording_days if child.media_content_id.endswith(f"/recordings/{day}"))
    assert recording_day.can_play
    assert recording_day.can_expand
    assert re.fullmatch(r"\w{3} \d{1,2} \w{3} · .+", recording_day.title), recording_day.title
    await _assert_jpeg(client, recording_day.thumbnail)
    whole_day = await async_resolve_media(hass, recording_day.media_content_id, None)
    assert whole_day.mime_type == HLS
    status, body = await _fetch(client, whole_day.url)
    assert status == 200
    assert body.startswith(b"#EXTM3U")

    # The day: only its hours with footage, ``HH:00 · <footage>``, each playable and opening.
    day_node = await async_browse_media(hass, recording_day.media_content_id)
    assert day_node.title.startswith(f"Front · {start.astimezone(zone):%a} {start.astimezone(zone).day} ")
    hours = list(day_node.children or [])
    assert 1 <= len(hours) <= 24
    for hour in hours:
        assert re.fullmatch(r"\d{2}:00 · \d.*", hour.title), hour.title
        assert "no footage" not in hour.title
        assert hour.can_play
        assert hour.can_expand
    hour = next(
        child
        for child in hours
        if _span(child.media_content_id)[0] <= event["start_ms"] < _span(child.media_content_id)[1]
    )
    assert hour.title.startswith(start.astimezone(zone).strftime("%H:00 · "))
    await _assert_jpeg(client, hour.thumbnail)
    media = await async_resolve_media(hass, hour.media_content_id, None)
    assert media.mime_type == HLS
    status, body = await _fetch(client, media.url)
    assert status == 200
    playlist = body.decode()
    assert "#EXT-X-PROGRAM-DATE-TIME:" in playlist
    segments = [line for line in playlist.splitlines() if line and not line.startswith("#")]
    assert segments
    status, body = await _fetch(client, segments[-1])
    assert status == 200
    assert body[4:8] == b"moof"

    # The hour's details, in time order: where to play from, its events (this one too), and
    # its outages (if earlier tests switched recording off in this hour) with their reasons.
    details = await async_browse_media(hass, hour.media_content_id)
    assert details.title.startswith(f"Front · {start.astimezone(zone):%a} ")
    assert "recorded" in details.title
    parts = list(details.children or [])
    assert parts[0].title.startswith("Play from ")
    assert parts[0].can_play
    await _assert_jpeg(client, parts[0].thumbnail)
    first_play = await async_resolve_media(hass, parts[0].media_content_id, None)
    assert first_play.mime_type == HLS
    assert any(child.media_content_id == item.media_content_id for child in parts)
    for part in parts:
        if part.title.startswith("Gap "):
            assert not part.can_play
            assert part.can_expand  # into its whole reason, and the footage around it
            assert re.fullmatch(r"Gap \d{2}:\d{2}:\d{2}–\d{2}:\d{2}:\d{2} · .+", part.title), part.title

    # Clips and snapshots the actions wrote: camera, local time (and length), and a picture.
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
        if service == "export_clip":
            # The event's clip: from its pre-capture, with its length.
            clip_start = dt_util.utc_from_timestamp((event["start_ms"] - event["pre_ms"]) / 1000).astimezone(zone)
            shown = re.escape(f"{clip_start.day} {clip_start:%b %H:%M}")
            assert re.fullmatch(rf"Front · {shown} · \d+ s", found.title), found.title
        else:
            assert re.fullmatch(r"Front · \d{1,2} \w{3} \d{2}:\d{2}", found.title), found.title
        await _assert_jpeg(client, found.thumbnail)
        media = await async_resolve_media(hass, found.media_content_id, None)
        assert media.mime_type == mime
        assert media.path == Path(str(written["path"]))
        status, body = await _fetch(client, media.url)
        assert status == 200
        assert body == await hass.async_add_executor_job(media.path.read_bytes)
        # Home Assistant's own local media source does not list the integration's sidecars.
        local_files = await async_browse_media(hass, f"media-source://media_source/local/vigil/{folder}")
        assert [child.title for child in local_files.children or []] == [media.path.name]


async def test_a_gap_is_an_outage_with_its_reason(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    engine: EngineRig,
    setup_entry: SetupEntry,
    media_dir: Path,
) -> None:
    """Recording switched off for a few seconds, as a user does: the hour lists the outage, with the engine's reason."""
    assert await async_setup_component(hass, "media_source", {})
    entry = await setup_entry()
    select = "select.front_record_mode"
    await wait_engine(engine, FRONT, lambda camera: camera["recording"], "recording")
    try:
        await hass.services.async_call(
            "select", "select_option", {ATTR_ENTITY_ID: select, "option": "off"}, blocking=True
        )
        await wait_engine(engine, FRONT, lambda camera: not camera["recording"], "recording stopped")
        stopped_ms = engine.camera_state(FRONT)["last_segment_end_ms"]
        await asyncio.sleep(4)  # two segments' worth (2 s each)
    finally:
        await hass.services.async_call(
            "select", "select_option", {ATTR_ENTITY_ID: select, "option": "continuous"}, blocking=True
        )
    # The engine writes the gap down when footage resumes; a segment later it is indexed.
    await wait_engine(engine, FRONT, lambda camera: camera["last_segment_end_ms"] > stopped_ms + 6000, "footage again")
    zone = dt_util.get_time_zone(hass.config.time_zone)
    assert zone is not None
    day = local_day(dt_util.utc_from_timestamp(stopped_ms / 1000), zone)
    summary = engine.get(f"/api/cameras/{FRONT}/summary?date={day.isoformat()}&time_zone={hass.config.time_zone}")
    gap = next(gap for gap in summary["summary"]["gaps"] if gap["start_ms"] == stopped_ms)
    assert gap["end_ms"] - gap["start_ms"] >= 3000

    camera = f"{entry.entry_id}/camera/{FRONT}"
    hours = await _children(hass, f"{camera}/recordings/{day.isoformat()}")
    hour = next(
        child for child in hours if _span(child.media_content_id)[0] <= stopped_ms < _span(child.media_content_id)[1]
    )
    details = await async_browse_media(hass, hour.media_content_id)
    assert "gap" in details.title
    parts = list(details.children or [])
    titles = [part.title for part in parts]
    hour_start, hour_end = _span(hour.media_content_id)
    shown = (max(gap["start_ms"], hour_start), min(gap["end_ms"], hour_end))
    clock = "–".join(dt_util.utc_from_timestamp(ms / 1000).astimezone(zone).strftime("%H:%M:%S") for ms in shown)
    index = titles.index(f"Gap {clock} · {gap['reason']}")
    assert not parts[index].can_play
    # The outage opens: its whole reason as the title, and its footage from just before it, across it.
    outage = await async_browse_media(hass, parts[index].media_content_id)
    assert outage.title == titles[index]
    assert [child.title for child in outage.children or []] == [
        "Play from " + dt_util.utc_from_timestamp((shown[0] - 10_000) / 1000).astimezone(zone).strftime("%H:%M:%S")
    ]
    across = await async_resolve_media(hass, (outage.children or [])[0].media_content_id, None)
    assert across.mime_type == HLS
    status, body = await _fetch(await hass_client_no_auth(), across.url)
    assert status == 200
    assert b"#EXT-X-DISCONTINUITY" in body  # the player is told where the footage breaks
    # Footage before it and after it: played from where it resumes.
    assert any(title.startswith("Play from ") for title in titles[:index])
    resumed = next(part for part in parts[index + 1 :] if part.title.startswith("Play from "))
    assert _span(resumed.media_content_id) == (gap["end_ms"], hour_end) or shown[1] == hour_end
    await _assert_jpeg(await hass_client_no_auth(), resumed.thumbnail)
    # Only outages the engine wrote down: none before the first footage of the package's
    # engine, none for the segment being written.
    engine_gaps = [g for g in summary["summary"]["gaps"] if g["end_ms"] > hour_start and g["start_ms"] < hour_end]
    assert sum(title.startswith("Gap ") for title in titles) == len(engine_gaps)


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
        f"{camera}/play/2000/1000",
        f"{camera}/play/0/{25 * 3600_000}",
        f"{camera}/gap/1000/2000",
    ):
        with pytest.raises(BrowseError):
            await async_browse_media(hass, f"{ROOT}/{identifier}")
    for identifier in (
        "01NOSUCHENTRY/event/" + "0" * 32,
        f"{entry.entry_id}/event/not-an-event",
        f"{camera}/play/2000/1000",
        f"{camera}/play/0/{25 * 3600_000}",
        f"{camera}/gap/1000/2000",
        f"{camera}/recordings/2026-02-30",
        f"{entry.entry_id}/camera/nosuch/recordings/2026-01-01",
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
    assert await _children(hass, f"{camera}/recordings/2001-01-01") == []
    assert await _children(hass, f"{camera}/play/978307200000/978310800000") == []  # 2001-01-01, an hour

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
