"""An image detector in the style of NudeNet: providers from the capi module
(``from onnxruntime.capi import _pybind_state as C``), input size from the NodeArg, and the
capi exception classes caught around bad calls."""

import os
import sys

import numpy as np
import onnxruntime
from onnxruntime.capi import _pybind_state as C
from onnxruntime.capi.onnxruntime_pybind11_state import (Fail, InvalidArgument,
                                                         InvalidProtobuf, NoSuchFile)


class Detector:
    def __init__(self, model_path, providers=None):
        self.onnx_session = onnxruntime.InferenceSession(
            model_path, providers=C.get_available_providers() if not providers else providers)
        model_inputs = self.onnx_session.get_inputs()
        self.input_width = model_inputs[0].shape[2]
        self.input_name = model_inputs[0].name

    def detect(self, image):
        return self.onnx_session.run(None, {self.input_name: image})


def caught(call, *classes):
    try:
        call()
    except classes as exc:
        return [c.__name__ for c in classes if isinstance(exc, c)][0]
    return "nothing raised"


def main(model_dir, out):
    detector = Detector(os.path.join(model_dir, "tiny_resnet.onnx"))
    image = np.random.default_rng(8).random((1, 3, 64, 64)).astype(np.float32)
    (scores,) = detector.detect(image)
    errors = [
        caught(lambda: detector.detect(image.astype(np.float64)), InvalidArgument),
        caught(lambda: detector.detect(image[:, :2]), InvalidArgument),
        caught(lambda: onnxruntime.InferenceSession(os.path.join(model_dir, "no.onnx")),
               NoSuchFile),
        caught(lambda: onnxruntime.InferenceSession(b"\x08\x07garbage"), InvalidProtobuf,
               Fail),
    ]
    np.savez(out, scores=scores, width=np.array(detector.input_width), errors=np.array(errors))


if __name__ == "__main__":
    main(*sys.argv[1:])
