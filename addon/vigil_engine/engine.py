"""The engine: reconciles storage, runs one worker per camera, the retention loop and, when
configured, the off-site archive's uploader (its own thread; recording never waits for it)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .bus import BusMessage, EventBus
from .clock import EngineClock
from .config import RECORD_MODES, CameraConfig, EngineConfig, RecordMode, parse_camera
from .detection.model import ModelError
from .detection.settings import check_model, no_model_installed
from .events.manager import CameraEvents, EventManager
from .events.model import EventRecord
from .ingest.worker import CameraWorker
from .motion.worker import MotionWorker
from .redact import with_credentials
from .retention.enforcer import RetentionEnforcer
from .running_camera import RunningCamera
from .runtime_cameras import FILE_NAME as RUNTIME_CAMERAS_FILE
from .runtime_cameras import RuntimeCameras
from .status import StorageStatus
from .storage.index import Index
from .storage.lock import StorageLock
from .storage.reconcile import ReconcileReport, reconcile

if TYPE_CHECKING:
    from .archive.restore import RestoreJob
    from .archive.settings import CameraCopy
    from .archive.uploader import Uploader
    from .detection.camera import CameraObjects
    from .detection.service import DetectionService
    from .onvif.camera import OnvifCamera
    from .onvif.topics import CameraDetection

_LOGGER = logging.getLogger(__name__)

Listener = Callable[[str, dict[str, Any]], None]


class UnknownCameraError(KeyError):
    """No camera with that id is configured."""


class EventStateError(RuntimeError):
    """The command does not fit the event's state (e.g. ending an event that is not running)."""


class CameraUnavailableError(RuntimeError):
    """The camera cannot do that now (an ONVIF camera not connected yet) or at all (no PTZ)."""


class CameraExistsError(ValueError):
    """A camera with that id is configured already."""


class ConfigCameraError(ValueError):
    """The camera comes from the configuration file: only editing the file removes it."""


