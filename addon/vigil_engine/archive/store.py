"""The S3 client: one bounded boto3 client for the uploader, and what its errors mean.

* Its own connection pool (two connections: the uploader sends one request at a time; the
  second serves a status probe) and timeouts (connect 5 s, read 30 s). botocore's own
  retries are off: the uploader retries with its own backoff and knows what failed.
* Checksums are Vigil's own: every request body carries ``Content-MD5``, which every S3
  implementation verifies (a mismatch is ``BadDigest``), and the ETag the store answers is
  compared with it. botocore's newer default checksums (CRC trailers) are off, because not
  every S3-compatible store accepts them. The body is not hashed a second time for SigV4
  (``UNSIGNED-PAYLOAD``, as botocore does by itself over HTTPS when Content-MD5 is sent): the
  Content-MD5 header is signed, so the store still accepts only the bytes that were meant,
  and over plain HTTP to a store on the LAN the SHA-256 pass would cost a sixth of the
  uploader's CPU for no further guarantee (client-side encryption authenticates every chunk).
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
import logging
from collections.abc import Buffer, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

from vigil_engine.redact import redact

from .body import ThrottledBody

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


class StoreError(Exception):
    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind

    @property
    def store_wide(self) -> bool:
        return self.kind in STORE_WIDE


def _translate(err: Exception, bucket: str) -> StoreError:
    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        message = str(error.get("Message") or code or f"HTTP {status}")
        if code in {"NoSuchBucket"} or (code == "404" and err.operation_name == "HeadBucket"):
            return StoreError("bucket", f"the bucket {bucket!r} does not exist (create it, or fix archive.bucket)")
        if code in _CREDENTIAL_CODES or status == 403:
            return StoreError("credentials", f"the store refused the credentials: {code}: {redact(message)}")
        if code == "NoSuchUpload":
            return StoreError("upload_gone", "the store no longer knows the multipart upload")
        if code in {"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"}:
            return StoreError("checksum", f"the store received other bytes than were sent ({code})")
        if code in _TRANSIENT_CODES or status >= 500:
            return StoreError("unreachable", f"the store answered {code or status}: {redact(message)}")
        return StoreError("other", f"{code or status}: {redact(message)}")
    if isinstance(err, ConnectionError | HTTPClientError):
        return StoreError("unreachable", f"cannot reach the store: {redact(str(err))}")
    return StoreError("other", redact(str(err)))


def md5_base64(data: Buffer) -> tuple[str, str]:
    """(hex, base64) of the MD5 of ``data``: the ETag to expect and the Content-MD5 to send."""
    digest = hashlib.md5(data, usedforsecurity=False).digest()
    return digest.hex(), base64.b64encode(digest).decode("ascii")


def multipart_etag(part_etags: list[str]) -> str:
    """The ETag S3 gives a completed multipart upload: MD5 of the parts' MD5s, then ``-N``."""
    joined = b"".join(bytes.fromhex(etag) for etag in part_etags)
    return f"{hashlib.md5(joined, usedforsecurity=False).hexdigest()}-{len(part_etags)}"


def _etag(value: Any) -> str:
    return str(value or "").strip('"').lower()


@dataclass(frozen=True, slots=True)
class PendingUpload:
    key: str
    upload_id: str
    initiated: datetime | None


# boto3's and urllib3's DEBUG records hold every request's headers (the access key id, the
# signature) and botocore's the request parameters: they stay at INFO whatever the engine's level.
_QUIET = ("boto3", "botocore", "s3transfer", "urllib3")


