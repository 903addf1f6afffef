"""The runtime of one config entry: one engine, its connection, its state and its listeners.

The client keeps one WebSocket open (``VigilClient.run``) and hands the hub the state
snapshot of every (re)subscription and every pushed event, in protocol order, on the event
loop. The hub applies them to its state and calls back only the entities of the camera
that changed, at once: a motion message becomes a binary sensor state without any polling
or scheduling in between. Camera statistics (fps, bitrate) and storage figures, which the
engine does not push, are polled every ``STATS_INTERVAL_SECONDS``.

Tracked objects (``object_appeared``/``object_updated``/``object_ended``) are kept per camera
as the engine last described them. The engine's state snapshot does not list them, only how
many it tracks (``Camera.detection.objects_tracked``): so on a reconnection, and at every
statistics poll, a camera whose engine tracks none (or whose detection is off) forgets the
ones it knew (they ended while the connection was down); the others keep theirs until their
``object_ended``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_URL
from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.event import async_call_later, async_track_time_interval
from homeassistant.util import dt as dt_util

from .archive import ArchiveWatch
from .client import (
    Camera,
    CameraOffline,
    CameraOnline,
    CamerasChanged,
    CameraSettingsChanged,
    EngineEvent,
    Event,
    EventChanged,
    InvalidAuth,
    MotionChanged,
    RecordingChanged,
    RecordMode,
    SchemaVersionMismatch,
    SegmentWritten,
    ServerInfo,
    Storage,
    StorageWarningChanged,
    Subscription,
    VigilClient,
    VigilError,
)
from .const import (
    CONF_ARCHIVE_ISSUE_MINUTES,
    CONF_OBJECT_ZONE_SENSORS,
    CONF_OFFLINE_ISSUE_MINUTES,
    CONF_RECORDING_THRESHOLD,
    CONF_ZONE_SENSORS,
    DEFAULT_ARCHIVE_ISSUE_MINUTES,
    DEFAULT_OBJECT_ZONE_SENSORS,
    DEFAULT_OFFLINE_ISSUE_MINUTES,
    DEFAULT_RECORDING_THRESHOLD,
    DEFAULT_ZONE_SENSORS,
    DOMAIN,
    ISSUE_CAMERA_OFFLINE,
    ISSUE_SCHEMA_MISMATCH,
    ISSUE_STORAGE,
    LOGGER,
    MANUFACTURER,
    RECONNECT_MAX_SECONDS,
    SCHEMA_OBJECTS,
    SCHEMA_STILLS_AND_LIVE,
    SETUP_TIMEOUT_SECONDS,
    STATS_INTERVAL_SECONDS,
    STORAGE_WARNING_CODES,
)
from .event_data import EventNotice, event_groups, event_notice, fire_bus_event
from .labels import group_of, groups_of
from .protocol import ObjectAppeared, ObjectChanged, ObjectEnded, ObjectUpdated, TrackedObject
from .snooze import Snoozes

type VigilConfigEntry = ConfigEntry[VigilHub]
type EventListener = Callable[[EventNotice, Event], None]
type CamerasListener = Callable[[list[str]], None]

# Running events remembered for their updates (a few per camera run at once at most).
MAX_ANNOUNCED_EVENTS = 100


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(slots=True)
class CameraState:
    """What the hub knows about one camera: the engine's view plus Home Assistant's."""

    camera: Camera
    last_event: Event | None = None
    snapshot_event: Event | None = None
    snapshot_updated: datetime | None = None
    # The newest event with a snapshot per label group (person, vehicle, animal), and when it changed.
    group_snapshots: dict[str, tuple[Event, datetime]] = field(default_factory=dict)
    # The objects the engine tracks on the camera now, by id (stationary ones too).
    objects: dict[str, TrackedObject] = field(default_factory=dict)
    # When the camera should have been recording but was not (None: it records, or should not).
    not_recording_since_ms: int | None = None

    @property
    def groups(self) -> tuple[str, ...]:
        """The label groups the camera tracks (from the labels the engine reports for it)."""
        return groups_of(self.camera.objects)

    @property
    def detecting(self) -> bool:
        """Object detection is on for the camera and the engine's detector works."""
        detection = self.camera.detection
        return self.camera.objects_enabled and detection is not None and detection.available

    def objects_of(self, group: str, *, moving_only: bool = False) -> list[TrackedObject]:
        """The tracked objects of a group (``moving_only``: not the stationary ones)."""
        return [
            tracked
            for tracked in self.objects.values()
            if group_of(tracked.label) == group and not (moving_only and tracked.stationary)
        ]

    def forget_objects_unless_tracked(self) -> bool:
        """Drop the known objects if the engine tracks none now (or detects none); True if any went."""
        detection = self.camera.detection
        if not self.objects or (self.camera.objects_enabled and detection is not None and detection.objects_tracked):
            return False
        self.objects.clear()
        return True


