"""moto (``moto_server``, from moto[server]) as a second, independent S3 store of the tests.

SeaweedFS is the archive's main test store; moto is another code base's reading of the S3 API,
so a test that passes against both does not depend on one implementation's dialect. It runs
as a real separate process on a free port of 127.0.0.1, its request log in a file (not the
test output), and stops with SIGTERM.

moto accepts any credentials unless its IAM authentication is on. A real store refuses a wrong
secret, and checking the signature is what proves that the engine's requests (SigV4 with an
unsigned payload and a signed Content-MD5) are well formed, so :meth:`MotoServer.start` creates
an IAM user with an S3 policy and its access key, then switches authentication on
(``/moto-api/reset-auth``, the live form of ``INITIAL_NO_AUTH_ACTION_COUNT=0``): from then on
every request must be signed with that key. moto makes the key itself, so it is an attribute
of the server, not a constant as SeaweedFS's is.

Known differences from SeaweedFS (and AWS) that the tests show: moto does not check
Content-MD5 (it keeps the body and answers the body's MD5 as the ETag).

:class:`S3TestStore` is what the store-level tests use of either store (``store`` in conftest).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# The IAM policy of the tests' user: S3, nothing else.
_S3_ONLY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
# Keys for the requests made before authentication is on (creating the user): moto takes any.
_BOOTSTRAP_KEY = ("bootstrap", "bootstrap")


class S3TestStore(Protocol):
    """A real S3 store on loopback, as the store-level tests use it (SeaweedFS, moto)."""

    @property
    def endpoint(self) -> str: ...

    def client(self, secret: str = ...) -> Any: ...

    def make_bucket(self, name: str) -> str: ...

    def archive_options(self, bucket: str, **options: Any) -> dict[str, Any]: ...

    def objects(self, bucket: str, prefix: str = "") -> dict[str, dict[str, Any]]: ...

    def pending_uploads(self, bucket: str) -> list[dict[str, Any]]: ...


def moto_server_binary() -> Path:
    """``moto_server`` as pip installs it: a script of the venv (``<venv>/bin/moto_server``)."""
    beside = Path(sys.executable).parent / "moto_server"
    found = beside if beside.is_file() else shutil.which("moto_server")
    if found is None:
        raise RuntimeError("moto_server is not installed: pip install 'moto[server]' (requirements/test.txt)")
    return Path(found)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _config() -> Config:
    return Config(
        connect_timeout=2,
        read_timeout=10,
        retries={"total_max_attempts": 1},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        s3={"addressing_style": "path"},
    )


class MotoServer:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = _free_port()
        self.log_path = workdir / "moto.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.access_key = ""
        self.secret_key = ""

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        command = [str(moto_server_binary()), "--host", "127.0.0.1", "--port", str(self.port)]
        # No AWS or moto setting of the machine reaches the server (moto reads some from its environment).
        env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "MOTO_"))}
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
        try:
            self._wait_until_it_answers(self.proc, timeout)
            self._authenticate_from_now_on()
        except BaseException:
            self.stop()  # no process left behind by a failed start
            raise

    def _wait_until_it_answers(self, proc: subprocess.Popen[bytes], timeout: float) -> None:
        iam = self._bootstrap_iam()
        deadline = time.monotonic() + timeout
        while True:
            try:
                iam.list_users()
                return
            except BotoCoreError, ClientError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start:\n{self.log()[-3000:]}") from None
                time.sleep(0.2)

    def _authenticate_from_now_on(self) -> None:
        iam = self._bootstrap_iam()
        iam.create_user(UserName="vigil")
        iam.put_user_policy(UserName="vigil", PolicyName="s3", PolicyDocument=json.dumps(_S3_ONLY))
        key = iam.create_access_key(UserName="vigil")["AccessKey"]
        self.access_key, self.secret_key = key["AccessKeyId"], key["SecretAccessKey"]
        # The body is the number of requests still let through unauthenticated. Not a form
        # (urllib's default type): Flask would take the body as form fields and moto read nothing.
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/reset-auth", data=b"0", headers={"Content-Type": "text/plain"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()

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

    def _bootstrap_iam(self) -> Any:
        """An IAM client (moto serves every service on its one port) for the setup before authentication."""
        return boto3.client(
            "iam",
            endpoint_url=self.endpoint,
            aws_access_key_id=_BOOTSTRAP_KEY[0],
            aws_secret_access_key=_BOOTSTRAP_KEY[1],
            region_name="us-east-1",
            config=_config(),
        )

    def client(self, secret: str | None = None) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key if secret is None else secret,
            region_name="us-east-1",
            config=_config(),
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
