"""TEST DOUBLE: a minimal ONVIF device with a PullPoint event service, written for these tests.

ipycam (the real peer of the other tests) has no event service, so this double stands in
for a camera's events. It is *not* a real camera: it implements just enough SOAP for
``onvif-zeep-async`` to talk to it - the device service (GetSystemDateAndTime,
GetServices, GetCapabilities, GetDeviceInformation), the media service (GetProfiles,
GetStreamUri, GetSnapshotUri; the stream URIs point at a real RTSP camera of the tests), the
event service (CreatePullPointSubscription, PullMessages, Renew, Unsubscribe) and, with
``presets``, a PTZ service that lists them and records GotoPreset, ContinuousMove and Stop
(ipycam's own GetPresets answer is not valid XML, so preset lists are tested here).

Notifications come from a schedule (seconds after a subscription is created -> topic, item,
value) or from :meth:`emit`. :meth:`restart` forgets every subscription, as a camera that
rebooted does: the client's next PullMessages gets a fault and must subscribe again. It
checks only that a WS-Security UsernameToken with the expected user is present (the
password digest is ipycam's job in the other tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiohttp import web

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    "wsnt": "http://docs.oasis-open.org/wsn/b-2",
}
ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"'
    ' xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema"'
    ' xmlns:trt="http://www.onvif.org/ver10/media/wsdl" xmlns:tev="http://www.onvif.org/ver10/events/wsdl"'
    ' xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" xmlns:wsa5="http://www.w3.org/2005/08/addressing"'
    ' xmlns:tns1="http://www.onvif.org/ver10/topics" xmlns:tptz="http://www.onvif.org/ver20/ptz/wsdl">'
    "<s:Body>{body}</s:Body></s:Envelope>"
)


def runner_port(runner: web.AppRunner) -> int:
    (address, *_rest) = runner.addresses
    return int(address[1])


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"PT(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?", duration.strip())
    if not match:
        return 60.0
    return int(match.group(1) or 0) * 60 + float(match.group(2) or 0)


@dataclass
class Notification:
    topic: str  # e.g. tns1:RuleEngine/CellMotionDetector/Motion
    item: str  # e.g. IsMotion
    value: str  # e.g. true
    source: str = "VideoSourceConfigurationToken=vsc1"


@dataclass
class _Subscription:
    id: str
    created: float
    expires: float
    queue: list[Notification] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    played: int = 0


class OnvifDouble:
    def __init__(
        self,
        stream_uri: str,
        username: str = "admin",
        sub_stream_uri: str | None = None,
        schedule: list[tuple[float, Notification]] | None = None,
        presets: dict[str, str] | None = None,
    ) -> None:
        self.stream_uri = stream_uri
        self.sub_stream_uri = sub_stream_uri
        self.username = username
        self.schedule = sorted(schedule or [], key=lambda entry: entry[0])
        self.presets = presets  # token -> name; None: no PTZ service
        self.ptz_requests: list[tuple[str, str]] = []  # (operation, preset token or "")
        self.port = 0
        self.calls: list[str] = []  # operations in the order they arrived
        self.subscriptions: dict[str, _Subscription] = {}
        self.created = 0
        self.renewed = 0
        self.unsubscribed = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- control (from the test's thread) ---
    def start(self) -> OnvifDouble:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="onvif-double", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(10)
        return self

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_post("/onvif/{service:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        # Port 0 on the first start: the kernel's choice, kept for restarts.
        self.port = runner_port(self._runner)
        self._player = asyncio.get_running_loop().create_task(self._play())

    def stop(self) -> None:
        if self._loop is None:
            return
        loop = self._loop

        async def shutdown() -> None:
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        assert self._thread is not None
        self._thread.join(5)
        loop.close()
        self._loop = None

    def restart(self, down_s: float = 0.5) -> None:
        """Like a camera reboot: down for a moment, then up on the same port with no subscriptions."""
        self.stop()
        with self._lock:
            self.subscriptions.clear()
        time.sleep(down_s)
        self.start()

    def emit(self, notification: Notification) -> None:
        """Queue a notification for every live subscription."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._queue, notification)

    def _queue(self, notification: Notification) -> None:
        for subscription in self.subscriptions.values():
            subscription.queue.append(notification)
            subscription.wake.set()

    async def _play(self) -> None:
        """The schedule, per subscription: each entry once, at its offset from the subscription's creation."""
        while True:
            now = time.monotonic()
            for subscription in list(self.subscriptions.values()):
                while subscription.played < len(self.schedule):
                    offset, notification = self.schedule[subscription.played]
                    if now - subscription.created < offset:
                        break
                    subscription.played += 1
                    subscription.queue.append(notification)
                    subscription.wake.set()
            await asyncio.sleep(0.05)

    # --- SOAP ---
    async def _handle(self, request: web.Request) -> web.Response:
        text = await request.text()
        root = ET.fromstring(text)
        body = root.find("s:Body", NS)
        assert body is not None
        assert len(body)
        operation = body[0].tag.rsplit("}", 1)[-1]
        self.calls.append(operation)
        user = root.findtext(".//wsse:Username", default=None, namespaces=NS)
        if operation != "GetSystemDateAndTime" and user != self.username:
            return self._fault("Sender not authorized", status=401)
        handler = getattr(self, f"_op_{operation}", None)
        if handler is None:
            return self._fault(f"Action not supported: {operation}")
        result = await handler(request, body[0])
        if isinstance(result, web.Response):
            return result
        return web.Response(text=ENVELOPE.format(body=result), content_type="application/soap+xml")

    def _fault(self, reason: str, status: int = 500) -> web.Response:
        body = (
            "<s:Fault><s:Code><s:Value>s:Receiver</s:Value></s:Code>"
            f'<s:Reason><s:Text xml:lang="en">{reason}</s:Text></s:Reason></s:Fault>'
        )
        return web.Response(text=ENVELOPE.format(body=body), status=status, content_type="application/soap+xml")

    async def _op_GetSystemDateAndTime(self, request: web.Request, element: ET.Element) -> str:
        now = datetime.now(UTC)
        return (
            "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType>"
            "<tt:DaylightSavings>false</tt:DaylightSavings><tt:UTCDateTime>"
            f"<tt:Time><tt:Hour>{now.hour}</tt:Hour><tt:Minute>{now.minute}</tt:Minute>"
            f"<tt:Second>{now.second}</tt:Second></tt:Time><tt:Date><tt:Year>{now.year}</tt:Year>"
            f"<tt:Month>{now.month}</tt:Month><tt:Day>{now.day}</tt:Day></tt:Date>"
            "</tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
        )

    async def _op_GetServices(self, request: web.Request, element: ET.Element) -> str:
        services = (
            ("http://www.onvif.org/ver10/device/wsdl", "device_service"),
            ("http://www.onvif.org/ver10/media/wsdl", "media_service"),
            ("http://www.onvif.org/ver10/events/wsdl", "event_service"),
            *((("http://www.onvif.org/ver20/ptz/wsdl", "ptz_service"),) if self.presets is not None else ()),
        )
        items = "".join(
            f"<tds:Service><tds:Namespace>{ns}</tds:Namespace><tds:XAddr>{self.base}/onvif/{path}</tds:XAddr>"
            "<tds:Version><tt:Major>2</tt:Major><tt:Minor>0</tt:Minor></tds:Version></tds:Service>"
            for ns, path in services
        )
        return f"<tds:GetServicesResponse>{items}</tds:GetServicesResponse>"

    async def _op_GetDeviceInformation(self, request: web.Request, element: ET.Element) -> str:
        return (
            "<tds:GetDeviceInformationResponse><tds:Manufacturer>Double</tds:Manufacturer>"
            "<tds:Model>PullPoint-1</tds:Model><tds:FirmwareVersion>0.1</tds:FirmwareVersion>"
            "<tds:SerialNumber>DBL-1</tds:SerialNumber><tds:HardwareId>HW-1</tds:HardwareId>"
            "</tds:GetDeviceInformationResponse>"
        )

    async def _op_GetProfiles(self, request: web.Request, element: ET.Element) -> str:
        def profile(token: str, width: int, height: int) -> str:
            return (
                f'<trt:Profiles token="{token}" fixed="true"><tt:Name>{token}</tt:Name>'
                f'<tt:VideoEncoderConfiguration token="enc_{token}"><tt:Name>{token}</tt:Name>'
                "<tt:UseCount>1</tt:UseCount><tt:Encoding>H264</tt:Encoding>"
                f"<tt:Resolution><tt:Width>{width}</tt:Width><tt:Height>{height}</tt:Height></tt:Resolution>"
                "<tt:Quality>5</tt:Quality></tt:VideoEncoderConfiguration>"
                + (
                    '<tt:PTZConfiguration token="ptz0"><tt:Name>ptz</tt:Name><tt:UseCount>1</tt:UseCount>'
                    "<tt:NodeToken>node0</tt:NodeToken></tt:PTZConfiguration>"
                    if self.presets is not None and token == "main"
                    else ""
                )
                + "</trt:Profiles>"
            )

        profiles = profile("main", 1280, 720) + (profile("sub", 640, 360) if self.sub_stream_uri else "")
        return f"<trt:GetProfilesResponse>{profiles}</trt:GetProfilesResponse>"

    async def _op_GetStreamUri(self, request: web.Request, element: ET.Element) -> str:
        token = element.findtext("{http://www.onvif.org/ver10/media/wsdl}ProfileToken", default="main")
        uri = self.sub_stream_uri if token == "sub" and self.sub_stream_uri else self.stream_uri
        return (
            f"<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>{uri}</tt:Uri>"
            "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>"
            "<tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:GetStreamUriResponse>"
        )

    async def _op_GetSnapshotUri(self, request: web.Request, element: ET.Element) -> str:
        return (
            f"<trt:GetSnapshotUriResponse><trt:MediaUri><tt:Uri>{self.base}/snapshot.jpg</tt:Uri>"
            "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>"
            "<tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:GetSnapshotUriResponse>"
        )

    async def _op_CreatePullPointSubscription(self, request: web.Request, element: ET.Element) -> str:
        requested = element.findtext("{http://www.onvif.org/ver10/events/wsdl}InitialTerminationTime") or "PT60S"
        seconds = _seconds(requested)
        subscription = _Subscription(uuid.uuid4().hex, time.monotonic(), time.monotonic() + seconds)
        with self._lock:
            self.subscriptions[subscription.id] = subscription
        self.created += 1
        now = datetime.now(UTC)
        return (
            "<tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference>"
            f"<wsa5:Address>{self.base}/onvif/subscription/{subscription.id}</wsa5:Address>"
            f"</tev:SubscriptionReference><wsnt:CurrentTime>{_iso(now)}</wsnt:CurrentTime>"
            f"<wsnt:TerminationTime>{_iso(now + timedelta(seconds=seconds))}</wsnt:TerminationTime>"
            "</tev:CreatePullPointSubscriptionResponse>"
        )

    def _subscription(self, request: web.Request) -> _Subscription | None:
        key = request.match_info["service"].rsplit("/", 1)[-1]
        subscription = self.subscriptions.get(key)
        if subscription is None or subscription.expires < time.monotonic():
            return None
        return subscription

    async def _op_PullMessages(self, request: web.Request, element: ET.Element) -> str | web.Response:
        subscription = self._subscription(request)
        if subscription is None:
            return self._fault("unknown or expired subscription")
        timeout = _seconds(element.findtext("{http://www.onvif.org/ver10/events/wsdl}Timeout") or "PT1S")
        if not subscription.queue:
            subscription.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(subscription.wake.wait(), timeout)
        messages, subscription.queue = subscription.queue, []
        now = datetime.now(UTC)
        items = "".join(
            '<wsnt:NotificationMessage><wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">'
            f'{n.topic}</wsnt:Topic><wsnt:Message><tt:Message UtcTime="{_iso(now)}" PropertyOperation="Changed">'
            '<tt:Source><tt:SimpleItem Name="{0}" Value="{1}"/></tt:Source>'.format(*n.source.split("=", 1))
            + f'<tt:Data><tt:SimpleItem Name="{n.item}" Value="{n.value}"/></tt:Data>'
            "</tt:Message></wsnt:Message></wsnt:NotificationMessage>"
            for n in messages
        )
        remaining = timedelta(seconds=max(0.0, subscription.expires - time.monotonic()))
        return (
            f"<tev:PullMessagesResponse><tev:CurrentTime>{_iso(now)}</tev:CurrentTime>"
            f"<tev:TerminationTime>{_iso(now + remaining)}</tev:TerminationTime>{items}</tev:PullMessagesResponse>"
        )

    async def _op_Renew(self, request: web.Request, element: ET.Element) -> str | web.Response:
        subscription = self._subscription(request)
        if subscription is None:
            return self._fault("unknown or expired subscription")
        seconds = _seconds(element.findtext("{http://docs.oasis-open.org/wsn/b-2}TerminationTime") or "PT60S")
        subscription.expires = time.monotonic() + seconds
        self.renewed += 1
        now = datetime.now(UTC)
        return (
            f"<wsnt:RenewResponse><wsnt:TerminationTime>{_iso(now + timedelta(seconds=seconds))}</wsnt:TerminationTime>"
            f"<wsnt:CurrentTime>{_iso(now)}</wsnt:CurrentTime></wsnt:RenewResponse>"
        )

    async def _op_Unsubscribe(self, request: web.Request, element: ET.Element) -> str | web.Response:
        key = request.match_info["service"].rsplit("/", 1)[-1]
        with self._lock:
            self.subscriptions.pop(key, None)
        self.unsubscribed += 1
        return "<wsnt:UnsubscribeResponse/>"

    # --- PTZ (only with presets) ---
    async def _op_GetPresets(self, request: web.Request, element: ET.Element) -> str:
        items = "".join(
            f'<tptz:Preset token="{token}"><tt:Name>{name}</tt:Name></tptz:Preset>'
            for token, name in (self.presets or {}).items()
        )
        return f"<tptz:GetPresetsResponse>{items}</tptz:GetPresetsResponse>"

    async def _op_GotoPreset(self, request: web.Request, element: ET.Element) -> str | web.Response:
        token = element.findtext("{http://www.onvif.org/ver20/ptz/wsdl}PresetToken") or ""
        if token not in (self.presets or {}):
            return self._fault(f"no preset {token}")
        self.ptz_requests.append(("GotoPreset", token))
        return "<tptz:GotoPresetResponse/>"

    async def _op_ContinuousMove(self, request: web.Request, element: ET.Element) -> str:
        self.ptz_requests.append(("ContinuousMove", ""))
        return "<tptz:ContinuousMoveResponse/>"

    async def _op_Stop(self, request: web.Request, element: ET.Element) -> str:
        self.ptz_requests.append(("Stop", ""))
        return "<tptz:StopResponse/>"
