"""Authentication on every endpoint, path traversal in every parameter, and no secret in a debug
log, against the real engine."""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import TOKEN, Live
from tests.onvif.engine_api import running_engine
from tests.onvif.ipycam_camera import IpyCam
from tests.support.engine_process import ROOT
from vigil_engine.api.openapi import build_spec

CANARY = b"CANARY-3f9c0d1e"
TRAVERSALS = [
    "..",
    "../..",
    "../../outside-secret.txt",
    "..%2F..%2Foutside-secret.txt",
    "%2e%2e%2f%2e%2e%2foutside-secret.txt",
    "%252e%252e%252f",
    "..%5C..%5Coutside-secret.txt",
    "....//....//etc/passwd",
    "%2Fetc%2Fpasswd",
    "/etc/passwd",
    "front%2F..%2F..%2F..%2Foutside-secret.txt",
    "front%00",
    "C:%5Cwindows",
]


def _valid_paths(live: Live) -> dict[str, str]:
    """Every route of the OpenAPI description, filled in with values that exist."""
    first = live.engine.segments("front")[0]
    event = live.get("/api/events?kind=motion&limit=1").json()["events"][0]
    start, end = first["start_ms"], first["end_ms"]
    playlist = live.get("/api/cameras/front/live.m3u8").body.decode()
    live_init = re.search(r'URI="live/(\d+)/init\.mp4"', playlist)
    live_part = re.search(r"^live/(\d+)\.m4s$", playlist, re.MULTILINE)
    assert live_init is not None
    assert live_part is not None
    values = {
        "{camera_id}": "front",
        "{event_id}": event["id"],
        "{segment}": f"{start}-{first['id']}",
        "{start_ms}": live_init.group(1),
        "{part}": live_part.group(1),
    }
    queries = {
        "/api/cameras/{camera_id}/clip.mp4": f"?start_ms={start}&end_ms={end}",
        "/api/cameras/{camera_id}/vod.m3u8": f"?start_ms={start}&end_ms={end}",
        "/api/cameras/{camera_id}/recordings/{segment}/media.m4s": f"?base_ms={start}",
        "/api/cameras/{camera_id}/summary": "?date=2026-01-01&time_zone=UTC",
        "/api/cameras/{camera_id}/still.jpg": f"?at_ms={start + 500}",
    }
    paths: dict[str, str] = {}
    for template in build_spec()["paths"]:
        path = template
        for key, value in values.items():
            path = path.replace(key, value)
        paths[template] = path + queries.get(template, "")
    return paths


def _protected_paths(live: Live) -> dict[str, str]:
    """The routes that need the token: every one but those documented ``security: []`` (``/api/health``)."""
    open_paths = {path for path, item in build_spec()["paths"].items() if item["get"].get("security") == []}
    return {template: path for template, path in _valid_paths(live).items() if template not in open_paths}


def test_every_route_answers_with_the_token(live: Live) -> None:
    for template, path in _valid_paths(live).items():
        response = live.get(path)
        assert response.status == 200, (template, response.status, response.body[:200])


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-0123456789"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Basic {base64.b64encode(f'user:{TOKEN}'.encode()).decode()}"},
        {"Authorization": TOKEN},
        {"Cookie": f"token={TOKEN}; access_token={TOKEN}"},
        {"X-Api-Key": TOKEN, "X-Auth-Token": TOKEN},
    ],
    ids=["none", "wrong", "longer", "basic", "no-scheme", "cookie", "other-headers"],
)
def test_no_or_wrong_token_is_401_everywhere(live: Live, headers: dict[str, str]) -> None:
    for template, path in _protected_paths(live).items():
        response = live.get(path, headers, auth=False)
        assert response.status == 401, (template, headers)
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert TOKEN.encode() not in response.body