def _with_detection(ours: Camera, fresh: Camera) -> Camera:
    """The engine's detector state (is it on, does it work) on our camera."""
    return replace(ours, detection=fresh.detection)


def _with_identity(ours: Camera, fresh: Camera) -> Camera:
    """What an ONVIF camera told of itself (device information, PTZ) on our camera."""
    return replace(ours, device=fresh.device, ptz=fresh.ptz)


@callback
def schema_issue(hass: HomeAssistant, entry: ConfigEntry, err: SchemaVersionMismatch) -> None:
    """Raise the repair issue for an engine that speaks another schema version."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        f"{ISSUE_SCHEMA_MISMATCH}_{entry.entry_id}",
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key="update_addon" if err.update_engine else "update_integration",
        translation_placeholders={
            "title": entry.title,
            "server_schema": str(err.server_schema),
            "server_min_schema": str(err.server_min_schema),
            "client_schema": str(err.client_schema),
        },
    )


class VigilHub:
    """One engine as Home Assistant sees it."""

    def __init__(self, hass: HomeAssistant, entry: VigilConfigEntry, client: VigilClient, info: ServerInfo) -> None:
        self.hass = hass
        self.entry = entry
        self.client = client
        self.info = info
        self.instance_id = info.instance_id
        self.cameras: dict[str, CameraState] = {camera.camera_id: CameraState(camera) for camera in info.cameras}
        self.storage = Storage()
        self.available = False
        self.storage_warnings: dict[str, str] = {}
        self._listeners: dict[str | None, set[CALLBACK_TYPE]] = {}
        self._event_listeners: dict[str, set[EventListener]] = {}
        self._cameras_listeners: set[CamerasListener] = set()
        self._timers: dict[tuple[str, str], CALLBACK_TYPE] = {}
        self._first_state = asyncio.Event()
        self._was_connected = False
        self._task: asyncio.Task[None] | None = None
        self._fetch_task: asyncio.Task[None] | None = None
        # Running events as last announced (event_data.event_notice), by id.
        self._announced: dict[str, Event] = {}
        self._stopping = False
        self.engine_device_id = ""
        self.snoozes = Snoozes(hass, entry.entry_id, self._notify)
        self.archive_watch = ArchiveWatch(hass, entry, lambda: self.archive_issue_ms)

    @property
    def has_stills_and_live(self) -> bool:
        """The engine serves stills of any instant and live HLS of every camera (schema version 2)."""
        return self.info.schema_version >= SCHEMA_STILLS_AND_LIVE

    @property
    def has_objects(self) -> bool:
        """The engine detects objects (schema version 3): its cameras have an object detection switch."""
        return self.info.schema_version >= SCHEMA_OBJECTS

    # --- options ------------------------------------------------------------------------------

    @property
    def zone_sensors(self) -> bool:
        return bool(self.entry.options.get(CONF_ZONE_SENSORS, DEFAULT_ZONE_SENSORS))

    @property
    def object_zone_sensors(self) -> bool:
        return bool(self.entry.options.get(CONF_OBJECT_ZONE_SENSORS, DEFAULT_OBJECT_ZONE_SENSORS))

    @property
    def recording_threshold_ms(self) -> int:
        return round(float(self.entry.options.get(CONF_RECORDING_THRESHOLD, DEFAULT_RECORDING_THRESHOLD)) * 1000)

    @property
    def offline_issue_ms(self) -> int:
        return round(float(self.entry.options.get(CONF_OFFLINE_ISSUE_MINUTES, DEFAULT_OFFLINE_ISSUE_MINUTES)) * 60_000)

    @property
    def archive_issue_ms(self) -> int:
        return round(float(self.entry.options.get(CONF_ARCHIVE_ISSUE_MINUTES, DEFAULT_ARCHIVE_ISSUE_MINUTES)) * 60_000)

    # --- devices ------------------------------------------------------------------------------

    @property
    def engine_identifier(self) -> tuple[str, str]:
        return (DOMAIN, self.instance_id)

    def camera_identifier(self, camera_id: str) -> tuple[str, str]:
        return (DOMAIN, f"{self.instance_id}-{camera_id}")

    @property
    def engine_device_info(self) -> DeviceInfo:
        return DeviceInfo(
            identifiers={self.engine_identifier},
            manufacturer=MANUFACTURER,
            model="Vigil engine",
            # A name, not the entry's title (the engine's address): entity ids follow the device's name.
            translation_key="engine",
            sw_version=self.info.server_version,
            configuration_url=self.client.base_url if self.client.base_url.startswith("https") else None,
        )

    def camera_device_info(self, camera_id: str) -> DeviceInfo:
        camera = self.cameras[camera_id].camera
        model = "Camera"
        if camera.video_codec and camera.width and camera.height:
            model = f"Camera ({camera.video_codec.upper()} {camera.width}x{camera.height})"
        info = DeviceInfo(
            identifiers={self.camera_identifier(camera_id)},
            manufacturer=MANUFACTURER,
            model=model,
            name=camera.name,
            via_device_id=self.engine_device_id,
        )
        if (device := camera.device) is not None:
            # An ONVIF camera says what it is.
            info["manufacturer"] = device.manufacturer or MANUFACTURER
            info["model"] = device.model or model
            if device.firmware_version:
                info["sw_version"] = device.firmware_version
            if device.serial_number:
                info["serial_number"] = device.serial_number
        return info

    @callback
    def _register_devices(self) -> None:
        registry = dr.async_get(self.hass)
        engine = registry.async_get_or_create(config_entry_id=self.entry.entry_id, **self.engine_device_info)
        self.engine_device_id = engine.id
        for camera_id in self.cameras:
            registry.async_get_or_create(config_entry_id=self.entry.entry_id, **self.camera_device_info(camera_id))

    @callback
    def _remove_stale_devices(self) -> None:
        """Devices of cameras the engine no longer has leave the registry (with their entities)."""
        registry = dr.async_get(self.hass)
        wanted = {self.engine_identifier} | {self.camera_identifier(camera_id) for camera_id in self.cameras}
        for device in dr.async_entries_for_config_entry(registry, self.entry.entry_id):
            if not device.identifiers & wanted:
                LOGGER.info("Removing %s: the engine no longer has this camera", device.name)
                registry.async_remove_device(device.id)

    # --- life cycle ---------------------------------------------------------------------------

    async def async_start(self) -> None:
        """Stay connected in the background; return once the first state snapshot is in.

        Raises ``ConfigEntryNotReady`` when it does not arrive in time (the engine went away
        right after the handshake): Home Assistant retries the setup later.
        """
        self._register_devices()
        await self.snoozes.async_load()
        self._task = self.entry.async_create_background_task(self.hass, self._async_run(), "vigil connection")
        try:
            async with asyncio.timeout(SETUP_TIMEOUT_SECONDS):
                await self._first_state.wait()
        except TimeoutError as err:
            await self.async_stop()
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="cannot_connect",
                translation_placeholders={"url": self.entry.data[CONF_URL], "error": "no state from the engine"},
            ) from err
        self._remove_stale_devices()
        if self._fetch_task is not None:
            await self._fetch_task
        self.entry.async_on_unload(
            async_track_time_interval(
                self.hass,
                self._async_poll_stats,
                timedelta(seconds=STATS_INTERVAL_SECONDS),
                name="vigil statistics",
                cancel_on_shutdown=True,
            )
        )

    async def _async_run(self) -> None:
        try:
            await self.client.run(self, max_backoff=RECONNECT_MAX_SECONDS)
        except InvalidAuth:
            LOGGER.warning("The Vigil engine at %s refused the API token", self.client.base_url)
            self.entry.async_start_reauth(self.hass)

    async def async_stop(self) -> None:
        self._stopping = True
        await self.snoozes.async_stop()
        self.archive_watch.stop()
        for cancel in self._timers.values():
            cancel()
        self._timers.clear()
        await self.client.disconnect()
        for task in (self._task, self._fetch_task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # --- listeners ----------------------------------------------------------------------------

    @callback
    def async_add_listener(self, camera_id: str | None, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call ``update`` when the camera (or, for ``None``, the engine) changes."""
        listeners = self._listeners.setdefault(camera_id, set())
        listeners.add(update)
        return lambda: listeners.discard(update)

    @callback
    def async_add_event_listener(self, camera_id: str, listener: EventListener) -> CALLBACK_TYPE:
        """Call ``listener(notice, event)`` for every start, end and update worth announcing of the camera's events."""
        listeners = self._event_listeners.setdefault(camera_id, set())
        listeners.add(listener)
        return lambda: listeners.discard(listener)

    @callback
    def async_add_cameras_listener(self, listener: CamerasListener) -> CALLBACK_TYPE:
        """Call ``listener(camera_ids)`` after every (re)connection with the cameras then known."""
        self._cameras_listeners.add(listener)
        return lambda: self._cameras_listeners.discard(listener)

    @callback
    def _notify(self, camera_id: str | None) -> None:
        for update in list(self._listeners.get(camera_id, ())):
            update()

    @callback
    def _notify_all(self) -> None:
        for key in list(self._listeners):
            self._notify(key)

    # --- ClientListener -----------------------------------------------------------------------

    @callback
    def on_connected(self, info: ServerInfo, subscription: Subscription) -> None:
        old_ids = set(self.cameras)
        self.info = info
        self.storage = subscription.storage
        self._sync_storage_warnings(subscription.storage)
        self.archive_watch.update(subscription.storage.archive, _now_ms())
        previous = self.cameras
        self.cameras = {}
        for camera in subscription.cameras:
            state = previous.get(camera.camera_id) or CameraState(camera)
            state.camera = camera
            state.forget_objects_unless_tracked()
            self.cameras[camera.camera_id] = state
        if self._was_connected and not self.available:
            LOGGER.info("Reconnected to the Vigil engine at %s", self.client.base_url)
        self.available = True
        self._was_connected = True
        ir.async_delete_issue(self.hass, DOMAIN, f"{ISSUE_SCHEMA_MISMATCH}_{self.entry.entry_id}")
        for camera_id in old_ids - set(self.cameras):
            self._forget_camera(camera_id)
        now = _now_ms()
        for state in self.cameras.values():
            self._check_recording(state, now, initial=True)
            self._check_offline(state.camera)
        if self._first_state.is_set():
            self._register_devices()
            self._remove_stale_devices()
        for listener in list(self._cameras_listeners):
            listener(list(self.cameras))
        self._notify_all()
        self._fetch_task = self.entry.async_create_background_task(
            self.hass, self._async_fetch_latest_events(), "vigil latest events"
        )
        self._first_state.set()

    @callback
    def on_disconnected(self, error: VigilError) -> None:
        if isinstance(error, SchemaVersionMismatch):
            schema_issue(self.hass, self.entry, error)
        if not self.available:
            LOGGER.debug("Still cannot reach the Vigil engine at %s: %s", self.client.base_url, error)
            return
        self.available = False
        if not self._stopping:
            LOGGER.warning("Lost the connection to the Vigil engine at %s: %s", self.client.base_url, error)
        for key in [key for key in self._timers if key[0] == "recording"]:
            self._timers.pop(key)()
        self._notify_all()

    @callback
    def on_event(self, event: EngineEvent) -> None:
        match event:
            case ObjectAppeared() | ObjectUpdated() | ObjectEnded():
                self._on_object(event)
            case MotionChanged():
                self._on_motion(event)
            case EventChanged():
                self._on_event_changed(event)
            case CameraOnline() | CameraOffline():
                self._on_online(event)
            case RecordingChanged(recording=recording):
                self._update_camera(event.camera_id, lambda camera: replace(camera, recording=recording))
            case SegmentWritten(end_ms=end_ms):
                self._update_camera(
                    event.camera_id,
                    lambda camera: replace(
                        camera,
                        last_segment_end_ms=max(end_ms, camera.last_segment_end_ms or 0),
                        segments_written=camera.segments_written + 1,
                    ),
                )
            case CameraSettingsChanged(record_mode=mode, motion_enabled=enabled, objects_enabled=objects):
                self._on_settings(event.camera_id, mode, enabled, objects)
            case StorageWarningChanged():
                self._on_storage_warning(event)
            case CamerasChanged(cameras=cameras):
                self._on_cameras_changed(cameras)
            case _:
                LOGGER.debug("Ignoring engine event %s", event)

    @callback
    def _update_camera(self, camera_id: str, change: Callable[[Camera], Camera]) -> None:
        state = self.cameras.get(camera_id)
        if state is None:
            return
        state.camera = change(state.camera)
        self._check_recording(state, _now_ms())
        self._notify(camera_id)

    async def async_set_record_mode(self, camera_id: str, mode: RecordMode) -> None:
        """Change the record mode; the state follows the engine's answer at once."""
        now = await self.client.set_record_mode(camera_id, mode)
        self._update_camera(camera_id, lambda camera: replace(camera, record_mode=now))

    async def async_set_motion_detection(self, camera_id: str, enabled: bool) -> None:
        """Turn motion detection on or off; the state follows the engine's answer at once."""
        now = await self.client.set_motion_detection(camera_id, enabled)
        self._update_camera(camera_id, lambda camera: replace(camera, motion_enabled=now))

    async def async_set_object_detection(self, camera_id: str, enabled: bool) -> None:
        """Turn object detection on or off; the state follows the engine's answer at once."""
        now = await self.client.set_object_detection(camera_id, enabled)
        state = self.cameras.get(camera_id)
        if state is not None:
            self._set_objects_enabled(state, now)
            self._notify(camera_id)
        if now:
            # Whether the detector works is in the camera's state only: ask for it now rather
            # than at the next statistics poll (the sensors are unavailable until it is known).
            self.entry.async_create_background_task(
                self.hass, self._async_refresh_detection(camera_id), f"vigil detection {camera_id}"
            )

    async def _async_refresh_detection(self, camera_id: str) -> None:
        """Whether the detector works, from the engine (it pushes no event for it)."""
        await self._async_refresh_from_engine(camera_id, _with_detection)

    @callback
    def _on_settings(self, camera_id: str, mode: RecordMode, motion: bool, objects: bool) -> None:
        state = self.cameras.get(camera_id)
        if state is None:
            return
        self._set_objects_enabled(state, objects)
        self._update_camera(camera_id, lambda camera: replace(camera, record_mode=mode, motion_enabled=motion))

    @staticmethod
    def _set_objects_enabled(state: CameraState, enabled: bool) -> None:
        camera = state.camera
        detection = camera.detection
        if detection is not None and detection.enabled != enabled:
            detection = replace(detection, enabled=enabled)
        state.camera = replace(camera, objects_enabled=enabled, detection=detection)
        if not enabled:
            # Switched off, the engine ends every tracked object (object_ended follows).
            state.objects.clear()

    @callback
    def _on_object(self, change: ObjectChanged) -> None:
        state = self.cameras.get(change.camera_id)
        if state is None:
            return
        tracked = change.object
        if isinstance(change, ObjectEnded):
            if state.objects.pop(tracked.id, None) is None:
                return
        else:
            state.objects[tracked.id] = tracked
            detection = state.camera.detection
            if detection is not None and not detection.available:
                # An object found is proof the detector works (the flag comes with polls only).
                state.camera = replace(state.camera, detection=replace(detection, available=True, error=None))
        self._notify(change.camera_id)

    @callback
    def _on_motion(self, event: MotionChanged) -> None:
        state = self.cameras.get(event.camera_id)
        if state is None:
            return
        camera = state.camera
        if event.zone is None:
            state.camera = replace(camera, motion_active=event.active)
        else:
            zones = set(camera.zones_active)
            if event.active:
                zones.add(event.zone)
            else:
                zones.discard(event.zone)
            state.camera = replace(camera, zones_active=tuple(sorted(zones)))
        self._notify(event.camera_id)

    @callback
    def _camera_identity_changed(self, camera_id: str) -> None:
        """An ONVIF camera told what it is (once connected): its device shows it."""
        if self.engine_device_id:  # else the devices are registered with the first state
            registry = dr.async_get(self.hass)
            registry.async_get_or_create(config_entry_id=self.entry.entry_id, **self.camera_device_info(camera_id))
        for listener in list(self._cameras_listeners):
            listener(list(self.cameras))  # platforms that depend on it (PTZ presets) look again

    async def _async_refresh_camera(self, camera_id: str) -> None:
        """An ONVIF camera's device information and PTZ, from the engine, once its streams are found."""
        await self._async_refresh_from_engine(camera_id, _with_identity, self._camera_identity_changed)

    async def _async_refresh_from_engine(
        self,
        camera_id: str,
        take: Callable[[Camera, Camera], Camera],
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        """Fetch the camera from the engine and take part of it: ``take(ours, fresh)`` says which part.

        Only a change is applied: then ``on_change(camera_id)`` runs first (the device registry,
        platforms that depend on it), and the camera's entities are called back. A camera removed
        meanwhile is left alone; an engine that does not answer leaves ours as it is.
        """
        try:
            fresh = await self.client.get_camera(camera_id)
        except VigilError as err:
            LOGGER.debug("Cannot refresh camera %s: %s", camera_id, err)
            return
        state = self.cameras.get(camera_id)
        if state is None or (updated := take(state.camera, fresh)) == state.camera:
            return
        state.camera = updated
        if on_change is not None:
            on_change(camera_id)
        self._notify(camera_id)

    @callback
    def _on_online(self, event: CameraOnline | CameraOffline) -> None:
        online = isinstance(event, CameraOnline)
        error = event.error if isinstance(event, CameraOffline) else None
        state = self.cameras.get(event.camera_id)
        if state is None:
            return
        state.camera = replace(state.camera, online=online, since_ms=_now_ms(), last_error=error)
        if online and state.camera.onvif and state.camera.device is None:
            # Its device information became known when its streams were found, just now.
            self.entry.async_create_background_task(
                self.hass, self._async_refresh_camera(event.camera_id), f"vigil refresh {event.camera_id}"
            )
        if not online:
            # Nothing is written or detected without a stream (the engine sends no "recording"
            # event for that: its status flag is cleared silently).
            state.camera = replace(state.camera, recording=False, motion_active=False, zones_active=())
            # Its tracked objects stay as the engine keeps them (their sensors are unavailable while
            # it is offline): the engine ends them with object_ended, or still tracks them when the
            # stream is back, and a person who stays where she was is not announced again.
        self._check_offline(state.camera)
        self._check_recording(state, _now_ms())
        self._notify(event.camera_id)

    @callback
    def _on_event_changed(self, change: EventChanged) -> None:
        event = change.event
        state = self.cameras.get(event.camera_id)
        if state is None:
            return
        if state.last_event is None or event.start_ms >= state.last_event.start_ms or event.id == state.last_event.id:
            state.last_event = event
        if event.has_snapshot and (
            state.snapshot_event is None
            or event.start_ms >= state.snapshot_event.start_ms
            or event.id == state.snapshot_event.id
        ):
            state.snapshot_event = event
            state.snapshot_updated = dt_util.utcnow()
        if event.has_snapshot:
            for group in event_groups(event):
                known = state.group_snapshots.get(group)
                if known is None or event.start_ms >= known[0].start_ms or event.id == known[0].id:
                    state.group_snapshots[group] = (event, dt_util.utcnow())
        notice = event_notice(change.NAME, event, self._announced.get(event.id))
        if notice is not None:
            if notice.phase == "end":
                self._announced.pop(event.id, None)
            else:
                while len(self._announced) >= MAX_ANNOUNCED_EVENTS:  # ends missed while disconnected
                    self._announced.pop(next(iter(self._announced)))
                self._announced[event.id] = event
            for listener in list(self._event_listeners.get(event.camera_id, ())):
                listener(notice, event)
            fire_bus_event(self, notice, event)
        self._notify(event.camera_id)

    # --- storage warnings ---------------------------------------------------------------------

    @callback
    def _sync_storage_warnings(self, storage: Storage) -> None:
        """Match the repair issues to the warnings in force (some may have changed while we were away)."""
        current = {warning.code for warning in storage.warnings}
        for code in set(self.storage_warnings) - current:
            self._on_storage_warning(StorageWarningChanged(code=code, active=False))
        for warning in storage.warnings:
            if self.storage_warnings.get(warning.code) != warning.message:
                self._on_storage_warning(StorageWarningChanged(code=warning.code, message=warning.message))

    @callback
    def _on_storage_warning(self, warning: StorageWarningChanged) -> None:
        issue_id = f"{ISSUE_STORAGE}_{warning.code}_{self.entry.entry_id}"
        if not warning.active:
            self.storage_warnings.pop(warning.code, None)
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
        else:
            LOGGER.debug("Storage warning %s: %s", warning.code, warning.message)
            self.storage_warnings[warning.code] = warning.message
            known = warning.code in STORAGE_WARNING_CODES
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR if warning.code == "storage_full" else ir.IssueSeverity.WARNING,
                translation_key=warning.code if known else "storage_warning",
                translation_placeholders={"title": self.entry.title, "message": warning.message, "code": warning.code},
            )
        self._notify(None)

    # --- cameras that stop recording or stay offline ------------------------------------------

    def recording_problem(self, camera_id: str) -> bool:
        """The camera should record but has written nothing for longer than the threshold."""
        since = self.cameras[camera_id].not_recording_since_ms
        return since is not None and _now_ms() - since >= self.recording_threshold_ms

    @callback
    def _check_recording(self, state: CameraState, now: int, *, initial: bool = False) -> None:
        camera = state.camera
        key = ("recording", camera.camera_id)
        should_record = camera.enabled and camera.record_mode is not RecordMode.OFF
        if not should_record or camera.recording:
            state.not_recording_since_ms = None
        elif state.not_recording_since_ms is None:
            # On (re)connection the last footage tells how long it has been; later, now.
            last = camera.last_segment_end_ms if initial else None
            state.not_recording_since_ms = last or now
        if (cancel := self._timers.pop(key, None)) is not None:
            cancel()
        since = state.not_recording_since_ms
        if since is not None and now - since < self.recording_threshold_ms:
            delay = (since + self.recording_threshold_ms - now) / 1000
            self._timers[key] = async_call_later(
                self.hass, delay, HassJob(self._recording_due(camera.camera_id), cancel_on_shutdown=True)
            )

    def _recording_due(self, camera_id: str) -> Callable[[datetime], None]:
        @callback
        def due(_now: datetime) -> None:
            self._timers.pop(("recording", camera_id), None)
            self._notify(camera_id)

        return due

    @callback
    def _check_offline(self, camera: Camera) -> None:
        key = ("offline", camera.camera_id)
        issue_id = f"{ISSUE_CAMERA_OFFLINE}_{self.entry.entry_id}_{camera.camera_id}"
        if (cancel := self._timers.pop(key, None)) is not None:
            cancel()
        if camera.online or not camera.enabled:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            return
        since = camera.since_ms or _now_ms()
        remaining = since + self.offline_issue_ms - _now_ms()
        if remaining <= 0:
            self._create_offline_issue(camera)
        else:
            self._timers[key] = async_call_later(
                self.hass, remaining / 1000, HassJob(self._offline_due(camera.camera_id), cancel_on_shutdown=True)
            )

    def _offline_due(self, camera_id: str) -> Callable[[datetime], None]:
        @callback
        def due(_now: datetime) -> None:
            self._timers.pop(("offline", camera_id), None)
            if (state := self.cameras.get(camera_id)) is not None and not state.camera.online:
                self._create_offline_issue(state.camera)

        return due

    @callback
    def _create_offline_issue(self, camera: Camera) -> None:
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            f"{ISSUE_CAMERA_OFFLINE}_{self.entry.entry_id}_{camera.camera_id}",
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="camera_offline",
            translation_placeholders={
                "camera": camera.name,
                "title": self.entry.title,
                "since": dt_util.as_local(dt_util.utc_from_timestamp((camera.since_ms or _now_ms()) / 1000)).strftime(
                    "%Y-%m-%d %H:%M"
                ),
                "error": camera.last_error or "-",
            },
        )

    @callback
    def _on_cameras_changed(self, cameras: tuple[Camera, ...]) -> None:
        """A camera was added or removed at run time: devices and entities follow without a reload."""
        previous = self.cameras
        self.cameras = {}
        for camera in cameras:
            state = previous.get(camera.camera_id) or CameraState(camera)
            state.camera = camera
            self.cameras[camera.camera_id] = state
        for camera_id in set(previous) - set(self.cameras):
            LOGGER.info("The Vigil engine removed camera %s", camera_id)
            self._forget_camera(camera_id)
        now = _now_ms()
        for camera_id in set(self.cameras) - set(previous):
            LOGGER.info("The Vigil engine added camera %s", camera_id)
            self._check_recording(self.cameras[camera_id], now, initial=True)
            self._check_offline(self.cameras[camera_id].camera)
        # Events come only after the first state, so the devices are registered already.
        self._register_devices()
        self._remove_stale_devices()
        for listener in list(self._cameras_listeners):
            listener(list(self.cameras))
        # Not the removed cameras' entities: they are on their way out with their devices.
        for key in [key for key in self._listeners if key is None or key in self.cameras]:
            self._notify(key)

    @callback
    def _forget_camera(self, camera_id: str) -> None:
        self.snoozes.async_forget(camera_id)
        for kind in ("recording", "offline"):
            if (cancel := self._timers.pop((kind, camera_id), None)) is not None:
                cancel()
        ir.async_delete_issue(self.hass, DOMAIN, f"{ISSUE_CAMERA_OFFLINE}_{self.entry.entry_id}_{camera_id}")

    # --- what the engine does not push --------------------------------------------------------

    async def _async_fetch_latest_events(self) -> None:
        """The newest event (and newest with a snapshot) of every camera, for a fresh start."""

        async def fetch(camera_id: str) -> None:
            try:
                page = await self.client.list_events(camera_id=camera_id, limit=10)
            except VigilError as err:
                LOGGER.debug("Cannot list the events of %s: %s", camera_id, err)
                return
            state = self.cameras.get(camera_id)
            if state is None or not page.events:
                return
            newest = page.events[0]
            if state.last_event is None or newest.start_ms > state.last_event.start_ms:
                state.last_event = newest
            with_snapshot = next((event for event in page.events if event.has_snapshot), None)
            if with_snapshot is not None and (
                state.snapshot_event is None or with_snapshot.start_ms > state.snapshot_event.start_ms
            ):
                state.snapshot_event = with_snapshot
                state.snapshot_updated = with_snapshot.end or with_snapshot.start
            self._notify(camera_id)

        async def fetch_group(camera_id: str, group: str) -> None:
            try:
                page = await self.client.list_events(camera_id=camera_id, label=group, limit=10)
            except VigilError as err:
                LOGGER.debug("Cannot list the %s events of %s: %s", group, camera_id, err)
                return
            state = self.cameras.get(camera_id)
            with_snapshot = next((event for event in page.events if event.has_snapshot), None)
            if state is None or with_snapshot is None:
                return
            known = state.group_snapshots.get(group)
            if known is None or with_snapshot.start_ms > known[0].start_ms:
                state.group_snapshots[group] = (with_snapshot, with_snapshot.end or with_snapshot.start)
                self._notify(camera_id)

        fetches = [fetch(camera_id) for camera_id in list(self.cameras)]
        if self.has_objects:  # older engines know no labels to filter by
            fetches += [
                fetch_group(camera_id, group)
                for camera_id, state in list(self.cameras.items())
                for group in state.groups
            ]
        await asyncio.gather(*fetches)

    async def _async_poll_stats(self, _now: datetime | None = None) -> None:
        if not self.available:
            return
        try:
            cameras = await self.client.list_cameras()
            storage = await self.client.get_storage()
        except VigilError as err:
            LOGGER.debug("Cannot refresh statistics: %s", err)
            return
        for fresh in cameras:
            state = self.cameras.get(fresh.camera_id)
            if state is None:
                continue
            old = state.camera
            new = replace(
                old,
                fps=fresh.fps,
                bitrate=fresh.bitrate,
                video_codec=fresh.video_codec,
                width=fresh.width,
                height=fresh.height,
                audio_codec=fresh.audio_codec,
                segments_written=fresh.segments_written,
                reconnects=fresh.reconnects,
                last_segment_end_ms=max(old.last_segment_end_ms or 0, fresh.last_segment_end_ms or 0) or None,
                device=fresh.device,
                ptz=fresh.ptz,
                objects_enabled=fresh.objects_enabled,
                objects=fresh.objects,
                events_from=fresh.events_from,
                detection=fresh.detection,
            )
            state.camera = new
            forgot = state.forget_objects_unless_tracked()
            if new != old or forgot:
                if (new.device, new.ptz) != (old.device, old.ptz):
                    self._camera_identity_changed(fresh.camera_id)
                self._notify(fresh.camera_id)
        if storage != self.storage:
            self.storage = storage
            self._sync_storage_warnings(storage)
            self.archive_watch.update(storage.archive, _now_ms())
            self._notify(None)
