"""Camera entity: live stream (the camera's own RTSP, for HA's stream and WebRTC) and stills."""

from __future__ import annotations

from datetime import datetime, timedelta

from homeassistant.components.camera import Camera, CameraEntityDescription
from homeassistant.components.camera.const import CameraEntityFeature
from homeassistant.core import HomeAssistant, ServiceResponse, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .client import NotFoundError, RecordMode, VigilError, datetime_to_ms
from .const import CLIPS_DIR, DOMAIN, MANUFACTURER, SNAPSHOTS_DIR
from .entity import VigilCameraEntity, async_add_camera_entities, engine_errors, translate_error
from .event import event_attributes
from .hub import VigilConfigEntry, VigilHub
from .media import async_write_file, async_write_stream, file_stamp, media_ids

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
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="ptz_argument",
        translation_placeholders={"mode": mode, "field": field},
    )


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
        """The camera's own stream URL (with its credentials), from the engine."""
        try:
            return await self.hub.client.get_stream_url(self.camera_id)
        except VigilError as err:
            raise translate_error(err) from err

    async def async_camera_image(self, width: int | None = None, height: int | None = None) -> bytes | None:
        """JPEG of the latest frame the engine decoded (scaled by the engine to ``width``)."""
        if width is not None:
            width = max(MIN_WIDTH, min(width, MAX_WIDTH))  # what the engine scales to
        try:
            return await self.hub.client.camera_snapshot(self.camera_id, width=width)
        except NotFoundError:
            return None  # no frame yet (camera offline since the engine started)
        except VigilError as err:
            raise translate_error(err) from err

    async def async_enable_motion_detection(self) -> None:
        with engine_errors():
            await self.hub.async_set_motion_detection(self.camera_id, True)

    async def async_disable_motion_detection(self) -> None:
        with engine_errors():
            await self.hub.async_set_motion_detection(self.camera_id, False)

    # --- actions (vigil.*; registered in services.py) --------------------------------------

    async def async_export_clip(
        self, start: datetime | None = None, end: datetime | None = None, event_id: str | None = None
    ) -> ServiceResponse:
        """Save footage (a time range, or an event with its pre- and post-capture) as an MP4."""
        with engine_errors():
            client = self.hub.client
            if event_id is not None:
                if start is not None or end is not None:
                    raise ServiceValidationError(translation_domain=DOMAIN, translation_key="event_or_range")
                event = await client.get_event(event_id)
                if event.camera_id != self.camera_id:
                    raise ServiceValidationError(
                        translation_domain=DOMAIN,
                        translation_key="event_of_other_camera",
                        translation_placeholders={"event_id": event_id, "camera": self.camera.name},
                    )
                stem = f"{self.camera_id}_{file_stamp(event.start)}_{event.id[:8]}"
                chunks = client.event_clip(event.id)
                clip_start = event.start_ms - event.pre_ms
                clip_end = (
                    event.end_ms + event.post_ms if event.end_ms is not None else datetime_to_ms(dt_util.utcnow())
                )
            else:
                if start is None or end is None:
                    raise ServiceValidationError(translation_domain=DOMAIN, translation_key="event_or_range")
                start, end = dt_util.as_utc(start), dt_util.as_utc(end)
                if end <= start or end - start > MAX_CLIP:
                    raise ServiceValidationError(
                        translation_domain=DOMAIN,
                        translation_key="bad_range",
                        translation_placeholders={"hours": str(int(MAX_CLIP.total_seconds() // 3600))},
                    )
                clip_start, clip_end = datetime_to_ms(start), datetime_to_ms(end)
                stem = f"{self.camera_id}_{file_stamp(start)}_{round((clip_end - clip_start) / 1000)}s"
                chunks = client.clip(self.camera_id, clip_start, clip_end)
            path, size = await async_write_stream(self.hass, CLIPS_DIR, stem, ".mp4", chunks)
            return {
                "path": str(path),
                **media_ids(self.hass, self.hub.entry.entry_id, CLIPS_DIR, path.name),
                "size": size,
                "start": dt_util.utc_from_timestamp(clip_start / 1000).isoformat(),
                "end": dt_util.utc_from_timestamp(clip_end / 1000).isoformat(),
            }

    async def async_snapshot(self) -> ServiceResponse:
        """Save the latest frame as a JPEG."""
        with engine_errors():
            try:
                image = await self.hub.client.camera_snapshot(self.camera_id)
            except NotFoundError as err:
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="no_snapshot",
                    translation_placeholders={"camera": self.camera.name},
                ) from err
            path = await async_write_file(
                self.hass, SNAPSHOTS_DIR, f"{self.camera_id}_{file_stamp(dt_util.utcnow())}", ".jpg", image
            )
            return {"path": str(path), **media_ids(self.hass, self.hub.entry.entry_id, SNAPSHOTS_DIR, path.name)}

    async def async_start_event(self, label: str | None = None) -> ServiceResponse:
        """Start a manual event (it protects its footage like a motion event)."""
        with engine_errors():
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
        with engine_errors():
            if mode == "stop":
                await client.ptz_stop(self.camera_id)
            elif mode == "preset":
                if preset is None:
                    raise _ptz_argument(mode, "preset")
                await client.ptz_goto_preset(self.camera_id, preset)
            elif mode == "zoom":
                if zoom is None:
                    raise _ptz_argument(mode, "zoom")
                await client.ptz_zoom(self.camera_id, zoom)
            else:
                if pan is None and tilt is None and zoom is None:
                    raise _ptz_argument(mode, "pan, tilt or zoom")
                await client.ptz_move(self.camera_id, pan=pan, tilt=tilt, zoom=zoom, seconds=seconds)

    async def async_end_event(self) -> ServiceResponse:
        """End the camera's manual event."""
        with engine_errors():
            event = await self.hub.client.end_manual_event(self.camera_id)
            return event_attributes(event)
