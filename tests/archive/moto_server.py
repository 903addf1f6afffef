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

:class:`~tests.archive.s3_server.S3TestStore` is what the store-level tests use of either
store (``store`` in conftest).
"""

from __future__ import annotations

import json
import os
import socket
import urllib.request
from pathlib import Path
from typing import Any

import boto3

from tests.archive.s3_server import S3TestStore, client_config, venv_binary

# The IAM policy of the tests' user: S3, nothing else.
_S3_ONLY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
# Keys for the requests made before authentication is on (creating the user): moto takes any.
_BOOTSTRAP_KEY = ("bootstrap", "bootstrap")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class MotoServer(S3TestStore):
    name = "moto_server"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, "moto.log")
        self.port = _free_port()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        command = [str(venv_binary("moto_server", "moto[server]")), "--host", "127.0.0.1", "--port", str(self.port)]
        # No AWS or moto setting of the machine reaches the server (moto reads some from its environment).
        env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "MOTO_"))}
        self._spawn(command, env)
        try:
            self._wait_until_it_answers(self._bootstrap_iam().list_users, timeout)
            self._authenticate_from_now_on()
        except BaseException:
            self.stop()  # no process left behind by a failed start
            raise

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

    def _bootstrap_iam(self) -> Any:
        """An IAM client (moto serves every service on its one port) for the setup before authentication."""
        return boto3.client(
            "iam",
            endpoint_url=self.endpoint,
            aws_access_key_id=_BOOTSTRAP_KEY[0],
            aws_secret_access_key=_BOOTSTRAP_KEY[1],
            region_name="us-east-1",
            config=client_config(),
        )
