"""Session options and metadata as deployment scripts use them: optimize once into
optimized_model_filepath and serve the optimized file with optimizations off, profiling on,
a run config entry, NodeArg names/shapes/types, overridable initializers."""

import os
import sys

import numpy as np
import onnxruntime as ort


def main(model_dir, out):
    work = os.path.dirname(os.path.abspath(out))
    optimized = os.path.join(work, "optimized.onnx")
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    so.optimized_model_filepath = optimized
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.add_session_config_entry("session.load_model_format", "ONNX")
    ort.InferenceSession(os.path.join(model_dir, "tiny_resnet.onnx"), so,
                         providers=["CPUExecutionProvider"])

    serve = ort.SessionOptions()
    serve.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    serve.enable_profiling = True
    serve.profile_file_prefix = os.path.join(work, "profile")
    session = ort.InferenceSession(optimized, serve, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(11).standard_normal((1, 3, 64, 64)).astype(np.float32)
    (y,) = session.run(["output"], {"image": x})
    profile = session.end_profiling()

    tagger = ort.InferenceSession(os.path.join(model_dir, "lstm_tagger.onnx"))
    args = [(a.name, str(a.shape), a.type) for a in tagger.get_inputs() + tagger.get_outputs()]
    np.savez(out, y=y, profiled=np.array(os.path.exists(profile)),
             config=np.array(so.get_session_config_entry("session.load_model_format")),
             args=np.array(args), providers=np.array(session.get_providers()),
             overridable=np.array([a.name for a in tagger.get_overridable_initializers()]))


if __name__ == "__main__":
    main(*sys.argv[1:])
