"""Pure parts: which profile is the main stream, how topics map to detections, the config keys."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from zeep.exceptions import Fault, TransportError

from vigil_engine.config import ConfigError, parse_config
from vigil_engine.onvif.device import Profile, pick_profiles
from vigil_engine.onvif.errors import OnvifError, classify
from vigil_engine.onvif.topics import parse_notification, strip_prefixes
from vigil_engine.redact import SECRETS


@pytest.fixture(autouse=True)
def _keep_secret_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """parse_config registers passwords with the process-wide log redactor; keep it as it was."""
    monkeypatch.setattr(SECRETS, "_secrets", SECRETS.snapshot())


def _profile(token: str, width: int, height: int) -> Profile:
    return Profile(token, token, width, height, "H264", ptz=False)


PROFILES = [_profile("mid", 1280, 720), _profile("big", 2560, 1440), _profile("small", 640, 360)]


def test_largest_profile_is_main_and_smallest_is_sub() -> None:
    main, sub = pick_profiles(PROFILES, None, None)
    assert (main.token, sub.token if sub else None) == ("big", "small")
    main, sub = pick_profiles(PROFILES, "mid", None)
    assert (main.token, sub.token if sub else None) == ("mid", "small")
    main, sub = pick_profiles(PROFILES, None, "mid")
    assert (main.token, sub.token if sub else None) == ("big", "mid")
    assert pick_profiles([_profile("only", 1920, 1080)], None, None)[1] is None
    with pytest.raises(OnvifError, match=r"main_profile 'nope' is not one of the camera's profiles \(big, mid, sm"):
        pick_profiles(PROFILES, "nope", None)
    with pytest.raises(OnvifError, match="no media profile"):
        pick_profiles([], None, None)


def _message(data: dict[str, str], source: dict[str, str] | None = None) -> Any:
    def items(values: dict[str, str]) -> Any:
        return SimpleNamespace(SimpleItem=[SimpleNamespace(Name=k, Value=v) for k, v in values.items()])

    return SimpleNamespace(Data=items(data), Source=items(source or {"VideoSourceToken": "0"}))


@pytest.mark.parametrize(
    ("topic", "data", "expected"),
    [
        ("tns1:VideoSource/MotionAlarm", {"State": "true"}, ("motion", True)),
        ("tns1:RuleEngine/CellMotionDetector/Motion", {"IsMotion": "false"}, ("motion", False)),
        ("tns1:RuleEngine/MyRuleDetector/PeopleDetect", {"IsPeople": "true"}, ("person", True)),
        ("tns1:RuleEngine/PeopleDetector/People", {"IsPeople": "1"}, ("person", True)),
        ("tns1:RuleEngine/MyRuleDetector/VehicleDetect", {"IsVehicle": "true"}, ("vehicle", True)),
        ("tns1:RuleEngine/MyRuleDetector/DogCatDetect", {"IsDogCat": "true"}, ("animal", True)),
        ("tns1:RuleEngine/FieldDetector/ObjectsInside", {"IsInside": "true"}, ("intrusion", True)),
        ("tns1:VideoSource/GlobalSceneChange/ImagingService", {"State": "true"}, ("tamper", True)),
        # Unknown topics are mapped by their words when they carry a true/false state.
        ("tns1:RuleEngine/tnsaxis:VMD4/Camera1Profile1", {"active": "1"}, None),
        ("tns1:RuleEngine/tnsvendor:HumanDetection/Rule1", {"State": "true"}, ("person", True)),
        ("tns1:RuleEngine/tnsvendor:Motion/Rule1", {"Level": "57"}, None),
        ("tns1:Device/Trigger/DigitalInput", {"LogicalState": "true"}, None),
    ],
)
def test_topics_map_to_detections(topic: str, data: dict[str, str], expected: tuple[str, bool] | None) -> None:
    detection = parse_notification(topic, _message(data))
    assert (None if detection is None else (detection.detection, detection.active)) == expected


def test_topic_prefixes_and_sources() -> None:
    assert strip_prefixes("tns1:RuleEngine/tnsaxis:VMD/Motion") == "RuleEngine/VMD/Motion"
    detection = parse_notification(
        "tns1:RuleEngine/CellMotionDetector/Motion", _message({"IsMotion": "true"}, {"Rule": "MyMotion"})
    )
    assert detection is not None
    assert detection.source == "Rule=MyMotion"


def test_client_errors_become_clear_messages() -> None:
    where = "10.0.0.5:80"
    # zeep's exception constructors are untyped.
    refused = TransportError("no", status_code=401)  # type: ignore[no-untyped-call]
    assert classify(Fault("Sender not authorized"), where).kind == "auth"  # type: ignore[no-untyped-call]
    assert classify(Fault("x", subcodes=["ter:NotAuthorized"]), where).kind == "auth"  # type: ignore[no-untyped-call]
    assert classify(refused, where).kind == "auth"
    assert classify(TimeoutError(), where).kind == "timeout"
    assert classify(aiohttp.ClientConnectionError(), where).kind == "unreachable"
    assert classify(ConnectionRefusedError(), where).kind == "unreachable"
    no_media = classify(Exception("Device doesn`t support service: media with namespace x"), where)
    assert (no_media.kind, str(no_media)) == ("no_media", "the camera at 10.0.0.5:80 has no ONVIF media service")
    assert classify(Exception("Device doesn`t support service: ptz with namespace x"), where).kind == "not_supported"


def test_onvif_config_forms_and_errors() -> None:
    config = parse_config(
        {
            "cameras": [
                {
                    "id": "porch",
                    "onvif": {"host": "192.168.1.30", "username": "admin", "password": "pw-long", "sub_profile": "p2"},
                    "motion": {"source": "both"},
                },
                {"id": "garage", "url": "onvif://viewer:p%40ss-word@192.168.1.31:8000", "password": "ignored-pw"},
            ]
        }
    )
    porch, garage = config.cameras
    assert porch.onvif is not None
    assert (porch.onvif.host, porch.onvif.port, porch.onvif.sub_profile) == ("192.168.1.30", 80, "p2")
    assert (porch.username, porch.motion_source, porch.url) == ("admin", "both", "onvif://192.168.1.30:80")
    assert garage.onvif is not None
    assert (garage.onvif.host, garage.onvif.port, garage.onvif.username) == ("192.168.1.31", 8000, "viewer")
    assert garage.onvif.password == "p@ss-word"
    assert garage.url == "onvif://192.168.1.31:8000"  # no login in the address kept

    def error(camera: dict[str, Any]) -> str:
        with pytest.raises(ConfigError) as info:
            parse_config({"cameras": [camera]})
        return str(info.value)

    assert error({"id": "a"}) == "cameras[a].url: is required (or give the camera's onvif address)"
    assert error({"id": "a", "url": "rtsp://h/s", "onvif": {"host": "h"}}) == (
        "cameras[a].onvif: give either onvif or url, not both"
    )
    assert error({"id": "a", "onvif": {"port": 80}}) == "cameras[a].onvif.host: is required"
    assert error({"id": "a", "onvif": {"host": "h", "port": 70000}}).startswith("cameras[a].onvif.port:")
    assert error({"id": "a", "onvif": {"host": "h", "extra": 1}}) == "cameras[a].onvif.extra: unknown key"
    assert error({"id": "a", "url": "rtsp://h/s", "motion": {"source": "radar"}}).startswith(
        "cameras[a].motion.source:"
    )
    # Camera events need an ONVIF camera; a plain stream camera keeps Vigil's detector.
    plain = parse_config({"cameras": [{"id": "a", "url": "rtsp://h/s", "motion": {"source": "camera"}}]})
    assert plain.cameras[0].motion_source == "own"
