"""The protocol models' rules, on the integration's copy: what the client accepts, what it refuses, what the
engine writes (the engine's copy is the same bytes: tests/protocol).

* Forward compatibility: fields a newer engine adds are ignored; fields an older one leaves out
  (or sends as ``null`` where the model has a default) take their defaults.
* Everything else is checked strictly, and a refusal names the field, never its value.
* Every model reads back what it writes (``to_dict`` then ``parse``), with exactly its fields.
* Secrets (the API token, a stream URL, a camera's password) stay out of every ``repr``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import typing
from typing import Any

import pytest

from custom_components.vigil.client import EngineEvent, UnknownEvent
from custom_components.vigil.protocol import (
    COMMANDS,
    ENVELOPES,
    EVENTS,
    OBJECTS,
    AddCameraArgs,
    AuthMessage,
    Camera,
    CommandMessage,
    DaySummary,
    Event,
    Model,
    MotionChanged,
    ProtocolError,
    RecordMode,
    ResultMessage,
    ServerInfoMessage,
    StorageWarningChanged,
    StreamUrl,
    Subscription,
)
from vigil_engine import protocol as engine_protocol
from vigil_engine.api.json_schema import json_schemas

SECRET = "s3cret-Pa55"


@functools.cache
def _schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema of every model, by name (the engine makes it, of its copy of the same models)."""
    models = {*engine_protocol.OBJECTS.values(), *engine_protocol.EVENTS.values(), *engine_protocol.ENVELOPES.values()}
    models |= {model for command in engine_protocol.COMMANDS.values() for model in (command.args, command.result)}
    return json_schemas(models)


def _every_model() -> list[type[Model]]:
    models = {
        *OBJECTS.values(),
        *EVENTS.values(),
        *ENVELOPES.values(),
        *(command.args for command in COMMANDS.values()),
        *(command.result for command in COMMANDS.values()),
    }
    return sorted(models, key=lambda model: model.__name__)


def _sample(schema: dict[str, Any], schemas: dict[str, dict[str, Any]]) -> Any:
    """A value of every field the schema has (the non-null choice of each union)."""
    if "$ref" in schema:
        model = schemas[schema["$ref"].rsplit("/", 1)[1]]
        return _sample(model, schemas) if "properties" in model else {}  # a model without fields (NoArgs)
    if "anyOf" in schema:
        return _sample(next(option for option in schema["anyOf"] if option.get("type") != "null"), schemas)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][-1]
    kind = schema["type"]
    if kind == "object":
        properties = schema.get("properties")
        if properties is None:
            return {"anything": [1, "two"]}
        return {name: _sample(prop, schemas) for name, prop in properties.items()}
    if kind == "array":
        return [_sample(schema["items"], schemas)]
    return {"string": "text", "integer": 7, "number": 0.5, "boolean": True}[kind]


@pytest.mark.parametrize("model", _every_model(), ids=lambda model: model.__name__)
def test_every_model_reads_back_what_it_writes(model: type[Model]) -> None:
    schemas = _schemas()
    sample = _sample({"$ref": f"#/{model.__name__}"}, schemas)
    parsed = model.parse(sample)
    assert parsed.to_dict() == sample
    assert json.loads(json.dumps(parsed.to_dict())) == sample  # JSON-ready as it is
    # A newer engine's extra fields are ignored, at any depth.
    assert model.parse({**sample, "added_in_a_later_version": {"x": 1}}) == parsed


def test_missing_and_null_fields_take_their_defaults() -> None:
    camera = Camera.parse({"camera_id": "front", "name": "Front", "zones": None, "motion_source": None})
    assert camera == Camera(camera_id="front", name="Front")
    assert (camera.record_mode, camera.zones, camera.origin, camera.device) == (
        RecordMode.CONTINUOUS,
        (),
        "config",
        None,
    )
    summary = DaySummary.parse(
        {"camera_id": "front", "date": "2026-01-01", "time_zone": "UTC", "start_ms": 0, "end_ms": 86_400_000}
    )
    assert summary.live is False  # an engine of schema version 1 did not say
    assert StorageWarningChanged.parse({"code": "storage_full", "message": None}) == StorageWarningChanged(
        code="storage_full", message="", active=True
    )


