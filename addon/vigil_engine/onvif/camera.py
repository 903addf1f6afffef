"""One ONVIF camera in the engine: resolve its streams (retrying with backoff), then run its events.

Resolving happens on the event loop, one task per camera, so a camera that is unreachable
or refuses the login delays nobody else. Until it is resolved the camera is offline with
the reason in its status (``last_error``), logged once per kind of failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import replace

from vigil_engine.config import CameraConfig, OnvifSettings
from vigil_engine.status import CameraStatus

from .device import OnvifDevice, Resolved
from .errors import OnvifError, classify
from .events import PullPointSubscriber
from .topics import CameraDetection

_LOGGER = logging.getLogger(__name__)

BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 30.0
# Checking a camera before it is added answers within an API client's command timeout (10 s).
PROBE_TIMEOUT_S = 8.0


async def probe(settings: OnvifSettings, timeout_s: float = PROBE_TIMEOUT_S) -> Resolved:
    """Connect once and resolve the streams (a camera about to be added: is the address and login right?).

    Raises :class:`OnvifError` (``auth``, ``unreachable``, ``timeout``, ...), whose text names
    the address and never the password.
    """
    device = OnvifDevice(settings.host, settings.port, settings.username, settings.password)
    try:
        async with asyncio.timeout(timeout_s):
            return await device.resolve(settings.main_profile, settings.sub_profile)
    except TimeoutError:
        raise OnvifError("timeout", f"the camera at {device.where} did not answer in time") from None
    finally:
        await device.close()


class OnvifCamera:
    def __init__(
        self,
        camera: CameraConfig,
        status: CameraStatus,
        on_resolved: Callable[[CameraConfig], None],
        on_detection: Callable[[CameraDetection], None],
    ) -> None:
        assert camera.onvif is not None
        self.camera = camera
        self.settings = camera.onvif
        self.status = status
        self.on_resolved = on_resolved
        self.on_detection = on_detection
        self.device: OnvifDevice | None = None
        self.resolved: Resolved | None = None
        self.subscriber: PullPointSubscriber | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"onvif-{self.camera.id}")
        self._task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (err := task.exception()) is not None:
            # A bug, not a camera problem (those are retried): say so instead of going quiet.
            _LOGGER.error("Camera %s: ONVIF handling stopped: %s", self.camera.id, err, exc_info=err)

    async def _run(self) -> None:
        device, resolved = await self._resolve()
        self.device, self.resolved = device, resolved
        info = resolved.info
        _LOGGER.info(
            "Camera %s: ONVIF %s %s (firmware %s): main stream %s %dx%d%s",
            self.camera.id,
            info.manufacturer or "?",
            info.model or "?",
            info.firmware_version or "?",
            resolved.main.token,
            resolved.main.width,
            resolved.main.height,
            f", substream {resolved.sub.token} {resolved.sub.width}x{resolved.sub.height}" if resolved.sub else "",
        )
        # A substream_url in the config wins over the camera's smallest profile.
        substream = self.camera.substream_url or resolved.sub_uri
        self.on_resolved(replace(self.camera, url=resolved.main_uri, substream_url=substream))
        if not self.settings.events:
            return
        if not resolved.has_events:
            _LOGGER.info("Camera %s: the camera has no ONVIF event service; no camera events", self.camera.id)
            return
        self.subscriber = PullPointSubscriber(self.camera.id, device, self.on_detection)
        await self.subscriber.run()

    async def _resolve(self) -> tuple[OnvifDevice, Resolved]:
        settings = self.settings
        backoff = BACKOFF_START_S
        logged: str | None = None
        while True:
            device = OnvifDevice(settings.host, settings.port, settings.username, settings.password)
            try:
                resolved = await device.resolve(settings.main_profile, settings.sub_profile)
            except asyncio.CancelledError:
                await device.close()
                raise
            except Exception as raw:  # noqa: BLE001 - an odd answer is retried like a refused login
                err = classify(raw, device.where)
                await device.close()
                self.status.last_error = str(err)
                if logged != err.kind:
                    logged = err.kind
                    _LOGGER.warning("Camera %s: %s; retrying", self.camera.id, err)
            else:
                if logged is not None:
                    self.status.last_error = None
                return device, resolved
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_S)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self.device is not None:
            await self.device.close()
            self.device = None
