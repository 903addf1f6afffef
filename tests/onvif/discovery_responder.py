"""A WS-Discovery responder on loopback: answers each Probe with ipycam's own ProbeMatch.

The real peer's message (ipycam's ``create_probe_match``), sent only to whoever probed a
loopback port: nothing joins the multicast group, nothing is sent to the network.
"""

from __future__ import annotations

import re
import socket
import threading

from ipycam.config import CameraConfig  # type: ignore[import-untyped]
from ipycam.onvif import ONVIFService  # type: ignore[import-untyped]


class Responder:
    """Answers each Probe datagram on a loopback port with a ProbeMatch for ``onvif_port``."""

    def __init__(self, onvif_port: int = 8899, name: str = "Garden_Cam") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        config = CameraConfig(name=name, local_ip="127.0.0.1", onvif_port=onvif_port)
        self.service = ONVIFService(config)
        self.probes: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65536)
            except TimeoutError:
                continue
            text = data.decode()
            self.probes.append(text)
            message_id = re.search(r"MessageID>(.+?)</", text)
            assert message_id is not None
            self.sock.sendto(self.service.create_probe_match(message_id.group(1)).encode(), addr)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()
