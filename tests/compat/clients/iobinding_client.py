"""OrtValue, IOBinding and run_with_ort_values as onnxruntime's docs show them: an input
bound by pointer, outputs allocated by the runtime or preallocated by the caller, reruns
with the bindings kept, RunOptions passed along."""

import os
import sys

import numpy as np
import onnxruntime


def main(model_dir, out):
    rng = np.random.default_rng(10)
    session = onnxruntime.InferenceSession(os.path.join(model_dir, "tiny_mobilenet.onnx"),
                                           providers=["CPUExecutionProvider"])
    x = rng.standard_normal((1, 3, 64, 64)).astype(np.float32)
    x_ortvalue = onnxruntime.OrtValue.ortvalue_from_numpy(x, "cpu", 0)
    io_binding = session.io_binding()
    io_binding.bind_input(name="image", device_type=x_ortvalue.device_name(), device_id=0,
                          element_type=np.float32, shape=x_ortvalue.shape(),
                          buffer_ptr=x_ortvalue.data_ptr())
    io_binding.bind_output("output")
    session.run_with_iobinding(io_binding)
    allocated = io_binding.copy_outputs_to_cpu()[0]

    y = np.empty(allocated.shape, dtype=np.float32)
    io_binding.bind_output(name="output", device_type="cpu", device_id=0,
                           element_type=np.float32, shape=y.shape, buffer_ptr=y.ctypes.data)
    run_options = onnxruntime.RunOptions()
    run_options.log_severity_level = 3
    session.run_with_iobinding(io_binding, run_options)
    first = y.copy()
    x_ortvalue.update_inplace(rng.standard_normal((1, 3, 64, 64)).astype(np.float32))
    session.run_with_iobinding(io_binding)  # same bindings, new input data
    second = y.copy()

    tagger = onnxruntime.InferenceSession(os.path.join(model_dir, "lstm_tagger.onnx"),
                                          providers=["CPUExecutionProvider"])
    feats = onnxruntime.OrtValue.ortvalue_from_numpy(
        rng.standard_normal((2, 7, 16)).astype(np.float32))
    (tags,) = tagger.run_with_ort_values(["output"], {"features": feats})
    np.savez(out, allocated=allocated, first=first, second=second, tags=tags.numpy(),
             tag_type=np.array(tags.data_type()), tag_shape=np.array(tags.shape()))


if __name__ == "__main__":
    main(*sys.argv[1:])
