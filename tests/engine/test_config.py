"""Configuration: valid files load; bad ones name the key and camera; secrets never echoed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.api.conftest import free_port
from tests.support.engine_process import EngineProcess
from vigil_engine import config as config_module
from vigil_engine.config import (
    ConfigError,
    DiskLimit,
    EngineConfig,
    demo_config,
    load_config,
    parse_camera,
    parse_config,
)


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


# --- Every error in one pass --------------------------------------------------------------


def test_all_errors_of_all_cameras_and_the_top_level_at_once() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(
            {
                "storage_pth": "x",
                "time_zone": "Europe/Berln",
                "cameras": [
                    {"id": "porch", "url": "rtsp://x/y", "record": "always", "motion": {"zones": "no"}},
                    {"id": "porch", "url": "demo://", "events": {"max_seconds": 1, "quiet_secs": 2}},
                    {"id": "Gate", "onvif": {"host": "h"}, "url": "rtsp://h/s"},
                    "not a camera",
                ],
            }
        )
    assert err.value.errors == (
        "storage_pth: unknown key (did you mean 'storage_path'?)",
        "time_zone: unknown IANA time zone 'Europe/Berln'",
        "cameras[porch].record: value must be one of ['continuous', 'events', 'off']",
        "cameras[porch].motion.zones: expected a list",
        "cameras[porch].events.max_seconds: value must be at least 10",
        "cameras[porch].events.quiet_secs: unknown key (did you mean 'quiet_seconds'?)",
        "cameras[porch].id: duplicate camera id 'porch'",
        "cameras[Gate].id: must be a slug: lower-case letters, digits and '_', at most 64 characters",
        "cameras[Gate].onvif: give either onvif or url, not both",
        "cameras[3]: expected a mapping of keys to values",
    )
    assert str(err.value) == "; ".join(err.value.errors)  # one line for a log record or an API answer


def test_every_zone_is_checked_not_only_the_first() -> None:
    zones = [
        {"name": "a", "polygon": "0,0 1,0"},
        {"name": "b", "polygon": "0,0 1,0 1,1", "min_area_percnt": 3},
        {"name": "a", "polygon": "0,0 1,0 1,1"},
    ]
    with pytest.raises(ConfigError) as err:
        parse_camera({"id": "porch", "url": "demo://", "motion": {"zones": zones}}, "camera")
    assert err.value.errors == (
        "camera.motion.zones[0].polygon: a polygon needs at least three points",
        "camera.motion.zones[1].min_area_percnt: unknown key (did you mean 'min_area_percent'?)",
        "camera.motion.zones[2].name: duplicate zone name 'a'",
    )


@pytest.mark.parametrize(
    ("yaml_value", "kind"),
    [("123456", "a number"), ("12.5", "a number"), ("yes", "true/false"), ("2024-01-01", "a date")],
)
def test_a_password_yaml_reads_as_something_else_gets_a_hint_not_an_echo(
    tmp_path: Path, yaml_value: str, kind: str
) -> None:
    path = tmp_path / "vigil.yaml"
    path.write_text(
        f"api_token: {yaml_value}\ncameras:\n  - id: porch\n    url: rtsp://cam/s\n    password: {yaml_value}\n"
        f"  - id: gate\n    onvif:\n      host: gate.local\n      password: {yaml_value}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    hint = f"YAML reads this as {kind}, not text: quote it:"
    assert err.value.errors == (
        f'api_token: {hint} api_token: "…"',
        f'cameras[porch].password: {hint} password: "…"',
        f'cameras[gate].onvif.password: {hint} password: "…"',
    )
    assert yaml_value not in str(err.value)
    assert "2024" not in str(err.value)


def test_errors_never_echo_secrets() -> None:
    secret = "Hunter2-Secret"
    with pytest.raises(ConfigError) as err:
        parse_config(
            {
                "api_token": secret[:5],
                "cameras": [
                    {"id": "a", "url": f"rtsp://admin:{secret}@cam:99999/s", "password": secret, "record": "x"},
                    {"id": "b", "url": f"ftp://admin:{secret}@cam/s", "substream_url": f"onvif://u:{secret}@h"},
                    {"id": "c", "onvif": {"host": "h", "password": ["not", secret]}},
                ],
            }
        )
    assert len(err.value.errors) == 6, err.value.errors
    assert secret not in str(err.value)
    assert secret[:5] not in str(err.value)


# --- Where the API listens by default -----------------------------------------------------


def test_a_standalone_engine_listens_on_loopback_and_the_add_on_on_every_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The add-on's options file is /data/options.json, which a test may not write on a shared
    machine: ADDON_OPTIONS is pointed at a file in tmp_path (the engine's own check, by path)."""
    standalone = tmp_path / "vigil.yaml"
    standalone.write_text("storage_path: footage\n", encoding="utf-8")
    assert load_config(standalone).api_host == "127.0.0.1"
    assert demo_config(tmp_path).api_host == "127.0.0.1"
    assert parse_config({}).api_host == "127.0.0.1"
    assert EngineConfig(storage_path=tmp_path, cameras=()).api_host == "127.0.0.1"
    # The add-on: the Supervisor's options file, or a document from its data folder.
    options = tmp_path / "data" / "options.json"
    options.parent.mkdir()
    options.write_text(json.dumps({"storage_path": "/media/vigil"}), encoding="utf-8")
    monkeypatch.setattr(config_module, "ADDON_OPTIONS", options)
    assert load_config(options).api_host == "0.0.0.0"
    assert load_config(None).api_host == "0.0.0.0"
    assert parse_config({}, base_dir=options.parent).api_host == "0.0.0.0"
    assert parse_config({}, addon=True).api_host == "0.0.0.0"
    # Settable either way.
    assert parse_config({"api_host": "192.0.2.5"}, addon=True).api_host == "192.0.2.5"
    assert parse_config({"api_host": "0.0.0.0"}).api_host == "0.0.0.0"


