"""The KServe v2 ("Open Inference Protocol") messages over HTTP: encoding a request, decoding an answer.

Triton, OpenVINO Model Server, KServe and MLServer all speak it. Two encodings of tensors:

* **JSON**: the tensor's values as a flat JSON list, row-major. Every server has it. The
  picture's values are whole numbers 0-255, so they are written as integers ("114", not
  "114.0"); the server reads them into the FP32 tensor the model declares.
* **binary** (Triton's *binary tensor data* extension, also implemented by KServe and OpenVINO
  Model Server): the JSON header says ``binary_data_size`` instead of listing values, and the
  raw little-endian bytes follow it in the same body; the header's length is in the
  ``Inference-Header-Content-Length`` HTTP header. The answer comes the same way when each
  output asks for ``binary_data``. No number is ever printed or parsed: far less CPU on both
  sides (``scripts/bench detect`` measures both).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from vigil_engine.detection.model import ModelLayout, layout_of
from vigil_engine.detection.onnx_file import Dim, TensorInfo

HEADER_LENGTH = "Inference-Header-Content-Length"
# v2 datatypes and the element types of onnx_file.
_DATATYPES = {"FP32": "float32", "FP16": "float16", "FP64": "float64", "UINT8": "uint8", "INT8": "int8"}


class ProtocolError(ValueError):
    """The server's answer does not follow the protocol, or not for this model."""


@dataclass(frozen=True, slots=True)
class Request:
    headers: dict[str, str]
    parts: tuple[bytes | memoryview, ...]  # the body, sent one part after the other


def model_path(model: str, version: str | None) -> str:
    """The path of a model's resource (metadata; ``/infer`` follows for inference)."""
    path = f"/v2/models/{model}"
    return f"{path}/versions/{version}" if version else path


def layout_from_metadata(body: bytes) -> ModelLayout:
    """The layout of the model the server describes in its model metadata (GET /v2/models/NAME).
    ProtocolError for an unreadable answer; ValueError (from ``layout_of``) for a model that is not
    a YOLOX detector."""
    try:
        metadata = json.loads(body)
        inputs = tuple(_tensor_info(entry) for entry in metadata["inputs"])
        outputs = tuple(_tensor_info(entry) for entry in metadata["outputs"])
    except (ValueError, KeyError, TypeError) as err:
        raise ProtocolError(f"unreadable model metadata ({err})") from None
    return layout_of(inputs, outputs)


def _tensor_info(entry: dict[str, Any]) -> TensorInfo:
    datatype = str(entry["datatype"])
    shape: tuple[Dim, ...] = tuple(int(size) for size in entry["shape"])
    return TensorInfo(str(entry["name"]), _DATATYPES.get(datatype, datatype), shape)


def encode(images: npt.NDArray[np.uint8], layout: ModelLayout, *, binary: bool) -> Request:
    """The inference request for one letterboxed picture."""
    tensor: dict[str, Any] = {"name": layout.input_name, "shape": list(images.shape), "datatype": "FP32"}
    output: dict[str, Any] = {"name": layout.output_name}
    if not binary:
        tensor["data"] = images.ravel().tolist()
        body = json.dumps({"inputs": [tensor], "outputs": [output]}, separators=(",", ":")).encode()
        return Request({"Content-Type": "application/json"}, (body,))
    data = np.ascontiguousarray(images, dtype="<f4").data.cast("B")
    tensor["parameters"] = {"binary_data_size": data.nbytes}
    output["parameters"] = {"binary_data": True}
    header = json.dumps({"inputs": [tensor], "outputs": [output]}, separators=(",", ":")).encode()
    return Request({"Content-Type": "application/octet-stream", HEADER_LENGTH: str(len(header))}, (header, data))


def decode(body: bytes, header_length: str | None, layout: ModelLayout) -> npt.NDArray[np.float32]:
    """The model's output from an inference answer (JSON, or JSON + binary when the server
    sent ``Inference-Header-Content-Length``)."""
    try:
        length = int(header_length) if header_length is not None else len(body)
        answer = json.loads(body[:length])
        outputs = {entry["name"]: entry for entry in answer["outputs"]}
        entry = outputs[layout.output_name]
        shape = [int(size) for size in entry["shape"]]
        parameters = entry.get("parameters") or {}
        if "binary_data_size" in parameters:
            if entry.get("datatype") != "FP32":
                raise ProtocolError(f"output {layout.output_name} is {entry.get('datatype')}, expected FP32")
            # Binary outputs follow the header in the order they are listed.
            offset = length
            for other in answer["outputs"]:
                if other is entry:
                    break
                offset += int((other.get("parameters") or {})["binary_data_size"])
            size = int(parameters["binary_data_size"])
            if offset + size > len(body):
                raise ProtocolError("binary output shorter than announced")
            values = np.frombuffer(body, dtype="<f4", count=size // 4, offset=offset).astype(np.float32)
        else:
            values = np.asarray(entry["data"], dtype=np.float32)
        output = values.reshape(shape)
    except (ValueError, KeyError, TypeError) as err:
        if isinstance(err, ProtocolError):
            raise
        raise ProtocolError(f"unreadable inference answer ({err})") from None
    if output.size != layout.anchors * (layout.classes + 5):
        raise ProtocolError(
            f"output {layout.output_name} has shape {shape}, expected [1, {layout.anchors}, {layout.classes + 5}]"
        )
    return output
