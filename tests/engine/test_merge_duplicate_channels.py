"""merge_duplicate_channels: output channels with identical weights and bias come out identical.

OpenBLAS rounds a row's dot product by where the row falls in its register tiles, so without
the pass a 1000-channel 1x1 Conv whose weights are all equal gives channels one ulp apart (the
cause of the light_squeezenet failure on AVX2 machines).
"""

import numpy as np
from onnx import helper

from ai_engine import InferenceSession, SessionOptions
from builders import make_model, tensor_info


def conv_model(w, b):
    inits = {"w": w, "b": b}
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"])
    return make_model([node], [tensor_info("x", shape=[1, w.shape[1], 13, 13])],
                      [tensor_info("y", shape=None)], initializers=inits)


def test_identical_channels_are_identical():
    w = np.full((1000, 512, 1, 1), 0.01, np.float32)
    b = np.zeros(1000, np.float32)
    session = InferenceSession(conv_model(w, b))
    assert [n.op_type for n in session.graph.nodes] == ["Conv", "Gather"]
    x = np.random.default_rng(0).random((1, 512, 13, 13), dtype=np.float32) * 1e6
    (y,) = session.run(None, {"x": x})
    assert y.shape == (1, 1000, 13, 13)
    assert (y == y[:, :1]).all()


def test_channel_order_and_values_are_kept():
    rng = np.random.default_rng(1)
    kinds = rng.standard_normal((3, 4, 3, 3)).astype(np.float32)
    pick = np.array([2, 0, 2, 1, 0, 2])
    w, b = kinds[pick], np.array([0.5, -1, 0.5, 2, -1, 0.5], np.float32)
    model = conv_model(w, b)
    merged = InferenceSession(model)
    assert [n.op_type for n in merged.graph.nodes] == ["Conv", "Gather"]
    x = rng.standard_normal((1, 4, 13, 13)).astype(np.float32)
    plain = InferenceSession(model, SessionOptions(graph_optimization_level=0))
    np.testing.assert_allclose(merged.run(None, {"x": x})[0], plain.run(None, {"x": x})[0],
                               rtol=1e-5, atol=1e-5)


def test_same_weights_with_other_bias_are_distinct_channels():
    w = np.ones((4, 2, 1, 1), np.float32)
    b = np.array([0, 1, 2, 3], np.float32)
    session = InferenceSession(conv_model(w, b))
    assert "Gather" not in [n.op_type for n in session.graph.nodes]
