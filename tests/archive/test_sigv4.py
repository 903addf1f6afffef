"""The archive's request signing, against the examples AWS publishes for Signature Version 4
(S3 API reference, "Signature Calculations for the Authorization Header: Transferring Payload in
a Single Chunk"). The stores in tests/archive check real signatures; these pin the algorithm."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from vigil_engine.archive import sigv4

ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
WHEN = datetime(2013, 5, 24, tzinfo=UTC)
SCOPE = "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"


def test_get_object_with_a_range() -> None:
    signed = sigv4.sign(
        method="GET",
        path="/test.txt",
        params={},
        headers={"host": "examplebucket.s3.amazonaws.com", "range": "bytes=0-9"},
        payload_hash=sigv4.EMPTY_SHA256,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET,
        region="us-east-1",
        now=WHEN,
    )
    assert signed["x-amz-date"] == "20130524T000000Z"
    assert signed["authorization"] == (
        f"AWS4-HMAC-SHA256 Credential={SCOPE}, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )


def test_put_object_with_an_encoded_key() -> None:
    signed = sigv4.sign(
        method="PUT",
        path="/" + sigv4.uri_encode("test$file.text", path=True),
        params={},
        headers={
            "host": "examplebucket.s3.amazonaws.com",
            "date": "Fri, 24 May 2013 00:00:00 GMT",
            "x-amz-storage-class": "REDUCED_REDUNDANCY",
        },
        payload_hash=hashlib.sha256(b"Welcome to Amazon S3.").hexdigest(),
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET,
        region="us-east-1",
        now=WHEN,
    )
    assert signed["authorization"] == (
        f"AWS4-HMAC-SHA256 Credential={SCOPE}, "
        "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
        "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
    )


def test_list_objects_query_is_sorted_and_encoded() -> None:
    signed = sigv4.sign(
        method="GET",
        path="/",
        params={"max-keys": "2", "prefix": "J"},
        headers={"host": "examplebucket.s3.amazonaws.com"},
        payload_hash=sigv4.EMPTY_SHA256,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET,
        region="us-east-1",
        now=WHEN,
    )
    assert signed["authorization"].endswith(
        "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
    )
    assert sigv4.canonical_query({"uploads": "", "prefix": "a b/c"}) == "prefix=a%20b%2Fc&uploads="
