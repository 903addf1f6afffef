"""The S3 client: the few operations the archive needs, over the standard library's HTTP.

Not boto3: botocore costs an engine about 35 MB of RSS (its modules and the S3 service model)
for eleven requests that are each a line of HTTP, and the archive's memory goal is tight
(``scripts/bench archive``: 32 cameras recorded and archived). Requests are signed with AWS
Signature Version 4 (``sigv4``), and the same code runs against AWS, Backblaze B2, Wasabi,
MinIO, SeaweedFS and Ceph (the tests run it against SeaweedFS and moto).

* Its own small connection pool (two idle connections kept: the uploader sends one request at
  a time; the second serves playback) and timeouts (connect 5 s, read 30 s). No retries of its
  own, except a request sent on a kept connection the store had closed meanwhile, which is
  sent once more on a new one: the uploader retries with its own backoff and knows what failed.
* Checksums are Vigil's own: every request body carries ``Content-MD5``, which S3 verifies (a
  mismatch is ``BadDigest``), and the ETag the store answers is compared with it. The body is
  not hashed again for the signature (``UNSIGNED-PAYLOAD``; see ``sigv4``).
* Errors become :class:`StoreError` with a kind: ``unreachable`` (no connection, timeouts,
  5xx, throttling), ``credentials`` and ``bucket`` (the store refuses: the user must act),
  ``upload_gone`` (a multipart upload the store no longer knows), ``checksum`` and
  ``other`` (this object's problem). The first three are the store's state and pause the
  whole queue; the others are the one segment's. Messages never hold the credentials.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import ssl
import threading
import xml.etree.ElementTree as ET
from collections.abc import Buffer, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from vigil_engine.redact import redact

from . import sigv4
from .body import ThrottledBody, UploadCancelledError

if TYPE_CHECKING:
    from .settings import ArchiveSettings

ErrorKind = Literal["unreachable", "credentials", "bucket", "upload_gone", "checksum", "other"]
# Kinds that are the store's state, not one object's: the queue waits for the store.
STORE_WIDE: frozenset[ErrorKind] = frozenset({"unreachable", "credentials", "bucket"})

_CREDENTIAL_CODES = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken", "ExpiredToken", "403"}
)
_TRANSIENT_CODES = frozenset(
    {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "RequestTimeTooSkewed", "503", "500"}
)
# The bucket is elsewhere than the request went (wrong region, or an endpoint of another region).
_REGION_CODES = frozenset(
    {"AuthorizationHeaderMalformed", "PermanentRedirect", "TemporaryRedirect", "IllegalLocationConstraintException"}
)
# An answer read whole (a listing page, an error) larger than this is not an S3 answer.
MAX_ANSWER_BYTES = 16 * 1024 * 1024
IDLE_CONNECTIONS = 2
# Entries per listing request (S3's own maximum and default).
PAGE = 1000
USER_AGENT = "vigil-nvr"


class StoreError(Exception):
    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind

    @property
    def store_wide(self) -> bool:
        return self.kind in STORE_WIDE


def _translate(code: str, status: int, message: str, bucket: str) -> StoreError:
    """What an error answer (its S3 code, or the HTTP status when it has none) means."""
    message = message or code or f"HTTP {status}"
    if code == "NoSuchBucket":
        return StoreError("bucket", f"the bucket {bucket!r} does not exist (create it, or fix archive.bucket)")
    if code in _REGION_CODES or status in {301, 307}:
        # The bucket lives in another region than archive.region (or behind another endpoint):
        # every request would fail alike, so it is the store's state, not one segment's.
        return StoreError(
            "bucket",
            f"the bucket {bucket!r} is in another region or behind another endpoint "
            f"(fix archive.region or archive.endpoint): {code or status}: {redact(message)}",
        )
    if code in _CREDENTIAL_CODES or status == 403:
        return StoreError("credentials", f"the store refused the credentials: {code or status}: {redact(message)}")
    if code == "NoSuchUpload":
        return StoreError("upload_gone", "the store no longer knows the multipart upload")
    if code in {"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"}:
        return StoreError("checksum", f"the store received other bytes than were sent ({code})")
    if code in _TRANSIENT_CODES or status >= 500:
        return StoreError("unreachable", f"the store answered {code or status}: {redact(message)}")
    return StoreError("other", f"{code or status}: {redact(message)}")


def _unreachable(err: Exception) -> StoreError:
    return StoreError("unreachable", f"cannot reach the store: {redact(str(err) or type(err).__name__)}")


def md5_base64(data: Buffer) -> tuple[str, str]:
    """(hex, base64) of the MD5 of ``data``: the ETag to expect and the Content-MD5 to send."""
    digest = hashlib.md5(data, usedforsecurity=False).digest()
    return digest.hex(), base64.b64encode(digest).decode("ascii")


def multipart_etag(part_etags: list[str]) -> str:
    """The ETag S3 gives a completed multipart upload: MD5 of the parts' MD5s, then ``-N``."""
    joined = b"".join(bytes.fromhex(etag) for etag in part_etags)
    return f"{hashlib.md5(joined, usedforsecurity=False).hexdigest()}-{len(part_etags)}"


