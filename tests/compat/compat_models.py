"""The models the compatibility clients load: the project's test models, and three small
ones built here in the shapes real packages ship (a matting/segmentation net, a stateful
voice-activity detector whose graph branches on the sample rate, and an OCR recognizer that
carries its character set in the model's metadata)."""

from __future__ import annotations

import os
import shutil

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save_model

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models", "data")
COPIED = ("tiny_resnet.onnx", "tiny_mobilenet.onnx", "lstm_tagger.onnx",
          "transformer_encoder.onnx")
CHARACTERS = "0123456789abcdefghij"


def _init(rng, name, *shape, scale=0.3):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32),
                                   name)


def _model(graph, **props):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="compat-tests")
    model.ir_version = 8
    if props:
        helper.set_model_props(model, props)
    return model


def segmenter(rng):
    """[1, 3, 32, 32] image -> [1, 1, 32, 32] mask in [0, 1] (rembg-style)."""
    nodes = [helper.make_node("Conv", ["input.1", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1]),
             helper.make_node("Sigmoid", ["c2"], ["mask"])]
    graph = helper.make_graph(
        nodes, "segmenter",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, 32, 32])],
        [_init(rng, "w1", 8, 3, 3, 3), _init(rng, "b1", 8), _init(rng, "w2", 1, 8, 3, 3),
         _init(rng, "b2", 1)])
    return _model(graph)


def vad(rng):
    """silero-style: ``input`` [1, 64], ``state`` [2, 1, 16], ``sr`` int64 scalar ->
    ``output`` [1, 1] speech probability, ``stateN``. An If picks the 8 kHz or 16 kHz
    projection, as the real model branches on the sample rate."""
    def branch(name, weight):
        node = helper.make_node("MatMul", ["input", weight], [f"{name}_out"])
        return helper.make_graph(
            [node], name, [],
            [helper.make_tensor_value_info(f"{name}_out", TensorProto.FLOAT, [1, 16])])

    nodes = [
        helper.make_node("Equal", ["sr", "sr16k"], ["is16k"]),
        helper.make_node("If", ["is16k"], ["proj"], then_branch=branch("k16", "w16"),
                         else_branch=branch("k8", "w8")),
        helper.make_node("Gather", ["state", "zero"], ["h_prev"], axis=0),
        helper.make_node("MatMul", ["h_prev", "u"], ["rec"]),
        helper.make_node("Add", ["proj", "rec"], ["pre"]),
        helper.make_node("Tanh", ["pre"], ["h"]),
        helper.make_node("MatMul", ["h", "v"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["output"]),
        helper.make_node("Unsqueeze", ["h", "zero_axis"], ["h3"]),
        helper.make_node("Gather", ["state", "zero_idx"], ["c_prev"], axis=0),
        helper.make_node("Concat", ["h3", "c_prev"], ["stateN"], axis=0),
    ]
    inits = [_init(rng, "w16", 64, 16), _init(rng, "w8", 64, 16), _init(rng, "u", 16, 16),
             _init(rng, "v", 16, 1),
             numpy_helper.from_array(np.array(16000, np.int64), "sr16k"),
             numpy_helper.from_array(np.array(0, np.int64), "zero"),
             numpy_helper.from_array(np.array([0], np.int64), "zero_axis"),
             numpy_helper.from_array(np.array([1], np.int64), "zero_idx")]
    graph = helper.make_graph(
        nodes, "vad",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 64]),
         helper.make_tensor_value_info("state", TensorProto.FLOAT, [2, 1, 16]),
         helper.make_tensor_value_info("sr", TensorProto.INT64, [])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1]),
         helper.make_tensor_value_info("stateN", TensorProto.FLOAT, [2, 1, 16])], inits)
    return _model(graph)


def recognizer(rng):
    """rapidocr-style text recognizer: [1, 3, 8, W] crop -> [1, W/2, classes] softmax, the
    character list in metadata ``character`` (class 0 is CTC's blank)."""
    classes = len(CHARACTERS) + 1
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], strides=[8, 2],
                              kernel_shape=[8, 2]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Squeeze", ["r", "axis2"], ["s"]),
             helper.make_node("Transpose", ["s"], ["t"], perm=[0, 2, 1]),
             helper.make_node("MatMul", ["t", "proj"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["softmax_out"], axis=-1)]
    graph = helper.make_graph(
        nodes, "recognizer",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, "width"])],
        [helper.make_tensor_value_info("softmax_out", TensorProto.FLOAT,
                                       [1, "steps", classes])],
        [_init(rng, "w", 24, 3, 8, 2, scale=1.0), _init(rng, "b", 24),
         _init(rng, "proj", 24, classes, scale=1.0),
         numpy_helper.from_array(np.array([2], np.int64), "axis2")])
    return _model(graph, character="\n".join(CHARACTERS))


def build_all(directory: str) -> str:
    """Write every client model into ``directory``; returns it."""
    os.makedirs(directory, exist_ok=True)
    for name in COPIED:
        shutil.copy(os.path.join(DATA, name), os.path.join(directory, name))
    rng = np.random.default_rng(20261202)
    for name, build in (("segmenter", segmenter), ("vad", vad), ("recognizer", recognizer)):
        save_model(build(rng), os.path.join(directory, f"{name}.onnx"))
    return directory
