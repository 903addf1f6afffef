"""Keep credentials out of every log line, status field and API answer.

Cameras carry passwords in two places: explicit ``username``/``password`` config keys and
userinfo embedded in stream URLs. FFmpeg error messages echo the URL they failed to open,
so a password can reach a log through an exception text too. Everything that leaves the
engine as text goes through :func:`redact` or the :class:`SecretFilter` logging filter.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import quote, urlsplit, urlunsplit

REDACTED = "***"

# scheme://user:pass@host → scheme://***@host (also without a password).
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s'\"]+)@")


class _SecretRegistry:
    """Every secret the engine knows, so that log records can be scrubbed of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()

    def add(self, *secrets: str | None) -> None:
        with self._lock:
            extra = set()
            for secret in secrets:
                # Very short secrets would redact unrelated text; they are still removed
                # from URLs by the userinfo rule.
                if secret and len(secret) >= 3:
                    extra.add(secret)
                    extra.add(quote(secret, safe=""))
            self._secrets = self._secrets | extra

    def snapshot(self) -> frozenset[str]:
        return self._secrets


SECRETS = _SecretRegistry()


def redact(text: str) -> str:
    """Return ``text`` with URL userinfo and every registered secret replaced."""
    text = _USERINFO.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text)
    for secret in sorted(SECRETS.snapshot(), key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def with_credentials(url: str, username: str | None, password: str | None) -> str:
    """Insert ``username``/``password`` into ``url`` (percent-encoded) unless it has userinfo."""
    if not username:
        return url
    parts = urlsplit(url)
    if parts.username is not None or not parts.hostname:
        return url
    userinfo = quote(username, safe="")
    if password:
        userinfo += ":" + quote(password, safe="")
    netloc = f"{userinfo}@{parts.hostname}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def url_secrets(url: str) -> tuple[str | None, str | None]:
    """The (username, password) embedded in ``url``, if any."""
    parts = urlsplit(url)
    return parts.username, parts.password


class SecretFilter(logging.Filter):
    """Scrub the formatted message of every record, including exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info:
            # Format the traceback now so that it can be scrubbed too.
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(text)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        return True
