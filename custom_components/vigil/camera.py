"""Camera entity: live stream (the camera's own RTSP, or the engine's live HLS: ``live.py``) and stills."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from homeassistant.components.camera import Camera, CameraEntityDescription
from homeassistant.components.camera.const import CameraEntityFeature
from homeassistant.core import HomeAssistant, ServiceResponse, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .client import CommandError, Event, NotFoundError, RecordMode, VigilError, datetime_to_ms
from .const import CLIPS_DIR, DOMAIN, LOGGER, MANUFACTURER, SNAPSHOTS_DIR
from .entity import VigilCameraEntity, async_add_camera_entities
from .errors import user_error
from .event import event_attributes
from .exports import ExportInfo, write_sidecar
from .hub import VigilConfigEntry, VigilHub
from .live import STREAM_LOGGER, LiveLink, RedactSignatures, plays_directly
from .media import async_write_file, async_write_stream, file_stamp, media_ids
from .signing import STILL_WIDTH

PARALLEL_UPDATES = 0
MAX_CLIP = timedelta(hours=6)
MIN_WIDTH, MAX_WIDTH = 16, 3840

CAMERA = CameraEntityDescription(key="camera")


async def async_setup_entry(
    hass: HomeAssistant, entry: VigilConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Set up the camera entity of every camera, now and as cameras appear."""
    hub = entry.runtime_data
    async_add_camera_entities(entry, async_add_entities, lambda camera_id: (VigilCamera(hub, camera_id),))


def _ptz_argument(mode: str, field: str) -> ServiceValidationError:
    return user_error("ptz_argument", mode=mode, field=field)


