"""Passwords never reach a log line, including exception text and FFmpeg's messages."""

from __future__ import annotations

import logging

import pytest

from vigil_engine.config import parse_config
from vigil_engine.logs import setup_logging
from vigil_engine.redact import SecretFilter, redact, url_secrets, with_credentials


def test_userinfo_is_removed_from_urls() -> None:
    assert redact("failed: 'rtsp://admin:pw@10.0.0.2:554/s'") == "failed: 'rtsp://***@10.0.0.2:554/s'"
    assert redact("http://user@host/x") == "http://***@host/x"
    assert redact("no url here") == "no url here"


def test_credentials_are_inserted_encoded() -> None:
    url = with_credentials("rtsp://cam:554/s", "ad min", "p@ss:word/")
    assert url == "rtsp://ad%20min:p%40ss%3Aword%2F@cam:554/s"
    assert url_secrets(url) == ("ad%20min", "p%40ss%3Aword%2F")
    assert with_credentials("rtsp://u:p@cam/s", "x", "y") == "rtsp://u:p@cam/s"
    assert with_credentials("rtsp://cam/s", None, "y") == "rtsp://cam/s"


def test_configured_secrets_are_scrubbed_from_records(caplog: pytest.LogCaptureFixture) -> None:
    parse_config({"cameras": [{"id": "a", "url": "rtsp://cam/s", "password": "Zebra-Horse-42"}]})
    logger = logging.getLogger("vigil_engine.test")
    logger.addFilter(SecretFilter())
    try:
        with caplog.at_level(logging.INFO):
            logger.info("login with %s failed", "Zebra-Horse-42")
            try:
                raise ValueError("bad password Zebra-Horse-42 for rtsp://u:Zebra-Horse-42@cam")
            except ValueError:
                logger.exception("boom")
    finally:
        logger.filters.clear()
    text = caplog.text
    assert "Zebra-Horse-42" not in text
    assert "login with *** failed" in text
    assert "rtsp://***@cam" in text


def test_setup_logging_installs_the_filter() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging("debug")
        assert any(isinstance(f, SecretFilter) for f in root.handlers[0].filters)
        setup_logging("info")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
