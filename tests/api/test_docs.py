"""The documents stay true: docs/api/websocket.md and docs/api/openapi.json are what the protocol's models say.

Their tables and schemas are generated from the models (``scripts/sync-protocol``); these tests
fail when a committed document differs from a regeneration, when a table sits in another
section than the one it describes, and when the document and the server disagree on the
commands, events, limits or routes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from vigil_engine.api.documents import DOCS, documents
from vigil_engine.api.openapi import build_spec
from vigil_engine.api.server import ROUTES, WS_PATH
from vigil_engine.api.websocket import HANDLERS, OUTBOX
from vigil_engine.api.websocket_doc import MARKER, DocumentError, render
from vigil_engine.protocol import (
    CLOSE_PROTOCOL,
    CLOSE_TOO_SLOW,
    CLOSE_UNAUTHORIZED,
    COMMANDS,
    ENVELOPES,
    ERROR_CODES,
    EVENTS,
    MAX_PENDING_COMMANDS,
    OBJECTS,
    SCHEMA_VERSION,
    SUBSCRIBER_QUEUE,
)

WEBSOCKET_MD = (DOCS / "websocket.md").read_text(encoding="utf-8")


def _sections(text: str, level: str) -> dict[str, str]:
    """Heading text (without backticks) -> body, for headings of exactly ``level`` ('##', '###')."""
    parts = re.split(rf"^{level} (.+)$", text, flags=re.MULTILINE)
    return {parts[i].strip().strip("`"): parts[i + 1] for i in range(1, len(parts), 2)}


def _markers(body: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2) or "") for line in body.splitlines() if (m := MARKER.match(line))]


def test_the_documents_are_what_the_models_say() -> None:
    for path, text in documents().items():
        assert path.read_text(encoding="utf-8") == text, f"{path.name} is not current: run scripts/sync-protocol"


def test_schema_version_and_limits_are_the_servers() -> None:
    assert WEBSOCKET_MD.startswith(f"# Vigil engine WebSocket API (schema version {SCHEMA_VERSION})")
    assert f"at most {MAX_PENDING_COMMANDS} may be" in WEBSOCKET_MD
    assert f"more than {SUBSCRIBER_QUEUE} events wait" in WEBSOCKET_MD
    assert f"more than {OUTBOX} messages wait" in WEBSOCKET_MD
    assert f"ws://<host>:<api_port>{WS_PATH}" in WEBSOCKET_MD
    assert f"| {SCHEMA_VERSION} |" in _sections(WEBSOCKET_MD, "###")["Versioning"]


def test_each_command_has_its_section_with_its_own_tables() -> None:
    sections = _sections(_sections(WEBSOCKET_MD, "##")["Commands"], "###")
    assert list(sections) == list(COMMANDS)
    assert set(COMMANDS) == set(HANDLERS)
    for name, body in sections.items():
        takes_args = bool(COMMANDS[name].args.__dataclass_fields__)
        expected = [("args", name)] if takes_args else []
        assert _markers(body) == [*expected, ("result", name)], name
        assert ("**Args**: none." in body) is not takes_args, name
        assert body.index("**Result**") < body.index(f"<!-- table: result {name} -->"), name


def test_each_event_object_and_envelope_has_its_section() -> None:
    events = _sections(_sections(WEBSOCKET_MD, "##")["Events"], "###")
    assert list(events) == list(EVENTS)
    assert all(_markers(body) == [("event", name)] for name, body in events.items())
    objects = _sections(_sections(WEBSOCKET_MD, "##")["Objects"], "###")
    assert list(objects) == list(OBJECTS)
    assert all(_markers(body) == [("object", name)] for name, body in objects.items())
    envelopes = [
        key
        for section in ("Connecting and authenticating", "Message envelope")
        for key in _markers(_sections(WEBSOCKET_MD, "##")[section])
    ]
    assert sorted(envelopes) == sorted(("envelope", name) for name in ENVELOPES)
    assert _markers(_sections(WEBSOCKET_MD, "##")["Error codes"]) == [("errors", "")]


def test_a_table_the_document_lacks_or_that_names_nothing_is_an_error() -> None:
    without = WEBSOCKET_MD.replace("<!-- table: event motion -->\n", "")
    with pytest.raises(DocumentError, match=r"<!-- table: event motion -->"):
        render(without)
    unknown = WEBSOCKET_MD.replace("<!-- table: event motion -->", "<!-- table: event teleport -->")
    with pytest.raises(DocumentError, match="names no event"):
        render(unknown)
    with pytest.raises(DocumentError, match="twice"):
        render(WEBSOCKET_MD + "\n<!-- table: errors -->\n")


def test_tables_are_rewritten_from_the_models() -> None:
    """A row edited by hand comes back as the model says; the prose stays as written."""
    edited = WEBSOCKET_MD.replace("| camera_id | string | the camera's id (slug) |", "| camera | text | edited |")
    edited = edited.replace("Never holds a credential or a URL.", "Prose stays.")
    again = render(edited)
    assert "| camera_id | string | the camera's id (slug) |" in again
    assert "Prose stays." in again


def test_error_and_close_codes_are_documented_exactly() -> None:
    rows = [
        line.strip("|").split("|")
        for line in _sections(WEBSOCKET_MD, "##")["Error codes"].splitlines()
        if line[:2] == "| "
    ]
    assert {cells[0].strip(): int(cells[1]) for cells in rows[1:]} == {c: e.status for c, e in ERROR_CODES.items()}
    closes = {
        int(line.split("|")[1])
        for line in _sections(WEBSOCKET_MD, "##")["Close codes"].splitlines()
        if re.match(r"^\| \d+ \|", line)
    }
    assert {CLOSE_UNAUTHORIZED, CLOSE_TOO_SLOW, CLOSE_PROTOCOL, 1000, 1001, 1009} == closes


def test_openapi_json_is_current() -> None:
    written = json.loads((DOCS / "openapi.json").read_text(encoding="utf-8"))
    assert written == build_spec(), "run: scripts/sync-protocol"


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
    codes = spec["components"]["schemas"]["Error"]["properties"]["code"]["enum"]
    assert set(codes) == set(ERROR_CODES)


def test_openapi_schemas_are_the_models() -> None:
    """Every object of the protocol is a component; each lists its model's fields, all required."""
    schemas = build_spec()["components"]["schemas"]
    for name, model in OBJECTS.items():
        fields = list(model.__dataclass_fields__)
        assert list(schemas[name]["properties"]) == fields, name
        assert schemas[name]["required"] == fields, name
        assert "additionalProperties" not in schemas[name]  # clients ignore fields a newer engine adds


def test_docs_folder_is_the_repositorys() -> None:
    assert Path(__file__).resolve().parents[2] / "docs" / "api" == DOCS