@pytest.mark.parametrize(
    ("model", "data", "message"),
    [
        (Camera, {"name": "A"}, "Camera.camera_id: missing"),
        (Camera, {"camera_id": 1, "name": "A"}, "Camera.camera_id: expected a string"),
        (Camera, {"camera_id": "a", "name": "A", "online": "yes"}, "Camera.online: expected true or false"),
        (Camera, {"camera_id": "a", "name": "A", "bitrate": 1.5}, "Camera.bitrate: expected an integer"),
        (Camera, {"camera_id": "a", "name": "A", "bitrate": True}, "Camera.bitrate: expected an integer"),
        (Camera, {"camera_id": "a", "name": "A", "fps": "fast"}, "Camera.fps: expected a number"),
        (Camera, {"camera_id": "a", "name": "A", "zones": "path"}, "Camera: zones: expected an array"),
        (Camera, {"camera_id": "a", "name": "A", "zones": {"path": 1}}, "Camera: zones: expected an array"),
        (Camera, {"camera_id": "a", "name": "A", "record_mode": "sometimes"}, "Camera.record_mode: not an allowed"),
        (Camera, {"camera_id": "a", "name": "A", "device": []}, "Camera.device: expected an object"),
        (Camera, {"camera_id": "a", "name": "A", "device": {"model": 5}}, "Camera.device: Device.model: expected a"),
        (Camera, [1, 2], "Camera: expected an object"),
        (Subscription, {"storage": []}, "Subscription.storage: expected an object"),
        (MotionChanged, {"camera_id": "a"}, "MotionChanged.zone: missing"),
        (ResultMessage, {"type": "event", "message_id": "1", "result": {}}, "ResultMessage.type: not an allowed"),
        (DaySummary, {"camera_id": "a", "date": "d", "time_zone": "UTC", "start_ms": 0, "end_ms": 1, "events": [3]},
         "DaySummary.events: expected an object"),
    ],
)  # fmt: skip
def test_what_does_not_fit_is_refused_by_name(model: type[Model], data: Any, message: str) -> None:
    with pytest.raises(ProtocolError) as refused:
        model.parse(data)
    assert str(refused.value).startswith(message)


def test_a_refusal_never_quotes_the_value() -> None:
    """The message of a refusal is logged: a value that is a secret must not be in it."""
    cases: list[tuple[type[Model], dict[str, Any]]] = [
        (StreamUrl, {"camera_id": "a", "url": [SECRET]}),
        (Camera, {"camera_id": "a", "name": "A", "record_mode": SECRET}),
        (ResultMessage, {"type": SECRET, "message_id": "1", "result": {}}),
        (AuthMessage, {"token": {SECRET: SECRET}}),
        (Camera, {"camera_id": "a", "name": "A", "zones": SECRET}),
    ]
    for model, data in cases:
        with pytest.raises(ProtocolError) as refused:
            model.parse(data)
        assert SECRET not in str(refused.value), refused.value


def test_secrets_stay_out_of_every_repr() -> None:
    texts = [
        repr(AuthMessage(token=SECRET)),
        repr(StreamUrl(camera_id="a", url=f"rtsp://admin:{SECRET}@10.0.0.5/stream")),
        repr(AddCameraArgs(camera={"id": "a", "onvif": {"password": SECRET}})),
        repr(CommandMessage(message_id="1", command="add_camera", args={"camera": {"password": SECRET}})),
        repr(ResultMessage(message_id="1", result={"url": f"rtsp://admin:{SECRET}@10.0.0.5/stream"})),
    ]
    assert all(SECRET not in text for text in texts), texts


def test_the_wire_holds_exactly_the_models_fields() -> None:
    """What the engine writes: every field, in the model's order, and nothing the model lacks."""
    event = Event(id="a" * 32, camera_id="front", kind="motion", start_ms=1)
    assert list(event.to_dict()) == [field.name for field in dataclasses.fields(event)]
    engine_state = {**Camera(camera_id="front", name="Front").to_dict(), "password": SECRET, "url": "rtsp://x"}
    assert "password" not in Camera.parse(engine_state).to_dict()
    message = ServerInfoMessage(server_version="1", schema_version=2, min_schema_version=1, instance_id="i")
    assert message.to_dict()["type"] == "server_info"


def test_each_event_model_has_its_name_and_the_client_knows_every_one() -> None:
    assert all(name == model.NAME for name, model in EVENTS.items())
    known = set(typing.get_args(EngineEvent.__value__)) - {UnknownEvent}
    client_models = {model.__name__ for model in known}
    assert client_models == {model.__name__ for model in EVENTS.values()}


def test_a_commands_optional_arguments_are_those_with_a_default() -> None:
    """The engine refuses a call without a required argument; the rest may be left out (or null)."""
    for name, command in COMMANDS.items():
        for field in dataclasses.fields(command.args):
            has_default = field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING
            if has_default:
                assert field.default is None, (name, field.name)
