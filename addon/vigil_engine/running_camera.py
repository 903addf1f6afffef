"""Everything the engine holds for one camera, in one object.

A camera is its configuration, its status, the settings changed at run time (record mode,
motion detection, object detection), what the off-site archive copies of it, the stream URLs
it resolved to (an ONVIF camera learns them when it connects), and the parts that run it: the
recording worker, the motion worker, its object pipeline (tracked objects, detection
counters), and for ONVIF cameras the session and the event feed. Keeping them together means
adding or removing a camera is one insertion or one removal, and nothing can be left behind
in a table that was forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .archive.settings import CameraCopy, CopyMode
from .config import CameraConfig, RecordMode
from .status import CameraStatus

if TYPE_CHECKING:
    from .detection.camera import CameraObjects
    from .ingest.worker import CameraWorker
    from .motion.worker import MotionWorker
    from .onvif.camera import OnvifCamera
    from .onvif.feed import CameraEventFeed


@dataclass(eq=False)
class RunningCamera:
    """One camera of the engine. ``config`` is as configured; the rest changes while it runs."""

    config: CameraConfig
    status: CameraStatus = field(init=False)
    # Run-time settings (API / Home Assistant), persisted in the index; they start from the config.
    record_mode: RecordMode = field(init=False)
    motion_enabled: bool = field(init=False)
    objects_enabled: bool = field(init=False)
    # The configuration with stream URLs the engine can open: the config itself, or for an
    # ONVIF camera the one its connection resolved (None until then).
    resolved: CameraConfig | None = field(init=False)
    worker: CameraWorker | None = None
    motion: MotionWorker | None = None
    # Object detection on the motion worker's frames (None: no detector, or none started yet).
    objects: CameraObjects | None = None
    onvif: OnvifCamera | None = None
    feed: CameraEventFeed | None = None

    def __post_init__(self) -> None:
        cam = self.config
        self.status = CameraStatus(camera_id=cam.id, name=cam.name, record_mode=cam.record)
        self.record_mode = cam.record
        self.motion_enabled = cam.motion.enabled
        self.objects_enabled = cam.objects.enabled
        self.resolved = cam if cam.onvif is None else None

    @property
    def id(self) -> str:
        return self.config.id

    def archive_copy(self, default: CopyMode) -> CameraCopy:
        """What the off-site archive copies of this camera: its own ``archive`` key, else ``default``."""
        return self.config.archive or default

    @property
    def detector_on(self) -> bool:
        """Vigil's own motion detector runs unless the camera's events alone start events."""
        return self.motion_enabled and self.config.motion_source != "camera"
