"""The documents stay true: docs/api/websocket.md and docs/api/openapi.json against the server's own tables."""

from __future__ import annotations

import json
import re
from pathlib import Path

from vigil_engine.api.errors import ERROR_CODES
from vigil_engine.api.messages import (
    CLOSE_PROTOCOL,
    CLOSE_TOO_SLOW,
    CLOSE_UNAUTHORIZED,
    COMMANDS,
    ENVELOPES,
    EVENTS,
    MAX_PENDING_COMMANDS,
    OBJECTS,
    SCHEMA_VERSION,
    SUBSCRIBER_QUEUE,
)
from vigil_engine.api.openapi import build_spec
from vigil_engine.api.server import ROUTES, WS_PATH
from vigil_engine.api.websocket import HANDLERS, OUTBOX

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api"
WEBSOCKET_MD = (DOCS / "websocket.md").read_text(encoding="utf-8")


def _sections(text: str, level: str) -> dict[str, str]:
    """Heading text (without backticks) -> body, for headings of exactly ``level`` ('##', '###')."""
    parts = re.split(rf"^{level} (.+)$", text, flags=re.MULTILINE)
    return {parts[i].strip().strip("`"): parts[i + 1] for i in range(1, len(parts), 2)}


def _tables(body: str) -> list[list[list[str]]]:
    """Each Markdown table of ``body`` as rows of cells (header and separator left out)."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*body.splitlines(), ""]:
        if line.startswith("|"):
            current.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif current:
            tables.append(current[2:])
            current = []
    return tables


def _fields(rows: list[list[str]] | None) -> tuple[tuple[str, str], ...]:
    return tuple((row[0], row[1]) for row in rows or [])


def test_schema_version_and_limits_are_the_servers() -> None:
    assert WEBSOCKET_MD.startswith(f"# Vigil engine WebSocket API (schema version {SCHEMA_VERSION})")
    assert f"at most {MAX_PENDING_COMMANDS} may be" in WEBSOCKET_MD
    assert f"more than {SUBSCRIBER_QUEUE} events wait" in WEBSOCKET_MD
    assert f"more than {OUTBOX} messages wait" in WEBSOCKET_MD
    assert f"ws://<host>:<api_port>{WS_PATH}" in WEBSOCKET_MD


def test_commands_are_documented_exactly() -> None:
    sections = _sections(_sections(WEBSOCKET_MD, "##")["Commands"], "###")
    assert set(sections) == set(COMMANDS) == set(HANDLERS)
    for name, body in sections.items():
        spec = COMMANDS[name]
        args_text = body.split("**Args**", 1)[1].split("**Result**", 1)[0]
        args = [] if args_text.startswith(": none.") else _tables(args_text)[0]
        assert _fields(args) == tuple((a.name, a.type) for a in spec.args), name
        for row, arg in zip(args, spec.args, strict=True):
            assert row[2].startswith("*optional*") == (not arg.required), (name, arg.name)
        result = _tables(body.split("**Result**", 1)[1])[0]
        assert _fields(result) == spec.result, name


def test_events_are_documented_exactly() -> None:
    sections = _sections(_sections(WEBSOCKET_MD, "##")["Events"], "###")
    assert set(sections) == set(EVENTS)
    for name, body in sections.items():
        assert _fields(_tables(body.split("**Data**", 1)[1])[0]) == EVENTS[name], name


def test_objects_are_documented_exactly() -> None:
    sections = _sections(_sections(WEBSOCKET_MD, "##")["Objects"], "###")
    assert set(sections) == set(OBJECTS)
    for name, body in sections.items():
        assert _fields(_tables(body)[0]) == OBJECTS[name], name


def test_envelopes_are_documented_exactly() -> None:
    connecting = _sections(_sections(WEBSOCKET_MD, "##")["Connecting and authenticating"], "###")
    assert _fields(_tables(connecting["server_info"])[0]) == ENVELOPES["server_info"]
    tables = _tables(_sections(WEBSOCKET_MD, "##")["Message envelope"])
    assert [_fields(t) for t in tables] == [ENVELOPES[k] for k in ("command", "result", "error", "event")]


def test_error_and_close_codes_are_documented_exactly() -> None:
    rows = _tables(_sections(WEBSOCKET_MD, "##")["Error codes"])[0]
    assert {row[0]: int(row[1]) for row in rows} == ERROR_CODES
    closes = {int(row[0]) for row in _tables(_sections(WEBSOCKET_MD, "##")["Close codes"])[0]}
    assert {CLOSE_UNAUTHORIZED, CLOSE_TOO_SLOW, CLOSE_PROTOCOL, 1000, 1001, 1009} == closes


def test_types_used_in_the_document_are_known() -> None:
    known = {"string", "integer", "number", "boolean", "object", *OBJECTS}
    for table in _tables(WEBSOCKET_MD):
        for row in table:
            if len(row) == 3 and row[0] not in ("code",) and not row[0].isdigit():
                type_ = row[1].removesuffix(" or null").removeprefix("array of ").removesuffix(" or null")
                assert type_ in known or row[1].isdigit(), row


def test_openapi_json_is_current() -> None:
    written = json.loads((DOCS / "openapi.json").read_text(encoding="utf-8"))
    assert written == build_spec(), "run: .venv/bin/python -m vigil_engine.api.openapi > docs/api/openapi.json"


def test_openapi_lists_exactly_the_http_routes() -> None:
    spec = build_spec()
    routes = {path for path, _handler in ROUTES} | {"/api/openapi.json"}
    assert set(spec["paths"]) == routes
    for path, item in spec["paths"].items():
        assert set(item) == {"get"}, path
        placeholders = set(re.findall(r"{(\w+)}", path))
        declared = {p["name"] for p in item["get"]["parameters"] if p["in"] == "path"}
        assert placeholders == declared, path
        if item["get"].get("security") == []:  # the health check: no token, so no 401
            assert path == "/api/health"
        else:
            assert "401" in item["get"]["responses"]
    codes = spec["components"]["schemas"]["ErrorBody"]["properties"]["error"]["properties"]["code"]["enum"]
    assert set(codes) == set(ERROR_CODES)
