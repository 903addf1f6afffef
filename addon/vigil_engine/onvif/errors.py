"""ONVIF failures as clear, password-free messages that say what to fix."""

from __future__ import annotations

import asyncio
from typing import Literal

import aiohttp
from zeep.exceptions import Fault, TransportError, XMLParseError

from vigil_engine.redact import redact

OnvifFailure = Literal["auth", "unreachable", "timeout", "no_media", "not_supported", "protocol"]

_AUTH_WORDS = ("notauthorized", "not authorized", "unauthorized", "authentication", "sender not auth")


class OnvifError(Exception):
    """An ONVIF request failed. ``str()`` is safe to log and to show a user."""

    def __init__(self, kind: OnvifFailure, message: str) -> None:
        super().__init__(redact(message))
        self.kind = kind


def _is_auth_fault(err: Fault) -> bool:
    text = " ".join(str(part) for part in (err.message, err.code, *(err.subcodes or ()))).lower()
    return any(word in text for word in _AUTH_WORDS)


def classify(err: BaseException, where: str) -> OnvifError:
    """Turn whatever the ONVIF client raised into an :class:`OnvifError` (``where``: host:port)."""
    if isinstance(err, OnvifError):
        return err
    if isinstance(err, Fault):
        if _is_auth_fault(err):
            return OnvifError("auth", f"ONVIF authentication failed at {where}: check the username and password")
        return OnvifError("protocol", f"the camera at {where} refused the request: {err.message}")
    if isinstance(err, TransportError):
        if err.status_code in (401, 403):
            return OnvifError("auth", f"ONVIF authentication failed at {where}: check the username and password")
        return OnvifError("protocol", f"the camera at {where} answered HTTP {err.status_code}")
    if isinstance(err, TimeoutError | asyncio.TimeoutError):
        return OnvifError("timeout", f"the camera at {where} did not answer in time")
    if isinstance(err, aiohttp.ClientConnectorError | ConnectionError | OSError):
        return OnvifError("unreachable", f"cannot reach the camera's ONVIF service at {where}")
    if isinstance(err, aiohttp.ClientError):
        return OnvifError("unreachable", f"the connection to {where} failed: {type(err).__name__}")
    text = str(err)
    if "doesn`t support service" in text or "doesn't support service" in text:
        service = text.rsplit("service:", 1)[-1].split(" with ", 1)[0].strip() or "?"
        kind: OnvifFailure = "no_media" if service == "media" else "not_supported"
        return OnvifError(kind, f"the camera at {where} has no ONVIF {service} service")
    if isinstance(err, XMLParseError | ValueError):
        return OnvifError("protocol", f"the camera at {where} sent an answer that is not valid ONVIF: {text[:200]}")
    return OnvifError("protocol", f"ONVIF request to {where} failed: {type(err).__name__}: {text[:200]}")