def test_token_in_the_query_string_is_401(live: Live) -> None:
    for template, path in _protected_paths(live).items():
        sep = "&" if "?" in path else "?"
        for name in ("token", "access_token", "api_token", "authorization"):
            response = live.get(f"{path}{sep}{name}={TOKEN}", auth=False)
            assert response.status == 401, (template, name)


def test_unknown_paths_and_methods(live: Live) -> None:
    assert live.get("/api/nothing-here", auth=False).status == 401  # no route list for strangers
    missing = live.get("/api/nothing-here")
    assert (missing.status, missing.json()["error"]["code"]) == (404, "not_found")
    post = live.get("/api/info", method="POST")
    assert (post.status, post.json()["error"]["code"]) == (405, "method_not_allowed")
    delete = live.get("/api/events", method="DELETE")
    assert delete.status == 405


def _substitutions(live: Live) -> list[tuple[str, str]]:
    """(template, path) for each parameter of each route replaced by each traversal payload."""
    valid = _valid_paths(live)
    cases: list[tuple[str, str]] = []
    for template, path in valid.items():
        base, _, query = path.partition("?")
        segments = base.split("/")
        for index, part in enumerate(segments):
            if part in ("", "api") or part in template.split("/"):
                continue  # a fixed part of the route
            for payload in TRAVERSALS:
                changed = "/".join([*segments[:index], payload, *segments[index + 1 :]])
                cases.append((template, changed + (f"?{query}" if query else "")))
        for pair in query.split("&") if query else []:
            name, _, _value = pair.partition("=")
            for payload in TRAVERSALS:
                changed_query = query.replace(pair, f"{name}={payload}")
                cases.append((template, f"{base}?{changed_query}"))
    # Parameters that are optional and so missing above.
    for payload in TRAVERSALS:
        cases.append(("/api/cameras/{camera_id}/snapshot.jpg", f"/api/cameras/front/snapshot.jpg?width={payload}"))
        cases.append(
            ("/api/cameras/{camera_id}/summary", f"/api/cameras/front/summary?date=2026-01-01&time_zone={payload}")
        )
        for name in ("camera_id", "zone", "kind", "cursor", "limit", "start_ms"):
            cases.append(("/api/events", f"/api/events?{name}={payload}"))
    return cases


def test_path_traversal_in_every_parameter_is_rejected(live: Live) -> None:
    cases = _substitutions(live)
    assert len(cases) > 300
    statuses: dict[int, int] = {}
    for template, path in cases:
        response = live.get(path)
        statuses[response.status] = statuses.get(response.status, 0) + 1
        assert 400 <= response.status < 500, (template, path, response.status, response.body[:200])
        assert CANARY not in response.body, path
        assert b"root:" not in response.body, path
        body: Any = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        message = body.get("error", {}).get("message", "") if isinstance(body, dict) else ""
        assert str(live.engine.storage) not in message
        assert "Traceback" not in message
    assert set(statuses) <= {400, 404}, statuses
    assert "Traceback" not in live.engine.log()


@pytest.mark.parametrize(
    "raw",
    [
        "/api/cameras/front/../../../outside-secret.txt",
        "/api/../outside-secret.txt",
        "/api/cameras/%2e%2e/%2e%2e/%2e%2e/outside-secret.txt",
        "/api/cameras/front/snapshot.jpg/../../../../etc/passwd",
        "//etc/passwd",
        "/api/events/..%2f..%2f..%2fetc%2fpasswd/snapshot.jpg",
    ],
)
def test_raw_traversal_urls_never_reach_a_file(live: Live, raw: str) -> None:
    response = live.get(raw)
    assert 400 <= response.status < 500, (raw, response.status)
    assert CANARY not in response.body
    assert b"root:" not in response.body


