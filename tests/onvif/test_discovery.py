"""WS-Discovery, on loopback only: the probe goes to a responder on 127.0.0.1 that answers with
ipycam's own ProbeMatch (the real peer's message; its multicast server stays off). Nothing
is sent to the multicast group in these tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from ipycam.config import CameraConfig  # type: ignore[import-untyped]
from ipycam.onvif import ONVIFService  # type: ignore[import-untyped]

from tests.onvif.discovery_responder import Responder
from tests.onvif.engine_api import running_engine
from vigil_engine.onvif.discovery import discover, parse_probe_matches, probe_message


@pytest.fixture
def responder() -> Iterator[Responder]:
    responder = Responder()
    yield responder
    responder.close()


async def test_probe_finds_the_responder(responder: Responder) -> None:
    devices = await discover(0.5, ("127.0.0.1", responder.port))
    assert len(devices) == 1
    device = devices[0]
    assert (device.host, device.port, device.name) == ("127.0.0.1", 8899, "Garden_Cam")
    assert device.address == "http://127.0.0.1:8899/onvif/device_service"
    assert device.endpoint == responder.service.device_uuid
    assert "dn:NetworkVideoTransmitter" in responder.probes[0]


def test_answers_to_other_probes_and_hostile_xml_are_ignored() -> None:
    service = ONVIFService(CameraConfig(local_ip="127.0.0.1"))
    answer = service.create_probe_match("uuid:someone-else").encode()
    assert parse_probe_matches(answer, "uuid:mine") == []
    assert len(parse_probe_matches(answer, "uuid:someone-else")) == 1
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    assert parse_probe_matches(bomb) == []
    assert parse_probe_matches(b"not xml") == []
    assert parse_probe_matches(b"<x>" + b"a" * 70_000 + b"</x>") == []
    assert b"Probe" in probe_message(f"uuid:{uuid.uuid4()}")


def test_discover_command(tmp_path: Path, responder: Responder) -> None:
    with running_engine(tmp_path / "engine", {"cameras": []}) as (_engine, ws):
        result = ws.result("discover", {"seconds": 0.5, "address": f"127.0.0.1:{responder.port}"})
        assert [(d["host"], d["port"], d["name"]) for d in result["devices"]] == [("127.0.0.1", 8899, "Garden_Cam")]
        assert ws.error("discover", {"address": "not an address"})["code"] == "invalid_argument"
        assert ws.error("discover", {"seconds": 60})["code"] == "invalid_argument"
