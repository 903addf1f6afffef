"""Configuration: valid files load; bad ones name the key and camera; secrets never echoed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.engine_process import EngineProcess
from vigil_engine.config import ConfigError, DiskLimit, demo_config, load_config, parse_config


def test_full_config_loads(tmp_path: Path) -> None:
    path = tmp_path / "vigil.yaml"
    path.write_text(
        """
storage_path: footage
segment_seconds: 6
disk_cap: 80%
min_free: 2GiB
time_zone: Europe/Berlin
cameras:
  - id: front_door
    name: Front door
    url: rtsp://192.0.2.10:554/stream1
    substream_url: rtsp://192.0.2.10:554/stream2
    username: admin
    password: hunter22
    record: events
    retention_days: 3
""",
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.storage_path == tmp_path / "footage"
    assert config.segment_seconds == 6
    assert config.disk_cap == DiskLimit(percent=80)
    assert config.min_free == DiskLimit(bytes=2 * 1024**3)
    camera = config.camera("front_door")
    assert camera.record == "events"
    assert camera.retention_days == 3
    assert "hunter22" not in repr(camera)
    with pytest.raises(KeyError):
        config.camera("nope")


def test_addon_options_json_uses_the_same_schema(tmp_path: Path) -> None:
    path = tmp_path / "options.json"
    path.write_text(json.dumps({"storage_path": "/media/vigil", "cameras": [{"id": "a", "url": "demo://"}]}))
    config = load_config(path)
    assert config.cameras[0].is_demo
    assert config.cameras[0].name == "A"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"cameras": [{"id": "Bad Id", "url": "rtsp://x/y"}]}, "cameras[Bad Id].id: must be a slug"),
        ({"cameras": [{"id": "porch", "url": "rtsp://x/y", "record": "always"}]}, "cameras[porch].record:"),
        ({"cameras": [{"id": "porch"}]}, "cameras[porch].url: is required"),
        ({"cameras": [{"id": "porch", "url": "ftp://x/y"}]}, "cameras[porch].url: unsupported URL scheme"),
        ({"cameras": [{"id": "porch", "url": "rtsp://x", "colour": 1}]}, "cameras[porch].colour: unknown key"),
        ({"cameras": [{"id": "a", "url": "demo://"}, {"id": "a", "url": "demo://"}]}, "duplicate camera id"),
        ({"disk_cap": "lots"}, "disk_cap: expected a size"),
        ({"disk_cap": "120%"}, "disk_cap: a percentage must be between 0 and 100"),
        ({"time_zone": "Mars/Olympus"}, "time_zone: unknown IANA time zone"),
        ({"cameras": [{"id": "porch", "url": "rtsp://cam:99999/x"}]}, "cameras[porch].url: the URL's port must be"),
        ({"api_token": "short"}, "api_token: must be 16 to 256 characters long"),
        ({"segment_seconds": 0}, "segment_seconds:"),
        ({"surprise": True}, "surprise: unknown key"),
        (["not", "a", "mapping"], "expected a mapping"),
    ],
)
def test_errors_name_the_key_and_camera(raw: object, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    assert message in str(err.value)


def test_yaml_errors_do_not_echo_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("cameras:\n  - id: a\n    password: s3cr3t-pw\n   url: [oops\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "not valid YAML at line" in str(err.value)
    assert "s3cr3t-pw" not in str(err.value)
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "missing.yaml")


def test_sizes_and_defaults() -> None:
    config = parse_config({"disk_cap": "1.5 GB", "min_free": 1000})
    assert config.disk_cap == DiskLimit(bytes=1_500_000_000)
    assert config.min_free.resolve(10**12) == 1000
    assert DiskLimit(percent=50).resolve(1000) == 500
    assert parse_config({"disk_cap": "512MiB"}).disk_cap == DiskLimit(bytes=512 * 1024**2)
    assert parse_config({}).cameras == ()
    assert demo_config(Path("/tmp/x")).cameras[0].url == "demo://"


def test_time_zone_defaults_to_the_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    # The Supervisor hands add-ons Home Assistant's zone in TZ; a bad or missing one means UTC.
    monkeypatch.setenv("TZ", "Australia/Adelaide")
    assert parse_config({}).time_zone == "Australia/Adelaide"
    assert parse_config({"time_zone": "Asia/Kolkata"}).time_zone == "Asia/Kolkata"
    monkeypatch.setenv("TZ", "Nowhere/Special")
    assert parse_config({}).time_zone == "UTC"
    monkeypatch.delenv("TZ")
    assert parse_config({}).time_zone == "UTC"


def test_malformed_config_exits_with_a_clear_message(tmp_path: Path) -> None:
    engine = EngineProcess(tmp_path, {"cameras": [{"id": "porch", "url": "rtsp://x/y", "record": "sometimes"}]})
    engine.start()
    assert engine.proc is not None
    assert engine.proc.wait(30) == 2
    assert "Invalid configuration: cameras[porch].record:" in engine.log()
    assert "Traceback" not in engine.log()
