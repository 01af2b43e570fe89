"""A file-type detector in the style of magika: telemetry switched off at import, sess_options
passed positionally, run with the output named, labels from the scores."""

import os
import sys

import numpy as np
import onnxruntime as rt

rt.disable_telemetry_events()


class Detector:
    def __init__(self, model_path):
        sess_options = rt.SessionOptions()
        sess_options.graph_optimization_level = rt.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._onnx_session = rt.InferenceSession(model_path, sess_options,
                                                 providers=["CPUExecutionProvider"])

    def predict(self, features):
        return self._onnx_session.run(["output"], {"tokens": features})[0]


def main(model_dir, out):
    detector = Detector(os.path.join(model_dir, "transformer_encoder.onnx"))
    # the model was exported at batch 4, length 16
    features = np.random.default_rng(7).integers(0, 100, (4, 16)).astype(np.int64)
    raw = detector.predict(features)
    pooled = raw.mean(axis=1)
    np.savez(out, raw=raw, label=pooled.argmax(axis=1), score=pooled.max(axis=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
