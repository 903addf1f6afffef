"""Who may use the API: one bearer token, and short-lived signed paths for players.

The token is ``api_token`` from the configuration or, when that is not set, one generated
on the first start and kept in ``api_token`` (mode 0600) beside the index database: the
add-on's discovery script reads it from there to hand it to Home Assistant. Beside the
database, not in the storage folder: the add-on keeps footage under /media, which Home
Assistant's media browser shows to every user, and the database under /data, which it
does not. It is compared in
constant time and never logged (it is registered with the log redactor).

Only the ``Authorization: Bearer <token>`` header authenticates an HTTP request. A token
anywhere else (a query parameter, a cookie) is not looked at. For clients that cannot
send headers (``<img>``, ``<video>``, notification attachments) the WebSocket command
``sign_path`` makes a path with a ``sig`` query parameter: an HMAC of the method, the
path, the rest of the query and an expiry, under a key derived from the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import time
from pathlib import Path

from yarl import URL

from vigil_engine.redact import SECRETS

from .errors import ApiError

_LOGGER = logging.getLogger(__name__)

TOKEN_FILE = "api_token"  # noqa: S105 - the name of the file, not a token
SIGNATURE_PARAM = "sig"
MAX_SIGNATURE_SECONDS = 86_400
MIN_TOKEN_LENGTH = 16


def load_or_create_token(storage_path: Path, configured: str | None) -> str:
    """The API token: the configured one, else the stored one, else a new one (stored, 0600)."""
    if configured:
        SECRETS.add(configured)
        return configured
    path = storage_path / TOKEN_FILE
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        token = ""
    if len(token) >= MIN_TOKEN_LENGTH:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        SECRETS.add(token)
        _LOGGER.info("API token: using the one kept in %s", path)
        return token
    token = secrets.token_urlsafe(32)
    storage_path.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{TOKEN_FILE}.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, f"{token}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    partial.replace(path)
    SECRETS.add(token)
    _LOGGER.info("API token generated and kept in %s (set api_token in the configuration to choose one)", path)
    return token


def token_matches(presented: str | None, token: str) -> bool:
    """Whether ``presented`` is the token. A header's undecodable bytes (escaped as surrogates by
    aiohttp) compare as those bytes; any other lone surrogate (JSON's ``"\\ud800"``) never matches."""
    if presented is None:
        return False
    try:
        candidate = presented.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(candidate, token.encode("utf-8"))


def bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


class Signer:
    """Signs and checks paths for one HTTP ``GET`` without the header.

    The MAC covers the method, the raw path, every query parameter but ``sig`` (sorted) and
    the expiry, each field prefixed with its length in bytes, so that no value can pose as a
    separator: ``?a=1%0Ab=2`` and ``?a=1&b=2`` sign differently (version 1 joined the fields
    with newlines and could not tell them apart). The key is derived from the token under a
    label naming the version of this canonical form: a signature of another version never
    verifies.

    Only a path in its one canonical form is signed, and only such a path verifies: segments
    of unreserved characters (letters, digits, ``-._~``), none empty, none made of dots, no
    percent-encoding or backslash, each query parameter at most once, no fragment. Any other
    spelling may reach another resource than the signer saw once a browser, a proxy or the
    server has normalised it (``/api/events/x/../../cameras/...``), or let the holder of a
    signature reorder repeated parameters.
    """

    KEY_LABEL = b"vigil path signing v2"
    SEGMENT_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    def __init__(self, token: str) -> None:
        self._key = hmac.new(token.encode(), self.KEY_LABEL, hashlib.sha256).digest()

    @classmethod
    def ambiguity(cls, url: URL) -> str | None:
        """Why ``url`` is not in the canonical form a signature may cover, or None if it is."""
        if url.is_absolute() or url.raw_fragment or not url.raw_path.startswith("/"):
            return "expected a path (with an optional query) and nothing else"
        for segment in url.raw_path.split("/")[1:]:
            if not segment:
                return "empty path segments ('//' or a trailing '/') are not signed"
            if not set(segment) <= cls.SEGMENT_CHARACTERS:
                return "path segments may hold only letters, digits and - . _ ~ (no escapes, no backslashes)"
            if not segment.strip("."):
                return "dot segments ('.' or '..') are not signed"
        keys = [key for key, _value in url.query.items()]
        if len(keys) != len(set(keys)):
            return "each query parameter may appear only once"
        return None

    @staticmethod
    def _field(text: str) -> bytes:
        data = text.encode("utf-8", "surrogatepass")
        return b"%d:%b" % (len(data), data)

    def _mac(self, method: str, url: URL, expires_ms: int) -> str:
        query = sorted((k, v) for k, v in url.query.items() if k != SIGNATURE_PARAM)
        fields = [method, url.raw_path, str(len(query)), *(part for pair in query for part in pair), str(expires_ms)]
        canonical = b"".join(self._field(text) for text in fields)
        digest = hmac.new(self._key, canonical, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")

    def sign(self, url: URL, expires_ms: int) -> URL:
        """``url`` (path and query, relative) with its signature added.

        ApiError ``invalid_argument`` for a path that is not in canonical form (see the class).
        """
        if (problem := self.ambiguity(url)) is not None:
            raise ApiError("invalid_argument", f"path: {problem}")
        signature = f"{expires_ms}.{self._mac('GET', url, expires_ms)}"
        return url.update_query({SIGNATURE_PARAM: signature})

    def verify(self, method: str, url: URL, now_ms: int | None = None) -> int:
        """The signature's expiry if ``url`` carries a valid one; else ApiError (401, or 403 if expired)."""
        if self.ambiguity(url) is not None:
            raise ApiError("unauthorized", "a signed path must be in canonical form, as sign_path returned it")
        signature = url.query.get(SIGNATURE_PARAM, "")
        expires_text, _, mac = signature.partition(".")
        if not expires_text.isdigit() or len(expires_text) > 15 or not mac:
            raise ApiError("unauthorized", "malformed signature")
        expires_ms = int(expires_text)
        # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, a 500).
        expected = self._mac("GET", url, expires_ms).encode()
        if not hmac.compare_digest(mac.encode("utf-8", "surrogatepass"), expected):
            raise ApiError("unauthorized", "bad signature")
        if method not in ("GET", "HEAD"):
            raise ApiError("forbidden", "a signed path is good only for GET")
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        if now_ms >= expires_ms:
            raise ApiError("forbidden", "the signed path has expired")
        return expires_ms
