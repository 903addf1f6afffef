"""Signed paths (``sign_path``): one signature, one request, however the path is spelt.

Against the signer itself and against a real engine process (its API on a free loopback
port, no camera: signing needs none). The signature's canonical form is written out again
here, from its description in ``api/auth.py``, as a second implementation: signatures it
makes for canonical paths must verify, which shows that the refusals below come from the
path's form, not from a wrong MAC.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterator

import pytest
from yarl import URL

from tests.api.client import WsClient
from tests.api.conftest import Response, free_port, request
from tests.engine.conftest import enable_loopback_sockets
from tests.support.engine_process import EngineProcess
from vigil_engine.api.auth import Signer
from vigil_engine.api.errors import ApiError

TOKEN = "signing-test-token-4e1f9a7c2b"
HOUR_MS = 3_600_000


def spec_signature(token: str, raw_path: str, query: list[tuple[str, str]], expires_ms: int) -> str:
    """The ``sig`` value for a GET of ``raw_path?query``: HMAC-SHA256 (first 24 bytes, base64url)
    under HMAC(token, "vigil path signing v2") of the length-prefixed fields method, path,
    number of parameters, each parameter's key and value (sorted), expiry."""
    key = hmac.new(token.encode(), b"vigil path signing v2", hashlib.sha256).digest()
    pairs = sorted(query)
    fields = ["GET", raw_path, str(len(pairs)), *(part for pair in pairs for part in pair), str(expires_ms)]
    canonical = b"".join(b"%d:%b" % (len(field.encode()), field.encode()) for field in fields)
    mac = base64.urlsafe_b64encode(hmac.new(key, canonical, hashlib.sha256).digest()[:24]).decode().rstrip("=")
    return f"{expires_ms}.{mac}"


def _later() -> int:
    return int(time.time() * 1000) + HOUR_MS


# --- The signer ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signed", "forged"),
    [
        ("/api/storage?a=1%0Ab=2", "/api/storage?a=1&b=2"),  # a newline in a value
        ("/api/storage?a=1&b=2", "/api/storage?a=1%0Ab=2"),
        ("/api/storage?a%3Db=c", "/api/storage?a=b%3Dc"),  # '=' in a key
    ],
)
def test_a_value_cannot_pose_as_another_parameter(signed: str, forged: str) -> None:
    signer = Signer(TOKEN)
    signature = signer.sign(URL(signed), _later()).query["sig"]
    assert signer.verify("GET", URL(signed).update_query(sig=signature)) > 0
    with pytest.raises(ApiError) as err:
        signer.verify("GET", URL(forged).update_query(sig=signature))
    assert err.value.status == 401


AMBIGUOUS = [
    "/api/events/0123/../../storage",
    "/api/events/0123/%2e%2e/%2E%2E/storage",
    "/api/cameras/%2e./x/snapshot.jpg",
    "/api/./storage",
    "/api/storage/.",
    "/api/cameras/.../snapshot.jpg",
    "/api//storage",
    "/api/storage/",
    "/api/cameras/front%2F..%2F..%2Fstorage",
    "/api/cameras/front%5C..%5Cstorage",
    "/api/cameras/front\\..\\storage",
    "/api/cameras/caf%C3%A9/snapshot.jpg",
    "/api/cameras/front/snapshot.jpg?width=10&width=20",
    "/api/storage#fragment",
]


@pytest.mark.parametrize("path", AMBIGUOUS)
def test_paths_that_could_be_read_two_ways_are_not_signed(path: str) -> None:
    with pytest.raises(ApiError) as err:
        Signer(TOKEN).sign(URL(path), _later())
    assert err.value.code == "invalid_argument"
    assert err.value.message.startswith("path: ")


@pytest.mark.parametrize("path", AMBIGUOUS[:-1])
def test_paths_that_could_be_read_two_ways_do_not_verify(path: str) -> None:
    url = URL(path)
    query = list(url.query.items())
    signed = url.update_query(sig=spec_signature(TOKEN, url.raw_path, query, _later()))
    with pytest.raises(ApiError) as err:
        Signer(TOKEN).verify("GET", signed)
    assert err.value.status == 401
    # The same computation for a canonical path is a valid signature.
    good = URL("/api/cameras/front/snapshot.jpg?width=10")
    good = good.update_query(sig=spec_signature(TOKEN, good.raw_path, [("width", "10")], _later()))
    assert Signer(TOKEN).verify("GET", good) > 0


def test_a_signature_of_version_one_no_longer_verifies() -> None:
    url = URL("/api/storage?x=1")
    expires = _later()
    key = hmac.new(TOKEN.encode(), b"vigil path signing v1", hashlib.sha256).digest()
    canonical = "\n".join(["GET", url.raw_path, "x=1", str(expires)]).encode()
    mac = base64.urlsafe_b64encode(hmac.new(key, canonical, hashlib.sha256).digest()[:24]).decode().rstrip("=")
    with pytest.raises(ApiError) as err:
        Signer(TOKEN).verify("GET", url.update_query(sig=f"{expires}.{mac}"))
    assert err.value.status == 401


# --- Against the engine -------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, WsClient]]:
    enable_loopback_sockets()
    port = free_port()
    engine = EngineProcess(tmp_path_factory.mktemp("signing"), {"api_port": port, "api_token": TOKEN, "cameras": []})
    engine.start()
    client: WsClient | None = None
    try:
        engine.wait_for(lambda: _get(port, "/api/info", auth=True).status == 200, 30, "the API")
        client = WsClient(f"http://127.0.0.1:{port}", TOKEN)
        client.connect()
        yield port, client
    finally:
        if client is not None:
            client.close()
        engine.stop()
        assert "Traceback" not in engine.log()


def _get(port: int, path: str, auth: bool = False) -> Response:
    try:
        return request(port, path, {"Authorization": f"Bearer {TOKEN}"} if auth else {})
    except OSError:
        return Response(0, {}, b"")


def test_sign_path_refuses_dot_segments_and_escapes(api: tuple[int, WsClient]) -> None:
    _port, client = api
    for path in AMBIGUOUS:
        error = client.error("sign_path", {"path": path})
        assert error["code"] == "invalid_argument", (path, error)
        assert error["message"].startswith("path: "), error


def test_a_signed_newline_is_not_a_second_parameter(api: tuple[int, WsClient]) -> None:
    port, client = api
    signed = client.result("sign_path", {"path": "/api/storage?a=1%0Ab=2", "expires_in": 60})["path"]
    assert _get(port, signed).status == 200
    signature = URL(signed).query["sig"]
    assert _get(port, f"/api/storage?a=1&b=2&sig={signature}").status == 401


def test_the_engine_refuses_a_correct_mac_over_an_ambiguous_path(api: tuple[int, WsClient]) -> None:
    port, _client = api
    expires = _later()
    good = spec_signature(TOKEN, "/api/storage", [], expires)
    assert _get(port, f"/api/storage?sig={good}").status == 200
    for raw in ("/api/info/../storage", "/api/%2e%2e/api/storage", "/api//storage", "/api/stor%61ge"):
        sig = spec_signature(TOKEN, raw, [], expires)
        response = _get(port, f"{raw}?sig={sig}")
        assert response.status == 401, (raw, response.status)
        assert response.json()["error"]["code"] == "unauthorized"


def test_a_signature_that_is_not_ascii_is_a_401_not_a_crash(api: tuple[int, WsClient]) -> None:
    port, _client = api
    response = _get(port, f"/api/storage?sig={_later()}.%C3%A9t%C3%A9")
    assert response.status == 401
    assert response.json()["error"]["code"] == "unauthorized"
