"""The PullPoint subscriber against the PullPoint TEST DOUBLE (``onvif_double``; ipycam has no
event service): subscription, mapping, renewal before expiry, resubscription after a restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import pytest

from tests.onvif.onvif_double import Notification, OnvifDouble
from vigil_engine.onvif.device import OnvifDevice
from vigil_engine.onvif.events import PullPointSubscriber
from vigil_engine.onvif.topics import CameraDetection

MOTION = "tns1:RuleEngine/CellMotionDetector/Motion"
PEOPLE = "tns1:RuleEngine/MyRuleDetector/PeopleDetect"


@pytest.fixture
def double() -> Iterator[OnvifDouble]:
    double = OnvifDouble(
        "rtsp://127.0.0.1:9/main",
        sub_stream_uri="rtsp://127.0.0.1:9/sub",
        schedule=[
            (0.3, Notification(MOTION, "IsMotion", "true")),
            (0.6, Notification(PEOPLE, "IsPeople", "true")),
            (1.2, Notification(MOTION, "IsMotion", "false")),
        ],
    ).start()
    yield double
    double.stop()


async def _until(predicate: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_resolve_subscribe_renew_and_resubscribe_after_a_restart(double: OnvifDouble) -> None:
    device = OnvifDevice("127.0.0.1", double.port, "admin", "secret-pw")
    seen: list[CameraDetection] = []
    try:
        resolved = await device.resolve()
        assert resolved.main_uri == "rtsp://127.0.0.1:9/main"
        assert resolved.sub_uri == "rtsp://127.0.0.1:9/sub"
        assert resolved.has_events
        assert not resolved.has_ptz
        assert resolved.info.manufacturer == "Double"

        # The double grants what is asked: 3 s, so a renewal is due after 2.4 s.
        subscriber = PullPointSubscriber(
            "cam", device, seen.append, subscription_s=3, pull_timeout_s=1, backoff_start_s=0.2
        )
        task = asyncio.create_task(subscriber.run())
        await _until(lambda: len(seen) >= 3, 10, "the scheduled notifications")
        assert [(d.detection, d.active) for d in seen[:3]] == [("motion", True), ("person", True), ("motion", False)]
        assert seen[0].topic == "RuleEngine/CellMotionDetector/Motion"
        assert seen[0].source == "VideoSourceConfigurationToken=vsc1"

        await _until(lambda: double.renewed >= 1, 6, "a renewal")
        assert subscriber.subscriptions == 1  # renewed, not resubscribed
        assert double.created == 1

        # A camera reboot forgets the subscription: the subscriber starts over and gets the
        # schedule of the new subscription. What was active (person) is released first.
        await asyncio.to_thread(double.restart)
        await _until(lambda: subscriber.subscriptions >= 2, 10, "a resubscription")
        assert any(d.detection == "person" and not d.active for d in seen[3:])
        await _until(lambda: sum(1 for d in seen if d.detection == "motion" and d.active) >= 2, 10, "motion again")

        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert double.unsubscribed == 1  # a clean stop unsubscribes
    finally:
        await device.close()


async def test_presets_from_a_well_formed_ptz_service() -> None:
    double = OnvifDouble("rtsp://127.0.0.1:9/main", presets={"1": "Door", "2": "Garden"}).start()
    device = OnvifDevice("127.0.0.1", double.port, "admin", "secret-pw")
    try:
        resolved = await device.resolve()
        assert resolved.has_ptz
        presets = await device.presets()
        assert [(p.token, p.name) for p in presets] == [("1", "Door"), ("2", "Garden")]
        await device.goto_preset("2")
        await device.continuous_move(0.5, 0, 0)
        await device.stop()
        assert double.ptz_requests == [("GotoPreset", "2"), ("ContinuousMove", ""), ("Stop", "")]
    finally:
        await device.close()
        double.stop()
