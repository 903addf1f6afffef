"""Local days and hours across clock changes: the arithmetic, and the media browser over real footage.

The footage is the engine's own: a test clip cut into segments by the engine's segment
writer and indexed at chosen UTC instants (``tests/api/footage.py``) on both sides of
2026-03-29 01:00 UTC and 2026-10-25 01:00 UTC (Europe/Berlin's clock changes) and of a
local midnight in Asia/Kolkata (+05:30). A real engine process then serves it (its camera
is disabled, so nothing else is recorded), and Home Assistant browses it in each zone.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from homeassistant.components.media_source import async_browse_media, async_resolve_media
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.vigil.timeline import (
    clip_ranges,
    day_bounds,
    format_duration,
    format_offset,
    local_day,
    local_hours,
    parse_day,
)
from tests.api.footage import record_footage
from tests.components.vigil.conftest import EngineRig, SetupEntry, enable_loopback_sockets, free_port
from tests.support.engine_process import EngineProcess
from tests.support.media import make_clip
from vigil_engine.api.summary import local_hours as engine_local_hours
from vigil_engine.events.model import EventRecord
from vigil_engine.storage.index import Index

BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")
DST = "dst"
SPRING = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # Berlin: 02:00 CET becomes 03:00 CEST
AUTUMN = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)  # Berlin: 03:00 CEST becomes 02:00 CET
KOLKATA_MIDNIGHT = datetime(2026, 6, 1, 18, 30, tzinfo=UTC)  # 2026-06-02 00:00 +05:30
HALF_MS = 10_000  # footage 10 s either side of each instant


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- the arithmetic --------------------------------------------------------------------------


def test_berlin_spring_day_has_23_hours() -> None:
    hours = local_hours(date(2026, 3, 29), BERLIN)
    assert len(hours) == 23
    assert hours[0].start == _utc("2026-03-28T23:00")
    assert hours[-1].end == _utc("2026-03-29T22:00")
    assert [f"{hour.label}{hour.utc_offset}" for hour in hours[:4]] == [
        "00:00+01:00",
        "01:00+01:00",
        "03:00+02:00",
        "04:00+02:00",
    ]
    # 01:00 UTC, the change itself, starts local 03:00; the hour before it is local 01:00 CET.
    before, after = hours[1], hours[2]
    assert (before.start, before.end) == (_utc("2026-03-29T00:00"), SPRING)
    assert (after.start, after.end) == (SPRING, _utc("2026-03-29T02:00"))
    assert all(hour.end == following.start for hour, following in itertools.pairwise(hours))


def test_berlin_autumn_day_has_25_hours_and_the_repeated_hour_twice() -> None:
    hours = local_hours(date(2026, 10, 25), BERLIN)
    assert len(hours) == 25
    assert hours[0].start == _utc("2026-10-24T22:00")
    assert hours[-1].end == _utc("2026-10-25T23:00")
    twice = [hour for hour in hours if hour.label == "02:00"]
    assert [(hour.utc_offset, hour.start, hour.end) for hour in twice] == [
        ("+02:00", _utc("2026-10-25T00:00"), AUTUMN),
        ("+01:00", AUTUMN, _utc("2026-10-25T02:00")),
    ]


def test_half_hour_zone() -> None:
    hours = local_hours(date(2026, 6, 2), KOLKATA)
    assert len(hours) == 24
    assert hours[0].start == KOLKATA_MIDNIGHT
    assert {hour.start.minute for hour in hours} == {30}
    assert {hour.utc_offset for hour in hours} == {"+05:30"}
    assert local_day(KOLKATA_MIDNIGHT, KOLKATA) == date(2026, 6, 2)
    assert local_day(KOLKATA_MIDNIGHT.replace(minute=29), KOLKATA) == date(2026, 6, 1)


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("Europe/Berlin", date(2026, 3, 29)),
        ("Europe/Berlin", date(2026, 10, 25)),
        ("Europe/Berlin", date(2026, 7, 1)),
        ("America/New_York", date(2026, 11, 1)),
        ("Asia/Kolkata", date(2026, 6, 2)),
        ("Asia/Kathmandu", date(2026, 1, 1)),  # +05:45
        ("Australia/Lord_Howe", date(2026, 4, 5)),  # clocks move by half an hour
        ("America/Sao_Paulo", date(2018, 11, 4)),  # local midnight never happened
    ],
)
def test_hours_agree_with_the_engine(zone: str, day: date) -> None:
    """Computed independently from the engine's day summary, the hours are the same."""
    tz = ZoneInfo(zone)
    start, end = day_bounds(day, tz)
    ours = [(hour.start_ms, hour.end_ms, hour.label, hour.utc_offset) for hour in local_hours(day, tz)]
    assert ours == engine_local_hours(_ms(start), _ms(end), tz)
    assert local_day(start, tz) == day
    assert local_day(datetime.fromtimestamp(start.timestamp() - 1, UTC), tz) < day


