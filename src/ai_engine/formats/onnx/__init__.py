"""ONNX model loading: ModelProto -> engine Graph."""
