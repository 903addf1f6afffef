"""Run ipycam (PyPI's virtual ONVIF camera) for the tests: ``python ipycam_runner.py SETTINGS_JSON``.

ipycam is the real peer: its own ONVIF device/media/PTZ service, WS-Security login and
native RTSP server (FFmpeg/libx264). Three things are adjusted for a test machine, each
by swapping a class ipycam looks up at start-up, never its protocol code:

- WS-Discovery is off: ipycam would join the multicast group and announce itself
  (``Hello``) to the whole network;
- the ONVIF/HTTP server and the RTSP server listen on 127.0.0.1 only (ipycam binds all
  interfaces);
- frames are a small synthetic scene (a moving box) fed at the configured rate.

Prints ``READY`` on stdout once the servers listen; stops on SIGTERM.
"""

from __future__ import annotations

import functools
import json
import signal
import socketserver
import sys
import threading
from typing import Any

import numpy as np
from ipycam import camera as ipycam_camera  # type: ignore[import-untyped]
from ipycam import rtsp as ipycam_rtsp
from ipycam.config import CameraConfig  # type: ignore[import-untyped]


class _NoDiscovery:
    """Stands in for ipycam's WSDiscoveryServer: nothing joins a group, nothing is sent."""

    def __init__(self, *_args: Any) -> None:
        pass

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


class _LoopbackTCPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: Any) -> None:
        super().__init__(("127.0.0.1", address[1]), handler)


def main() -> None:
    settings: dict[str, Any] = json.loads(sys.argv[1])
    ipycam_camera.WSDiscoveryServer = _NoDiscovery
    ipycam_camera.ReusableThreadingTCPServer = _LoopbackTCPServer
    ipycam_camera.NativeRTSPServer = functools.partial(ipycam_rtsp.NativeRTSPServer, host="127.0.0.1")
    config = CameraConfig(
        name="Test cam",
        manufacturer=settings.get("manufacturer", "PythonCam"),
        model=settings.get("model", "VirtualCam-1"),
        serial_number=settings.get("serial", "PY-000001"),
        local_ip="127.0.0.1",
        onvif_port=settings["onvif_port"],
        rtsp_port=settings["rtsp_port"],
        # A closed port: ipycam looks for go2rtc there and, not finding it, serves RTSP itself.
        go2rtc_api_port=settings["closed_port"],
        rtmp_port=settings["closed_port"],
        username=settings.get("username", ""),
        password=settings.get("password", ""),
        main_width=settings.get("main_width", 640),
        main_height=settings.get("main_height", 360),
        main_fps=settings.get("fps", 10),
        main_bitrate="500K",
        sub_width=settings.get("sub_width", 320),
        sub_height=settings.get("sub_height", 180),
        sub_fps=settings.get("fps", 10),
        sub_bitrate="200K",
        hw_accel="cpu",
        show_timestamp=False,
    )
    cam = ipycam_camera.IPCamera(config)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if not cam.start():
        sys.exit("ipycam did not start")
    print("READY", flush=True)
    width, height = config.main_width, config.main_height
    frame = np.zeros((height, width, 3), dtype=np.uint8)
    step = 0
    while not stop.is_set():
        frame[:] = 40
        x = (step * 8) % max(1, width - 60)
        frame[height // 3 : height // 3 + 60, x : x + 60] = (0, 200, 255)
        cam.stream(frame)  # paces itself to main_fps
        step += 1
    cam.stop()


if __name__ == "__main__":
    main()
