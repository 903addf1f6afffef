"""Object keys and metadata; the encryption's format: round trip, wrong key, damage, Range reads."""

from __future__ import annotations

import io
from pathlib import Path

import av
import pytest

from tests.support.media import make_clip
from vigil_engine.archive.body import EncryptedBody, PlainBody
from vigil_engine.archive.crypto import (
    CHUNK_BYTES,
    HEADER_BYTES,
    TAG_BYTES,
    DecryptionError,
    decrypt,
    decrypt_stream,
    encrypted_size,
)
from vigil_engine.archive.keys import object_key, object_metadata

KEY = bytes(range(32))
SALT = b"s" * 16


def test_keys_mirror_the_local_utc_layout() -> None:
    # 2026-12-04 00:10:00 UTC; the file name of the local layout, suffixes included.
    start = 1_796_343_000_000
    assert (
        object_key("vigil", "front", start, "front/2026-12-04/00/10.00.mp4", encrypted=False)
        == "vigil/front/2026/12/04/00/10.00.mp4"
    )
    assert (
        object_key("a/b", "front", start, "front/2026-12-04/00/10.00-1.mp4", encrypted=True)
        == "a/b/front/2026/12/04/00/10.00-1.mp4.enc"
    )
    assert object_key("", "front", start, "front/2026-12-04/00/10.00.mp4", encrypted=False) == (
        "front/2026/12/04/00/10.00.mp4"
    )


def test_metadata_says_camera_exact_times_checksum_and_encryption() -> None:
    assert object_metadata("front", 1000, 11_001, "ab" * 32, encrypted=True) == {
        "vigil-camera": "front",
        "vigil-start-ms": "1000",
        "vigil-end-ms": "11001",
        "vigil-sha256": "ab" * 32,
        "vigil-encrypted": "true",
    }


@pytest.mark.parametrize("size", [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES + 17])
def test_encryption_round_trips_whatever_the_parts(tmp_path: Path, size: int) -> None:
    plain = bytes((n * 7) % 251 for n in range(size))
    path = tmp_path / "segment.mp4"
    path.write_bytes(plain)
    body = EncryptedBody(path, KEY, SALT)
    assert body.size == encrypted_size(size) == HEADER_BYTES + size + max(1, -(-size // CHUNK_BYTES)) * TAG_BYTES
    whole = body.read(0, body.size)
    # Read in odd parts, as multipart uploads do, the bytes are the same (deterministic per salt).
    step = 777_777
    assert b"".join(body.read(offset, step) for offset in range(0, body.size, step)) == whole
    assert decrypt(KEY, whole) == plain
    sink = io.BytesIO()
    assert decrypt_stream(KEY, io.BytesIO(whole), sink) == size
    assert sink.getvalue() == plain


def test_a_wrong_key_or_a_damaged_object_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "segment.mp4"
    path.write_bytes(b"x" * (2 * CHUNK_BYTES + 5))
    whole = EncryptedBody(path, KEY, SALT).read(0, 10**9)
    with pytest.raises(DecryptionError, match="the key is not the one it was encrypted with"):
        decrypt(bytes(32), whole)
    truncated = whole[: HEADER_BYTES + CHUNK_BYTES + TAG_BYTES]  # the last chunk cut off
    with pytest.raises(DecryptionError, match="damaged or truncated"):
        decrypt(KEY, truncated)
    flipped = bytearray(whole)
    flipped[-1] ^= 1
    with pytest.raises(DecryptionError, match="damaged or truncated"):
        decrypt(KEY, bytes(flipped))
    with pytest.raises(DecryptionError, match="not an object encrypted by Vigil"):
        decrypt(KEY, b"\x00\x00\x00\x18ftypisom")


def test_a_chunk_decrypts_on_its_own_for_range_reads(tmp_path: Path) -> None:
    """Plaintext byte n is in chunk n // C at a fixed offset: a Range read needs only that chunk."""
    plain = bytes((n * 13) % 256 for n in range(3 * CHUNK_BYTES))
    path = tmp_path / "segment.mp4"
    path.write_bytes(plain)
    body = EncryptedBody(path, KEY, SALT)
    whole = body.read(0, body.size)
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    file_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT, info=b"vigil archive v1").derive(KEY)
    offset = HEADER_BYTES + 1 * (CHUNK_BYTES + TAG_BYTES)
    chunk = whole[offset : offset + CHUNK_BYTES + TAG_BYTES]
    nonce = (1).to_bytes(8, "big") + (0).to_bytes(4, "big")
    assert AESGCM(file_key).decrypt(nonce, chunk, whole[:HEADER_BYTES]) == plain[CHUNK_BYTES : 2 * CHUNK_BYTES]


def test_the_stored_object_of_a_real_segment_is_not_a_playable_mp4(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "clip.mp4", 2)
    with av.open(str(clip)) as container:
        assert container.streams.video  # the clear segment plays
    stored = tmp_path / "stored.bin"
    stored.write_bytes(EncryptedBody(clip, KEY, SALT).read(0, 10**9))
    assert b"ftyp" not in stored.read_bytes()[:64]
    with pytest.raises(av.FFmpegError):
        av.open(str(stored)).close()
    assert decrypt(KEY, stored.read_bytes()) == PlainBody(clip).read(0, 10**9)