class VigilCamera(VigilCameraEntity, Camera):
    """One camera as the engine records it.

    It stays available while the engine is reachable, also when the camera is offline:
    its footage can still be exported, and the state says ``idle`` instead of ``recording``.
    """

    _attr_name = None
    _attr_brand = MANUFACTURER
    _attr_supported_features = CameraEntityFeature.STREAM

    def __init__(self, hub: VigilHub, camera_id: str) -> None:
        VigilCameraEntity.__init__(self, hub, camera_id, CAMERA)
        Camera.__init__(self)
        self._live = LiveLink(hub.hass, hub.client, camera_id, self._async_live_link_renewed)
        self._redact = RedactSignatures()
        self._redacted_loggers: set[logging.Logger] = set()

    async def async_will_remove_from_hass(self) -> None:
        self._live.cancel()
        for logger in self._redacted_loggers:
            logger.removeFilter(self._redact)
        self._redacted_loggers.clear()
        await super().async_will_remove_from_hass()

    @callback
    def _async_update_attrs(self) -> None:
        if self.camera_id not in self.hub.cameras:
            return
        camera = self.camera
        # The engine's "recording" flag may lag a switch to "off"; off is off.
        self._attr_is_recording = camera.recording and camera.record_mode is not RecordMode.OFF
        self._attr_is_streaming = camera.online
        self._attr_motion_detection_enabled = camera.motion_enabled
        if camera.video_codec and camera.width and camera.height:
            self._attr_model = f"{camera.video_codec.upper()} {camera.width}x{camera.height}"

    async def stream_source(self) -> str | None:
        """The camera's own stream URL (with its credentials), or the engine's live playlist.

        Home Assistant's stream component opens RTSP and HTTP cameras itself; for the
        engine's other sources (the demo scene, replayed files) it plays the engine's live
        HLS playlist, by a signed link (``live.py``).
        """
        with self.engine_errors():
            url = await self.hub.client.get_stream_url(self.camera_id)
            if plays_directly(url):
                self._live.cancel()
                return url
            if not self.hub.has_stills_and_live:
                return None  # an older engine has no live playlist: stills only, no stream errors
            link = await self._live.url()
        # The stream Home Assistant makes of it logs under the entity id: keep the signature out.
        logger = logging.getLogger(f"{STREAM_LOGGER}.{self.entity_id}")
        if logger not in self._redacted_loggers:
            logger.addFilter(self._redact)
            self._redacted_loggers.add(logger)
        return link

    async def _async_live_link_renewed(self, url: str) -> None:
        """Hand the stream Home Assistant keeps the renewed link (see ``live.py``)."""
        stream = self.stream
        if stream is None or stream.source == url:
            return
        if stream.outputs() or stream.dynamic_stream_settings.preload_stream:
            stream.update_source(url)  # running: it reconnects with the new link at once
        else:
            stream.source = url  # stopped: it starts with the new link next time

    async def async_camera_image(self, width: int | None = None, height: int | None = None) -> bytes | None:
        """JPEG of the latest frame the engine decoded (scaled by the engine to ``width``)."""
        if width is not None:
            width = max(MIN_WIDTH, min(width, MAX_WIDTH))  # what the engine scales to
        with self.engine_errors():
            try:
                return await self.hub.client.camera_snapshot(self.camera_id, width=width)
            except NotFoundError:
                return None  # no frame yet (camera offline since the engine started)

    async def async_enable_motion_detection(self) -> None:
        with self.engine_errors():
            await self.hub.async_set_motion_detection(self.camera_id, True)

    async def async_disable_motion_detection(self) -> None:
        with self.engine_errors():
            await self.hub.async_set_motion_detection(self.camera_id, False)

    # --- actions (vigil.*; registered in services.py) --------------------------------------

    async def async_export_clip(
        self, start: datetime | None = None, end: datetime | None = None, event_id: str | None = None
    ) -> ServiceResponse:
        """Save footage (a time range, or an event with its pre- and post-capture) as an MP4."""
        if event_id is not None:
            if start is not None or end is not None:
                raise user_error("event_or_range")
            clip = await self._event_clip(event_id)
        elif start is None or end is None:
            raise user_error("event_or_range")
        else:
            clip = self._range_clip(start, end)
        with self.engine_errors(event_id), _write_errors():
            path, size = await async_write_stream(self.hass, CLIPS_DIR, clip.stem, ".mp4", clip.chunks)
        await self._async_describe(
            path,
            ExportInfo(self.camera_id, self.camera.name, clip.start_ms, clip.end_ms, event_id),
            await self._clip_thumbnail(clip),
        )
        return {
            "path": str(path),
            **media_ids(self.hass, self.hub.entry.entry_id, CLIPS_DIR, path.name),
            "size": size,
            "start": dt_util.utc_from_timestamp(clip.start_ms / 1000).isoformat(),
            "end": dt_util.utc_from_timestamp(clip.end_ms / 1000).isoformat(),
        }

    async def _event_clip(self, event_id: str) -> _Clip:
        """An event's footage, pre- to post-capture (up to now while it runs)."""
        client = self.hub.client
        with self.engine_errors(event_id):
            event = await client.get_event(event_id)
        if event.camera_id != self.camera_id:
            raise user_error("event_of_other_camera", event_id=event_id, camera=self.camera.name)
        end_ms = event.end_ms + event.post_ms if event.end_ms is not None else datetime_to_ms(dt_util.utcnow())
        stem = f"{self.camera_id}_{file_stamp(event.start)}_{event.id[:8]}"
        return _Clip(stem, client.event_clip(event.id), event.start_ms - event.pre_ms, end_ms, event)

    def _range_clip(self, start: datetime, end: datetime) -> _Clip:
        """The camera's footage between two instants (checked before the engine is asked)."""
        try:
            start, end = dt_util.as_utc(start), dt_util.as_utc(end)
            start_ms, end_ms = datetime_to_ms(start), datetime_to_ms(end)
            shown = {"start": _local_text(start), "end": _local_text(end)}
            stamp = file_stamp(start)
        except (OverflowError, ValueError) as err:
            # Instants near the ends of the calendar (year 1 or 9999) cannot be converted.
            raise user_error("time_out_of_range") from err
        if end <= start:
            raise user_error("end_before_start", **shown)
        if end - start > MAX_CLIP:
            raise user_error("clip_too_long", hours=str(int(MAX_CLIP.total_seconds() // 3600)))
        stem = f"{self.camera_id}_{stamp}_{round((end_ms - start_ms) / 1000)}s"
        return _Clip(stem, self.hub.client.clip(self.camera_id, start_ms, end_ms), start_ms, end_ms)

    async def _clip_thumbnail(self, clip: _Clip) -> bytes | None:
        """A small picture of a clip: its event's thumbnail, or the footage at its start (None if neither)."""
        client = self.hub.client
        try:
            if clip.event is not None and clip.event.has_snapshot:
                return await client.event_snapshot(clip.event.id, thumbnail=True)
            return await client.camera_still(self.camera_id, clip.start_ms, width=STILL_WIDTH)
        except VigilError as err:
            LOGGER.debug("No thumbnail for the clip of %s: %s", self.camera_id, type(err).__name__)
            return None

    async def _async_describe(self, path: Path, info: ExportInfo, thumbnail: bytes | None = None) -> None:
        """Keep what the media browser shows of an exported file; the file is complete without it."""
        try:
            await self.hass.async_add_executor_job(write_sidecar, path, info, thumbnail)
        except OSError as err:
            LOGGER.debug("Cannot describe %s for the media browser: %s", path.name, err.strerror)

    async def async_snapshot(self) -> ServiceResponse:
        """Save the latest frame as a JPEG."""
        taken = dt_util.utcnow()
        with self.engine_errors():
            image = await self.hub.client.camera_snapshot(self.camera_id)
        stem = f"{self.camera_id}_{file_stamp(taken)}"
        with _write_errors():
            path = await async_write_file(self.hass, SNAPSHOTS_DIR, stem, ".jpg", image)
        await self._async_describe(path, ExportInfo(self.camera_id, self.camera.name, datetime_to_ms(taken)))
        return {"path": str(path), **media_ids(self.hass, self.hub.entry.entry_id, SNAPSHOTS_DIR, path.name)}

    async def async_start_event(self, label: str | None = None) -> ServiceResponse:
        """Start a manual event (it protects its footage like a motion event)."""
        with self.engine_errors():
            event = await self.hub.client.start_manual_event(self.camera_id, label)
        return event_attributes(event)

    async def async_ptz(
        self,
        mode: str = "move",
        pan: float | None = None,
        tilt: float | None = None,
        zoom: float | None = None,
        seconds: float | None = None,
        preset: str | None = None,
    ) -> None:
        """Pan, tilt or zoom an ONVIF camera (the vigil.ptz action)."""
        client = self.hub.client
        if mode == "preset" and preset is None:
            raise _ptz_argument(mode, "preset")
        if mode == "zoom" and zoom is None:
            raise _ptz_argument(mode, "zoom")
        if mode == "move" and pan is None and tilt is None and zoom is None:
            raise _ptz_argument(mode, "pan, tilt or zoom")
        with self.engine_errors():
            try:
                if mode == "stop":
                    await client.ptz_stop(self.camera_id)
                elif mode == "preset" and preset is not None:
                    await client.ptz_goto_preset(self.camera_id, preset)
                elif mode == "zoom" and zoom is not None:
                    await client.ptz_zoom(self.camera_id, zoom)
                else:
                    await client.ptz_move(self.camera_id, pan=pan, tilt=tilt, zoom=zoom, seconds=seconds)
            except CommandError as err:
                camera = self.camera
                # A connected camera the engine refuses to move has no PTZ (or no ONVIF at all);
                # a disabled or offline one is reported as such by engine_errors.
                if err.code == "camera_unavailable" and camera.enabled and camera.online and not camera.ptz:
                    raise user_error("no_ptz", camera=camera.name) from err
                raise

    async def async_end_event(self) -> ServiceResponse:
        """End the camera's manual event."""
        with self.engine_errors():
            try:
                event = await self.hub.client.end_manual_event(self.camera_id)
            except CommandError as err:
                if err.code != "event_state":
                    raise
                raise user_error("no_manual_event", camera=self.camera.name) from err
        return event_attributes(event)


@dataclass(frozen=True, slots=True)
class _Clip:
    """What vigil.export_clip writes: the file's stem, the engine's MP4 and the span it covers."""

    stem: str
    chunks: AsyncIterator[bytes]
    start_ms: int
    end_ms: int
    event: Event | None = None


def _local_text(moment: datetime) -> str:
    """``2026-01-05 14:30:00`` in Home Assistant's time zone (as the user typed it)."""
    return dt_util.as_local(moment).strftime("%Y-%m-%d %H:%M:%S")


@contextmanager
def _write_errors() -> Iterator[None]:
    """A file that cannot be written under the media folder (full, read-only, no permission)."""
    try:
        yield
    except OSError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="write_failed",
            translation_placeholders={"error": err.strerror or type(err).__name__},
        ) from err
