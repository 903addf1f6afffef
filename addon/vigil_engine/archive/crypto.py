"""Client-side encryption of archived segments: AES-256-GCM in fixed chunks.

The store only ever sees ciphertext; the key stays with the user (a lost key means the
archived footage can never be read again: nothing, not even Vigil, can recover it).

Format of an encrypted object (version 1)::

    header  = b"VIGILAE1" | chunk size (uint32, big-endian) | salt (16 random bytes)   (28 bytes)
    chunk i = AES-256-GCM(file key, nonce_i, plaintext[i*C : (i+1)*C], aad=header)     (len + 16-byte tag)

* The file key is HKDF-SHA256(user key, salt, info=b"vigil archive v1"): every object has its
  own key, so the nonce can be the chunk's position, ``i`` (8 bytes, big-endian) followed by
  4 bytes that are 1 for the last chunk and 0 otherwise. Reordered, dropped or appended
  chunks fail their tag, and a truncated object lacks a chunk marked last.
* Every chunk but the last holds exactly C plaintext bytes (1 MiB); the last holds the rest
  (an empty segment is one empty last chunk). So the plaintext's byte ``n`` is in chunk
  ``n // C``, at offset ``28 + (n // C) * (C + 16)`` of the object: a Range read of the
  archive (playback, a later slice) fetches and decrypts only the chunks it needs.
* Encryption is deterministic for a given salt: an upload that resumes after a restart
  encrypts its remaining parts exactly as the first run would have (the salt is kept in the
  queue), and parts may end anywhere inside a chunk.
"""

from __future__ import annotations

import io
import struct
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"VIGILAE1"
SALT_BYTES = 16
HEADER_BYTES = len(MAGIC) + 4 + SALT_BYTES
TAG_BYTES = 16
CHUNK_BYTES = 1024 * 1024
_INFO = b"vigil archive v1"


class DecryptionError(ValueError):
    """The object cannot be decrypted: another key, or the object is damaged or not Vigil's."""


class WrongKeyError(DecryptionError):
    """The object's first chunk opens with no marker: the key is not the one it was encrypted with."""


class Source(Protocol):
    """What ``decrypt_stream`` reads: a file, or an object's body (``store.ObjectReader``)."""

    def read(self, size: int = -1, /) -> bytes: ...


class Sink(Protocol):
    """Where ``decrypt_stream`` writes: a file, or one that hashes what it writes (``restore``)."""

    def write(self, data: bytes, /) -> int: ...


def header(salt: bytes, chunk_bytes: int = CHUNK_BYTES) -> bytes:
    return MAGIC + struct.pack(">I", chunk_bytes) + salt


