"""A real KServe v2 inference server serving the detection model, for the tests and ``scripts/bench detect``.

Run by the inference server's own Python (``.inference-server/venv``, made by scripts/setup
from requirements/inference-server.txt: KServe's model server supports Python < 3.14):

    .inference-server/venv/bin/python scripts/inference-server.d/serve_onnx.py --model M.onnx --port 8000

KServe's Python model server (``kserve.ModelServer``: FastAPI on uvicorn) speaks the v2
protocol over HTTP, JSON and binary tensors alike; the model is served as Triton or OpenVINO
Model Server would serve the ONNX file: raw tensors in and out, by ONNX Runtime on the CPU.
Prints ``ready`` on stdout once it answers. Standalone: it imports nothing of Vigil's.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

import numpy as np
import onnxruntime as ort
from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer

_DATATYPES = {"tensor(float)": "FP32", "tensor(uint8)": "UINT8"}


class OnnxModel(Model):
    def __init__(self, name: str, path: str, threads: int) -> None:
        super().__init__(name)
        self.path = path
        self.threads = threads
        self.session: Any = None

    def load(self) -> bool:
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(self.path, options, providers=["CPUExecutionProvider"])
        self.ready = True
        return True

    def _types(self, values: list[Any]) -> list[dict[str, Any]]:
        return [
            {"name": value.name, "datatype": _DATATYPES.get(value.type, value.type), "shape": list(value.shape)}
            for value in values
        ]

    def get_input_types(self) -> list[dict[str, Any]]:
        return self._types(self.session.get_inputs())

    def get_output_types(self) -> list[dict[str, Any]]:
        return self._types(self.session.get_outputs())

    def predict(self, payload: InferRequest, headers: Any = None, response_headers: Any = None) -> InferResponse:
        feeds = {tensor.name: tensor.as_numpy().astype(np.float32, copy=False) for tensor in payload.inputs}
        names = [value.name for value in self.session.get_outputs()]
        outputs = []
        for name, value in zip(names, self.session.run(names, feeds), strict=True):
            output = InferOutput(name=name, shape=list(value.shape), datatype="FP32")
            # Kept as raw bytes: KServe writes them as binary or as a JSON list, as the request asks.
            output.set_data_from_numpy(value, binary_data=True)
            outputs.append(output)
        return InferResponse(
            response_id=payload.id or "",
            model_name=self.name,
            infer_outputs=outputs,
            use_binary_outputs=payload.use_binary_outputs,
            requested_outputs=payload.request_outputs,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--name", default="yolox_nano")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    model = OnnxModel(args.name, args.model, args.threads)
    model.load()
    logging.getLogger().setLevel(logging.WARNING)
    server = ModelServer(http_port=args.port, enable_grpc=False, workers=1, enable_latency_logging=False)
    print("ready", flush=True)  # the model is loaded; HTTP answers a moment later (the caller polls)
    server.start([model])


if __name__ == "__main__":
    sys.exit(main())