class Engine:
    def __init__(self, config: EngineConfig, clock: EngineClock | None = None) -> None:
        self.config = config
        self.clock = clock or EngineClock()
        self.index: Index | None = None
        # Every camera, in configuration order (then those added at run time).
        self.cameras: dict[str, RunningCamera] = {cam.id: RunningCamera(cam) for cam in config.cameras}
        self.storage_status = StorageStatus()
        self.reconcile_report: ReconcileReport | None = None
        self._storage_lock = StorageLock(config.storage_path)
        self.retention: RetentionEnforcer | None = None
        self.bus = EventBus()
        self.events: EventManager | None = None
        # One object detector for every camera; None while no camera detects objects, or when
        # the model cannot be used (detection_error says why; recording goes on regardless).
        self.detection: DetectionService | None = None
        self.detection_error: str | None = None
        # The off-site archive's uploader; None when no archive is configured.
        self.archive: Uploader | None = None
        # The restore from the archive running now, or the last one (``api.archive_commands``).
        self.archive_restore: RestoreJob | None = None
        self.instance_id = ""
        self._settings_lock = threading.Lock()
        self._retention_wakeup: asyncio.Event | None = None
        self._retention_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        # Cameras added at run time through the API (kept beside the index database).
        self.runtime = RuntimeCameras(config.db_path.parent / RUNTIME_CAMERAS_FILE)
        self._cameras_lock = asyncio.Lock()

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """A callback run in the publishing thread for every bus message (kind, data)."""

        def adapter(message: BusMessage) -> None:
            listener(message.kind, message.data)

        return self.bus.add_listener(adapter)

    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        self.bus.publish(kind, data)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        for cam in await asyncio.to_thread(self.runtime.load):
            if cam.id in self.cameras:
                _LOGGER.warning(
                    "Camera %s added at run time is dropped: the configuration has a camera with that id, which wins",
                    cam.id,
                )
                await asyncio.to_thread(self.runtime.remove, cam.id)
                continue
            self._register(cam)
        cfg = self.config
        cfg.recordings_path.mkdir(parents=True, exist_ok=True)
        _LOGGER.info(
            "Vigil engine %s starting: %d cameras, storage %s, segments of %g s",
            __version__,
            len(cfg.cameras),
            cfg.storage_path,
            cfg.segment_seconds,
        )
        self.bus.bind(self._loop)
        # Before the index is opened: another engine, or an ``archive restore``, may be using it.
        await asyncio.to_thread(self._storage_lock.acquire)
        index, rebuilt_from = await asyncio.to_thread(Index.open, cfg.db_path)
        index.archived_only_playable = cfg.archive is not None
        self.index = index
        self.instance_id = await asyncio.to_thread(index.instance_id)
        self.reconcile_report = await asyncio.to_thread(reconcile, index, cfg.recordings_path, rebuilt_from)
        now = self.clock.now_ms()
        for cam in cfg.cameras:
            await asyncio.to_thread(index.upsert_camera, cam.id, cam.name, now)
            await asyncio.to_thread(self._load_settings, cam.id)
        self.events = EventManager(cfg, index, self.clock, self._emit)
        await asyncio.to_thread(self.events.close_interrupted)
        self.retention = RetentionEnforcer(
            cfg, index, self.clock, self.storage_status, events=self.events, publish=self._emit
        )
        for cam in cfg.cameras:
            self.retention.set_record_mode(cam.id, self.cameras[cam.id].record_mode)
        for camera_id, days in self.runtime.removed.items():
            if camera_id not in self.cameras:
                self.retention.retire(camera_id, days)
        await asyncio.to_thread(self.retention.run_once)
        await asyncio.to_thread(self._open_detection)
        await asyncio.to_thread(self._open_archive)
        for cam in cfg.cameras:
            if not cam.enabled:
                continue
            if cam.onvif is not None:
                self._start_onvif(cam)
            else:
                self._start_camera(cam)
        self._retention_wakeup = asyncio.Event()
        self._retention_task = asyncio.create_task(self._retention_loop(), name="retention")

    def _start_camera(self, cam: CameraConfig) -> None:
        """Start recording and motion detection of a camera whose stream URLs are known."""
        camera = self.cameras.get(cam.id)
        if self._stopping or self.index is None or self.events is None or camera is None:
            return
        cfg = self.config
        camera.resolved = cam
        worker = CameraWorker(
            cam,
            cfg,
            self.index,
            self.clock,
            camera.status,
            on_change=self._emit,
            on_disk_error=self.request_cleanup,
        )
        worker.set_recording(camera.record_mode != "off")
        camera.worker = worker
        camera.objects = self._camera_objects(camera, cam)
        motion = MotionWorker(cam, cfg, self.clock, self.events, self._emit, worker, camera.objects)
        motion.set_enabled(camera.detector_on)
        camera.motion = motion
        worker.start()
        motion.start()

    # --- object detection ---
    def _open_detection(self) -> None:
        """Start the detection service if a camera detects objects and the model is usable.

        The model file is checked here, in milliseconds: a configured one that is missing or
        invalid is one ERROR line (no model installed at all, one INFO line), and the cameras
        record and detect motion without objects. The runtime loads in the service's own thread,
        so the engine's start never waits for it."""
        if self.detection is not None or self._stopping:
            return
        if not any(camera.objects_enabled and camera.config.objects.labels for camera in self.cameras.values()):
            return
        missing = no_model_installed(self.config.detector)
        if missing is not None:
            reason = f"no detection model is installed ({missing} is not there; detector.model names one)"
            if self.detection_error != reason:
                _LOGGER.info("Object detection is off: %s", reason)
            self.detection_error = reason
            return
        try:
            check_model(self.config.detector)
        except ModelError as err:
            if self.detection_error != str(err):
                _LOGGER.error("Object detection is unavailable: %s (recording and motion detection go on)", err)
            self.detection_error = str(err)
            return
        from .detection.service import DetectionService  # noqa: PLC0415 - numpy and the runtime only when used

        self.detection_error = None
        self.detection = DetectionService(self.config.detector)
        self.detection.start()

    # --- the off-site archive ---
    def _open_archive(self) -> None:
        """Start the uploader when an archive is configured. It reads closed segments from the
        index; a new segment wakes it (the recorder's ``segment`` message)."""
        settings = self.config.archive
        if settings is None or self.index is None:
            return
        # Imported here: the archive's modules load only when an archive is configured.
        from .archive.queue import ArchiveQueue  # noqa: PLC0415
        from .archive.uploader import Uploader  # noqa: PLC0415

        uploader = Uploader(settings, ArchiveQueue(self.index), self.config.recordings_path, self._archive_copies)

        def on_segment(message: BusMessage) -> None:
            if message.kind == "segment":
                uploader.wake()

        self.bus.add_listener(on_segment)
        uploader.start()
        self.archive = uploader
        _LOGGER.info(
            "Archive: copying %s footage to bucket %s at %s%s",
            "event" if settings.copy == "events" else "all",
            settings.bucket,
            settings.endpoint,
            ", encrypted" if settings.encrypted else "",
        )

    def _archive_copies(self) -> dict[str, CameraCopy]:
        """What the archive copies of each camera now (cameras whose copy is off left out)."""
        settings = self.config.archive
        if settings is None:
            return {}
        copies = {camera_id: camera.archive_copy(settings.copy) for camera_id, camera in list(self.cameras.items())}
        return {camera_id: copy for camera_id, copy in copies.items() if copy != "off"}

    def archive_state(self) -> dict[str, Any]:
        """The archive's state for the status: never a credential or the key."""
        if self.archive is None:
            return {"enabled": False}
        state = self.archive.state()
        if self.archive_restore is not None:
            state["restore"] = self.archive_restore.state()
        return state

    def _camera_objects(self, camera: RunningCamera, cam: CameraConfig) -> CameraObjects | None:
        """The camera's object pipeline, or None without a detection service."""
        if self.detection is None or self.events is None or not cam.objects.labels:
            return None
        from .detection.camera import CameraObjects  # noqa: PLC0415 - see _open_detection

        objects = CameraObjects(cam, self.detection, self.events.camera(cam.id), self._emit)
        objects.set_enabled(camera.objects_enabled)
        return objects

    def _start_onvif(self, cam: CameraConfig) -> None:
        """Resolve the camera's streams over ONVIF in the background, then start it; run its events."""
        # Imported here: zeep and the ONVIF client load only when a camera uses ONVIF.
        from .onvif.camera import OnvifCamera  # noqa: PLC0415
        from .onvif.feed import CameraEventFeed  # noqa: PLC0415

        assert self.events is not None
        camera = self.cameras[cam.id]
        feed = CameraEventFeed(
            cam.id,
            self.events.camera(cam.id),
            self.clock,
            self._emit,
            starts_events=lambda: cam.motion_source != "own" and camera.motion_enabled,
            frame_source=lambda: self._latest_frame(cam.id),
        )
        camera.feed = feed

        def on_detection(detection: CameraDetection) -> None:
            feed.detection(detection)

        onvif = OnvifCamera(cam, camera.status, self._start_camera, on_detection)
        camera.onvif = onvif
        onvif.start()

    # --- cameras added and removed at run time (API) ---
    def _register(self, cam: CameraConfig) -> None:
        """Make a camera known (status, settings, config); its workers start separately."""
        self.config = replace(self.config, cameras=(*self.config.cameras, cam))
        self.cameras[cam.id] = RunningCamera(cam)
        # The event manager and retention read the camera list from the config they were given.
        for part in (self.events, self.retention):
            if part is not None:
                part.config = self.config

    def _unregister(self, camera_id: str) -> None:
        self.config = replace(self.config, cameras=tuple(c for c in self.config.cameras if c.id != camera_id))
        self.cameras.pop(camera_id, None)
        for part in (self.events, self.retention):
            if part is not None:
                part.config = self.config

    def _cameras_changed(self, added: list[str], removed: list[str]) -> None:
        self._emit(
            "cameras_changed",
            {
                "added": added,
                "removed": removed,
                "cameras": [self.camera_state(camera_id) for camera_id in self.cameras],
            },
        )

    async def add_camera(self, entry: dict[str, Any], check: Callable[[CameraConfig], Any] | None = None) -> str:
        """Add a camera at run time (``entry``: the config file's camera schema) and start it.

        ``check(camera)``, awaited before anything changes, may refuse the camera by raising
        (the API connects to an ONVIF camera first). Raises :class:`ConfigError` for an
        invalid entry and :class:`CameraExistsError` for a taken id. Returns the camera id.
        """
        if self.index is None or self.events is None or self.retention is None or self._stopping:
            raise CameraUnavailableError("the engine is not running")
        cam = parse_camera(entry, "camera")
        async with self._cameras_lock:
            if cam.id in self.cameras:
                where = "added at run time" if cam.id in self.runtime else "in the configuration"
                raise CameraExistsError(f"a camera with id {cam.id!r} exists already ({where})")
            if check is not None:
                await check(cam)
            await asyncio.to_thread(self.runtime.add, cam.id, entry)
            self._register(cam)
            # The given settings win over any a removed camera of the same id left in the index.
            await asyncio.to_thread(self.index.upsert_camera, cam.id, cam.name, self.clock.now_ms())
            await asyncio.to_thread(self.index.set_camera_setting, cam.id, "record_mode", cam.record)
            await asyncio.to_thread(
                self.index.set_camera_setting, cam.id, "motion_enabled", "1" if cam.motion.enabled else "0"
            )
            await asyncio.to_thread(
                self.index.set_camera_setting, cam.id, "objects_enabled", "1" if cam.objects.enabled else "0"
            )
            self.events.cameras[cam.id] = CameraEvents(self.events, cam)
            self.retention.set_record_mode(cam.id, cam.record)
            await asyncio.to_thread(self._open_detection)
            if cam.enabled:
                if cam.onvif is not None:
                    self._start_onvif(cam)
                else:
                    self._start_camera(cam)
            _LOGGER.info("Camera %s added at run time (%s)", cam.id, cam.onvif.address if cam.onvif else "stream URL")
            self._cameras_changed([cam.id], [])
        return cam.id

    async def remove_camera(self, camera_id: str) -> None:
        """Stop and forget a camera added at run time; its footage stays until retention deletes it."""
        async with self._cameras_lock:
            self._check_camera(camera_id)
            if camera_id not in self.runtime:
                raise ConfigCameraError(
                    f"camera {camera_id} comes from the configuration file: remove it there "
                    "(the add-on's options), then restart the engine"
                )
            days = self.config.camera(camera_id).retention_days
            await self._stop_camera(camera_id)
            await asyncio.to_thread(self.runtime.remove, camera_id, days)
            self._unregister(camera_id)
            if self.retention is not None:
                self.retention.retire(camera_id, days)
            _LOGGER.info("Camera %s removed; its footage is kept until retention deletes it", camera_id)
            self._cameras_changed([], [camera_id])

    async def _stop_camera(self, camera_id: str) -> None:
        """Stop one camera's workers (the open segment is finished and indexed) and end its events."""
        camera = self.cameras[camera_id]
        feed, onvif, motion, worker = camera.feed, camera.onvif, camera.motion, camera.worker
        camera.feed = camera.onvif = camera.motion = camera.worker = None
        if feed is not None:
            await feed.close()
        if onvif is not None:
            await onvif.close()
        for part in (motion, worker):
            if part is not None:
                part.stop()
        for part in (motion, worker):
            if part is not None:
                await asyncio.to_thread(part.join, self.config.read_timeout + 5)
        if self.events is not None and (events := self.events.cameras.pop(camera_id, None)) is not None:
            await asyncio.to_thread(events.end_all, self.clock.now_ms())

    def _latest_frame(self, camera_id: str) -> Any:
        camera = self.cameras.get(camera_id)
        motion = camera.motion if camera is not None else None
        return motion.latest_frame() if motion is not None else None

    def onvif_camera(self, camera_id: str) -> OnvifCamera:
        """The camera's ONVIF session holder; :class:`CameraUnavailableError` for a camera without ONVIF."""
        self._check_camera(camera_id)
        onvif = self.cameras[camera_id].onvif
        if onvif is None:
            reason = "is disabled" if not self.config.camera(camera_id).enabled else "has no onvif address"
            raise CameraUnavailableError(f"camera {camera_id} {reason}")
        return onvif

    def request_cleanup(self) -> None:
        """Run retention now (thread-safe): a write failed, perhaps for want of space."""
        if self._loop is not None and self._retention_wakeup is not None:
            self._loop.call_soon_threadsafe(self._retention_wakeup.set)

    async def _retention_loop(self) -> None:
        assert self._retention_wakeup is not None
        assert self.retention is not None
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._retention_wakeup.wait(), self.config.retention_interval)
            self._retention_wakeup.clear()
            if self._stopping:
                return
            try:
                await asyncio.to_thread(self.retention.run_once)
            except Exception:  # retention must keep running; the error is logged in full
                _LOGGER.exception("Retention pass failed")

    async def stop(self) -> None:
        _LOGGER.info("Vigil engine stopping")
        # Not cancelled: a pass runs in a thread that cancelling would not stop, and it must
        # not delete files after the index is closed (their rows would outlive them).
        self._stopping = True
        if self.archive is not None:
            self.archive.stop()  # a request in flight ends at its next block; the queue resumes it
        if self.archive_restore is not None:
            self.archive_restore.cancel()  # ends after the object in hand; a rerun resumes
        cameras = list(self.cameras.values())
        for camera in cameras:
            if camera.feed is not None:
                await camera.feed.close()
        for camera in cameras:
            if camera.onvif is not None:
                await camera.onvif.close()
        if self._retention_task is not None and self._retention_wakeup is not None:
            self._retention_wakeup.set()
            await self._retention_task
        motions = [camera.motion for camera in cameras if camera.motion is not None]
        workers = [camera.worker for camera in cameras if camera.worker is not None]
        for motion in motions:
            motion.stop()
        for worker in workers:
            worker.stop()
        for motion in motions:
            await asyncio.to_thread(motion.join, self.config.read_timeout + 5)
        # Each worker finishes its segment (close, fsync, index) before its thread ends.
        for worker in workers:
            await asyncio.to_thread(worker.join, self.config.read_timeout + 5)
        if self.detection is not None:
            await asyncio.to_thread(self.detection.stop)
        if self.events is not None:
            # Running events end with the footage: their post-capture is what was recorded.
            await asyncio.to_thread(self.events.end_all, "engine stopped")
        if self.archive is not None:
            await asyncio.to_thread(self.archive.join)
        if self.archive_restore is not None:
            await asyncio.to_thread(self.archive_restore.join)
        if self.index is not None:
            if self.retention is not None:
                self.retention.refresh_status()
            self.index.close()
            self.index = None
        self._storage_lock.release()
        _LOGGER.info("Vigil engine stopped")

    def status(self) -> dict[str, Any]:
        if self.retention is not None and self.index is not None:
            self.retention.refresh_status()
        return {
            "version": __version__,
            "cameras": {cid: self.camera_state(cid) for cid in self.cameras},
            "storage": self.storage_status.as_dict(),
            "detection": self.detection_state(),
            "archive": self.archive_state(),
        }

    def detection_state(self) -> dict[str, Any]:
        """The object detector: in use, why not, and how much it has done."""
        service = self.detection
        return {
            "running": service is not None,
            "available": service is not None and service.error is None,
            "error": service.error if service is not None else self.detection_error,
            "backend": self.config.detector.backend,
            "inferences": service.inferences if service is not None else 0,
            "queued": service.queued() if service is not None else 0,
        }

    # --- the facade used by the API (all ids validated here; unknown ids raise) ---
    def camera_ids(self) -> list[str]:
        return [cam.id for cam in self.config.cameras]

    def _check_camera(self, camera_id: str) -> None:
        if camera_id not in self.cameras:
            raise UnknownCameraError(camera_id)

    def camera_state(self, camera_id: str) -> dict[str, Any]:
        """Status plus run-time settings of one camera; never holds a credential."""
        self._check_camera(camera_id)
        camera = self.cameras[camera_id]
        cam = camera.config
        state = camera.status.as_dict()
        motion = camera.motion
        state.update(
            record_mode=camera.record_mode,
            motion_enabled=camera.motion_enabled,
            motion_active=motion.motion_active if motion is not None else False,
            zones=[zone.name for zone in cam.motion.zones],
            zones_active=sorted(motion.active_zones) if motion is not None else [],
            has_substream=cam.substream_url is not None,
            enabled=cam.enabled,
            retention_days=cam.retention_days,
            event_retention_days=cam.events.retention_days,
            pre_capture=cam.events.pre_capture,
            post_capture=cam.events.post_capture,
            motion_source=cam.motion_source,
            objects_enabled=camera.objects_enabled,
            objects=sorted(cam.objects.labels),
            events_from=cam.events.events_from,
            detection=self._camera_detection(camera),
            onvif=cam.onvif is not None,
            origin="api" if camera_id in self.runtime else "config",
            device=None,
            ptz=False,
        )
        onvif = camera.onvif
        if onvif is not None and onvif.resolved is not None:
            state.update(
                device=onvif.resolved.info.as_dict(),
                ptz=onvif.resolved.has_ptz,
                has_substream=camera.resolved is not None and camera.resolved.substream_url is not None,
            )
        return state

    def _camera_detection(self, camera: RunningCamera) -> dict[str, Any]:
        """The camera's object detection: on or off, working or why not, and its counters
        (``frames_skipped``: frames the busy detector dropped)."""
        objects = camera.objects
        if objects is not None:
            return objects.status()
        error = self.detection_error if camera.objects_enabled and camera.config.objects.labels else None
        return {
            "enabled": camera.objects_enabled,
            "available": False,
            "error": error,
            "frames_detected": 0,
            "frames_skipped": 0,
            "objects_tracked": 0,
            "latency_p50_ms": None,
            "latency_p95_ms": None,
        }

    def stream_url(self, camera_id: str, substream: bool = False) -> str:
        """The camera's stream URL *with credentials*, for a client that plays it directly
        (Home Assistant's stream). Only the authenticated API's dedicated command returns it."""
        self._check_camera(camera_id)
        cam = self.cameras[camera_id].resolved
        if cam is None:
            reason = self.cameras[camera_id].status.last_error or "not connected yet"
            raise CameraUnavailableError(f"camera {camera_id}: its ONVIF stream address is unknown: {reason}")
        url = cam.substream_url if substream and cam.substream_url else cam.url
        return with_credentials(url, cam.username, cam.password)

    def record_mode(self, camera_id: str) -> RecordMode:
        self._check_camera(camera_id)
        return self.cameras[camera_id].record_mode

    def motion_enabled(self, camera_id: str) -> bool:
        self._check_camera(camera_id)
        return self.cameras[camera_id].motion_enabled

    def _load_settings(self, camera_id: str) -> None:
        assert self.index is not None
        camera = self.cameras[camera_id]
        saved = self.index.camera_settings(camera_id)
        mode = saved.get("record_mode")
        if mode in RECORD_MODES:
            camera.record_mode = mode
        if "motion_enabled" in saved:
            camera.motion_enabled = saved["motion_enabled"] == "1"
        if "objects_enabled" in saved:
            camera.objects_enabled = saved["objects_enabled"] == "1"
        camera.status.record_mode = camera.record_mode

    def _settings_changed(self, camera_id: str) -> None:
        self._emit(
            "camera_settings",
            {
                "camera_id": camera_id,
                "record_mode": self.cameras[camera_id].record_mode,
                "motion_enabled": self.cameras[camera_id].motion_enabled,
                "objects_enabled": self.cameras[camera_id].objects_enabled,
            },
        )

    async def set_record_mode(self, camera_id: str, mode: RecordMode) -> None:
        """Change a camera's record mode at run time (kept across restarts)."""
        self._check_camera(camera_id)
        if mode not in RECORD_MODES:
            raise ValueError(f"record mode must be one of {', '.join(RECORD_MODES)}")
        camera = self.cameras[camera_id]
        with self._settings_lock:
            camera.record_mode = mode
            camera.status.record_mode = mode
        if self.index is not None:
            await asyncio.to_thread(self.index.set_camera_setting, camera_id, "record_mode", mode)
        worker = camera.worker
        if worker is not None:
            worker.set_recording(mode != "off")
        if self.retention is not None:
            self.retention.set_record_mode(camera_id, mode)
        self._settings_changed(camera_id)

    async def set_motion_enabled(self, camera_id: str, enabled: bool) -> None:
        """Turn motion detection on or off at run time (kept across restarts)."""
        self._check_camera(camera_id)
        camera = self.cameras[camera_id]
        with self._settings_lock:
            camera.motion_enabled = enabled
        if self.index is not None:
            await asyncio.to_thread(self.index.set_camera_setting, camera_id, "motion_enabled", "1" if enabled else "0")
        motion = camera.motion
        if motion is not None:
            motion.set_enabled(camera.detector_on)
        self._settings_changed(camera_id)

    def objects_enabled(self, camera_id: str) -> bool:
        self._check_camera(camera_id)
        return self.cameras[camera_id].objects_enabled

    async def set_objects_enabled(self, camera_id: str, enabled: bool) -> None:
        """Turn object detection on or off at run time (kept across restarts). Off, or without a
        usable model, the camera records and detects motion as before."""
        self._check_camera(camera_id)
        camera = self.cameras[camera_id]
        with self._settings_lock:
            camera.objects_enabled = enabled
        if self.index is not None:
            await asyncio.to_thread(
                self.index.set_camera_setting, camera_id, "objects_enabled", "1" if enabled else "0"
            )
        if enabled and self.detection is None:
            # The first camera to detect objects: check the model, start the service, and give
            # every running camera its pipeline (each switched as its setting says).
            await asyncio.to_thread(self._open_detection)
            for other in self.cameras.values():
                if other.motion is not None and other.objects is None and other.resolved is not None:
                    other.objects = self._camera_objects(other, other.resolved)
                    other.motion.objects = other.objects
        if camera.objects is not None:
            camera.objects.set_enabled(enabled)
        self._settings_changed(camera_id)

    async def start_manual_event(self, camera_id: str, label: str | None = None) -> EventRecord:
        """Start a manual event (ends by ``end_manual_event`` or after the maximum event length)."""
        self._check_camera(camera_id)
        assert self.events is not None
        if not self.config.camera(camera_id).enabled:
            raise EventStateError(f"camera {camera_id} is disabled: it records nothing to keep")
        frame = self._latest_frame(camera_id)
        return await asyncio.to_thread(self.events.start_manual, camera_id, label, frame)

    async def end_manual_event(self, camera_id: str) -> EventRecord:
        """End the camera's running manual event; :class:`EventStateError` if there is none."""
        self._check_camera(camera_id)
        assert self.events is not None
        ended = await asyncio.to_thread(self.events.end_manual, camera_id)
        if ended is None:
            raise EventStateError(f"camera {camera_id} has no manual event running")
        return ended

    def event(self, event_id: str) -> EventRecord | None:
        assert self.index is not None
        return self.index.event(event_id)

    def event_file(self, event: EventRecord, thumbnail: bool = False) -> Path | None:
        """The event's snapshot (or thumbnail) file, if it was written."""
        relative = event.thumbnail if thumbnail else event.snapshot
        if relative is None:
            return None
        path = self.config.storage_path / relative
        return path if path.is_file() else None

    async def latest_snapshot(self, camera_id: str, width: int | None = None) -> bytes | None:
        """JPEG of the camera's most recent decoded frame (encoded now), or None if none yet."""
        self._check_camera(camera_id)
        motion = self.cameras[camera_id].motion
        if motion is None:
            return None
        return await asyncio.to_thread(motion.snapshot_jpeg, width)