def _listening(port: int) -> list[str]:
    """The local IPv4 addresses with a socket listening on ``port`` (from /proc/net/tcp)."""
    addresses = []
    for line in Path("/proc/net/tcp").read_text(encoding="ascii").splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        host, _, port_hex = local.partition(":")
        if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
            addresses.append(".".join(str(b) for b in reversed(bytes.fromhex(host))))
    return addresses


def test_an_engine_run_by_hand_is_not_open_to_the_lan(tmp_path: Path) -> None:
    port = free_port()
    engine = EngineProcess(tmp_path, {"api_port": port, "cameras": []})
    del engine.config["api_host"]  # the harness sets one; this test wants the engine's default
    engine.start()
    try:
        addresses = engine.wait_for(lambda: _listening(port), 30, "the API to listen")
        assert addresses == ["127.0.0.1"]
    finally:
        assert engine.stop() == 0


def test_object_detection_settings_and_their_defaults(tmp_path: Path) -> None:
    config = parse_config(
        {
            "detector": {"model": "models/yolox_s.onnx", "threads": 2},
            "cameras": [
                {"id": "plain", "url": "demo://"},
                {
                    "id": "drive",
                    "url": "demo://",
                    "events_from": "objects",
                    "object_fps": 3,
                    "objects": ["person", "vehicle", "traffic_light"],
                    "object_filters": ["vehicle min_score=0.7", "car min_area_percent=1", "person min_score=0.6"],
                    "object_masks": ["0.8,0 1,0 1,0.3"],
                    "motion": {"zones": [{"name": "lawn", "polygon": "0,0.5 1,0.5 1,1", "objects": ["animal"]}]},
                },
            ],
        },
        base_dir=tmp_path,
    )
    assert config.detector.model == tmp_path / "models" / "yolox_s.onnx"
    assert (config.detector.backend, config.detector.threads) == ("onnx", 2)
    plain, drive = config.cameras
    assert plain.objects.enabled
    assert plain.objects.labels == {"person", "car", "dog", "cat"}
    assert plain.objects.fps == 5
    assert plain.objects.filter_for("person").min_score == 0.5
    assert plain.events.events_from == "motion"
    assert drive.events.events_from == "objects"
    assert drive.objects.fps == 3
    assert drive.objects.labels == {"person", "bicycle", "car", "motorcycle", "bus", "truck", "traffic light"}
    # A group's limits apply to its labels; a label's own limits override those they name.
    assert drive.objects.filter_for("bus").min_score == 0.7
    assert (drive.objects.filter_for("car").min_score, drive.objects.filter_for("car").min_area) == (0.7, 0.01)
    assert drive.objects.filter_for("person").min_score == 0.6
    assert drive.objects.min_score == 0.5  # what the detector is asked for: the lowest (traffic lights: default)
    assert drive.objects.masks == (((0.8, 0.0), (1.0, 0.0), (1.0, 0.3)),)
    (lawn,) = drive.motion.zones
    assert lawn.objects is not None
    assert "dog" in lawn.objects
    assert "person" not in lawn.objects
    assert plain.motion.zones == ()


def test_object_settings_errors_all_at_once_with_hints() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(
            {
                "detector": {"backend": "remote", "threds": 2},
                "cameras": [
                    {
                        "id": "porch",
                        "url": "demo://",
                        "objects": ["persn", "car", "unicorn"],
                        "object_fps": 0,
                        "object_filters": ["person min_scor=0.5", "dog min_score=2", "cat", "cat min_score=0.4"],
                        "object_masks": ["0,0 1,1"],
                        "events_from": "people",
                        "object_detection": "sometimes",
                        "motion": {"zones": [{"name": "lawn", "polygon": "0,0 1,0 1,1", "objects": ["hoose"]}]},
                    },
                    {"id": "gate", "url": "demo://", "objects": {"enabled": True}},
                ],
            }
        )
    assert err.value.errors == (
        "detector.threds: unknown key (did you mean 'threads'?)",
        "detector.url: the remote backend needs the server's URL, such as http://192.168.1.20:8000",
        "cameras[porch].objects: unknown label 'persn' (did you mean 'person'?); unknown label 'unicorn' "
        "(a COCO label such as person, car or dog, or a group: person, vehicle, animal)",
        "cameras[porch].object_fps: value must be at least 0.5",
        "cameras[porch].object_filters[0]: unknown limit 'min_scor' (did you mean 'min_score'?): "
        "expected 'LABEL min_score=0.6 min_area_percent=0.5' (either limit may be left out)",
        "cameras[porch].object_filters[1]: min_score must be a number from 0 to 1",
        "cameras[porch].object_masks[0]: a polygon needs at least three points",
        "cameras[porch].events_from: value must be one of ['motion', 'objects']",
        "cameras[porch].object_detection: expected bool",
        "cameras[porch].motion.zones[0].objects: unknown label 'hoose' (did you mean 'horse'?)",
        "cameras[porch].object_filters[3]: a second filter for 'cat'",
        "cameras[gate].objects: expected a list of labels, such as [person, car]",
    )
