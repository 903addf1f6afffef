"""AWS Signature Version 4 for S3 requests: what every S3-compatible store checks.

The algorithm is AWS's published one (canonical request → string to sign → HMAC chain of the
secret, date, region and service). The archive signs these headers: ``host``, ``x-amz-date``,
``x-amz-content-sha256`` and whatever the request carries besides (``content-md5``,
``content-type``, ``range``, ``x-amz-meta-*``), so a store accepts exactly the request meant.

A request body is not hashed for the signature when it carries ``Content-MD5``
(``UNSIGNED-PAYLOAD``): the MD5 header is signed, so the store still accepts only those bytes,
and a SHA-256 pass over every uploaded byte would cost a sixth of the uploader's CPU for no
further guarantee. Small bodies (a multipart upload's completion) are hashed.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def uri_encode(text: str, *, path: bool = False) -> str:
    """RFC 3986 encoding as SigV4 wants it: unreserved characters as they are, the rest as %XX
    (and ``/`` kept in a path)."""
    return quote(text, safe="-_.~/" if path else "-_.~")


def canonical_query(params: dict[str, str]) -> str:
    return "&".join(f"{uri_encode(name)}={uri_encode(value)}" for name, value in sorted(params.items()))


def sign(
    *,
    method: str,
    path: str,
    params: dict[str, str],
    headers: dict[str, str],
    payload_hash: str,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    now: datetime,
    service: str = "s3",
) -> dict[str, str]:
    """The headers to send: ``headers`` (which must hold ``host``) with ``x-amz-date``,
    ``x-amz-content-sha256`` and ``authorization`` added. ``path`` is the encoded path sent."""
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    signed = {name.lower(): " ".join(str(value).split()) for name, value in headers.items()}
    signed["x-amz-date"] = amz_date
    signed["x-amz-content-sha256"] = payload_hash
    names = sorted(signed)
    canonical = "\n".join(
        [
            method,
            path,
            canonical_query(params),
            "".join(f"{name}:{signed[name]}\n" for name in names),
            ";".join(names),
            payload_hash,
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(f"AWS4{secret_access_key}".encode(), day)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    signed["authorization"] = (
        f"{ALGORITHM} Credential={access_key_id}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return signed


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()
