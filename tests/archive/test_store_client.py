"""The engine's own S3 client (``archive.store``) against SeaweedFS and moto: what the uploader's
tests do not reach by themselves. Listings that take several pages, keys that need escaping in
the signed path, errors of the store and of the network, and a kept connection the store closed
while it was idle, and HTTPS. Objects are checked with boto3, an independent client."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.archive.helpers import archive_settings, body, random_bytes
from tests.archive.s3_server import S3TestStore
from tests.archive.seaweedfs import SeaweedFS
from vigil_engine.archive.settings import MIB, ArchiveSettings
from vigil_engine.archive.store import S3Store, StoreError, _translate, md5_base64


def _put(s3: S3Store, key: str, data: bytes, metadata: dict[str, str] | None = None) -> None:
    s3.put(key, body(data), md5_base64(data), metadata or {}, "video/mp4")


def test_listings_page_through_every_entry(s3: S3Store, store: S3TestStore, store_bucket: str) -> None:
    keys = [f"vigil/front/2026/12/04/00/10.{n:02d}.mp4" for n in range(7)]
    for key in keys:
        _put(s3, key, key.encode())
    _put(s3, "other/front/2026/12/04/00/10.00.mp4", b"not under the prefix")
    assert list(s3.list_keys("vigil", page=3)) == [(key, len(key.encode())) for key in keys]

    uploads = {s3.create_multipart(f"vigil/back/x{n}.mp4", {}, "video/mp4"): f"vigil/back/x{n}.mp4" for n in range(5)}
    pending = s3.pending_uploads("vigil", page=2)
    assert {upload.upload_id: upload.key for upload in pending} == uploads
    assert all(upload.initiated is not None and upload.initiated.tzinfo is not None for upload in pending)

    # Parts of 5 MiB (S3's smallest but for the last), listed two at a time.
    upload_id, key = next(iter(uploads.items()))
    datas = [random_bytes(5 * MIB), random_bytes(5 * MIB), random_bytes(1000)]
    etags = {n: s3.upload_part(key, upload_id, n, body(data), md5_base64(data)) for n, data in enumerate(datas, 1)}
    assert s3.list_parts(key, upload_id, page=2) == etags
    s3.complete(key, upload_id, sorted(etags.items()))
    stored = store.client().get_object(Bucket=store_bucket, Key=key)["Body"].read()
    assert stored == b"".join(datas)
    for upload, name in uploads.items():
        s3.abort(name, upload)  # the completed one is gone already: no error either
    assert s3.pending_uploads("vigil") == []


@pytest.mark.parametrize(
    "key",
    [
        "vigil/front/2026/12/04/00/10.00.mp4",
        "vigil/a camera+with%odd~chars/10.00.mp4",
        "vigil/caméra/été=1&x;y,z:@$!'()*.mp4",
    ],
)
def test_keys_are_signed_and_sent_as_the_store_names_them(
    s3: S3Store, store: S3TestStore, store_bucket: str, key: str
) -> None:
    data = random_bytes(10_000)
    _put(s3, key, data, {"vigil-camera": "front"})
    assert [name for name, _size in s3.list_keys("vigil")] == [key]
    assert store.client().get_object(Bucket=store_bucket, Key=key)["Body"].read() == data
    assert s3.metadata(key) == {"vigil-camera": "front"}
    with s3.open(key, (10, 19)) as reader:
        assert reader.read() == data[10:20]
    s3.delete(key)
    assert list(s3.list_keys("vigil")) == []


def test_a_missing_object_is_this_objects_error(s3: S3Store) -> None:
    with pytest.raises(StoreError) as caught:
        s3.metadata("vigil/front/missing.mp4")
    # HEAD answers carry no body: the status is all there is to say.
    assert (caught.value.kind, str(caught.value)) == ("other", "404: 404")
    with pytest.raises(StoreError) as caught:
        s3.open("vigil/front/missing.mp4", (0, 9))
    assert caught.value.kind == "other"
    assert "NoSuchKey" in str(caught.value)


def test_a_store_that_is_not_there_is_unreachable(store: S3TestStore, store_bucket: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: refused
    settings = archive_settings(store, store_bucket, endpoint=f"http://127.0.0.1:{port}")
    s3 = S3Store(settings)
    with pytest.raises(StoreError) as caught:
        list(s3.list_keys("vigil"))
    assert caught.value.kind == "unreachable"
    assert caught.value.store_wide
    assert store.secret_key not in str(caught.value)


def test_a_connection_the_store_closed_while_idle_is_replaced(tmp_path: Path) -> None:
    """SeaweedFS closes a kept-alive connection idle for a second (``-s3.idleTimeout=1``), as a
    store or a proxy does after its own timeout: the next request must not fail for it."""
    weed = SeaweedFS(tmp_path / "weed", idle_timeout=1)
    weed.start()
    try:
        bucket = weed.make_bucket("vigil-idle")
        s3 = S3Store(archive_settings(weed, bucket))
        data = random_bytes(300_000)
        _put(s3, "vigil/front/0.mp4", data)
        time.sleep(2)
        _put(s3, "vigil/front/1.mp4", data)  # a body, first sent on the connection the store closed
        time.sleep(2)
        assert s3.metadata("vigil/front/0.mp4") == {}  # a request without a body, likewise
        assert [key for key, _ in s3.list_keys("vigil")] == ["vigil/front/0.mp4", "vigil/front/1.mp4"]
        s3.close()
    finally:
        weed.stop()


@pytest.mark.parametrize("size", [1000, 8 * MIB])
def test_wrong_credentials_are_refused_as_such_whatever_the_body(
    store: S3TestStore, store_bucket: str, size: int
) -> None:
    """A store refuses a request as soon as it has read the headers, and may close the
    connection while a large body is still being sent: the refusal is still what is reported."""
    s3 = S3Store(archive_settings(store, store_bucket, secret_access_key="not-the-secret"))
    with pytest.raises(StoreError) as caught:
        _put(s3, "vigil/front/refused.mp4", random_bytes(size))
    assert caught.value.kind == "credentials", str(caught.value)
    assert "not-the-secret" not in str(caught.value)
    s3.close()


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own authority, and its key (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vigil test store")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "store.crt", folder / "store.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_https_verifies_the_stores_certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over HTTPS (as AWS, B2 and Wasabi are reached) the store's certificate is checked: a
    certificate nobody vouches for is refused; one whose authority the system trusts (here
    through ``SSL_CERT_FILE``, as a private authority is added) is accepted."""
    cert, key = _self_signed(tmp_path)
    weed = SeaweedFS(tmp_path / "weed", tls=(cert, key))
    weed.start()
    try:
        bucket = weed.make_bucket("vigil-tls")
        settings = archive_settings(weed, bucket, endpoint=weed.https_endpoint)
        untrusted = S3Store(settings)
        with pytest.raises(StoreError) as caught:
            list(untrusted.list_keys("vigil"))
        assert caught.value.kind == "unreachable"
        assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)

        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        s3 = S3Store(settings)
        data = random_bytes(2 * MIB)
        _put(s3, "vigil/front/tls.mp4", data, {"vigil-camera": "front"})
        with s3.open("vigil/front/tls.mp4") as reader:
            assert reader.read() == data
        assert s3.metadata("vigil/front/tls.mp4") == {"vigil-camera": "front"}
        s3.close()
    finally:
        weed.stop()