class S3Store:
    """The operations the archive needs, each raising :class:`StoreError` on failure."""

    def __init__(self, settings: ArchiveSettings) -> None:
        for name in _QUIET:
            logger = logging.getLogger(name)
            logger.setLevel(max(logging.INFO, logger.getEffectiveLevel()))
        self.settings = settings
        self.bucket = settings.bucket
        # Virtual-host addressing needs DNS per bucket; AWS does it, most self-hosted stores do not.
        addressing: Literal["virtual", "path"] = "virtual" if ".amazonaws.com" in settings.endpoint else "path"
        config = Config(
            region_name=settings.region,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            retries={"total_max_attempts": 1, "mode": "standard"},
            max_pool_connections=2,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            s3={"addressing_style": addressing, "payload_signing_enabled": False},
            user_agent_extra="vigil-nvr",
        )
        session = boto3.session.Session(
            aws_access_key_id=settings.access_key_id,
            aws_secret_access_key=settings.secret_access_key,
            region_name=settings.region,
        )
        self._client: Any = session.client("s3", endpoint_url=settings.endpoint, config=config)
        # The bandwidth cap counts what is sent, not SigV4's hashing read (see ThrottledBody).
        self._client.meta.events.register("before-send.s3.*", _arm_body)

    def close(self) -> None:
        self._client.close()

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._client, operation)(Bucket=self.bucket, **kwargs)
        except (ClientError, BotoCoreError) as err:
            raise _translate(err, self.bucket) from None

    def put(self, key: str, body: ThrottledBody, md5: tuple[str, str], metadata: dict[str, str], ctype: str) -> None:
        answer = self._call("put_object", Key=key, Body=body, ContentMD5=md5[1], Metadata=metadata, ContentType=ctype)
        try:
            _check_etag(answer.get("ETag"), md5[0])
        except StoreError:
            # A store that does not check Content-MD5 itself (moto does not) kept other bytes than
            # were sent, under metadata that vouches for the real ones: they must not stay.
            with contextlib.suppress(StoreError):
                self.delete(key)
            raise

    def create_multipart(self, key: str, metadata: dict[str, str], ctype: str) -> str:
        answer = self._call("create_multipart_upload", Key=key, Metadata=metadata, ContentType=ctype)
        return str(answer["UploadId"])

    def upload_part(self, key: str, upload_id: str, number: int, body: ThrottledBody, md5: tuple[str, str]) -> str:
        answer = self._call("upload_part", Key=key, UploadId=upload_id, PartNumber=number, Body=body, ContentMD5=md5[1])
        _check_etag(answer.get("ETag"), md5[0])
        return md5[0]

    def list_parts(self, key: str, upload_id: str) -> dict[int, str]:
        """The parts the store holds of an upload: number → ETag (MD5 hex)."""
        parts: dict[int, str] = {}
        marker = 0
        while True:
            answer = self._call("list_parts", Key=key, UploadId=upload_id, PartNumberMarker=marker)
            for part in answer.get("Parts", []):
                parts[int(part["PartNumber"])] = _etag(part.get("ETag"))
            if not answer.get("IsTruncated"):
                return parts
            marker = int(answer.get("NextPartNumberMarker") or 0)

    def complete(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        answer = self._call(
            "complete_multipart_upload",
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": number, "ETag": f'"{etag}"'} for number, etag in parts]},
        )
        _check_etag(answer.get("ETag"), multipart_etag([etag for _number, etag in parts]))

    def abort(self, key: str, upload_id: str) -> None:
        try:
            self._call("abort_multipart_upload", Key=key, UploadId=upload_id)
        except StoreError as err:
            if err.kind != "upload_gone":
                raise

    def pending_uploads(self, prefix: str) -> list[PendingUpload]:
        """Multipart uploads begun under ``prefix`` and neither completed nor aborted."""
        found: list[PendingUpload] = []
        kwargs: dict[str, Any] = {"Prefix": f"{prefix}/" if prefix else ""}
        while True:
            answer = self._call("list_multipart_uploads", **kwargs)
            found += [
                PendingUpload(str(item["Key"]), str(item["UploadId"]), item.get("Initiated"))
                for item in answer.get("Uploads", []) or []
            ]
            if not answer.get("IsTruncated"):
                return found
            kwargs.update(KeyMarker=answer.get("NextKeyMarker"), UploadIdMarker=answer.get("NextUploadIdMarker"))

    def delete(self, key: str) -> None:
        self._call("delete_object", Key=key)

    def list_keys(self, prefix: str) -> Iterator[tuple[str, int]]:
        """(key, size) of every object under ``prefix``, a page (1,000 keys) at a time."""
        kwargs: dict[str, Any] = {"Prefix": f"{prefix}/" if prefix else ""}
        while True:
            answer = self._call("list_objects_v2", **kwargs)
            for item in answer.get("Contents", []) or []:
                yield str(item["Key"]), int(item.get("Size") or 0)
            token = answer.get("NextContinuationToken")
            if not answer.get("IsTruncated") or not token:
                return
            kwargs["ContinuationToken"] = token

    def metadata(self, key: str) -> dict[str, str]:
        """The object's user metadata (without the ``x-amz-meta-`` prefix)."""
        answer = self._call("head_object", Key=key)
        return {str(name).lower(): str(value) for name, value in (answer.get("Metadata") or {}).items()}

    def open(self, key: str, byte_range: tuple[int, int] | None = None) -> ObjectReader:
        """The object's body (or bytes ``first..last`` inclusive of it), to read as a stream."""
        kwargs: dict[str, Any] = {"Key": key}
        if byte_range is not None:
            kwargs["Range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
        answer = self._call("get_object", **kwargs)
        return ObjectReader(answer["Body"], self.bucket)


class ObjectReader:
    """A response body whose ``read(n)`` returns ``n`` bytes unless the object ends (a socket
    read may return fewer), and whose connection errors are :class:`StoreError`."""

    def __init__(self, body: Any, bucket: str) -> None:
        self._body = body
        self._bucket = bucket

    def __enter__(self) -> ObjectReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def read(self, size: int = -1, /) -> bytes:
        try:
            if size < 0:
                return bytes(self._body.read())
            chunks: list[bytes] = []
            wanted = size
            while wanted > 0:
                chunk = self._body.read(wanted)
                if not chunk:
                    break
                chunks.append(chunk)
                wanted -= len(chunk)
            return b"".join(chunks)
        except (BotoCoreError, OSError) as err:
            raise _translate(err, self._bucket) from None

    def close(self) -> None:
        self._body.close()


def _check_etag(answered: Any, expected: str) -> None:
    """The store's ETag must be the MD5 that was sent. A store that answers something that is not
    an MD5 (AWS with KMS encryption) has verified Content-MD5 itself; there is nothing to compare."""
    etag = _etag(answered)
    looks_like_md5 = len(etag.split("-")[0]) == 32 and all(c in "0123456789abcdef" for c in etag.split("-")[0])
    if looks_like_md5 and etag != expected:
        raise StoreError("checksum", f"the store's checksum {etag} is not the {expected} that was sent")


def _arm_body(request: Any, **_kwargs: Any) -> None:
    if isinstance(request.body, ThrottledBody):
        request.body.arm()