def test_ranges_and_durations() -> None:
    ranges = [(0, 1000), (1500, 3000), (5000, 9000)]
    assert clip_ranges(ranges, 500, 6000) == [(500, 1000), (1500, 3000), (5000, 6000)]
    assert [format_duration(ms) for ms in (400, 42_000, 185_000, 720_000, 7_500_000)] == [
        "0 s",
        "42 s",
        "3 min 05 s",
        "12 min",
        "2 h 05 min",
    ]
    assert format_offset(datetime(2026, 1, 1, tzinfo=ZoneInfo("America/St_Johns"))) == "-03:30"
    assert parse_day("2026-03-29") == date(2026, 3, 29)
    for bad in ("2026-3-29", "2026-02-30", "yesterday"):
        with pytest.raises(ValueError):  # noqa: PT011 - any ValueError: the message is ours or date()'s
            parse_day(bad)


# --- the media browser over footage indexed across the changes -----------------------------


def _event(start: datetime, seconds: int) -> EventRecord:
    return EventRecord(
        id=uuid.uuid4().hex,
        camera_id=DST,
        kind="motion",
        start_ms=_ms(start),
        end_ms=_ms(start) + seconds * 1000,
        pre_ms=0,
        post_ms=0,
        zones=("path",),
    )


@pytest.fixture(scope="module")
def dst_engine(tmp_path_factory: pytest.TempPathFactory, engine: EngineRig) -> Iterator[EngineRig]:
    """An engine whose only footage and events sit around the clock changes."""
    enable_loopback_sockets()  # the plugin blocks sockets again before every test's fixtures
    workdir = tmp_path_factory.mktemp("vigil-dst")
    port = free_port()
    config = {
        "api_port": port,
        "api_token": engine.token,
        "cameras": [
            {
                "id": DST,
                "name": "Dst",
                "url": "demo://",
                "enabled": False,
                "retention_days": 3650,
                "events": {"retention_days": 3650},
            }
        ],
    }
    process = EngineProcess(workdir, config)
    clip = make_clip(workdir / "clip.mkv", 2 * HALF_MS / 1000, width=320, height=180, audio=False)
    process.storage.mkdir(parents=True)
    index = Index(process.db_path)
    try:
        for moment in (SPRING, AUTUMN, KOLKATA_MIDNIGHT):
            record_footage(index, process.recordings, DST, clip, _ms(moment) - HALF_MS, segment_seconds=2)
        keep = _ms(datetime(2100, 1, 1, tzinfo=UTC))
        for event in (
            _event(_utc("2026-03-28T23:30"), 5),  # 00:30 CET on the 29th: a local day later than in UTC
            _event(_utc("2026-10-25T00:30"), 5),  # 02:30 CEST
            _event(_utc("2026-10-25T01:30"), 5),  # 02:30 CET, the same wall-clock time an hour later
        ):
            index.save_event(event, keep)
    finally:
        index.close()
    process.start()
    rig = EngineRig(engine.camera, process, port)  # the package's camera: this engine records nothing
    try:
        process.wait_for(lambda: _answers(rig), 30, "the engine's API")
        yield rig
    finally:
        process.stop()


def _answers(rig: EngineRig) -> bool:
    try:
        return bool(rig.get("/api/info"))
    except OSError:
        return False


async def _browse(hass: HomeAssistant, identifier: str) -> list[tuple[str, str, bool]]:
    node = await async_browse_media(hass, f"media-source://vigil/{identifier}")
    return [(child.media_content_id, child.title, child.can_play) for child in node.children or []]


def _play_range(content_id: str) -> tuple[datetime, datetime]:
    start, end = content_id.split("/")[-2:]
    return datetime.fromtimestamp(int(start) / 1000, UTC), datetime.fromtimestamp(int(end) / 1000, UTC)


