"""The camera's own events over ONVIF PullPoint: subscribe, pull, renew, resubscribe.

One task per camera. It creates a PullPoint subscription, pulls messages in a long poll,
renews the subscription before it expires (at 80 % of the time the camera granted), and
after any failure (the camera rebooted and forgot the subscription, the network dropped,
a renew was refused) starts over with a new subscription after a backoff of 1 s up to
30 s. States the camera reports are mapped to detections by :mod:`.topics`; after a
resubscription the camera re-sends its current states ("Initialized"), and detections it
no longer reports as active are released.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from .device import OnvifDevice
from .errors import OnvifError, classify
from .topics import CameraDetection, parse_notification

_LOGGER = logging.getLogger(__name__)

PULLPOINT_NS = "http://www.onvif.org/ver10/events/wsdl/PullPointSubscription"
RENEW_SHARE = 0.8
BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 30.0
MESSAGE_LIMIT = 100

OnDetection = Callable[[CameraDetection], None]


def _duration(seconds: float) -> str:
    return f"PT{max(1, round(seconds))}S"


def _granted_seconds(answer: Any, requested: float) -> float:
    current: Any = getattr(answer, "CurrentTime", None)
    termination: Any = getattr(answer, "TerminationTime", None)
    try:
        granted = float((termination - current).total_seconds())
    except TypeError, AttributeError:
        return requested
    # A camera with a broken clock may grant nothing sensible; renew as if it granted what we asked.
    return granted if 0 < granted <= 86400 else requested


class PullPointSubscriber:
    """Keeps a PullPoint subscription alive and hands each mapped notification to ``on_detection``."""

    def __init__(
        self,
        camera_id: str,
        device: OnvifDevice,
        on_detection: OnDetection,
        *,
        subscription_s: float = 60.0,
        pull_timeout_s: float = 5.0,
        backoff_start_s: float = BACKOFF_START_S,
        backoff_max_s: float = BACKOFF_MAX_S,
    ) -> None:
        self.camera_id = camera_id
        self.device = device
        self.on_detection = on_detection
        self.subscription_s = subscription_s
        self.pull_timeout_s = pull_timeout_s
        self.backoff_start_s = backoff_start_s
        self.backoff_max_s = backoff_max_s
        self.subscriptions = 0  # created so far (1 + resubscriptions)
        self.renewals = 0
        self.last_error: str | None = None
        self.active: dict[tuple[str, str], CameraDetection] = {}  # (topic, source) -> the active state
        self._subscription: Any = None

    async def run(self) -> None:
        """Until cancelled: subscribe, pull and renew; start over after a failure."""
        backoff = self.backoff_start_s
        logged: str | None = None
        while True:
            try:
                renew_at = await self._subscribe()
                if logged is not None:
                    _LOGGER.warning("Camera %s: camera events are back", self.camera_id)
                    logged = None
                self.last_error = None
                backoff = self.backoff_start_s
                await self._pull(renew_at)
            except asyncio.CancelledError:
                await self._unsubscribe()
                raise
            except Exception as err:  # noqa: BLE001 - whatever broke the subscription, start over
                failure = classify(err, self.device.where)
                self.last_error = str(failure)
                if logged != failure.kind:  # once per kind of outage, not once per retry
                    logged = failure.kind
                    _LOGGER.warning("Camera %s: camera events unavailable (%s); retrying", self.camera_id, failure)
            self._subscription = None
            self._release_all()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.backoff_max_s)

    async def _subscribe(self) -> float:
        camera = self.device.camera
        events = await self.device._call(camera.create_events_service())
        answer = await self.device._call(
            events.CreatePullPointSubscription({"InitialTerminationTime": _duration(self.subscription_s)})
        )
        address = answer.SubscriptionReference.Address._value_1
        if not address:
            raise OnvifError("protocol", f"the camera at {self.device.where} gave no subscription address")
        # The subscription's own address serves PullMessages, Renew and Unsubscribe.
        camera.xaddrs[PULLPOINT_NS] = camera.rewrite_url(str(address).strip())
        self.pullpoint = await self.device._call(camera.create_pullpoint_service())
        self._subscription = await self.device._call(camera.create_subscription_service("PullPointSubscription"))
        self.subscriptions += 1
        _LOGGER.debug("Camera %s: PullPoint subscription %s", self.camera_id, address)
        return self._renew_at(answer)

    def _renew_at(self, answer: Any) -> float:
        """When to renew: at 80 % of the granted time, and early enough that a long poll still
        in progress cannot outlast the subscription."""
        granted = _granted_seconds(answer, self.subscription_s)
        lead = max(granted * 0.5, min(granted * RENEW_SHARE, granted - self.pull_timeout_s - 1))
        return time.monotonic() + lead

    async def _pull(self, renew_at: float) -> None:
        while True:
            if time.monotonic() >= renew_at:
                answer = await self.device._call(self._subscription.Renew(_duration(self.subscription_s)))
                self.renewals += 1
                renew_at = self._renew_at(answer)
            timeout = max(0.5, min(self.pull_timeout_s, renew_at - time.monotonic()))
            answer = await self.device._call(
                self.pullpoint.PullMessages({"Timeout": timedelta(seconds=timeout), "MessageLimit": MESSAGE_LIMIT})
            )
            for message in getattr(answer, "NotificationMessage", None) or []:
                self._handle(message)

    def _handle(self, message: Any) -> None:
        topic = getattr(getattr(message, "Topic", None), "_value_1", None)
        payload = getattr(getattr(message, "Message", None), "_value_1", None)
        if not isinstance(topic, str) or payload is None:
            return
        detection = parse_notification(topic, payload)
        if detection is None:
            return
        key = (detection.topic, detection.source)
        was = key in self.active
        if detection.active:
            self.active[key] = detection
        else:
            self.active.pop(key, None)
        if was != detection.active:
            self.on_detection(detection)

    def _release_all(self) -> None:
        """The subscription is gone: what it reported as active is not known to be active any more."""
        active, self.active = self.active, {}
        for detection in active.values():
            self.on_detection(CameraDetection(detection.detection, detection.topic, detection.source, False))

    async def _unsubscribe(self) -> None:
        subscription, self._subscription = self._subscription, None
        self._release_all()
        if subscription is None:
            return
        try:
            await asyncio.wait_for(subscription.Unsubscribe(), 3.0)
        except Exception as err:  # noqa: BLE001 - a courtesy: the subscription expires on its own
            _LOGGER.debug("Camera %s: Unsubscribe failed: %s", self.camera_id, classify(err, self.device.where))
