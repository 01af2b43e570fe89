"""Conv + residual Add + activation fusion (optimizer/fuse_conv_activation.py) and the
FusedConv / fast Conv kernels (operators/fused.py): results match the unfused graph."""

import numpy as np
import pytest
from onnx import helper, numpy_helper

from ai_engine import InferenceSession, SessionOptions
from builders import make_model, tensor_info


def _conv_model(c, m, h, k, stride, pad, group=1, bias=True, act=None, residual=False,
                batch=1):
    rng = np.random.default_rng(c * 100 + m + k)
    inits = {"w": (rng.standard_normal((m, c // group, k, k)) / k).astype(np.float32)}
    conv_in = ["x", "w"]
    if bias:
        inits["b"] = rng.standard_normal(m).astype(np.float32)
        conv_in.append("b")
    nodes = [helper.make_node("Conv", conv_in, ["c"], pads=[pad] * 4, strides=[stride] * 2,
                              group=group, kernel_shape=[k, k])]
    o = (h + 2 * pad - k) // stride + 1
    inputs = [tensor_info("x", shape=[batch, c, h, h])]
    last = "c"
    if residual:
        inputs.append(tensor_info("r", shape=[batch, m, o, o]))
        nodes.append(helper.make_node("Add", ["r", last], ["s"]))
        last = "s"
    if act == "Relu":
        nodes.append(helper.make_node("Relu", [last], ["y"]))
    elif act == "LeakyRelu":
        nodes.append(helper.make_node("LeakyRelu", [last], ["y"], alpha=0.2))
    elif act == "Clip":
        inits["lo"] = np.array(0.0, np.float32)
        inits["hi"] = np.array(6.0, np.float32)
        nodes.append(helper.make_node("Clip", [last, "lo", "hi"], ["y"]))
    else:
        nodes.append(helper.make_node("Identity", [last], ["y"]))
    return make_model(nodes, inputs, [tensor_info("y", shape=[batch, m, o, o])],
                      initializers=inits), o


def _numpy_conv(x, w, b, stride, pad, group):
    n, c, h, _ = x.shape
    m, cg, k, _ = w.shape
    xp = np.pad(x.astype(np.float64), [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    o = (h + 2 * pad - k) // stride + 1
    y = np.zeros((n, m, o, o))
    mg = m // group
    for g in range(group):
        for i in range(k):
            for j in range(k):
                patch = xp[:, g * cg:(g + 1) * cg, i:i + (o - 1) * stride + 1:stride,
                           j:j + (o - 1) * stride + 1:stride]
                y[:, g * mg:(g + 1) * mg] += np.einsum("nchw,mc->nmhw", patch,
                                                       w[g * mg:(g + 1) * mg, :, i, j])
    return y + (0 if b is None else b.reshape(1, -1, 1, 1))


CASES = [  # c, m, h, k, stride, pad, group
    (16, 32, 20, 3, 1, 1, 1),     # shifted-GEMM path (big enough)
    (4, 8, 9, 3, 1, 1, 1),        # small stride-1: im2col
    (64, 64, 7, 3, 1, 1, 1),      # 7x7 map: im2col
    (3, 8, 23, 7, 2, 3, 1),       # stem-like strided
    (8, 16, 12, 1, 1, 0, 1),      # pointwise
    (8, 16, 12, 1, 2, 0, 1),      # strided pointwise
    (8, 8, 13, 3, 1, 1, 8),       # depthwise
    (8, 8, 13, 3, 2, 1, 8),       # strided depthwise
    (8, 12, 10, 3, 1, 1, 2),      # grouped: generic fallback
    (6, 6, 11, 5, 1, 0, 1),       # no padding, 5x5
]


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
@pytest.mark.parametrize("act,residual", [(None, False), ("Relu", False), ("Relu", True),
                                          ("Clip", False), ("LeakyRelu", True)])
def test_fused_matches_reference(case, act, residual):
    c, m, h, k, stride, pad, group = case
    if residual and group > 1:
        pytest.skip("covered by the group-1 cases")
    model, o = _conv_model(c, m, h, k, stride, pad, group, act=act, residual=residual)
    rng = np.random.default_rng(1)
    feeds = {"x": rng.standard_normal((1, c, h, h)).astype(np.float32)}
    if residual:
        feeds["r"] = rng.standard_normal((1, m, o, o)).astype(np.float32)
    sess = InferenceSession(model)
    ops = [n.op_type for n in sess.graph.nodes]
    if act or residual:
        assert ops == ["FusedConv"], ops
    (got,) = sess.run(None, feeds)
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    want = _numpy_conv(feeds["x"], inits["w"], inits.get("b"), stride, pad, group)
    if residual:
        want = want + feeds["r"]
    if act == "Relu":
        want = np.maximum(want, 0)
    elif act == "Clip":
        want = np.clip(want, 0, 6)
    elif act == "LeakyRelu":
        want = np.where(want < 0, 0.2 * want, want)
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    (plain,) = InferenceSession(model, SessionOptions(graph_optimization_level=0)).run(
        None, feeds)
    np.testing.assert_allclose(plain, want, rtol=1e-4, atol=1e-4)


def test_batch_and_no_bias():
    model, o = _conv_model(16, 32, 20, 3, 1, 1, bias=False, act="Relu", residual=True,
                           batch=3)
    rng = np.random.default_rng(2)
    feeds = {"x": rng.standard_normal((3, 16, 20, 20)).astype(np.float32),
             "r": rng.standard_normal((3, 32, o, o)).astype(np.float32)}
    got = InferenceSession(model).run(None, feeds)[0]
    want = InferenceSession(model, SessionOptions(graph_optimization_level=0)).run(
        None, feeds)[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_conv_output_read_twice_is_not_fused():
    model, _ = _conv_model(4, 8, 9, 3, 1, 1, act="Relu")
    model.graph.output.append(helper.make_tensor_value_info("c", 1, None))
    sess = InferenceSession(model)
    assert [n.op_type for n in sess.graph.nodes] == ["Conv", "Relu"]
    x = np.random.default_rng(3).standard_normal((1, 4, 9, 9)).astype(np.float32)
    y, c = sess.run(None, {"x": x})
    np.testing.assert_allclose(y, np.maximum(c, 0))


def test_float64_conv_falls_back():
    """FusedConv is float32 only: a float64 Conv + Relu keeps its plain nodes, while the same
    graph in float32 is fused, and it computes in float64."""
    def conv_relu(elem, w):
        return make_model([helper.make_node("Conv", ["x", "w"], ["c"], pads=[1] * 4),
                           helper.make_node("Relu", ["c"], ["y"])],
                          [tensor_info("x", elem, [1, 3, 6, 6])], [tensor_info("y", elem, None)],
                          initializers={"w": w})

    rng = np.random.default_rng(4)
    w = rng.standard_normal((4, 3, 3, 3))
    x = rng.standard_normal((1, 3, 6, 6))
    fused32 = InferenceSession(conv_relu(1, w.astype(np.float32)))
    assert [n.op_type for n in fused32.graph.nodes] == ["FusedConv"]  # the pattern fuses
    model = conv_relu(11, w)
    sess = InferenceSession(model)
    assert [n.op_type for n in sess.graph.nodes] == ["Conv", "Relu"]
    (got,) = sess.run(None, {"x": x})
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, np.maximum(_numpy_conv(x, w, None, 1, 1, 1), 0),
                               rtol=1e-10)
    (plain,) = InferenceSession(model, SessionOptions(graph_optimization_level=0)).run(
        None, {"x": x})
    np.testing.assert_allclose(got, plain, rtol=1e-12, atol=1e-12)