async def test_browse_across_berlin_clock_changes(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    dst_engine: EngineRig,
    setup_entry: SetupEntry,
) -> None:
    await hass.config.async_set_time_zone("Europe/Berlin")
    assert await async_setup_component(hass, "media_source", {})
    entry = await setup_entry(dst_engine)
    base = f"{entry.entry_id}/camera/{DST}"

    # Only the hours with footage: 10 s either side of the change, in the hours it separates.
    spring = await _browse(hass, f"{base}/recordings/2026-03-29")
    assert [(title, _play_range(content_id)) for content_id, title, _play in spring] == [
        ("01:00 (+01:00) · 10 s", (_utc("2026-03-29T00:00"), SPRING)),
        ("03:00 (+02:00) · 10 s", (SPRING, _utc("2026-03-29T02:00"))),
    ]
    assert all(can_play for _id, _title, can_play in spring)
    # The hour before the change: its footage starts at 01:59:50 local, with no outage before it
    # (nothing was recorded before: that is no gap).
    before = await _browse(hass, spring[0][0].removeprefix("media-source://vigil/"))
    assert [title for _id, title, _play in before] == ["Play from 01:59:50"]

    autumn = await _browse(hass, f"{base}/recordings/2026-10-25")
    played = [(title, _play_range(content_id)) for content_id, title, _play in autumn]
    assert played == [
        ("02:00 (+02:00) · 10 s", (_utc("2026-10-25T00:00"), AUTUMN)),
        ("02:00 (+01:00) · 10 s", (AUTUMN, _utc("2026-10-25T02:00"))),
    ]
    # Each of the two 02:00 hours holds its own event (both at 02:30 on the wall clock).
    for content_id, _title, _play in autumn:
        details = await _browse(hass, content_id.removeprefix("media-source://vigil/"))
        assert [title for _id, title, _play in details if not title.startswith("Play from")] == [
            "02:30:00 · path · 5 s"
        ]
    day_node = await async_browse_media(hass, f"media-source://vigil/{base}/recordings/2026-10-25")
    assert day_node.title == "Dst · Sun 25 Oct 2026 · 20 s recorded · 25-hour day"

    # The list of days reaches back two months: October's 25-hour day is in it.
    days = await _browse(hass, f"{base}/recordings")
    assert [title for _id, title, _play in days] == ["Sun 25 Oct · 20 s"]

    # Events by local day: the one at 23:30 UTC on the 28th belongs to the 29th in Berlin.
    event_days = await _browse(hass, f"{base}/events")
    assert [content_id.rsplit("/", 1)[-1] for content_id, _title, _play in event_days] == ["2026-10-25", "2026-03-29"]
    october = await _browse(hass, f"{base}/events/2026-10-25")
    assert [title for _id, title, _play in october] == ["02:30:00 · path · 5 s", "02:30:00 · path · 5 s"]
    march = await _browse(hass, f"{base}/events/2026-03-29")
    assert [title for _id, title, _play in march] == ["00:30:00 · path · 5 s"]

    # The repeated hour plays: its playlist holds exactly the footage after 01:00 UTC.
    second = next(content_id for content_id, title, _play in autumn if title.startswith("02:00 (+01:00)"))
    media = await async_resolve_media(hass, second, None)
    client = await hass_client_no_auth()
    response = await client.get(media.url)
    assert response.status == 200, await response.text()
    playlist = await response.text()
    stamps = [line.split(":", 1)[1] for line in playlist.splitlines() if line.startswith("#EXT-X-PROGRAM-DATE-TIME")]
    assert stamps
    assert all(_utc(stamp.removesuffix("Z")) >= AUTUMN for stamp in stamps)


async def test_browse_in_a_half_hour_zone(hass: HomeAssistant, dst_engine: EngineRig, setup_entry: SetupEntry) -> None:
    await hass.config.async_set_time_zone("Asia/Kolkata")
    assert await async_setup_component(hass, "media_source", {})
    entry = await setup_entry(dst_engine)
    base = f"{entry.entry_id}/camera/{DST}/recordings"

    before = await _browse(hass, f"{base}/2026-06-01")
    after = await _browse(hass, f"{base}/2026-06-02")
    last = [(title, _play_range(content_id)) for content_id, title, play in before if play]
    first = [(title, _play_range(content_id)) for content_id, title, play in after if play]
    assert last == [("23:00 · 10 s", (_utc("2026-06-01T17:30"), KOLKATA_MIDNIGHT))]
    assert first == [("00:00 · 10 s", (KOLKATA_MIDNIGHT, _utc("2026-06-01T19:30")))]