def test_error_bodies_hold_no_paths_or_internals(live: Live) -> None:
    for path in (
        "/api/cameras/garage",
        "/api/events/" + "0" * 32,
        "/api/events/" + "0" * 32 + "/clip.mp4",
        "/api/cameras/front/clip.mp4?start_ms=x&end_ms=y",
        "/api/cameras/front/recordings/1-1/init.mp4",
    ):
        response = live.get(path)
        assert 400 <= response.status < 500
        error = response.json()["error"]
        assert set(error) == {"code", "message"}
        assert "/" not in error["message"].replace("start_ms", ""), error


def test_cors_preflight_needs_no_token_and_reveals_nothing(live: Live) -> None:
    preflight = live.get(
        "/api/cameras/front/clip.mp4",
        {"Origin": "http://dashboard.local", "Access-Control-Request-Method": "GET"},
        auth=False,
        method="OPTIONS",
    )
    assert (preflight.status, preflight.body) == (204, b"")
    assert "Authorization" in preflight.headers["access-control-allow-headers"]
    # Streamed answers carry the CORS headers too (a browser player reads Content-Range).
    first = live.engine.segments("front")[0]
    clip = live.get(f"/api/cameras/front/clip.mp4?start_ms={first['start_ms']}&end_ms={first['end_ms']}")
    assert clip.headers["access-control-allow-origin"] == "*"
    assert "Content-Range" in clip.headers["access-control-expose-headers"]
    assert clip.headers["x-content-type-options"] == "nosniff"


# --- Secrets in the log at debug level ----------------------------------------------------

ONVIF_PASSWORD = "Onvif-Debug-Pa55"
WS_SECURITY_MARKERS = ("PasswordDigest", "Nonce", "wsse:", "Security>", "Digest ", "nonce=")


def test_client_libraries_stay_at_info_when_the_engine_debugs() -> None:
    """The engine's logging set up at debug, in a process of its own (it replaces the root
    logger's handlers): the ONVIF and HTTP client loggers stay at INFO, and a child logger
    given DEBUG of its own still gets nothing through."""
    script = """
import json, logging
from vigil_engine.logs import setup_logging
setup_logging("debug")
names = ["zeep", "zeep.transports", "zeep.wsse", "onvif", "onvif.zeep_aiohttp", "httpx", "httpcore", "httpcore.http11"]
print(json.dumps({name: logging.getLogger(name).getEffectiveLevel() for name in names}))
logging.getLogger("vigil_engine.test").debug("engine debug line")
child = logging.getLogger("zeep.transports.child")
child.setLevel(logging.DEBUG)
child.debug("<wsse:Password Type='PasswordDigest'>d2hhdA==</wsse:Password>")
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "addon")},
        timeout=60,
        check=True,
    )
    levels = json.loads(result.stdout)
    assert all(level == logging.INFO for level in levels.values()), levels
    assert "engine debug line" in result.stderr  # the engine itself does debug
    assert "PasswordDigest" not in result.stderr


def test_an_onvif_exchange_at_debug_logs_no_digest_nonce_or_password(tmp_path: Path) -> None:
    """A real engine at log_level debug logs in to ipycam (WS-Security UsernameToken with a
    password digest) and reads its device information and profiles."""
    cam = IpyCam(tmp_path / "ipycam", password=ONVIF_PASSWORD)
    config = {
        "log_level": "debug",
        "segment_seconds": 2,
        "cameras": [
            {
                "id": "porch",
                "onvif": {"host": "127.0.0.1", "port": cam.onvif_port, "username": "admin", "password": ONVIF_PASSWORD},
                "motion": {"enabled": False},
            }
        ],
    }
    with cam, running_engine(tmp_path / "engine", config) as (engine, ws):
        engine.wait_for(
            lambda: ws.result("get_camera", {"camera_id": "porch"})["camera"]["device"], 40, "the device information"
        )
    log = engine.log()
    assert " DEBUG vigil_engine" in log  # the engine did log at debug
    leaked = [marker for marker in (*WS_SECURITY_MARKERS, ONVIF_PASSWORD) if marker in log]
    assert leaked == []  # only the markers: an assertion message must not show the digest either