def _etag(value: str | None) -> str:
    return (value or "").strip('"').lower()


@dataclass(frozen=True, slots=True)
class PendingUpload:
    key: str
    upload_id: str
    initiated: datetime | None


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def xml(self) -> ET.Element:
        try:
            return ET.fromstring(self.body)  # noqa: S314 - the store the user configured; expat refuses entity bombs
        except ET.ParseError:
            raise StoreError("other", f"the store's answer is not XML ({len(self.body)} bytes)") from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ET.Element, name: str) -> Iterator[ET.Element]:
    return (child for child in element if _local(child.tag) == name)


def _text(element: ET.Element, name: str) -> str | None:
    return next((child.text or "" for child in _children(element, name)), None)


def _truncated(element: ET.Element) -> bool:
    return (_text(element, "IsTruncated") or "").lower() == "true"


class S3Store:
    """The operations the archive needs, each raising :class:`StoreError` on failure.

    Safe to use from several threads (each request has a connection of its own)."""

    def __init__(self, settings: ArchiveSettings) -> None:
        self.settings = settings
        self.bucket = settings.bucket
        endpoint = urlsplit(settings.endpoint)
        self._https = endpoint.scheme == "https"
        hostname = endpoint.hostname or ""
        # Virtual-host addressing needs DNS per bucket; AWS does it, most self-hosted stores do not.
        # A bucket name with dots cannot be a host name under AWS's wildcard certificate: by path.
        virtual = hostname.endswith(".amazonaws.com") and "." not in settings.bucket
        self._host = f"{settings.bucket}.{hostname}" if virtual else hostname
        self._port = endpoint.port or (443 if self._https else 80)
        default_port = endpoint.port is None or endpoint.port == (443 if self._https else 80)
        self._host_header = self._host if default_port else f"{self._host}:{self._port}"
        base = endpoint.path.rstrip("/")
        self._base_path = base if virtual else f"{base}/{sigv4.uri_encode(settings.bucket)}"
        self._ssl = _tls_context() if self._https else None
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # --- connections ---
    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """A kept connection (True) or a new one (False)."""
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        timeout = self.settings.connect_timeout
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout, context=self._ssl), False
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout), False

    def _open(self, conn: http.client.HTTPConnection) -> None:
        conn.connect()
        # The connect timeout was for connecting; an answer may take the read timeout.
        conn.sock.settimeout(self.settings.read_timeout)

    def release(self, conn: http.client.HTTPConnection, response: http.client.HTTPResponse) -> None:
        """Keep the connection for the next request if its answer was read whole and it stays open."""
        if response.will_close or not response.isclosed():
            conn.close()
            return
        with self._lock:
            if len(self._idle) < IDLE_CONNECTIONS:
                self._idle.append(conn)
                return
        conn.close()

    # --- one request ---
    def _path(self, key: str | None) -> str:
        return self._base_path + ("/" + sigv4.uri_encode(key, path=True) if key else "/")

    def _send(
        self,
        method: str,
        key: str | None,
        params: dict[str, str],
        headers: dict[str, str],
        body: bytes | ThrottledBody | None,
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Sign and send the request; the store's answer, whatever its status (not read yet).
        A kept connection the store closed meanwhile fails before any answer: sent once more."""
        path = self._path(key)
        if isinstance(body, ThrottledBody):
            payload_hash = sigv4.UNSIGNED_PAYLOAD  # Content-MD5 is signed (see sigv4)
        else:
            payload_hash = hashlib.sha256(body or b"").hexdigest()
        signed = sigv4.sign(
            method=method,
            path=path,
            params=params,
            headers={"host": self._host_header, **headers},
            payload_hash=payload_hash,
            access_key_id=self.settings.access_key_id,
            secret_access_key=self.settings.secret_access_key,
            region=self.settings.region,
            now=datetime.now(UTC),
        )
        query = sigv4.canonical_query(params)
        target = f"{path}?{query}" if query else path
        while True:
            conn, kept = self._connection()
            sending_body = False
            try:
                if not kept:
                    self._open(conn)
                conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                for name, value in signed.items():
                    conn.putheader(name, value)
                conn.putheader("user-agent", USER_AGENT)
                if body is not None or method in {"PUT", "POST"}:
                    conn.putheader("content-length", str(len(body) if body is not None else 0))
                conn.endheaders()
                sending_body = True
                if isinstance(body, ThrottledBody):
                    body.seek(0)
                    while block := body.read(ThrottledBody.BLOCK):
                        conn.send(block)
                elif body:
                    conn.send(body)
                return conn, conn.getresponse()
            except UploadCancelledError:
                conn.close()
                raise
            except (OSError, http.client.HTTPException) as err:
                # A store may refuse a request (wrong credentials) as soon as it has its headers,
                # and close while the body is still on its way: its answer is what happened.
                early = _early_answer(conn) if sending_body and isinstance(err, ConnectionError) else None
                if early is not None:
                    return conn, early  # (a stale kept connection has none: resent below)
                conn.close()
                stale = isinstance(err, http.client.RemoteDisconnected | BrokenPipeError | ConnectionResetError)
                if kept and stale:
                    continue
                raise _unreachable(err) from None

    def _request(
        self,
        method: str,
        key: str | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | ThrottledBody | None = None,
    ) -> _Answer:
        """One request whose answer is read whole; an error answer raises :class:`StoreError`."""
        conn, response = self._send(method, key, params or {}, headers or {}, body)
        try:
            data = response.read(MAX_ANSWER_BYTES + 1)
        except (OSError, http.client.HTTPException) as err:
            conn.close()
            raise _unreachable(err) from None
        if len(data) > MAX_ANSWER_BYTES:
            conn.close()
            raise StoreError("other", f"the store's answer to {method} is larger than {MAX_ANSWER_BYTES} bytes")
        self.release(conn, response)
        answer = _Answer(response.status, response.headers, data)
        if not 200 <= response.status < 300:
            raise self._error(answer)
        return answer

    def _error(self, answer: _Answer) -> StoreError:
        code = message = ""
        if answer.body:
            with contextlib.suppress(StoreError):
                root = answer.xml()
                code, message = _text(root, "Code") or "", _text(root, "Message") or ""
        # An answer without a body (HEAD, some proxies) has only its status to say what it is.
        return _translate(code or str(answer.status), answer.status, message, self.bucket)

    # --- the operations ---
    def put(self, key: str, body: ThrottledBody, md5: tuple[str, str], metadata: dict[str, str], ctype: str) -> None:
        answer = self._request("PUT", key, headers=_object_headers(metadata, ctype, md5[1]), body=body)
        try:
            _check_etag(answer.headers.get("ETag"), md5[0])
        except StoreError:
            # A store that does not check Content-MD5 itself (moto does not) kept other bytes than
            # were sent, under metadata that vouches for the real ones: they must not stay.
            with contextlib.suppress(StoreError):
                self.delete(key)
            raise

    def create_multipart(self, key: str, metadata: dict[str, str], ctype: str) -> str:
        answer = self._request("POST", key, {"uploads": ""}, _object_headers(metadata, ctype))
        upload_id = _text(answer.xml(), "UploadId")
        if not upload_id:
            raise StoreError("other", "the store began a multipart upload without naming it")
        return upload_id

    def upload_part(self, key: str, upload_id: str, number: int, body: ThrottledBody, md5: tuple[str, str]) -> str:
        params = {"partNumber": str(number), "uploadId": upload_id}
        answer = self._request("PUT", key, params, {"content-md5": md5[1]}, body)
        _check_etag(answer.headers.get("ETag"), md5[0])
        return md5[0]

    def list_parts(self, key: str, upload_id: str, page: int = PAGE) -> dict[int, str]:
        """The parts the store holds of an upload: number → ETag (MD5 hex), ``page`` at a time."""
        parts: dict[int, str] = {}
        params = {"uploadId": upload_id, "max-parts": str(page)}
        while True:
            root = self._request("GET", key, params).xml()
            for part in _children(root, "Part"):
                parts[int(_text(part, "PartNumber") or 0)] = _etag(_text(part, "ETag"))
            marker = _text(root, "NextPartNumberMarker")
            if not _truncated(root) or not marker:
                return parts
            params = {**params, "part-number-marker": marker}

    def complete(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        listed = "".join(
            f"<Part><PartNumber>{number}</PartNumber><ETag>&quot;{escape(etag)}&quot;</ETag></Part>"
            for number, etag in parts
        )
        document = f"<CompleteMultipartUpload>{listed}</CompleteMultipartUpload>".encode()
        answer = self._request("POST", key, {"uploadId": upload_id}, {"content-type": "application/xml"}, document)
        root = answer.xml()
        # S3 may answer 200 and then report an error in the body (it fails while it answers).
        if _local(root.tag) == "Error":
            raise self._error(
                _Answer(500 if _text(root, "Code") == "InternalError" else 400, answer.headers, answer.body)
            )
        _check_etag(_text(root, "ETag"), multipart_etag([etag for _number, etag in parts]))

    def abort(self, key: str, upload_id: str) -> None:
        try:
            self._request("DELETE", key, {"uploadId": upload_id})
        except StoreError as err:
            if err.kind != "upload_gone":
                raise

    def pending_uploads(self, prefix: str, page: int = PAGE) -> list[PendingUpload]:
        """Multipart uploads begun under ``prefix`` and neither completed nor aborted."""
        found: list[PendingUpload] = []
        params = {"uploads": "", "prefix": f"{prefix}/" if prefix else "", "max-uploads": str(page)}
        while True:
            root = self._request("GET", None, params).xml()
            for upload in _children(root, "Upload"):
                found.append(
                    PendingUpload(
                        _text(upload, "Key") or "", _text(upload, "UploadId") or "", _time(_text(upload, "Initiated"))
                    )
                )
            if not _truncated(root):
                return found
            params = {
                **params,
                "key-marker": _text(root, "NextKeyMarker") or "",
                "upload-id-marker": _text(root, "NextUploadIdMarker") or "",
            }

    def delete(self, key: str) -> None:
        self._request("DELETE", key)

    def list_keys(self, prefix: str, page: int = PAGE) -> Iterator[tuple[str, int]]:
        """(key, size) of every object under ``prefix``, ``page`` keys at a time."""
        params = {"list-type": "2", "prefix": f"{prefix}/" if prefix else "", "max-keys": str(page)}
        while True:
            root = self._request("GET", None, params).xml()
            for item in _children(root, "Contents"):
                yield _text(item, "Key") or "", int(_text(item, "Size") or 0)
            token = _text(root, "NextContinuationToken")
            if not _truncated(root) or not token:
                return
            params = {**params, "continuation-token": token}

    def metadata(self, key: str) -> dict[str, str]:
        """The object's user metadata (without the ``x-amz-meta-`` prefix)."""
        answer = self._request("HEAD", key)
        return {
            name.lower().removeprefix(META_PREFIX): value
            for name, value in answer.headers.items()
            if name.lower().startswith(META_PREFIX)
        }

    def open(self, key: str, byte_range: tuple[int, int] | None = None) -> ObjectReader:
        """The object's body (or bytes ``first..last`` inclusive of it), to read as a stream."""
        headers = {} if byte_range is None else {"range": f"bytes={byte_range[0]}-{byte_range[1]}"}
        conn, response = self._send("GET", key, {}, headers, None)
        if not 200 <= response.status < 300:
            try:
                data = response.read(MAX_ANSWER_BYTES)
            except (OSError, http.client.HTTPException) as err:
                conn.close()
                raise _unreachable(err) from None
            conn.close()
            raise self._error(_Answer(response.status, response.headers, data))
        return ObjectReader(self, conn, response)


META_PREFIX = "x-amz-meta-"


def _early_answer(conn: http.client.HTTPConnection) -> http.client.HTTPResponse | None:
    """The answer a store sent before it stopped reading the request's body, if it arrived."""
    try:
        response = conn.getresponse()
    except OSError, http.client.HTTPException:
        return None
    # Only a refusal can come before the body: an answer that says it succeeded cannot be right.
    if response.status < 400:
        return None
    response.will_close = True  # the connection broke while sending: never kept for another request
    return response


def _tls_context() -> ssl.SSLContext:
    """Certificates verified against the system's authorities (``SSL_CERT_FILE`` and
    ``SSL_CERT_DIR`` are honoured, for a store with a private authority) and, as boto3 did,
    certifi's Mozilla bundle where it is installed (the add-on image has it)."""
    context = ssl.create_default_context()
    try:
        import certifi  # noqa: PLC0415 - optional

        context.load_verify_locations(certifi.where())
    except ImportError, OSError:
        pass
    return context


def _object_headers(metadata: dict[str, str], ctype: str, md5: str | None = None) -> dict[str, str]:
    headers = {f"{META_PREFIX}{name.lower()}": value for name, value in metadata.items()}
    headers["content-type"] = ctype
    if md5 is not None:
        headers["content-md5"] = md5
    return headers


def _time(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


class ObjectReader:
    """A response body whose ``read(n)`` returns ``n`` bytes unless the object ends (a socket
    read may return fewer), and whose connection errors are :class:`StoreError`."""

    def __init__(self, store: S3Store, conn: http.client.HTTPConnection, response: http.client.HTTPResponse) -> None:
        self._store = store
        self._conn = conn
        self._response = response

    def __enter__(self) -> ObjectReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def read(self, size: int = -1, /) -> bytes:
        try:
            if size < 0:
                return self._response.read()
            chunks: list[bytes] = []
            wanted = size
            while wanted > 0:
                chunk = self._response.read(wanted)
                if not chunk:
                    break
                chunks.append(chunk)
                wanted -= len(chunk)
            return b"".join(chunks)
        except (OSError, http.client.HTTPException) as err:
            raise _unreachable(err) from None

    def close(self) -> None:
        # A body read to its end leaves the connection for the next request; one left half read
        # (a Range the reader stopped early) cannot be reused.
        self._store.release(self._conn, self._response)


def _check_etag(answered: str | None, expected: str) -> None:
    """The store's ETag must be the MD5 that was sent. A store that answers something that is not
    an MD5 (AWS with KMS encryption) has verified Content-MD5 itself; there is nothing to compare."""
    etag = _etag(answered)
    looks_like_md5 = len(etag.split("-")[0]) == 32 and all(c in "0123456789abcdef" for c in etag.split("-")[0])
    if looks_like_md5 and etag != expected:
        raise StoreError("checksum", f"the store's checksum {etag} is not the {expected} that was sent")
