"""The ``archive:`` section: off unless configured, clear errors, and secrets never shown."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.engine_process import ROOT
from vigil_engine.archive.settings import MIB
from vigil_engine.config import ConfigError, parse_config
from vigil_engine.redact import SECRETS, redact

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ACCESS = "AKIAIOSFODNN7EXAMPLE"
KEY = bytes(range(32))


@pytest.fixture(autouse=True)
def _keep_secret_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """parse_config registers the credentials with the process-wide log redactor."""
    monkeypatch.setattr(SECRETS, "_secrets", SECRETS.snapshot())


def _archive(**options: object) -> dict[str, object]:
    return {
        "endpoint": "https://s3.eu-central-003.backblazeb2.com/",
        "bucket": "home-footage",
        "access_key_id": ACCESS,
        "secret_access_key": SECRET,
        **options,
    }


def _errors(raw: dict[str, object]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    return list(caught.value.errors)


def test_no_section_or_no_bucket_means_no_archive() -> None:
    assert parse_config({}).archive is None
    assert parse_config({"archive": {}}).archive is None
    assert parse_config({"archive": None}).archive is None
    assert parse_config({"archive": _archive(enabled=False)}).archive is None


def test_a_complete_section_and_its_defaults() -> None:
    config = parse_config(
        {
            "archive": _archive(encryption_key=base64.b64encode(KEY).decode(), prefix="/home/vigil/"),
            "cameras": [
                {"id": "front", "url": "demo://", "archive": "all"},
                {"id": "garden", "url": "demo://", "archive": False},
                {"id": "porch", "url": "demo://"},
            ],
        }
    )
    archive = config.archive
    assert archive is not None
    assert archive.endpoint == "https://s3.eu-central-003.backblazeb2.com"
    assert (archive.bucket, archive.prefix, archive.region, archive.copy) == (
        "home-footage",
        "home/vigil",
        "us-east-1",
        "events",
    )
    assert (archive.keep_days, archive.max_mbps, archive.keep_local_until_archived) == (None, None, False)
    assert (archive.part_size, archive.multipart_threshold) == (8 * MIB, 8 * MIB)
    assert archive.cache_bytes == 512_000_000
    bigger = parse_config({"archive": _archive(cache_mb=2048)}).archive
    assert bigger is not None
    assert bigger.cache_bytes == 2_048_000_000
    assert any("archive.cache_mb" in error for error in _errors({"archive": _archive(cache_mb=10)}))
    assert archive.encryption_key == KEY
    assert [cam.archive for cam in config.cameras] == ["all", "off", None]
    # A hex key is the same key.
    hex_config = parse_config({"archive": _archive(encryption_key=KEY.hex())})
    assert hex_config.archive is not None
    assert hex_config.archive.encryption_key == KEY


def test_every_mistake_is_named_with_its_key_in_one_pass() -> None:
    errors = _errors(
        {
            "archive": {
                "endpoint": "ftp://store",
                "bucket": "Bad_Bucket",
                "copy": "everything",
                "encryption_key": "short-and-secret",
                "keep_dayz": 30,
                "max_mbps": -1,
                "part_size": "1MiB",
            },
            "cameras": [{"id": "front", "url": "demo://", "archive": "sometimes"}],
        }
    )
    assert errors == [
        "archive.endpoint: expected the store's URL, such as https://s3.eu-central-1.amazonaws.com or "
        "http://192.168.1.5:8333",
        "archive.bucket: a bucket name is 3 to 63 lower-case letters, digits, '.' and '-'",
        "archive.copy: value must be one of ['all', 'events']",
        "archive.encryption_key: must be 32 random bytes as 64 hex digits or base64 (e.g. from: openssl rand "
        "-base64 32)",
        "archive.keep_dayz: unknown key (did you mean 'keep_days'?)",
        "archive.max_mbps: value must be at least 0.1",
        "archive.access_key_id: is required when archive.bucket is set",
        "archive.secret_access_key: is required when archive.bucket is set",
        "archive.part_size: must be at least 5MiB (S3 refuses smaller parts)",
        "cameras[front].archive: must be one of ['off', 'events', 'all'] (or false)",
    ]
    assert not any("short-and-secret" in error for error in errors)


def test_credentials_in_the_endpoint_url_are_refused() -> None:
    errors = _errors({"archive": _archive(endpoint=f"https://{ACCESS}:{SECRET}@s3.example.com")})
    assert errors == ["archive.endpoint: put the credentials in access_key_id and secret_access_key, not in the URL"]


def test_the_secrets_are_kept_out_of_repr_and_logs() -> None:
    encoded = base64.b64encode(KEY).decode()
    config = parse_config({"archive": _archive(encryption_key=encoded)})
    text = repr(config)
    for secret in (SECRET, ACCESS, encoded, repr(KEY)):
        assert secret not in text
    assert redact(f"signed with {SECRET} by {ACCESS} key {encoded}") == "signed with *** by *** key ***"


def test_check_validates_the_archive_without_showing_a_secret(tmp_path: Path) -> None:
    config = {
        "storage_path": str(tmp_path / "storage"),
        "archive": _archive(encryption_key="not-32-bytes-but-secret-anyway", secret_access_key=SECRET),
        "cameras": [{"id": "front", "url": "demo://"}],
    }
    path = tmp_path / "vigil.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "vigil_engine", "--config", str(path), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "addon"), "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "archive.encryption_key: must be 32 random bytes" in output
    for secret in (SECRET, ACCESS, "not-32-bytes-but-secret-anyway"):
        assert secret not in output
