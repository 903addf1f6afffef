"""The media browser: each camera's events and recordings, and the exported clips and snapshots.

Tree (the engine level is left out when there is only one engine)::

    Vigil NVR
    └── <engine>                               <entry_id>
        ├── <camera>                           <entry_id>/camera/<camera_id>
        │   ├── Events                         .../events: local days with events, newest first
        │   │   └── <day>                      .../events/<YYYY-MM-DD>: its events, newest first
        │   │       └── <time · zones · length>  <entry_id>/event/<event_id>: plays the clip (MP4)
        │   └── Recordings                     .../recordings: local days with footage
        │       └── <day>                      .../recordings/<YYYY-MM-DD>: its local hours
        │           └── <hour · footage · gaps>  <entry_id>/camera/<camera_id>/play/<start_ms>/<end_ms> (HLS)
        ├── Clips                              <entry_id>/clips: vigil.export_clip's files
        └── Snapshots                          <entry_id>/snapshots: vigil.snapshot's files

Days and hours are those of Home Assistant's time zone, computed with zoneinfo over real UTC
instants (``timeline.py``): the day the clocks change has 23 or 25 hours, and the repeated
hour shows its UTC offset. Everything resolves to a path of Home Assistant itself (the views
in ``views.py``) carrying Home Assistant's signature, so the engine is never exposed.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote
from zoneinfo import ZoneInfo

from homeassistant.components.media_player.const import MediaClass, MediaType
from homeassistant.components.media_player.errors import BrowseError
from homeassistant.components.media_source import BrowseMediaSource, MediaSource, MediaSourceItem, PlayMedia
from homeassistant.components.media_source.error import Unresolvable
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .client import Event, VigilError, datetime_to_ms
from .const import CLIPS_DIR, DOMAIN, MEDIA_SUBDIR, SNAPSHOTS_DIR
from .hub import VigilConfigEntry, VigilHub
from .media import media_root
from .signing import CLIP, PLAYLIST, THUMBNAIL, camera_path, event_path, link_expiry, sign
from .timeline import (
    HOUR_MS,
    LocalHour,
    clip_ranges,
    day_bounds,
    format_duration,
    from_ms,
    holes,
    local_day,
    local_hours,
    parse_day,
    to_ms,
)

NAME: Final = "Vigil NVR"
MP4: Final = "video/mp4"
JPEG: Final = "image/jpeg"
MPEGURL: Final = "application/vnd.apple.mpegurl"
# How far back the lists of days reach, and how much one day's folder of events holds.
MAX_DAYS: Final = 62
MAX_DAY_EVENTS: Final = 1000
EVENTS_PAGE: Final = 500
MAX_PLAY_MS: Final = 24 * HOUR_MS  # the engine's longest playlist
# Holes in the footage shorter than this are not worth a mention in an hour's title.
MIN_GAP_MS: Final = 1000
GAPS_LISTED: Final = 3
# Day summaries asked for at once when listing days (the engine takes 32 commands at a time).
SUMMARY_CONCURRENCY: Final = 6
FILE_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
FILE_TYPES: Final = {
    ".mp4": (MP4, MediaClass.VIDEO),
    ".jpg": (JPEG, MediaClass.IMAGE),
    ".jpeg": (JPEG, MediaClass.IMAGE),
}


async def async_get_media_source(hass: HomeAssistant) -> VigilMediaSource:
    """Set up the Vigil media source."""
    return VigilMediaSource(hass)


@dataclass(frozen=True, slots=True)
class Target:
    """A parsed identifier: the engine and the path below it."""

    entry: VigilConfigEntry
    parts: tuple[str, ...]

    @property
    def hub(self) -> VigilHub:
        return self.entry.runtime_data


def _folder(
    identifier: str, title: str, *, media_class: MediaClass = MediaClass.DIRECTORY, **kwargs: Any
) -> BrowseMediaSource:
    return BrowseMediaSource(
        domain=DOMAIN,
        identifier=identifier,
        media_class=media_class,
        media_content_type=MediaType.VIDEO,
        title=title,
        can_play=False,
        can_expand=True,
        **kwargs,
    )


def _item(identifier: str, title: str, mime_type: str, media_class: MediaClass, **kwargs: Any) -> BrowseMediaSource:
    return BrowseMediaSource(
        domain=DOMAIN,
        identifier=identifier,
        media_class=media_class,
        media_content_type=mime_type,
        title=title,
        can_play=True,
        can_expand=False,
        **kwargs,
    )


def _day_title(day: date) -> str:
    return day.strftime("%a %d %b %Y")


def _clock(ms: int, zone: ZoneInfo, fmt: str = "%H:%M:%S") -> str:
    return from_ms(ms).astimezone(zone).strftime(fmt)


def event_title(event: Event, zone: ZoneInfo, now_ms: int) -> str:
    """``14:03:12 · driveway, door · 12 s`` (local time, zones or label, length)."""
    parts = [_clock(event.start_ms, zone)]
    if event.zones:
        parts.append(", ".join(event.zones))
    elif event.label:
        parts.append(event.label)
    else:
        parts.append(event.kind)
    if event.end_ms is None:
        parts.append(f"running ({format_duration(now_ms - event.start_ms)})")
    else:
        parts.append(format_duration(event.end_ms - event.start_ms))
    return " · ".join(parts)


def hour_title(
    hour: LocalHour,
    recorded: list[tuple[int, int]],
    events: int,
    zone: ZoneInfo,
    now_ms: int,
    *,
    show_offset: bool,
) -> str:
    """``14:00 · 58 min recorded · 2 events · gap 14:12:05–14:14:40``.

    The label shows the UTC offset, ``02:00 (+01:00)``, on a day with two offsets.
    """
    label = f"{hour.label} ({hour.utc_offset})" if show_offset else hour.label
    end = min(hour.end_ms, now_ms)
    inside = clip_ranges(recorded, hour.start_ms, hour.end_ms)
    total = sum(b - a for a, b in inside)
    if not inside:
        return f"{label} · no footage"
    parts = [label, f"{format_duration(total)} recorded"]
    if events:
        parts.append(f"{events} event{'s' if events != 1 else ''}")
    found = holes(inside, hour.start_ms, end, MIN_GAP_MS) if end > hour.start_ms else []
    if found:
        listed = ", ".join(f"{_clock(a, zone)}–{_clock(b, zone)}" for a, b in found[:GAPS_LISTED])
        more = f" +{len(found) - GAPS_LISTED} more" if len(found) > GAPS_LISTED else ""
        parts.append(f"gap{'s' if len(found) != 1 else ''} {listed}{more}")
    return " · ".join(parts)


def _ranges(summary: Any, key: str) -> list[tuple[int, int]]:
    items = summary.get(key) if isinstance(summary, dict) else None
    result: list[tuple[int, int]] = []
    for item in items or []:
        start, end = item.get("start_ms"), item.get("end_ms")
        if isinstance(start, int) and isinstance(end, int):
            result.append((start, end))
    return sorted(result)


class VigilMediaSource(MediaSource):
    """Browse and play what the Vigil engines recorded."""

    name = NAME

    def __init__(self, hass: HomeAssistant) -> None:
        super().__init__(DOMAIN)
        self.hass = hass

    # --- identifiers --------------------------------------------------------------------------

    def _entries(self) -> list[VigilConfigEntry]:
        entries: list[VigilConfigEntry] = self.hass.config_entries.async_loaded_entries(DOMAIN)
        return entries

    def _target(self, identifier: str, error: type[Exception]) -> Target:
        entry_id, _, rest = identifier.partition("/")
        entry = next((entry for entry in self._entries() if entry.entry_id == entry_id), None)
        if entry is None:
            raise error(f"No Vigil engine with the id {entry_id!r} is set up")
        return Target(entry, tuple(rest.split("/")) if rest else ())

    @property
    def _zone(self) -> ZoneInfo:
        zone = dt_util.get_time_zone(self.hass.config.time_zone)
        return zone if zone is not None else ZoneInfo("UTC")

    def _camera(self, target: Target, camera_id: str, error: type[Exception]) -> str:
        if camera_id not in target.hub.cameras:
            raise error(f"The engine has no camera {camera_id!r}")
        return camera_id

    # --- resolving ----------------------------------------------------------------------------

    async def async_resolve_media(self, item: MediaSourceItem) -> PlayMedia:
        target = self._target(item.identifier, Unresolvable)
        entry_id = target.entry.entry_id
        expiry = link_expiry(self.hass, entry_id)
        match target.parts:
            case ("event", event_id) if re.fullmatch(r"[0-9a-f]{32}", event_id):
                return PlayMedia(sign(self.hass, event_path(entry_id, event_id, CLIP), expiry), MP4)
            case ("camera", camera_id, "play", start, end) if start.isdigit() and end.isdigit():
                self._camera(target, camera_id, Unresolvable)
                start_ms, end_ms = int(start), int(end)
                if not 0 < end_ms - start_ms <= MAX_PLAY_MS:
                    raise Unresolvable("A recording to play must be between 0 and 24 hours long")
                path = camera_path(entry_id, camera_id, PLAYLIST, start_ms, end_ms)
                return PlayMedia(sign(self.hass, path, expiry), MPEGURL)
            case (kind, name) if kind in (CLIPS_DIR, SNAPSHOTS_DIR):
                return await self._resolve_file(kind, name, expiry)
        raise Unresolvable(f"Unknown Vigil media {item.identifier!r}")

    async def _resolve_file(self, kind: str, name: str, expiry: timedelta) -> PlayMedia:
        source, root = media_root(self.hass)
        suffix = Path(name).suffix.lower()
        if not FILE_NAME.match(name) or suffix not in FILE_TYPES:
            raise Unresolvable(f"Not a Vigil {kind[:-1]}: {name!r}")
        path = root / MEDIA_SUBDIR / kind / name
        if not await self.hass.async_add_executor_job(path.is_file):
            raise Unresolvable(f"The {kind[:-1]} {name!r} no longer exists")
        # Served by Home Assistant's own local media view (it checks the folder is allowed).
        url = f"/media/{quote(source)}/{MEDIA_SUBDIR}/{kind}/{quote(name)}"
        return PlayMedia(sign(self.hass, url, expiry), FILE_TYPES[suffix][0], path=path)

    # --- browsing -----------------------------------------------------------------------------

    async def async_browse_media(self, item: MediaSourceItem) -> BrowseMediaSource:
        if not item.identifier:
            entries = self._entries()
            if len(entries) == 1:
                return await self._browse_engine(Target(entries[0], ()), root=True)
            root = _folder("", NAME, media_class=MediaClass.APP, children_media_class=MediaClass.DIRECTORY)
            root.children = [_folder(entry.entry_id, entry.title) for entry in entries]
            return root
        target = self._target(item.identifier, BrowseError)
        try:
            return await self._browse(target)
        except VigilError as err:
            raise BrowseError(f"The Vigil engine could not answer: {err}") from err

    async def _browse(self, target: Target) -> BrowseMediaSource:
        match target.parts:
            case ():
                return await self._browse_engine(target)
            case ("camera", camera_id):
                return self._browse_camera(target, self._camera(target, camera_id, BrowseError))
            case ("camera", camera_id, "events"):
                return await self._browse_event_days(target, self._camera(target, camera_id, BrowseError))
            case ("camera", camera_id, "events", day):
                return await self._browse_events(target, self._camera(target, camera_id, BrowseError), _day(day))
            case ("camera", camera_id, "recordings"):
                return await self._browse_recording_days(target, self._camera(target, camera_id, BrowseError))
            case ("camera", camera_id, "recordings", day):
                return await self._browse_hours(target, self._camera(target, camera_id, BrowseError), _day(day))
            case (kind,) if kind in (CLIPS_DIR, SNAPSHOTS_DIR):
                return await self._browse_files(target, kind)
        raise BrowseError(f"Unknown Vigil folder {'/'.join(target.parts)!r}")

    async def _browse_engine(self, target: Target, *, root: bool = False) -> BrowseMediaSource:
        entry_id = target.entry.entry_id
        node = _folder("" if root else entry_id, NAME if root else target.entry.title)
        cameras = sorted(target.hub.cameras.values(), key=lambda state: state.camera.name.lower())
        node.children = [
            _folder(f"{entry_id}/camera/{state.camera.camera_id}", state.camera.name) for state in cameras
        ] + [
            _folder(f"{entry_id}/{CLIPS_DIR}", "Clips"),
            _folder(f"{entry_id}/{SNAPSHOTS_DIR}", "Snapshots"),
        ]
        return node

    def _browse_camera(self, target: Target, camera_id: str) -> BrowseMediaSource:
        base = f"{target.entry.entry_id}/camera/{camera_id}"
        node = _folder(base, target.hub.cameras[camera_id].camera.name)
        node.children = [_folder(f"{base}/events", "Events"), _folder(f"{base}/recordings", "Recordings")]
        return node

    async def _browse_event_days(self, target: Target, camera_id: str) -> BrowseMediaSource:
        """The local days with events, newest first: each step asks for the newest event before the day found last."""
        zone = self._zone
        base = f"{target.entry.entry_id}/camera/{camera_id}/events"
        days: list[date] = []
        before: int | None = None
        while len(days) < MAX_DAYS:
            page = await target.hub.client.list_events(camera_id=camera_id, end_ms=before, limit=1)
            if not page.events:
                break
            day = local_day(page.events[0].start, zone)
            days.append(day)
            before = to_ms(day_bounds(day, zone)[0])
        node = _folder(base, f"{target.hub.cameras[camera_id].camera.name} · Events")
        node.children = [_folder(f"{base}/{day.isoformat()}", _day_title(day)) for day in days]
        return node

    async def _browse_events(self, target: Target, camera_id: str, day: date) -> BrowseMediaSource:
        zone = self._zone
        entry_id = target.entry.entry_id
        start, end = (to_ms(moment) for moment in day_bounds(day, zone))
        events: list[Event] = []
        cursor: str | None = None
        while len(events) < MAX_DAY_EVENTS:
            page = await target.hub.client.list_events(
                camera_id=camera_id, start_ms=start, end_ms=end, limit=EVENTS_PAGE, cursor=cursor
            )
            # The filter also lets through events that began the day before and ran into this one.
            events.extend(event for event in page.events if start <= event.start_ms < end)
            if (cursor := page.next_cursor) is None:
                break
        now_ms = datetime_to_ms(dt_util.utcnow())
        expiry = link_expiry(self.hass, entry_id)
        node = _folder(
            f"{entry_id}/camera/{camera_id}/events/{day.isoformat()}",
            f"{target.hub.cameras[camera_id].camera.name} · {_day_title(day)}",
            children_media_class=MediaClass.VIDEO,
        )
        node.children = [
            _item(
                f"{entry_id}/event/{event.id}",
                event_title(event, zone, now_ms),
                MP4,
                MediaClass.VIDEO,
                thumbnail=sign(self.hass, event_path(entry_id, event.id, THUMBNAIL), expiry)
                if event.has_snapshot
                else None,
            )
            for event in events[:MAX_DAY_EVENTS]
        ]
        return node

    async def _summary(self, target: Target, camera_id: str, day: date) -> dict[str, Any]:
        summary = await target.hub.client.get_day_summary(camera_id, day.isoformat(), self.hass.config.time_zone)
        return dict(summary)

    async def _browse_recording_days(self, target: Target, camera_id: str) -> BrowseMediaSource:
        """The local days with footage, newest first (today back to the oldest footage, at most ``MAX_DAYS``)."""
        zone = self._zone
        base = f"{target.entry.entry_id}/camera/{camera_id}/recordings"
        today = local_day(dt_util.utcnow(), zone)
        oldest_ms = target.hub.storage.oldest_footage_ms
        oldest = local_day(from_ms(oldest_ms), zone) if oldest_ms is not None else today
        count = max(1, min(MAX_DAYS, (today - oldest).days + 1))
        days = [today - timedelta(days=number) for number in range(count)]
        limit = asyncio.Semaphore(SUMMARY_CONCURRENCY)

        async def recorded(day: date) -> int:
            async with limit:
                value = (await self._summary(target, camera_id, day)).get("recorded_ms")
            return value if isinstance(value, int) else 0

        totals = await asyncio.gather(*(recorded(day) for day in days))
        node = _folder(base, f"{target.hub.cameras[camera_id].camera.name} · Recordings")
        children = []
        for day, total in zip(days, totals, strict=True):
            if total <= 0:
                continue
            start, end = day_bounds(day, zone)
            length = (end - start) / timedelta(hours=1)
            title = f"{_day_title(day)} · {format_duration(total)} recorded"
            if length != 24:
                title += f" · {length:g}-hour day"
            children.append(_folder(f"{base}/{day.isoformat()}", title))
        node.children = children
        return node

    async def _browse_hours(self, target: Target, camera_id: str, day: date) -> BrowseMediaSource:
        zone = self._zone
        entry_id = target.entry.entry_id
        summary = await self._summary(target, camera_id, day)
        recorded = _ranges(summary, "recorded")
        starts = [
            event["start_ms"]
            for event in summary.get("events") or []
            if isinstance(event, dict) and isinstance(event.get("start_ms"), int)
        ]
        hours = local_hours(day, zone)
        show_offset = len({hour.utc_offset for hour in hours}) > 1
        now_ms = datetime_to_ms(dt_util.utcnow())
        node = _folder(
            f"{entry_id}/camera/{camera_id}/recordings/{day.isoformat()}",
            f"{target.hub.cameras[camera_id].camera.name} · {_day_title(day)}",
            children_media_class=MediaClass.VIDEO,
        )
        children = []
        for hour in hours:
            events = sum(1 for start in starts if hour.start_ms <= start < hour.end_ms)
            title = hour_title(hour, recorded, events, zone, now_ms, show_offset=show_offset)
            identifier = f"{entry_id}/camera/{camera_id}/play/{hour.start_ms}/{hour.end_ms}"
            if clip_ranges(recorded, hour.start_ms, hour.end_ms):
                children.append(_item(identifier, title, MPEGURL, MediaClass.VIDEO))
            else:
                children.append(
                    BrowseMediaSource(
                        domain=DOMAIN,
                        identifier=identifier,
                        media_class=MediaClass.VIDEO,
                        media_content_type=MPEGURL,
                        title=title,
                        can_play=False,
                        can_expand=False,
                    )
                )
        node.children = children
        return node

    async def _browse_files(self, target: Target, kind: str) -> BrowseMediaSource:
        """The files an action wrote (every engine's: the folder is shared), newest first."""
        entry_id = target.entry.entry_id
        _source, root = media_root(self.hass)
        folder = root / MEDIA_SUBDIR / kind

        def listing() -> list[tuple[float, str]]:
            if not folder.is_dir():
                return []
            return sorted(
                (
                    (path.stat().st_mtime, path.name)
                    for path in folder.iterdir()
                    if path.is_file() and FILE_NAME.match(path.name) and path.suffix.lower() in FILE_TYPES
                ),
                reverse=True,
            )

        files = await self.hass.async_add_executor_job(listing)
        node = _folder(f"{entry_id}/{kind}", "Clips" if kind == CLIPS_DIR else "Snapshots")
        node.children = [
            _item(f"{entry_id}/{kind}/{name}", name, *FILE_TYPES[Path(name).suffix.lower()]) for _mtime, name in files
        ]
        return node


def _day(text: str) -> date:
    try:
        return parse_day(text)
    except ValueError as err:
        raise BrowseError(f"Not a day: {text!r}") from err
