"""fuse_silu (Mul(x, Sigmoid(x)) -> ai_engine::Silu) and the activations FusedConv gained
with it (Silu, HardSwish, Sigmoid): the fused graph gives onnxruntime's values, on both kernel
tiers (compiled and NumPy fallback)."""

import numpy as np
import pytest
from onnx import helper

from ai_engine import InferenceSession
from ai_engine.engine import compiled
from builders import make_model, run_peer, tensor_info


def _silu_nodes(x, y, swapped=False):
    sig = helper.make_node("Sigmoid", [x], [y + "_sig"])
    mul = helper.make_node("Mul", [y + "_sig", x] if swapped else [x, y + "_sig"], [y])
    return [sig, mul]


def _conv_act_model(act, group=1, residual=False):
    rng = np.random.default_rng(5)
    c = m = 8
    inits = {"w": (rng.standard_normal((m, c // group, 3, 3)) * 0.3).astype(np.float32),
             "b": rng.standard_normal(m).astype(np.float32)}
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1] * 4, group=group)]
    last = "c"
    if residual:
        nodes.append(helper.make_node("Add", ["c", "x"], ["s"]))
        last = "s"
    if act == "Silu":
        nodes += _silu_nodes(last, "y", swapped=True)
    else:
        nodes.append(helper.make_node(act, [last], ["y"]))
    return make_model(nodes, [tensor_info("x", shape=[2, c, 10, 10])],
                      [tensor_info("y", shape=None)], initializers=inits)


@pytest.mark.parametrize("tier", ["compiled", "numpy"])
@pytest.mark.parametrize("act", ["Silu", "HardSwish", "Sigmoid"])
@pytest.mark.parametrize("group,residual", [(1, False), (8, False), (1, True), (8, True)])
def test_conv_activation_fuses_and_matches_onnxruntime(tier, act, group, residual):
    model = _conv_act_model(act, group, residual)
    x = np.random.default_rng(6).standard_normal((2, 8, 10, 10)).astype(np.float32)
    sess = InferenceSession(model)
    fused = [n for n in sess.graph.nodes]
    assert [(n.op_type, n.attrs.get("activation")) for n in fused] == [("FusedConv", act)]
    if tier == "numpy":
        with compiled.disabled():
            (got,) = sess.run(None, {"x": x})
    else:
        (got,) = sess.run(None, {"x": x})
    (want,) = run_peer(model, {"x": x})
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_silu_alone_becomes_one_node_in_either_operand_order():
    nodes = _silu_nodes("x", "a") + _silu_nodes("a", "y", swapped=True)
    model = make_model(nodes, [tensor_info("x", shape=[3, 50])], [tensor_info("y", shape=None)])
    sess = InferenceSession(model)
    assert [(n.domain, n.op_type) for n in sess.graph.nodes] == [("ai_engine", "Silu")] * 2
    x = np.random.default_rng(7).standard_normal((3, 50)).astype(np.float32) * 5
    np.testing.assert_allclose(sess.run(None, {"x": x})[0], run_peer(model, {"x": x})[0],
                               rtol=1e-5, atol=1e-6)


def test_sigmoid_read_elsewhere_is_not_fused():
    nodes = _silu_nodes("x", "y")
    model = make_model(nodes, [tensor_info("x", shape=[4])],
                       [tensor_info("y", shape=None), tensor_info("y_sig", shape=None)])
    sess = InferenceSession(model)
    assert sorted(n.op_type for n in sess.graph.nodes) == ["Mul", "Sigmoid"]


def test_mul_by_sigmoid_of_another_value_is_not_fused():
    nodes = [helper.make_node("Sigmoid", ["z"], ["s"]), helper.make_node("Mul", ["x", "s"], ["y"])]
    model = make_model(nodes, [tensor_info("x", shape=[4]), tensor_info("z", shape=[4])],
                       [tensor_info("y", shape=None)])
    assert sorted(n.op_type for n in InferenceSession(model).graph.nodes) == ["Mul", "Sigmoid"]
