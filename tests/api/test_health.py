"""``GET /api/health``: the one endpoint without the token, for the add-on's Docker ``HEALTHCHECK``.

It says ``{"status": "ok"}`` and nothing else, only this exact path is exempt from the token,
and its answer closes the connection (a stranger's answer keeps nothing open).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.api.inprocess_api import TOKEN, api_server
from vigil_engine.api.openapi import build_spec


async def _raw(port: int, request: bytes) -> tuple[str, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        answer = await asyncio.wait_for(reader.read(), 10)  # to the end: the server closes
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.decode(), body


async def test_health_answers_ok_without_the_token_and_nothing_else(tmp_path: Path) -> None:
    async with api_server(tmp_path) as server:
        head, body = await _raw(server.port, b"GET /api/health HTTP/1.1\r\nHost: vigil\r\n\r\n")
        assert head.startswith("HTTP/1.1 200 ")
        assert "Connection: close" in head
        assert body == b'{"status": "ok"}'
        head, body = await _raw(server.port, b"HEAD /api/health HTTP/1.1\r\nHost: vigil\r\n\r\n")
        assert head.startswith("HTTP/1.1 200 ")
        assert body == b""
        # With the token it says the same (and keeps nothing secret in either case).
        head, body = await _raw(
            server.port,
            f"GET /api/health HTTP/1.1\r\nHost: vigil\r\nAuthorization: Bearer {TOKEN}\r\n".encode()
            + b"Connection: close\r\n\r\n",
        )
        assert (head.split()[1], body) == ("200", b'{"status": "ok"}')


async def test_only_the_exact_path_is_exempt(tmp_path: Path) -> None:
    async with api_server(tmp_path) as server:
        for path in ("/api/health/", "/api/healthz", "/api/health/../info", "/api//health", "/health", "/api/info"):
            head, _body = await _raw(server.port, f"GET {path} HTTP/1.1\r\nHost: vigil\r\n\r\n".encode())
            assert head.split()[1] == "401", (path, head)
        head, _body = await _raw(server.port, b"POST /api/health HTTP/1.1\r\nHost: vigil\r\nContent-Length: 0\r\n\r\n")
        assert head.split()[1] == "405"


def test_health_is_documented_as_the_only_endpoint_without_the_token() -> None:
    spec = build_spec()
    open_paths = {path for path, item in spec["paths"].items() if item["get"].get("security") == []}
    assert open_paths == {"/api/health"}
    assert set(spec["paths"]["/api/health"]["get"]["responses"]) == {"200"}