def encrypted_size(plain_bytes: int, chunk_bytes: int = CHUNK_BYTES) -> int:
    chunks = max(1, -(-plain_bytes // chunk_bytes))
    return HEADER_BYTES + plain_bytes + chunks * TAG_BYTES


class _FileCipher:
    """AES-256-GCM with the object's own key. cryptography is imported here, when an object is
    first encrypted or decrypted: an archive without encryption never loads it (~8 MB of RSS)."""

    def __init__(self, key: bytes, salt: bytes) -> None:
        from cryptography.hazmat.primitives import hashes  # noqa: PLC0415 - see the docstring
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: PLC0415
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF  # noqa: PLC0415

        file_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_INFO).derive(key)
        self.aead: AESGCM = AESGCM(file_key)

    def decrypt(self, nonce: bytes, sealed: bytes, associated: bytes) -> bytes | None:
        """The plaintext, or None when the tag does not match (another key, damage, another nonce)."""
        from cryptography.exceptions import InvalidTag  # noqa: PLC0415 - loaded with the cipher

        try:
            return self.aead.decrypt(nonce, sealed, associated)
        except InvalidTag:
            return None


def _nonce(index: int, last: bool) -> bytes:
    return struct.pack(">QI", index, 1 if last else 0)


class ChunkEncryptor:
    """Encrypts the chunks of one object (its key and salt fixed)."""

    def __init__(self, key: bytes, salt: bytes, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.header = header(salt, chunk_bytes)
        self.chunk_bytes = chunk_bytes
        self._cipher = _FileCipher(key, salt)

    def encrypt(self, index: int, plaintext: bytes, last: bool) -> bytes:
        return self._cipher.aead.encrypt(_nonce(index, last), plaintext, self.header)

    def encrypt_into(self, index: int, plaintext: memoryview, last: bool, out: memoryview) -> None:
        """Encrypt into ``out`` (plaintext's length + the tag): no allocation per chunk."""
        self._cipher.aead.encrypt_into(_nonce(index, last), plaintext, self.header, out[: len(plaintext) + TAG_BYTES])


def _parse_header(data: bytes) -> tuple[int, bytes]:
    if len(data) < HEADER_BYTES or data[: len(MAGIC)] != MAGIC:
        raise DecryptionError("not an object encrypted by Vigil (its header is missing)")
    (chunk_bytes,) = struct.unpack(">I", data[len(MAGIC) : len(MAGIC) + 4])
    if not 1 <= chunk_bytes <= 64 * 1024 * 1024:
        raise DecryptionError("the object's header is damaged")
    return chunk_bytes, data[len(MAGIC) + 4 : HEADER_BYTES]


def decrypt_stream(key: bytes, source: Source, sink: Sink) -> int:
    """Decrypt the object read from ``source`` into ``sink``, a chunk at a time; the plaintext's size.

    Raises :class:`DecryptionError` for a wrong key, a damaged or truncated object."""
    head = source.read(HEADER_BYTES)
    chunk_bytes, salt = _parse_header(head)
    cipher = _FileCipher(key, salt)
    sealed = chunk_bytes + TAG_BYTES
    index = written = 0
    chunk = source.read(sealed)
    while True:
        following = source.read(sealed) if len(chunk) == sealed else b""
        last = not following
        plain = cipher.decrypt(_nonce(index, last), chunk, head)
        if plain is None:
            raise _why_not(cipher, index, last, chunk, head)
        sink.write(plain)
        written += len(plain)
        if last:
            return written
        chunk, index = following, index + 1


def _why_not(cipher: _FileCipher, index: int, last: bool, chunk: bytes, head: bytes) -> DecryptionError:
    """Why a chunk failed: the object ends early (the chunk opens as a middle one), it is damaged
    past its first chunk, or (at the first chunk) the key is another one."""
    if cipher.decrypt(_nonce(index, not last), chunk, head) is not None:
        return DecryptionError(f"cannot decrypt: the object is damaged or truncated (it ends after chunk {index})")
    if index == 0:
        return WrongKeyError("cannot decrypt: the key is not the one it was encrypted with (or the object is damaged)")
    return DecryptionError(f"cannot decrypt chunk {index}: the object is damaged or truncated")


def first_chunk_range() -> tuple[int, int]:
    """The bytes (first, last inclusive) of an object that hold its header and first chunk."""
    return 0, HEADER_BYTES + CHUNK_BYTES + TAG_BYTES - 1


def decrypt_first_chunk(key: bytes, data: bytes) -> bytes:
    """The plaintext of the first chunk, from the object's first bytes (``first_chunk_range``):
    the start of a segment (its ``ftyp`` and ``moov``) without fetching the rest."""
    chunk_bytes, salt = _parse_header(data)
    head = data[:HEADER_BYTES]
    chunk = data[HEADER_BYTES : HEADER_BYTES + chunk_bytes + TAG_BYTES]
    cipher = _FileCipher(key, salt)
    for last in (len(chunk) < chunk_bytes + TAG_BYTES, len(chunk) == chunk_bytes + TAG_BYTES):
        plain = cipher.decrypt(_nonce(0, last), chunk, head)
        if plain is not None:
            return plain
    raise WrongKeyError("cannot decrypt: the key is not the one it was encrypted with (or the object is damaged)")


def decrypt(key: bytes, data: bytes) -> bytes:
    """The plaintext of a whole encrypted object held in memory (small objects, tests)."""
    sink = io.BytesIO()
    decrypt_stream(key, io.BytesIO(data), sink)
    return sink.getvalue()
