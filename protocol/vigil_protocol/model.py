"""The base of every message shape: a frozen dataclass that mashumaro turns into JSON-ready dicts and back.

``to_dict()`` (mashumaro's) gives exactly the model's fields, in their order: a field reaches the
wire only if the model has it. :meth:`Model.parse` reads a JSON value by the protocol's rules:

* fields the model does not know are ignored (a newer engine may send more);
* a field that is missing, or ``null`` where the model has a non-null default, takes that default
  (an older engine may send less); a missing field without a default is an error;
* everything else is checked strictly: a string is a string, an integer is no float or boolean,
  a number is no boolean, an array is an array (not a string), an object is an object.

Every failure is a :class:`ProtocolError` that names the field but never quotes its value (a
value may be a secret, and these messages are logged).
"""

from __future__ import annotations

import types
import typing
from dataclasses import MISSING, Field, fields, is_dataclass
from typing import Any, Self

from mashumaro import DataClassDictMixin
from mashumaro.config import BaseConfig
from mashumaro.exceptions import InvalidFieldValue, MissingField


class ProtocolError(ValueError):
    """A value that does not match the protocol: a required field missing, or one of the wrong type."""


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise ProtocolError("expected a string")
    return value


def _integer(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError("expected an integer")
    return value


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProtocolError("expected a number")
    return float(value)


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise ProtocolError("expected true or false")
    return value


class Model(DataClassDictMixin):
    """A message shape. Subclasses are ``@dataclass(frozen=True, slots=True, kw_only=True)``."""

    __slots__ = ()
    # Declared for type checkers: every subclass is a dataclass (dataclasses.fields() takes it).
    __dataclass_fields__: typing.ClassVar[dict[str, Field[Any]]]

    class Config(BaseConfig):
        # mashumaro passes scalars through unchecked: these check them (parsing only; to_dict
        # writes values as they are). Extra keys are ignored: forbid_extra_keys stays False.
        serialization_strategy: dict[Any, Any] = {  # noqa: RUF012 - mashumaro's own declaration
            str: {"deserialize": _string},
            int: {"deserialize": _integer},
            float: {"deserialize": _number},
            bool: {"deserialize": _boolean},
        }

    @classmethod
    def __pre_deserialize__(cls, d: dict[Any, Any]) -> dict[Any, Any]:
        if not isinstance(d, dict):
            raise ProtocolError("expected an object")
        rules = _RULES.get(cls) or _rules(cls)
        for name in rules.arrays:
            value = d.get(name)
            if value is not None and not isinstance(value, list | tuple):
                # mashumaro would iterate a string or an object as if it were an array.
                raise ProtocolError(f"{name}: expected an array")
        # Runs for every object of every answer (500 events in a day summary): the scan of the
        # values is the cheap test, the fields are looked at only when it finds a null.
        if rules.null_means_default and None in d.values():
            nulls = [name for name in rules.null_means_default if d.get(name, 0) is None]
            if nulls:
                d = {key: value for key, value in d.items() if key not in nulls}
        return d

    @classmethod
    def parse(cls, data: object) -> Self:
        """The model of a JSON value (see the module docstring); :class:`ProtocolError` if it does not fit."""
        if not isinstance(data, dict):
            raise ProtocolError(f"{cls.__name__}: expected an object")
        try:
            return cls.from_dict(data)
        except ProtocolError as err:
            raise ProtocolError(f"{cls.__name__}: {err}") from None
        except (InvalidFieldValue, MissingField) as err:
            raise ProtocolError(_describe(err)) from None


class _Rules(typing.NamedTuple):
    arrays: frozenset[str]  # fields that hold an array (or null)
    null_means_default: frozenset[str]  # fields with a default that cannot be null


_RULES: dict[type[Model], _Rules] = {}


def _rules(cls: type[Model]) -> _Rules:
    """The class's rules, worked out on its first parse."""
    rules = _RULES.get(cls)
    if rules is None:
        rules = _RULES[cls] = _work_out_rules(cls)
    return rules


def _work_out_rules(cls: type[Model]) -> _Rules:
    assert is_dataclass(cls)
    hints = typing.get_type_hints(cls)
    arrays, defaulted = set(), set()
    for f in fields(cls):
        hint = hints[f.name]
        options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        nullable = type(None) in options
        if any(typing.get_origin(option) is tuple for option in options):
            arrays.add(f.name)
        if not nullable and (f.default is not MISSING or f.default_factory is not MISSING):
            defaulted.add(f.name)
    return _Rules(frozenset(arrays), frozenset(defaulted))


def _describe(err: InvalidFieldValue | MissingField) -> str:
    """``Camera.device: Device.model: expected a string``: the path to the field, and what was wrong."""
    path: list[str] = []
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, MissingField):
            return ": ".join([*path, f"{cause.holder_class_name}.{cause.field_name}: missing"])
        if isinstance(cause, InvalidFieldValue):
            path.append(f"{cause.holder_class_name}.{cause.field_name}")
        elif isinstance(cause, ProtocolError):
            return ": ".join([*path, str(cause)])
        else:
            break
        cause = cause.__context__
    # An enum value or a constant the model does not allow (the text would quote the value).
    return ": ".join([*path, "not an allowed value"])


def describe(text: str) -> dict[str, str]:
    """A field's metadata: its description in docs/api/websocket.md and the OpenAPI document."""
    return {"description": text}
