"""JSON Schema of the protocol's models (mashumaro's), in the form the documents use.

:func:`json_schemas` is the source of the OpenAPI document's component schemas and of the types
in docs/api/websocket.md (:func:`type_name`). It lives in the engine, which serves and documents
the API: the integration's copy of the models does not need it. It describes what the engine sends: every field is
required (the engine always sends all of them; a model's defaults are only what a client assumes
of an older engine). Extra properties are not forbidden: a newer engine may send more, and
clients ignore what they do not know.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Iterable
from typing import Any

from mashumaro.jsonschema import build_json_schema
from mashumaro.jsonschema.models import Context

from vigil_engine.protocol import Model

COMPONENTS = "#/components/schemas"
_DROPPED = frozenset({"default", "additionalProperties", "title", "propertyNames"})


def json_schemas(models: Iterable[type[Model]], *, every_field_required: bool = True) -> dict[str, dict[str, Any]]:
    """The JSON Schema of each model and of every model they hold, by class name (references to ``COMPONENTS``).

    ``every_field_required=False``: only fields without a default are required (a command's arguments).
    """
    models = list(models)
    context = Context(all_refs=True, ref_prefix=COMPONENTS)
    for model in models:
        build_json_schema(model, context=context)
    classes = _reachable(models)
    found: dict[str, dict[str, Any]] = {}
    for name, definition in context.definitions.items():
        schema = _tidy(definition.to_dict())
        if every_field_required and "properties" in schema:
            schema["required"] = list(schema["properties"])
        description = _docstring(classes[name])
        if description:
            schema = {"description": description, **schema}
        found[name] = schema
    return found


def json_schema(model: type[Model], *, every_field_required: bool = True) -> dict[str, Any]:
    """The JSON Schema of one model (the models it holds are references to ``COMPONENTS``)."""
    return json_schemas([model], every_field_required=every_field_required)[model.__name__]


def type_name(schema: dict[str, Any]) -> str:
    """A property's type as docs/api/websocket.md writes it: ``integer or null``, ``array of Camera``."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[1]
    options = schema.get("anyOf")
    if options is not None:
        named = [type_name(option) for option in options if option.get("type") != "null"]
        return " or ".join(named) + (" or null" if len(named) < len(options) else "")
    if "const" in schema:
        return _json_type(schema["const"])
    kind = schema.get("type")
    if kind == "array":
        return f"array of {type_name(schema['items'])}"
    if isinstance(kind, str):
        return kind
    raise ValueError(f"no documented type for {schema}")


def _json_type(value: object) -> str:
    return {str: "string", bool: "boolean", int: "integer", float: "number"}[type(value)]


def _tidy(node: Any) -> Any:
    """mashumaro's schema without what the documents do not say (defaults, titles, closed objects)."""
    if isinstance(node, list):
        return [_tidy(item) for item in node]
    if not isinstance(node, dict):
        return node
    tidy = {key: _tidy(value) for key, value in node.items() if key not in _DROPPED}
    enum = tidy.get("enum")
    if enum is not None and "type" not in tidy and all(isinstance(value, str) for value in enum):
        tidy = {"type": "string", **tidy}  # a StrEnum
    return tidy


def _reachable(models: Iterable[type[Model]]) -> dict[str, type[Model]]:
    """The models and every model their fields hold, at any depth, by class name."""
    found: dict[str, type[Model]] = {}
    todo = list(models)
    while todo:
        model = todo.pop()
        if model.__name__ not in found:
            found[model.__name__] = model
            for hint in typing.get_type_hints(model).values():
                todo.extend(_models_in(hint))
    return found


def _models_in(hint: Any) -> list[type[Model]]:
    if isinstance(hint, type) and issubclass(hint, Model):
        return [hint]
    return [model for arg in getattr(hint, "__args__", ()) for model in _models_in(arg)]


def _docstring(model: type[Model]) -> str | None:
    """The model's own docstring, first paragraph (dataclass makes one up from the signature: not that)."""
    doc = model.__dict__.get("__doc__")
    if not doc or doc.startswith(f"{model.__name__}("):
        return None
    return inspect.cleandoc(doc).split("\n\n", 1)[0].replace("\n", " ").replace("``", "`")
