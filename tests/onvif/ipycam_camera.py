"""Controller for ipycam (``ipycam_runner.py``): start it on free loopback ports, read its PTZ state, stop it."""

from __future__ import annotations

import base64
import json
import os
import select
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any, Self

RUNNER = Path(__file__).resolve().with_name("ipycam_runner.py")
START_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class IpyCam:
    """One ipycam process in ``workdir`` (its PTZ presets file lives there)."""

    def __init__(self, workdir: Path, username: str = "admin", password: str = "Onvif-Pa55!", **settings: Any) -> None:
        self.workdir = workdir
        self.username = username
        self.password = password
        self.settings: dict[str, Any] = {
            "onvif_port": free_port(),
            "rtsp_port": free_port(),
            "closed_port": free_port(),
            "username": username,
            "password": password,
            **settings,
        }
        self.log_path = workdir / "ipycam.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def onvif_port(self) -> int:
        return int(self.settings["onvif_port"])

    @property
    def rtsp_port(self) -> int:
        return int(self.settings["rtsp_port"])

    def write_presets(self, presets: dict[str, dict[str, float]]) -> None:
        """PTZ presets ipycam loads at start (``ptz_presets.json`` in its working folder)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        data = {token: {"token": token, "name": token.title(), **pos} for token, pos in presets.items()}
        (self.workdir / "ptz_presets.json").write_text(json.dumps(data), encoding="utf-8")

    def start(self) -> Self:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(RUNNER), json.dumps(self.settings)],
                stdout=subprocess.PIPE,
                stderr=log,
                cwd=self.workdir,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], START_TIMEOUT_S)
        line = self.proc.stdout.readline() if ready else b""
        if line.strip() != b"READY":
            self.stop()
            raise RuntimeError(f"ipycam did not start: {line!r}\n{self.log_path.read_text(errors='replace')}")
        return self

    def ptz_status(self) -> dict[str, Any]:
        """The PTZ state from ipycam's own web API (HTTP Basic), to see that moves reached it."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.onvif_port}/api/ptz")
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=5) as answer:
            status: dict[str, Any] = json.loads(answer.read())
        return status

    def wait_ptz(self, predicate: Any, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        status = self.ptz_status()
        while not predicate(status):
            if time.monotonic() > deadline:
                raise AssertionError(f"ipycam's PTZ state never matched: {status}")
            time.sleep(0.1)
            status = self.ptz_status()
        return status

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
