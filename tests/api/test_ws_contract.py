"""The WebSocket contract against the real engine: first message, every command, every event, every error."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from tests.api.client import WsClient, fields_errors, shape_errors
from tests.api.conftest import CAMERA_PASSWORD, CAMERA_USER, TOKEN, Live
from vigil_engine.api.websocket import HANDLERS
from vigil_engine.protocol import COMMANDS, ENVELOPES, EVENTS, SCHEMA_VERSION


def _check_result(command: str, result: dict[str, object]) -> None:
    assert fields_errors(result, COMMANDS[command].result, command) == []


async def _raw(live: Live) -> tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse]:
    session = aiohttp.ClientSession()
    return session, await session.ws_connect(f"ws://127.0.0.1:{live.port}/api/ws")


def test_first_message_is_server_info_with_schema_version(live: Live) -> None:
    client = WsClient(live.base_url, TOKEN)
    try:
        info = client.connect()
    finally:
        client.close()
    assert fields_errors(info, ENVELOPES["server_info"]) == []
    assert info["type"] == "server_info"
    assert info["schema_version"] == SCHEMA_VERSION
    assert info["min_schema_version"] <= SCHEMA_VERSION
    assert len(info["instance_id"]) == 32
    assert info["time_zone"] == "Europe/Berlin"
    assert [c["camera_id"] for c in info["cameras"]] == ["front"]
    assert info["cameras"][0]["name"] == "Front door"
    assert info["cameras"][0]["zones"] == ["path", "top"]


def test_every_command_is_handled_and_documented() -> None:
    assert set(HANDLERS) == set(COMMANDS)


@pytest.mark.parametrize(
    "first",
    [
        None,  # nothing sent: the server gives up after its timeout (shortened here by closing)
        {"type": "auth", "token": "wrong-token-0000000000"},
        {"type": "auth"},
        {"message_id": "1", "command": "list_cameras"},
        "not json",
    ],
)
async def test_wrong_or_missing_auth_closes_with_4001(live: Live, first: object) -> None:
    session, ws = await _raw(live)
    try:
        if first is None:
            await ws.send_bytes(b"\x00")
        elif isinstance(first, str):
            await ws.send_str(first)
        else:
            await ws.send_json(first)
        message = await ws.receive(timeout=10)
        assert message.type == aiohttp.WSMsgType.TEXT
        error = json.loads(message.data)
        assert error == {"type": "error", "message_id": None, "error": error["error"]}
        assert error["error"]["code"] == "unauthorized"
        assert TOKEN not in message.data
        closing = await ws.receive(timeout=10)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert ws.close_code == 4001
    finally:
        await ws.close()
        await session.close()


async def test_token_in_the_query_string_does_not_authenticate(live: Live) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"ws://127.0.0.1:{live.port}/api/ws?token={TOKEN}&access_token={TOKEN}") as ws,
    ):
        await ws.send_json({"message_id": "1", "command": "list_cameras"})
        error = await ws.receive_json(timeout=10)
        assert error["error"]["code"] == "unauthorized"
        await ws.receive(timeout=10)
        assert ws.close_code == 4001


async def test_the_header_alone_does_not_authenticate_the_websocket(live: Live) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"ws://127.0.0.1:{live.port}/api/ws", headers={"Authorization": f"Bearer {TOKEN}"}) as ws,
    ):
        await ws.send_json({"message_id": "1", "command": "list_cameras"})
        assert (await ws.receive_json(timeout=10))["error"]["code"] == "unauthorized"


async def test_binary_frame_after_auth_closes_with_4003(live: Live) -> None:
    session, ws = await _raw(live)
    try:
        await ws.send_json({"type": "auth", "token": TOKEN})
        assert (await ws.receive_json(timeout=10))["type"] == "server_info"
        await ws.send_bytes(b"\x01\x02")
        while (await ws.receive(timeout=10)).type not in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            pass
        assert ws.close_code == 4003
    finally:
        await ws.close()
        await session.close()


def test_commands_without_camera(live: Live) -> None:
    client = live.client()
    try:
        for command in ("get_server_info", "list_cameras", "get_storage", "unsubscribe"):
            _check_result(command, client.result(command))
        storage = client.result("get_storage")["storage"]
        assert storage["bytes_used"] > 0
        assert storage["oldest_footage_ms"] is not None
    finally:
        client.close()


def test_camera_commands(live: Live) -> None:
    client = live.client()
    try:
        camera = client.result("get_camera", {"camera_id": "front"})
        _check_result("get_camera", camera)
        state = camera["camera"]
        assert state["online"] is True
        assert state["recording"] is True
        assert state["video_codec"] == "h264"
        assert (state["width"], state["height"]) == (640, 360)
        assert state["segments_written"] >= 3
        assert state["reconnects"] >= 1
        for command in ("get_record_mode", "get_motion_detection"):
            _check_result(command, client.result(command, {"camera_id": "front"}))
    finally:
        client.close()


def test_stream_url_is_the_only_answer_with_credentials(live: Live, ws: WsClient) -> None:
    client = live.client()
    try:
        answer = client.result("get_stream_url", {"camera_id": "front"})
        _check_result("get_stream_url", answer)
        assert f"{CAMERA_USER}:" in answer["url"]
        assert CAMERA_PASSWORD.replace("!", "%21") in answer["url"] or CAMERA_PASSWORD in answer["url"]
        assert client.result("get_stream_url", {"camera_id": "front", "substream": True})["url"] == answer["url"]
        # Nothing else the server ever said holds the password.
        everything = json.dumps(ws.messages) + json.dumps(client.server_info)
        everything += json.dumps([client.result(c) for c in ("list_cameras", "get_server_info", "get_storage")])
        assert CAMERA_PASSWORD not in everything
        assert CAMERA_PASSWORD.replace("!", "%21") not in everything
    finally:
        client.close()


def test_set_record_mode_and_motion_detection_publish_camera_settings(live: Live, ws: WsClient) -> None:
    client = live.client()
    try:
        changed = client.result("set_record_mode", {"camera_id": "front", "record_mode": "events"})
        _check_result("set_record_mode", changed)
        assert changed == {"camera_id": "front", "record_mode": "events"}
        ws.wait_event("camera_settings", lambda d: d["record_mode"] == "events", timeout=10)
        assert client.result("get_record_mode", {"camera_id": "front"})["record_mode"] == "events"
        assert client.result("set_record_mode", {"camera_id": "front", "record_mode": "continuous"})["record_mode"] == (
            "continuous"
        )
        off = client.result("set_motion_detection", {"camera_id": "front", "enabled": False})
        _check_result("set_motion_detection", off)
        assert off == {"camera_id": "front", "enabled": False}
        ws.wait_event("camera_settings", lambda d: d["motion_enabled"] is False, timeout=10)
        assert client.result("get_motion_detection", {"camera_id": "front"})["enabled"] is False
        assert client.result("set_motion_detection", {"camera_id": "front", "enabled": True})["enabled"] is True
        ws.wait_event("camera_settings", lambda d: d["motion_enabled"] is True and d["record_mode"] == "continuous")
    finally:
        client.close()


def test_manual_event_start_and_end(live: Live, ws: WsClient) -> None:
    client = live.client()
    try:
        started = client.result("start_manual_event", {"camera_id": "front", "label": "doorbell"})
        _check_result("start_manual_event", started)
        event = started["event"]
        assert (event["kind"], event["label"], event["end_ms"]) == ("manual", "doorbell", None)
        again = client.result("start_manual_event", {"camera_id": "front"})
        assert again["event"]["id"] == event["id"]
        ws.wait_event("event_started", lambda d: d["event"]["id"] == event["id"], timeout=10)
        time.sleep(0.5)
        ended = client.result("end_manual_event", {"camera_id": "front"})
        _check_result("end_manual_event", ended)
        assert ended["event"]["id"] == event["id"]
        assert ended["event"]["end_ms"] >= event["start_ms"]
        ws.wait_event("event_ended", lambda d: d["event"]["id"] == event["id"], timeout=10)
        fetched = client.result("get_event", {"event_id": event["id"]})
        _check_result("get_event", fetched)
        assert fetched["event"] == ended["event"]
        error = client.error("end_manual_event", {"camera_id": "front"})
        assert error["code"] == "event_state"
    finally:
        client.close()


def test_list_events_filters_and_pages(live: Live) -> None:
    client = live.client()
    try:
        everything = client.result("list_events", {"camera_id": "front", "limit": 500})
        _check_result("list_events", everything)
        events = everything["events"]
        assert everything["next_cursor"] is None
        assert any(e["kind"] == "motion" for e in events)
        starts = [(e["start_ms"], e["id"]) for e in events]
        assert starts == sorted(starts, reverse=True)
        # One event per page, following the cursor, gives the same list.
        paged: list[str] = []
        cursor = None
        while True:
            args: dict[str, object] = {"camera_id": "front", "limit": 1}
            if cursor is not None:
                args["cursor"] = cursor
            page = client.result("list_events", args)
            paged += [e["id"] for e in page["events"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert paged == [e["id"] for e in events]
        motion = client.result("list_events", {"kind": "motion", "zone": "path"})["events"]
        assert motion
        assert all(e["kind"] == "motion" and "path" in e["zones"] for e in motion)
        assert client.result("list_events", {"zone": "top"})["events"] == []
        first = min(e["start_ms"] for e in events)
        assert client.result("list_events", {"end_ms": first})["events"] == []
        assert client.result("list_events", {"start_ms": 0, "end_ms": first + 1})["events"]
    finally:
        client.close()


def test_day_summary_command(live: Live) -> None:
    client = live.client()
    try:
        today = time.strftime("%Y-%m-%d", time.gmtime())
        answer = client.result("get_day_summary", {"camera_id": "front", "date": today, "time_zone": "UTC"})
        _check_result("get_day_summary", answer)
        summary = answer["summary"]
        assert summary["recorded_ms"] > 0
        assert len(summary["hours"]) == 24
        assert summary["gaps"]
        default_zone = client.result("get_day_summary", {"camera_id": "front", "date": today})["summary"]
        assert default_zone["time_zone"] == "Europe/Berlin"
    finally:
        client.close()


@pytest.mark.parametrize(
    ("command", "args", "code"),
    [
        ("no_such_command", {}, "unknown_command"),
        ("get_camera", {}, "invalid_argument"),
        ("get_camera", {"camera_id": "garage"}, "camera_not_found"),
        ("get_camera", {"camera_id": "../front"}, "invalid_argument"),
        ("get_camera", {"camera_id": "front", "extra": 1}, "invalid_argument"),
        ("get_camera", {"camera_id": 7}, "invalid_argument"),
        ("set_record_mode", {"camera_id": "front", "record_mode": "always"}, "invalid_argument"),
        ("set_motion_detection", {"camera_id": "front", "enabled": "yes"}, "invalid_argument"),
        ("start_manual_event", {"camera_id": "front", "label": "x" * 101}, "invalid_argument"),
        ("get_event", {"event_id": "0" * 32}, "event_not_found"),
        ("get_event", {"event_id": "../../etc/passwd"}, "invalid_argument"),
        ("list_events", {"limit": 0}, "invalid_argument"),
        ("list_events", {"limit": True}, "invalid_argument"),
        ("list_events", {"cursor": "garbage"}, "invalid_argument"),
        ("list_events", {"start_ms": 10, "end_ms": 5}, "invalid_argument"),
        ("list_events", {"camera_id": "garage"}, "camera_not_found"),
        ("get_day_summary", {"camera_id": "front", "date": "2026-02-30"}, "invalid_argument"),
        (
            "get_day_summary",
            {"camera_id": "front", "date": "2026-01-01", "time_zone": "Mars/Olympus"},
            "invalid_argument",
        ),
        (
            "get_day_summary",
            {"camera_id": "front", "date": "2026-01-01", "time_zone": "../../etc/passwd"},
            "invalid_argument",
        ),
        (
            "get_day_summary",
            {"camera_id": "front", "date": "2026-01-01", "time_zone": "/etc/localtime"},
            "invalid_argument",
        ),
        ("sign_path", {"path": "/api/ws"}, "invalid_argument"),
        ("sign_path", {"path": "http://evil.example/api/info"}, "invalid_argument"),
        ("sign_path", {"path": "/api/info", "expires_in": 86401}, "invalid_argument"),
        ("subscribe", {"events": ["no_such_event"]}, "invalid_argument"),
        ("subscribe", {"camera_ids": ["garage"]}, "camera_not_found"),
    ],
)
def test_errors_are_typed(live: Live, command: str, args: dict[str, object], code: str) -> None:
    client = live.client()
    try:
        answer = client.call(command, args)
        assert answer["type"] == "error", answer
        assert fields_errors(answer, ENVELOPES["error"]) == []
        assert answer["error"]["code"] == code, answer
        assert "Traceback" not in answer["error"]["message"]
        assert (
            "/" not in answer["error"]["message"].replace("../", "").replace("etc/passwd", "")
            or code != "internal_error"
        )
    finally:
        client.close()


async def test_malformed_messages_get_invalid_message(live: Live) -> None:
    session, ws = await _raw(live)
    try:
        await ws.send_json({"type": "auth", "token": TOKEN})
        await ws.receive_json(timeout=10)
        for bad in ("[1, 2]", "{", json.dumps({"command": "list_cameras"}), json.dumps({"message_id": 5})):
            await ws.send_str(bad)
            answer = await ws.receive_json(timeout=10)
            assert answer["type"] == "error"
            assert answer["message_id"] is None
            assert answer["error"]["code"] == "invalid_message"
        await ws.send_json({"message_id": "x", "command": 3})
        assert (await ws.receive_json(timeout=10))["error"]["code"] == "invalid_message"
        await ws.send_json({"message_id": "y", "command": "list_cameras", "args": []})
        answer = await ws.receive_json(timeout=10)
        assert (answer["message_id"], answer["error"]["code"]) == ("y", "invalid_message")
    finally:
        await ws.close()
        await session.close()


async def test_too_many_pending_commands(live: Live) -> None:
    session, ws = await _raw(live)
    try:
        await ws.send_json({"type": "auth", "token": TOKEN})
        await ws.receive_json(timeout=10)
        for number in range(200):
            await ws.send_json({"message_id": str(number), "command": "get_storage"})
        answers = [await ws.receive_json(timeout=20) for _ in range(200)]
        assert sorted(int(a["message_id"]) for a in answers) == list(range(200))
        codes = {a["error"]["code"] for a in answers if a["type"] == "error"}
        assert codes <= {"too_many_requests"}
        assert sum(a["type"] == "result" for a in answers) >= 32
    finally:
        await ws.close()
        await session.close()


def test_every_event_kind_seen_has_its_documented_shape(ws: WsClient) -> None:
    seen = {m["event"] for m in ws.events()}
    # Everything the live run causes; storage_warning is covered in test_inprocess.py.
    assert {
        "camera_online",
        "camera_offline",
        "recording",
        "segment",
        "motion",
        "event_started",
        "event_ended",
    } <= seen, seen
    for message in ws.events():
        assert fields_errors(message, ENVELOPES["event"]) == []
        assert message["event"] in EVENTS
        assert fields_errors(message["data"], EVENTS[message["event"]], message["event"]) == []


def test_motion_events_per_zone_and_camera(ws: WsClient) -> None:
    motion = [m["data"] for m in ws.events("motion") if m["data"]["camera_id"] == "front"]
    assert any(d["zone"] is None and d["active"] for d in motion)
    assert any(d["zone"] is None and not d["active"] for d in motion)
    assert any(d["zone"] == "path" and d["active"] for d in motion)
    assert not any(d["zone"] == "top" for d in motion)
    ended = ws.events("event_ended")[0]["data"]["event"]
    assert ended["kind"] == "motion"
    assert "path" in ended["zones"]
    assert ended["has_snapshot"] is True
    assert shape_errors(ended, "Event") == []


def test_subscription_filters(live: Live) -> None:
    client = live.client()
    try:
        answer = client.result("subscribe", {"events": ["segment"], "camera_ids": ["front"]})
        _check_result("subscribe", answer)
        assert answer["events"] == ["segment"]
        assert answer["camera_ids"] == ["front"]
        client.wait_event("segment", timeout=15)
        client.result("set_motion_detection", {"camera_id": "front", "enabled": True})
        time.sleep(0.5)
        assert {m["event"] for m in client.events()} == {"segment"}
        assert client.result("unsubscribe") == {"subscribed": False}
        count = len(client.events())
        time.sleep(SEGMENT_WAIT)
        assert len(client.events()) == count
    finally:
        client.close()


SEGMENT_WAIT = 3.5


def test_sign_path_makes_a_working_short_lived_path(live: Live) -> None:
    client = live.client()
    try:
        signed = client.result("sign_path", {"path": "/api/storage?x=1", "expires_in": 60})
        _check_result("sign_path", signed)
        assert signed["path"].startswith("/api/storage?")
        assert live.get(signed["path"], auth=False).status == 200
        tampered = signed["path"].replace("x=1", "x=2")
        assert live.get(tampered, auth=False).status == 401
        assert live.get(signed["path"].replace("/api/storage", "/api/info"), auth=False).status == 401
        short = client.result("sign_path", {"path": "/api/storage", "expires_in": 1})
        time.sleep(1.2)
        expired = live.get(short["path"], auth=False)
        assert expired.status == 403
        assert expired.json()["error"]["code"] == "forbidden"
    finally:
        client.close()


def test_commands_run_concurrently(live: Live) -> None:
    async def main() -> list[dict[str, str]]:
        async with aiohttp.ClientSession() as session, session.ws_connect(f"ws://127.0.0.1:{live.port}/api/ws") as ws:
            await ws.send_json({"type": "auth", "token": TOKEN})
            await ws.receive_json()
            for number in range(10):
                await ws.send_json({"message_id": f"c{number}", "command": "list_cameras"})
            return [await ws.receive_json(timeout=10) for _ in range(10)]

    answers = asyncio.run(main())
    assert sorted(a["message_id"] for a in answers) == sorted(f"c{n}" for n in range(10))
