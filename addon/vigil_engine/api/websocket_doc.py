"""docs/api/websocket.md's generated parts, from the protocol's models: its title's schema version and its tables.

The document's prose is written by hand; each field table follows a marker that says what it
shows, and is rewritten from the models here (a table's rows: each field's name, its type as the
document writes types, and its description):

* ``<!-- table: object Camera -->``: an object (``vigil_engine.protocol.OBJECTS``);
* ``<!-- table: envelope server_info -->``: a message around the others (``ENVELOPES``);
* ``<!-- table: args get_camera -->``, ``<!-- table: result get_camera -->``: a command's
  arguments (omitted for a command that takes none: its prose says "**Args**: none.") and result
  (``COMMANDS``);
* ``<!-- table: event motion -->``: an event's data (``EVENTS``);
* ``<!-- table: errors -->``: the error codes (``ERROR_CODES``).

Every command, event, object and envelope must have its tables, and no marker may name anything
else: :func:`render` raises :class:`DocumentError` saying which.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from vigil_engine.protocol import COMMANDS, ENVELOPES, ERROR_CODES, EVENTS, OBJECTS, SCHEMA_VERSION, Model

from .json_schema import json_schemas, type_name

TITLE: Final = re.compile(r"^# Vigil engine WebSocket API \(schema version \d+\)$", re.MULTILINE)
MARKER: Final = re.compile(r"^<!-- table: (\w+)(?: (\w+))? -->$")


class DocumentError(ValueError):
    """The document and the models do not fit together (a table missing, or naming nothing)."""


@dataclass(frozen=True, slots=True)
class _Table:
    model: type[Model]
    arguments: bool = False  # fields with a default are optional arguments


def _tables() -> dict[tuple[str, str], _Table | None]:
    """Every table the document must have, by marker (``None``: the error codes)."""
    tables: dict[tuple[str, str], _Table | None] = {("errors", ""): None}
    tables |= {("object", name): _Table(model) for name, model in OBJECTS.items()}
    tables |= {("envelope", name): _Table(model) for name, model in ENVELOPES.items()}
    tables |= {("event", name): _Table(model) for name, model in EVENTS.items()}
    for name, command in COMMANDS.items():
        if _fields(command.args):
            tables[("args", name)] = _Table(command.args, arguments=True)
        tables[("result", name)] = _Table(command.result)
    return tables


def _fields(model: type[Model]) -> tuple[str, ...]:
    return tuple(model.__dataclass_fields__)


def _row(*cells: str) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _field_rows(table: _Table, schemas: dict[str, dict[str, Any]]) -> list[str]:
    schema = schemas[table.model.__name__]
    required = set(schema.get("required", ()))
    names = list(schema.get("properties", {}))
    if "type" in names:  # an envelope's constant comes first, as the examples write it
        names.remove("type")
        names.insert(0, "type")
    rows = [_row("field", "type", "description"), "|---|---|---|"]
    for name in names:
        prop = schema["properties"][name]
        kind, description = type_name(prop), prop.get("description", "")
        if table.arguments and name not in required:
            kind, description = kind.removesuffix(" or null"), f"*optional*: {description}"
        rows.append(_row(name, kind, description))
    return rows


def _error_rows() -> list[str]:
    rows = [_row("code", "HTTP status", "meaning"), "|---|---|---|"]
    rows += [_row(code, str(error.status), error.meaning) for code, error in ERROR_CODES.items()]
    return rows


def render(text: str) -> str:
    """``text`` (the document) with its title and every table generated anew."""
    tables = _tables()
    arguments = [table.model for table in tables.values() if table is not None and table.arguments]
    sent = [table.model for table in tables.values() if table is not None and not table.arguments]
    schemas = json_schemas(sent) | json_schemas(arguments, every_field_required=False)
    if not TITLE.search(text):
        raise DocumentError("the document must start with '# Vigil engine WebSocket API (schema version N)'")
    text = TITLE.sub(f"# Vigil engine WebSocket API (schema version {SCHEMA_VERSION})", text, count=1)
    lines = text.split("\n")
    out: list[str] = []
    seen: set[tuple[str, str]] = set()
    index = 0
    while index < len(lines):
        line = lines[index]
        out.append(line)
        index += 1
        match = MARKER.match(line)
        if match is None:
            continue
        key = (match.group(1), match.group(2) or "")
        if key not in tables:
            raise DocumentError(f"{line} names no {key[0]} of the protocol")
        if key in seen:
            raise DocumentError(f"{line} appears twice")
        seen.add(key)
        while index < len(lines) and lines[index].startswith("|"):
            index += 1  # the table as it was
        table = tables[key]
        out += _error_rows() if table is None else _field_rows(table, schemas)
    missing = [f"<!-- table: {' '.join(filter(None, key))} -->" for key in tables if key not in seen]
    if missing:
        raise DocumentError(f"the document lacks these tables (add a section with each marker): {', '.join(missing)}")
    return "\n".join(out)
