"""WS-Discovery: find ONVIF cameras on the network, only when a user asks.

One Probe for network video transmitters goes to the WS-Discovery multicast group (or, if
given, to one address: a camera on another subnet, or a test responder on loopback); the
ProbeMatches that come back within the timeout are the cameras. Answers are untrusted
input: size-limited, parsed without DTDs or entities, and only their addresses and scopes
are kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

MULTICAST_GROUP = "239.255.255.250"
DISCOVERY_PORT = 3702
MAX_ANSWER_BYTES = 65_536
PROBE_ACTION = "http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe"
_NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "d": "http://schemas.xmlsoap.org/ws/2005/04/discovery",
}


@dataclass(frozen=True, slots=True)
class DiscoveredDevice:
    endpoint: str  # the device's stable id (urn:uuid:...)
    address: str  # its ONVIF device service URL (the first XAddr)
    host: str
    port: int
    name: str | None = None
    hardware: str | None = None
    scopes: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, object]:
        return {
            "endpoint": self.endpoint,
            "address": self.address,
            "host": self.host,
            "port": self.port,
            "name": self.name,
            "hardware": self.hardware,
            "scopes": list(self.scopes),
        }


def probe_message(message_id: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{_NS["s"]}" xmlns:a="{_NS["a"]}" xmlns:d="{_NS["d"]}"'
        ' xmlns:dn="http://www.onvif.org/ver10/network/wsdl">'
        f"<s:Header><a:MessageID>{message_id}</a:MessageID>"
        '<a:To s:mustUnderstand="true">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>'
        f'<a:Action s:mustUnderstand="true">{PROBE_ACTION}</a:Action></s:Header>'
        "<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body></s:Envelope>"
    ).encode()


def _scope_value(scopes: list[str], kind: str) -> str | None:
    prefix = f"onvif://www.onvif.org/{kind}/"
    for scope in scopes:
        if scope.startswith(prefix):
            return unquote(scope[len(prefix) :]).strip() or None
    return None


def parse_probe_matches(data: bytes, message_id: str | None = None) -> list[DiscoveredDevice]:
    """The devices in one ProbeMatches answer (empty if it is not one, or not ours)."""
    if len(data) > MAX_ANSWER_BYTES or b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        return []
    try:
        root = ET.fromstring(data)  # noqa: S314 - no DTD, no entities (checked above), size-limited
    except ET.ParseError:
        return []
    relates = root.findtext("s:Header/a:RelatesTo", default="", namespaces=_NS).strip()
    if message_id is not None and relates and relates != message_id:
        return []
    found = []
    # Some cameras (ipycam among them) leave out the ProbeMatches wrapper.
    for match in root.iter(f"{{{_NS['d']}}}ProbeMatch"):
        xaddrs = (match.findtext("d:XAddrs", default="", namespaces=_NS) or "").split()
        scopes = (match.findtext("d:Scopes", default="", namespaces=_NS) or "").split()
        endpoint = (match.findtext("d:EndpointReference/a:Address", default="", namespaces=_NS) or "").strip()
        for xaddr in xaddrs:
            parts = urlsplit(xaddr)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                continue
            try:
                port = parts.port or (443 if parts.scheme == "https" else 80)
            except ValueError:
                continue
            found.append(
                DiscoveredDevice(
                    endpoint=endpoint or xaddr,
                    address=xaddr,
                    host=parts.hostname,
                    port=port,
                    name=_scope_value(scopes, "name"),
                    hardware=_scope_value(scopes, "hardware"),
                    scopes=tuple(scopes),
                )
            )
            break  # the first usable address of each device
    return found


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self.devices: dict[str, DiscoveredDevice] = {}

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        for device in parse_probe_matches(data, self.message_id):
            self.devices.setdefault(device.endpoint, device)


async def discover(wait_s: float = 3.0, target: tuple[str, int] | None = None) -> list[DiscoveredDevice]:
    """Send one Probe (to the multicast group unless ``target`` is given) and collect answers."""
    host, port = target or (MULTICAST_GROUP, DISCOVERY_PORT)
    ip = ipaddress.ip_address(host)
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setblocking(False)
    if target is None:
        # Cameras are on the local network: multicast never crosses a router.
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    if ip.is_loopback:
        sock.bind((host, 0))
    else:
        sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))  # noqa: S104 - answers come from the cameras
    message_id = f"uuid:{uuid.uuid4()}"
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(lambda: _Collector(message_id), sock=sock)
    try:
        transport.sendto(probe_message(message_id), (host, port))
        await asyncio.sleep(wait_s)
    finally:
        with contextlib.suppress(Exception):
            transport.close()
    return sorted(protocol.devices.values(), key=lambda device: (device.host, device.port))
