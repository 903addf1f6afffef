"""The media browser: each camera's events and recordings, and the exported clips and snapshots.

Tree (the engine level is left out when there is only one engine)::

    Vigil NVR
    └── <engine>                          <entry_id>
        ├── <camera>                      <entry_id>/camera/<camera_id>
        │   ├── Events                    .../events: local days with events, newest first
        │   │   └── <day>                 .../events/<YYYY-MM-DD>: its events, newest first
        │   │       └── <event>           <entry_id>/event/<event_id>: plays the event's clip (MP4)
        │   ├── People, Vehicles, Animals .../label/<group>: the same, only events that saw such
        │   │   └── <day>                 .../label/<group>/<YYYY-MM-DD>  objects (shown when there are any)
        │   └── Recordings                .../recordings: local days with footage, newest first
        │       └── <day · footage>       .../recordings/<YYYY-MM-DD>: plays the day; opens into
        │           └── <hour · footage>  .../play/<start_ms>/<end_ms>: its hours with footage; each
        │               │                 plays the hour and opens into its details, in time order:
        │               ├── Play from <t>   .../play/<from_ms>/<end_ms>: each stretch of footage
        │               ├── <event>         <entry_id>/event/<event_id>
        │               └── Gap <t–t> · why .../gap/<start_ms>/<end_ms>: an outage; it opens into
        │                   └── Play from <t>  the footage from just before it, across it
        ├── People, Vehicles, Animals     <entry_id>/label/<group>: every camera's such events, by day
        │   └── <day>                     .../<YYYY-MM-DD>: its events, each titled with its camera
        ├── Clips                         <entry_id>/clips: vigil.export_clip's files
        └── Snapshots                     <entry_id>/snapshots: vigil.snapshot's files

An event's snapshot resolves from ``<entry_id>/event/<event_id>/snapshot`` (a JPEG): the
content id vigil.search_events answers with (``search.py``), never a link.

The label folders ask the engine only for such events (``list_events`` by group: ``person``,
``vehicle``, ``animal``, see ``labels.py``) and page with its cursor; an event's thumbnail is the
engine's crop of its best object. An engine older than schema version 3 labels nothing: it has
no such folders.

Footage plays as HLS (``application/x-mpegURL``, the one HLS type Home Assistant's Media panel
plays; the playlists carry ``EXT-X-PROGRAM-DATE-TIME`` and break at gaps), events as MP4.
Days, hours and stretches have a still of their footage as thumbnail, events their snapshot,
clips the still kept at export and snapshots themselves. Days and hours are those of Home
Assistant's time zone, computed with zoneinfo over real UTC instants (``timeline.py``): the day
the clocks change has 23 or 25 hours, and the repeated hour shows its UTC offset. What a day
holds (footage, outages, events) comes from ``footage.py``, the titles from ``media_titles.py``,
the kinds of items from ``media_nodes.py``; *Clips* and *Snapshots* are ``media_files.py``.
Everything resolves to a path of Home Assistant itself (``views.py``) carrying Home Assistant's
signature, so the engine is never exposed.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from homeassistant.components.media_player.const import MediaClass
from homeassistant.components.media_player.errors import BrowseError
from homeassistant.components.media_source import BrowseMediaSource, MediaSource, MediaSourceItem, PlayMedia
from homeassistant.components.media_source.error import Unresolvable
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .client import Event, VigilError, datetime_to_ms
from .const import CLIPS_DIR, DOMAIN, SNAPSHOTS_DIR
from .footage import Footage, Gap
from .hub import VigilConfigEntry, VigilHub
from .labels import GROUPS
from .media_files import browse_exports, resolve_export
from .media_nodes import HLS, JPEG, MP4, folder, footage_node, gap_node, play_item
from .media_titles import (
    GROUP_TITLES,
    day_heading,
    day_title,
    event_title,
    gap_title,
    hour_title,
    long_day,
    play_from_title,
    span_heading,
)
from .signing import (
    CLIP,
    PLAYLIST,
    SNAPSHOT,
    THUMBNAIL,
    camera_path,
    event_path,
    link_expiry,
    sign,
    still_path,
)
from .timeline import HOUR_MS, day_bounds, from_ms, local_day, local_hours, parse_day, to_ms

NAME: Final = "Vigil NVR"
# How far back the lists of days reach, and how much one day's folder of events holds.
MAX_DAYS: Final = 62
MAX_DAY_EVENTS: Final = 1000
EVENTS_PAGE: Final = 500
MAX_PLAY_MS: Final = 24 * HOUR_MS  # the engine's longest playlist
# A stretch's picture: its first seconds (what "Play from" starts with).
STRETCH_STILL_MS: Final = 2000
# An outage is played from this long before it (what the camera saw last) to this long after it resumed.
GAP_LEAD_MS: Final = 10_000
GAP_TAIL_MS: Final = 10 * 60_000
# A camera's picture: its footage this long before the newest indexed segment ended.
CAMERA_STILL_BACK_MS: Final = 1000
# Day summaries asked for at once when listing days (the engine takes 32 commands at a time).
SUMMARY_CONCURRENCY: Final = 6


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

    def _signed(self, target: Target, path: str) -> str:
        return sign(self.hass, path, link_expiry(self.hass, target.entry.entry_id))

    def _still(self, target: Target, camera_id: str, at_ms: int | None) -> str | None:
        """A picture of the camera's footage at ``at_ms`` (none from an engine without stills: no broken images)."""
        if at_ms is None or not target.hub.has_stills_and_live:
            return None
        return self._signed(target, still_path(target.entry.entry_id, camera_id, at_ms))

    # --- resolving ----------------------------------------------------------------------------

    async def async_resolve_media(self, item: MediaSourceItem) -> PlayMedia:
        target = self._target(item.identifier, Unresolvable)
        entry_id = target.entry.entry_id
        expiry = link_expiry(self.hass, entry_id)
        match target.parts:
            case ("event", event_id) if re.fullmatch(r"[0-9a-f]{32}", event_id):
                return PlayMedia(sign(self.hass, event_path(entry_id, event_id, CLIP), expiry), MP4)
            case ("event", event_id, "snapshot") if re.fullmatch(r"[0-9a-f]{32}", event_id):
                return PlayMedia(sign(self.hass, event_path(entry_id, event_id, SNAPSHOT), expiry), JPEG)
            case ("camera", camera_id, "play", start, end) if start.isdigit() and end.isdigit():
                self._camera(target, camera_id, Unresolvable)
                return self._playlist(target, camera_id, int(start), int(end))
            case ("camera", camera_id, "recordings", day):
                self._camera(target, camera_id, Unresolvable)
                try:
                    first, following = (to_ms(moment) for moment in day_bounds(parse_day(day), self._zone))
                except ValueError as err:
                    raise Unresolvable(f"Not a day: {day!r}") from err
                # A 25-hour day is longer than the engine's longest playlist: its first 24 hours.
                return self._playlist(target, camera_id, first, min(following, first + MAX_PLAY_MS))
            case (kind, name) if kind in (CLIPS_DIR, SNAPSHOTS_DIR):
                return await resolve_export(self.hass, kind, name, expiry)
        raise Unresolvable(f"Unknown Vigil media {item.identifier!r}")

    def _playlist(self, target: Target, camera_id: str, start_ms: int, end_ms: int) -> PlayMedia:
        if not 0 < end_ms - start_ms <= MAX_PLAY_MS:
            raise Unresolvable("A recording to play must be between 0 and 24 hours long")
        return PlayMedia(
            self._signed(target, camera_path(target.entry.entry_id, camera_id, PLAYLIST, start_ms, end_ms)), HLS
        )

    # --- browsing -----------------------------------------------------------------------------

    async def async_browse_media(self, item: MediaSourceItem) -> BrowseMediaSource:
        if not item.identifier:
            entries = self._entries()
            if len(entries) == 1:
                return await self._browse_engine(Target(entries[0], ()), root=True)
            root = folder("", NAME, media_class=MediaClass.APP, children_media_class=MediaClass.DIRECTORY)
            root.children = [folder(entry.entry_id, entry.title) for entry in entries]
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
                return await self._browse_camera(target, self._camera(target, camera_id, BrowseError))
            case ("camera", camera_id, "events"):
                return await self._browse_event_days(target, self._camera(target, camera_id, BrowseError))
            case ("camera", camera_id, "events", day):
                return await self._browse_events(target, self._camera(target, camera_id, BrowseError), _day(day))
            case ("camera", camera_id, "label", group) if group in GROUPS:
                camera_id = self._camera(target, camera_id, BrowseError)
                return await self._browse_event_days(target, camera_id, group)
            case ("camera", camera_id, "label", group, day) if group in GROUPS:
                camera_id = self._camera(target, camera_id, BrowseError)
                return await self._browse_events(target, camera_id, _day(day), group)
            case ("label", group) if group in GROUPS:
                return await self._browse_event_days(target, None, group)
            case ("label", group, day) if group in GROUPS:
                return await self._browse_events(target, None, _day(day), group)
            case ("camera", camera_id, "recordings"):
                return await self._browse_recording_days(target, self._camera(target, camera_id, BrowseError))
            case ("camera", camera_id, "recordings", day):
                return await self._browse_day(target, self._camera(target, camera_id, BrowseError), _day(day))
            case ("camera", camera_id, "play", start, end) if start.isdigit() and end.isdigit():
                camera_id = self._camera(target, camera_id, BrowseError)
                if not 0 < int(end) - int(start) <= MAX_PLAY_MS:
                    raise BrowseError("A span of footage must be between 0 and 24 hours long")
                return await self._browse_span(target, camera_id, int(start), int(end))
            case ("camera", camera_id, "gap", start, end) if start.isdigit() and end.isdigit():
                camera_id = self._camera(target, camera_id, BrowseError)
                return await self._browse_gap(target, camera_id, int(start), int(end))
            case (kind,) if kind in (CLIPS_DIR, SNAPSHOTS_DIR):
                return await self._browse_files(target, kind)
        raise BrowseError(f"Unknown Vigil folder {'/'.join(target.parts)!r}")

    async def _browse_engine(self, target: Target, *, root: bool = False) -> BrowseMediaSource:
        entry_id = target.entry.entry_id
        node = folder("" if root else entry_id, NAME if root else target.entry.title)
        cameras = sorted(target.hub.cameras.values(), key=lambda state: state.camera.name.lower())
        children = []
        for state in cameras:
            last = state.camera.last_segment_end_ms
            # A recent picture of the camera: its newest footage.
            at_ms = None if last is None else last - CAMERA_STILL_BACK_MS
            children.append(
                folder(
                    f"{entry_id}/camera/{state.camera.camera_id}",
                    state.camera.name,
                    thumbnail=self._still(target, state.camera.camera_id, at_ms),
                )
            )
        node.children = [
            *children,
            *[
                folder(f"{entry_id}/label/{group}", GROUP_TITLES[group])
                for group in await self._groups_seen(target, None)
            ],
            folder(f"{entry_id}/{CLIPS_DIR}", "Clips"),
            folder(f"{entry_id}/{SNAPSHOTS_DIR}", "Snapshots"),
        ]
        return node

    async def _browse_camera(self, target: Target, camera_id: str) -> BrowseMediaSource:
        base = f"{target.entry.entry_id}/camera/{camera_id}"
        node = folder(base, target.hub.cameras[camera_id].camera.name)
        groups = await self._groups_seen(target, camera_id)
        node.children = [
            folder(f"{base}/events", "Events"),
            *[folder(f"{base}/label/{group}", GROUP_TITLES[group]) for group in groups],
            folder(f"{base}/recordings", "Recordings"),
        ]
        return node

    async def _groups_seen(self, target: Target, camera_id: str | None) -> list[str]:
        """The label groups with at least one event (of the camera, or of any): their folders have something."""
        if not target.hub.has_objects:
            return []

        async def seen(group: str) -> bool:
            page = await target.hub.client.list_events(camera_id=camera_id, label=group, limit=1)
            return bool(page.events)

        found = await asyncio.gather(*(seen(group) for group in GROUPS))
        return [group for group, any_events in zip(GROUPS, found, strict=True) if any_events]

    # --- events -------------------------------------------------------------------------------

    def _event_item(
        self, target: Target, event: Event, zone: ZoneInfo, now_ms: int, *, with_camera: bool = False
    ) -> BrowseMediaSource:
        entry_id = target.entry.entry_id
        thumbnail = self._signed(target, event_path(entry_id, event.id, THUMBNAIL)) if event.has_snapshot else None
        camera = self._camera_name(target, event.camera_id) if with_camera else None
        return play_item(
            f"{entry_id}/event/{event.id}",
            event_title(event, zone, now_ms, camera=camera),
            MP4,
            MediaClass.VIDEO,
            thumbnail=thumbnail,
        )

    @staticmethod
    def _camera_name(target: Target, camera_id: str) -> str:
        state = target.hub.cameras.get(camera_id)
        return state.camera.name if state is not None else camera_id

    @staticmethod
    def _events_base(target: Target, camera_id: str | None, group: str | None) -> tuple[str, str]:
        """A folder of events' identifier and title: a camera's *Events* or label group, or a group of all cameras."""
        entry_id = target.entry.entry_id
        if camera_id is None:
            assert group is not None  # every camera's events are in their cameras' folders
            return f"{entry_id}/label/{group}", GROUP_TITLES[group]
        camera = VigilMediaSource._camera_name(target, camera_id)
        if group is None:
            return f"{entry_id}/camera/{camera_id}/events", f"{camera} · Events"
        return f"{entry_id}/camera/{camera_id}/label/{group}", f"{camera} · {GROUP_TITLES[group]}"

    async def _browse_event_days(
        self, target: Target, camera_id: str | None, group: str | None = None
    ) -> BrowseMediaSource:
        """The local days with events (of a label group), newest first: each step asks for the
        newest such event before the day found last."""
        zone = self._zone
        entry_id = target.entry.entry_id
        base, title = self._events_base(target, camera_id, group)
        days: list[tuple[date, Event]] = []
        before: int | None = None
        while len(days) < MAX_DAYS:
            page = await target.hub.client.list_events(camera_id=camera_id, label=group, end_ms=before, limit=1)
            if not page.events:
                break
            newest = page.events[0]
            day = local_day(newest.start, zone)
            days.append((day, newest))
            before = to_ms(day_bounds(day, zone)[0])
        node = folder(base, title)
        node.children = [
            folder(
                f"{base}/{day.isoformat()}",
                long_day(day),
                # The day's newest event shows what happened.
                thumbnail=self._signed(target, event_path(entry_id, newest.id, THUMBNAIL))
                if newest.has_snapshot
                else None,
            )
            for day, newest in days
        ]
        return node

    async def _browse_events(
        self, target: Target, camera_id: str | None, day: date, group: str | None = None
    ) -> BrowseMediaSource:
        """A local day's events (of a label group), newest first, a page of the engine's at a time."""
        zone = self._zone
        start, end = (to_ms(moment) for moment in day_bounds(day, zone))
        events: list[Event] = []
        cursor: str | None = None
        while len(events) < MAX_DAY_EVENTS:
            page = await target.hub.client.list_events(
                camera_id=camera_id, label=group, start_ms=start, end_ms=end, limit=EVENTS_PAGE, cursor=cursor
            )
            # The filter also lets through events that began the day before and ran into this one.
            events.extend(event for event in page.events if start <= event.start_ms < end)
            if (cursor := page.next_cursor) is None:
                break
        now_ms = datetime_to_ms(dt_util.utcnow())
        base, title = self._events_base(target, camera_id, group)
        # A camera's day of events is headed by the camera and the day; a label's day says which label too.
        if group is None and camera_id is not None:
            title = self._camera_name(target, camera_id)
        node = folder(f"{base}/{day.isoformat()}", f"{title} · {long_day(day)}", children_media_class=MediaClass.VIDEO)
        node.children = [
            self._event_item(target, event, zone, now_ms, with_camera=camera_id is None)
            for event in events[:MAX_DAY_EVENTS]
        ]
        return node

    # --- recordings ---------------------------------------------------------------------------

    async def _footage(self, target: Target, camera_id: str, days: list[date]) -> Footage:
        """What the camera holds on these local days (the camera's state adds the segment being written)."""
        summaries = [
            await target.hub.client.get_day_summary(camera_id, day.isoformat(), self.hass.config.time_zone)
            for day in days
        ]
        return Footage.from_summaries(summaries, target.hub.cameras[camera_id].camera, datetime_to_ms(dt_util.utcnow()))

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

        async def footage(day: date) -> Footage:
            async with limit:
                return await self._footage(target, camera_id, [day])

        found = await asyncio.gather(*(footage(day) for day in days))
        node = folder(base, f"{target.hub.cameras[camera_id].camera.name} · Recordings")
        children = []
        for day, held in zip(days, found, strict=True):
            start, end = (to_ms(moment) for moment in day_bounds(day, zone))
            if held.playable(start, end):
                children.append(
                    footage_node(
                        f"{base}/{day.isoformat()}",
                        day_title(day, held.recorded_ms(start, end)),
                        self._still(target, camera_id, held.still_at(start, end)),
                    )
                )
        node.children = children
        return node

    async def _browse_day(self, target: Target, camera_id: str, day: date) -> BrowseMediaSource:
        """The day's local hours that hold footage; each plays and opens into its details."""
        zone = self._zone
        entry_id = target.entry.entry_id
        held = await self._footage(target, camera_id, [day])
        start, end = (to_ms(moment) for moment in day_bounds(day, zone))
        hours = local_hours(day, zone)
        show_offset = len({hour.utc_offset for hour in hours}) > 1
        node = footage_node(
            f"{entry_id}/camera/{camera_id}/recordings/{day.isoformat()}",
            day_heading(
                target.hub.cameras[camera_id].camera.name,
                day,
                held.recorded_ms(start, end),
                (end - start) / HOUR_MS,
            ),
            self._still(target, camera_id, held.still_at(start, end)),
        )
        # An hour whose only footage is the segment being written waits for it to be indexed
        # (seconds): until then it would have nothing to play.
        node.children = [
            footage_node(
                f"{entry_id}/camera/{camera_id}/play/{hour.start_ms}/{hour.end_ms}",
                hour_title(hour, held.recorded_ms(hour.start_ms, hour.end_ms), show_offset=show_offset),
                self._still(target, camera_id, held.still_at(hour.start_ms, hour.end_ms)),
            )
            for hour in hours
            if held.playable(hour.start_ms, hour.end_ms)
        ]
        return node

    async def _browse_span(self, target: Target, camera_id: str, start_ms: int, end_ms: int) -> BrowseMediaSource:
        """A span of footage (an hour) in time order: where to play from, its events, its outages with their reasons."""
        zone = self._zone
        entry_id = target.entry.entry_id
        base = f"{entry_id}/camera/{camera_id}"
        first, last = local_day(from_ms(start_ms), zone), local_day(from_ms(end_ms - 1), zone)
        days = [first + timedelta(days=number) for number in range((last - first).days + 1)]
        held = await self._footage(target, camera_id, days)
        now_ms = datetime_to_ms(dt_util.utcnow())
        recorded = held.recorded_in(start_ms, end_ms)
        events = held.events_in(start_ms, end_ms)
        gaps = held.gaps_in(start_ms, end_ms)
        parts: list[tuple[int, int, BrowseMediaSource]] = [
            (
                stretch_start,
                0,
                play_item(
                    f"{base}/play/{stretch_start}/{end_ms}",
                    play_from_title(stretch_start, zone),
                    HLS,
                    MediaClass.VIDEO,
                    thumbnail=self._still(
                        target,
                        camera_id,
                        held.still_at(stretch_start, min(stretch_end, stretch_start + STRETCH_STILL_MS)),
                    ),
                ),
            )
            for stretch_start, stretch_end in recorded
            if held.playable(stretch_start, stretch_end)
        ]
        parts.extend((event.start_ms, 1, self._event_item(target, event, zone, now_ms)) for event in events)
        parts.extend((gap.start_ms, 2, self._gap(base, gap, zone)) for gap in gaps)
        node = footage_node(
            f"{base}/play/{start_ms}/{end_ms}",
            span_heading(
                target.hub.cameras[camera_id].camera.name,
                start_ms,
                end_ms,
                zone,
                held.recorded_ms(start_ms, end_ms),
                len(events),
                len(gaps),
            ),
            self._still(target, camera_id, held.still_at(start_ms, end_ms)),
        )
        node.children = [child for _start, _order, child in sorted(parts, key=lambda part: part[:2])]
        return node

    def _gap(self, base: str, gap: Gap, zone: ZoneInfo) -> BrowseMediaSource:
        return gap_node(f"{base}/gap/{gap.start_ms}/{gap.end_ms}", gap_title(gap, zone))

    async def _browse_gap(self, target: Target, camera_id: str, start_ms: int, end_ms: int) -> BrowseMediaSource:
        """An outage (as listed in its hour): why, and its footage from just before it to after it resumed."""
        zone = self._zone
        base = f"{target.entry.entry_id}/camera/{camera_id}"
        held = await self._footage(target, camera_id, [local_day(from_ms(start_ms), zone)])
        gap = next(
            (gap for gap in held.gaps_in(start_ms, end_ms) if (gap.start_ms, gap.end_ms) == (start_ms, end_ms)), None
        )
        if gap is None:
            raise BrowseError("No such outage")
        node = self._gap(base, gap, zone)
        play_from = start_ms - GAP_LEAD_MS
        play_to = min(end_ms + GAP_TAIL_MS, play_from + MAX_PLAY_MS)
        node.children = [
            play_item(
                f"{base}/play/{play_from}/{play_to}",
                play_from_title(play_from, zone),
                HLS,
                MediaClass.VIDEO,
                thumbnail=self._still(target, camera_id, held.still_at(play_from, start_ms)),
            )
        ]
        return node

    async def _browse_files(self, target: Target, kind: str) -> BrowseMediaSource:
        return await browse_exports(
            self.hass, target.entry.entry_id, kind, self._zone, lambda path: self._signed(target, path)
        )


def _day(text: str) -> date:
    try:
        return parse_day(text)
    except ValueError as err:
        raise BrowseError(f"Not a day: {text!r}") from err
