"""Object detection (YOLOX on ONNX Runtime, OpenVINO or a remote KServe v2 server): see ``detector``."""