def test_a_refusal_sent_before_the_body_is_read_is_reported_as_the_refusal() -> None:
    """A store may answer 403 as soon as it has the headers and close the connection without
    reading the body (AWS can; SeaweedFS and moto read it first, so the test above cannot show
    it). The client's send then fails (broken pipe, reset), but the refusal is what happened,
    and what the user must see (credentials, not unreachable). The fault is injected with a
    server of a few lines, since neither real store here behaves so."""
    refusal = b"<Error><Code>SignatureDoesNotMatch</Code><Message>The signature does not match</Message></Error>"
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()

        def refuse_once() -> None:
            conn, _ = server.accept()
            with conn:
                received = b""
                while b"\r\n\r\n" not in received:
                    received += conn.recv(65536)
                head = (
                    f"HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nContent-Length: {len(refusal)}\r\n\r\n"
                )
                conn.sendall(head.encode() + refusal)
            # Closed with the body unread: the kernel resets the connection.

        thread = threading.Thread(target=refuse_once, daemon=True)
        thread.start()
        settings = ArchiveSettings(
            endpoint=f"http://127.0.0.1:{server.getsockname()[1]}", bucket="b", access_key_id="a", secret_access_key="s"
        )
        s3 = S3Store(settings)
        with pytest.raises(StoreError) as caught:
            _put(s3, "vigil/front/refused.mp4", random_bytes(8 * MIB))
        thread.join(5)
    assert caught.value.kind == "credentials", str(caught.value)
    assert "SignatureDoesNotMatch" in str(caught.value)


@pytest.mark.parametrize(
    ("code", "status"),
    [("AuthorizationHeaderMalformed", 400), ("PermanentRedirect", 301), ("", 301), ("", 307)],
)
def test_a_bucket_in_another_region_is_the_stores_state_not_one_segments(code: str, status: int) -> None:
    """AWS answers a request signed for another region than the bucket's (or sent to another
    region's endpoint) so; neither store here has regions, so the answer is given to the
    translation directly. Every request would fail alike: the queue must wait (store-wide) and
    the user be told to fix the region, not segments be given up one by one."""
    message = "the region 'us-east-1' is wrong; expecting 'eu-central-1'"
    err = _translate(code or str(status), status, message, "footage")
    assert err.kind == "bucket"
    assert err.store_wide
    assert "archive.region" in str(err)
    assert "eu-central-1" in str(err)


def test_aws_buckets_are_addressed_by_host_unless_their_name_has_dots() -> None:
    def addressed(bucket: str, endpoint: str = "https://s3.eu-central-1.amazonaws.com") -> tuple[str, str]:
        settings = ArchiveSettings(endpoint=endpoint, bucket=bucket, access_key_id="a", secret_access_key="s")
        store = S3Store(settings)
        return store._host_header, store._path("vigil/x.mp4")

    assert addressed("footage") == ("footage.s3.eu-central-1.amazonaws.com", "/vigil/x.mp4")
    assert addressed("my.footage") == ("s3.eu-central-1.amazonaws.com", "/my.footage/vigil/x.mp4")
    assert addressed("footage", "http://192.168.1.5:8333") == ("192.168.1.5:8333", "/footage/vigil/x.mp4")
    assert addressed("footage", "https://minio.lan/s3/") == ("minio.lan", "/s3/footage/vigil/x.mp4")
