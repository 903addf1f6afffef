"""Read the few facts Vigil needs from an ONNX file: its graph's inputs and outputs, without a runtime.

An ONNX file is one protobuf ``ModelProto`` message. This reader walks protobuf's wire format
(varints and length-delimited fields) far enough to find the graph's inputs and outputs and
their element types and shapes, and skips everything else (weights, nodes) by length. That
lets the engine check a model file at start and in ``--check`` in a few milliseconds, with the
same one-line errors whatever runtime will run it, and tell apart the two ways a file goes
wrong: it is not ONNX at all (a wrong download, an HTML error page, another format), or it is
the start of one cut short (an interrupted copy), which shows as a field longer than the rest
of the file.

Field numbers are those of onnx.proto (ONNX IR version 3 and later).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

# Protobuf wire types.
_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5
# ModelProto
_MODEL_IR_VERSION, _MODEL_GRAPH = 1, 7
_MODEL_FIELDS = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 14, 20, 25})
# GraphProto
_GRAPH_INITIALIZER, _GRAPH_INPUT, _GRAPH_OUTPUT = 5, 11, 12
_TENSOR_NAME = 8  # TensorProto.name
# ValueInfoProto -> TypeProto -> TypeProto.Tensor -> TensorShapeProto -> Dimension
_VALUE_NAME, _VALUE_TYPE = 1, 2
_TYPE_TENSOR = 1
_TENSOR_ELEM_TYPE, _TENSOR_SHAPE = 1, 2
_SHAPE_DIM = 1
_DIM_VALUE, _DIM_PARAM = 1, 2

ELEMENT_TYPES = {1: "float32", 2: "uint8", 3: "int8", 6: "int32", 7: "int64", 9: "bool", 10: "float16", 11: "float64"}


class NotOnnxError(ValueError):
    """The bytes are not an ONNX model."""


class TruncatedError(ValueError):
    """The bytes are the start of an ONNX model whose end is missing."""


# A dimension is a number, a symbolic name (e.g. "batch") for a size chosen at run time, or
# None when the file says nothing about it.
Dim = int | str | None


@dataclass(frozen=True, slots=True)
class TensorInfo:
    name: str
    element_type: str  # e.g. "float32"; "type N" for a type this reader does not name
    shape: tuple[Dim, ...] | None  # None: the file gives no shape


@dataclass(frozen=True, slots=True)
class OnnxGraph:
    ir_version: int
    inputs: tuple[TensorInfo, ...]  # real inputs only (initializers listed as inputs left out)
    outputs: tuple[TensorInfo, ...]


def read_graph(data: bytes | memoryview) -> OnnxGraph:
    """The inputs and outputs of the ONNX model in ``data``.

    Raises :class:`TruncatedError` when a field runs past the end, :class:`NotOnnxError` when
    the bytes are not a ModelProto with an IR version and a graph.
    """
    view = memoryview(data)
    ir_version: int | None = None
    graph: memoryview | None = None
    try:
        for field, wire, value in _fields(view, top_level=_MODEL_FIELDS):
            if field == _MODEL_IR_VERSION and wire == _VARINT:
                assert isinstance(value, int)
                ir_version = value
            elif field == _MODEL_GRAPH and wire == _LENGTH:
                assert isinstance(value, memoryview)
                graph = value
    except _WireError as err:
        raise NotOnnxError(str(err)) from None
    if ir_version is None or graph is None:
        raise NotOnnxError("no IR version or no graph")
    try:
        return _read_graph(graph, ir_version)
    except _WireError as err:
        # The outer message framed the graph exactly, so a bad graph is damage, not truncation.
        raise NotOnnxError(f"damaged graph: {err}") from None


class _WireError(ValueError):
    pass


def _varint(view: memoryview, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(view):
            raise _Truncated
        byte = view[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise _WireError("varint longer than ten bytes")


class _Truncated(Exception):
    pass


def _fields(
    view: memoryview, *, top_level: frozenset[int] | None = None
) -> Iterator[tuple[int, int, int | memoryview]]:
    """(field number, wire type, value) of each field of the message in ``view``; a
    length-delimited value is a view of its bytes, fixed-size values are skipped (as 0).

    ``top_level``: the field numbers the file's outer message may have. Each field's number is
    checked before its length, so that bytes that are not ONNX are called so, not "truncated"
    because some byte happened to read as a huge length; and a field that runs past the end
    raises :class:`TruncatedError` (inside a message it is damage: its parent's length framed it).
    """
    pos = 0
    end = len(view)
    while pos < end:
        try:
            key, pos = _varint(view, pos)
            field, wire = key >> 3, key & 7
            if field == 0:
                raise _WireError("field number 0")
            if top_level is not None and field not in top_level:
                raise _WireError(f"field {field} is not part of an ONNX model")
            if wire == _VARINT:
                value, pos = _varint(view, pos)
                yield field, wire, value
            elif wire == _LENGTH:
                length, pos = _varint(view, pos)
                if pos + length > end:
                    if top_level is not None:
                        raise TruncatedError(
                            f"field {field} needs {length:,} bytes but the file ends {end - pos:,} bytes later"
                        )
                    raise _WireError(f"field {field} runs past the end of its message")
                yield field, wire, view[pos : pos + length]
                pos += length
            elif wire in (_FIXED64, _FIXED32):
                pos += 8 if wire == _FIXED64 else 4
                if pos > end:
                    raise _Truncated
                yield field, wire, 0
            else:
                raise _WireError(f"wire type {wire}")
        except _Truncated:
            if top_level is not None:
                raise TruncatedError("the file ends in the middle of a field") from None
            raise _WireError("a field runs past the end of its message") from None


def _read_graph(graph: memoryview, ir_version: int) -> OnnxGraph:
    inputs: list[TensorInfo] = []
    outputs: list[TensorInfo] = []
    initializers: set[str] = set()
    for field, wire, value in _fields(graph):
        if wire != _LENGTH:
            continue
        assert isinstance(value, memoryview)
        if field == _GRAPH_INPUT:
            inputs.append(_value_info(value))
        elif field == _GRAPH_OUTPUT:
            outputs.append(_value_info(value))
        elif field == _GRAPH_INITIALIZER:
            initializers.add(_string_field(value, _TENSOR_NAME))
    # Before IR version 4, weights were also listed as graph inputs.
    real_inputs = tuple(info for info in inputs if info.name not in initializers)
    return OnnxGraph(ir_version, real_inputs, tuple(outputs))


def _string_field(message: memoryview, number: int) -> str:
    for field, wire, value in _fields(message):
        if field == number and wire == _LENGTH:
            assert isinstance(value, memoryview)
            return bytes(value).decode("utf-8", errors="replace")
    return ""


def _value_info(message: memoryview) -> TensorInfo:
    name = ""
    element_type = "unknown"
    shape: tuple[Dim, ...] | None = None
    for field, wire, value in _fields(message):
        if wire != _LENGTH:
            continue
        assert isinstance(value, memoryview)
        if field == _VALUE_NAME:
            name = bytes(value).decode("utf-8", errors="replace")
        elif field == _VALUE_TYPE:
            for type_field, type_wire, tensor in _fields(value):
                if type_field != _TYPE_TENSOR or type_wire != _LENGTH:
                    element_type = "not a tensor"
                    continue
                assert isinstance(tensor, memoryview)
                element_type, shape = _tensor_type(tensor)
    return TensorInfo(name, element_type, shape)


def _tensor_type(message: memoryview) -> tuple[str, tuple[Dim, ...] | None]:
    element_type = "unknown"
    shape: tuple[Dim, ...] | None = None
    for field, wire, value in _fields(message):
        if field == _TENSOR_ELEM_TYPE and wire == _VARINT:
            assert isinstance(value, int)
            element_type = ELEMENT_TYPES.get(value, f"type {value}")
        elif field == _TENSOR_SHAPE and wire == _LENGTH:
            assert isinstance(value, memoryview)
            shape = tuple(
                _dimension(dim) for number, kind, dim in _fields(value) if number == _SHAPE_DIM and kind == _LENGTH
            )
    return element_type, shape


def _dimension(dim: int | memoryview) -> Dim:
    assert isinstance(dim, memoryview)
    for field, wire, value in _fields(dim):
        if field == _DIM_VALUE and wire == _VARINT:
            assert isinstance(value, int)
            return value - (1 << 64) if value >= 1 << 63 else value  # int64, two's complement
        if field == _DIM_PARAM and wire == _LENGTH:
            assert isinstance(value, memoryview)
            return bytes(value).decode("utf-8", errors="replace")
    return None
