"""Transformer optimizer passes: each rewrites its pattern and keeps the results."""

from __future__ import annotations

import math
import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import ai_engine
from ai_engine.engine.optimizer.fuse_attention import fuse_attention
from ai_engine.engine.optimizer.fuse_gelu import fuse_gelu
from ai_engine.engine.optimizer.fuse_matmul_add import fuse_matmul_add
from ai_engine.engine.optimizer.shape_folding import fold_shapes

MODEL = os.path.join(os.path.dirname(__file__), "..", "models", "data",
                     "transformer_encoder.onnx")
RNG = np.random.default_rng(0)


def _c(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def _model(nodes, inputs, outputs, inits, opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def _run(model, feeds, level):
    opts = ai_engine.SessionOptions()
    opts.graph_optimization_level = level
    s = ai_engine.InferenceSession(model.SerializeToString(), opts)
    return s, s.run(None, feeds)


def _check(model, feeds, expect_ops, absent_ops=()):
    _, ref = _run(model, feeds, 0)
    s, got = _run(model, feeds, 99)
    ops = {n.op_type for n in s.graph.nodes}
    assert set(expect_ops) <= ops, ops
    assert not (set(absent_ops) & ops), ops
    assert len(got) == len(ref), (len(got), len(ref))
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    return s


def _f32(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def test_gelu_fused_both_forms():
    x = RNG.standard_normal((2, 8, 16)).astype(np.float32)
    nodes = [helper.make_node("Div", ["x", "s2"], ["d"]), helper.make_node("Erf", ["d"], ["e"]),
             helper.make_node("Add", ["e", "one"], ["a"]),
             helper.make_node("Mul", ["x", "a"], ["m"]),
             helper.make_node("Mul", ["m", "half"], ["y"]),
             # second form: 0.5 applied to x first, Mul by 1/sqrt(2)
             helper.make_node("Mul", ["rs2", "y"], ["d2"]), helper.make_node("Erf", ["d2"], ["e2"]),
             helper.make_node("Add", ["one", "e2"], ["a2"]),
             helper.make_node("Mul", ["y", "half"], ["h2"]),
             helper.make_node("Mul", ["a2", "h2"], ["z"])]
    inits = [_c("s2", np.float32(math.sqrt(2))), _c("one", np.float32(1)),
             _c("half", np.float32(0.5)), _c("rs2", np.float32(1 / math.sqrt(2)))]
    m = _model(nodes, [_f32("x", ["b", 8, 16])], [_f32("z", None)], inits)
    s = _check(m, {"x": x}, {"Gelu"}, {"Erf", "Mul", "Div"})
    assert sum(n.op_type == "Gelu" for n in s.graph.nodes) == 2


def test_gelu_not_fused_when_intermediate_is_reused():
    nodes = [helper.make_node("Div", ["x", "s2"], ["d"]), helper.make_node("Erf", ["d"], ["e"]),
             helper.make_node("Add", ["e", "one"], ["a"]),
             helper.make_node("Mul", ["x", "a"], ["m"]),
             helper.make_node("Mul", ["m", "half"], ["y"])]
    inits = [_c("s2", np.float32(math.sqrt(2))), _c("one", np.float32(1)),
             _c("half", np.float32(0.5))]
    m = _model(nodes, [_f32("x", [4, 4])], [_f32("y", None), _f32("e", None)], inits)
    _check(m, {"x": RNG.standard_normal((4, 4)).astype(np.float32)}, {"Erf"}, {"Gelu"})


def test_matmul_add_gemm_and_gelu():
    w1 = RNG.standard_normal((16, 32)).astype(np.float32)
    w2 = RNG.standard_normal((8, 32)).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["mm"]),
             helper.make_node("Add", ["b1", "mm"], ["h"]),
             helper.make_node("Gelu", ["h"], ["g"]),
             helper.make_node("Reshape", ["g", "shp"], ["g2"]),
             helper.make_node("Gemm", ["g2", "w2", "b2"], ["y"], transB=1)]
    inits = [_c("w1", w1), _c("b1", RNG.standard_normal(32).astype(np.float32)),
             _c("w2", w2), _c("b2", RNG.standard_normal(8).astype(np.float32)),
             _c("shp", np.array([-1, 32], np.int64))]
    m = _model(nodes, [_f32("x", [1, 5, 16])], [_f32("y", None)], inits, opset=20)
    s = _check(m, {"x": RNG.standard_normal((1, 5, 16)).astype(np.float32)}, {"MatMulAdd"},
               {"MatMul", "Gemm", "Gelu", "Add"})
    acts = sorted(n.attrs.get("activation", "") for n in s.graph.nodes
                  if n.op_type == "MatMulAdd")
    assert acts == ["", "gelu"]


@pytest.mark.parametrize("with_mask", [False, True])
def test_attention_fused(with_mask):
    b, h, s_, d = 1, 2, 6, 8
    nodes = [helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
             helper.make_node("Mul", ["q", "c"], ["qs"]),
             helper.make_node("Mul", ["kt", "c"], ["ks"]),
             helper.make_node("MatMul", ["qs", "ks"], ["sc"])]
    last = "sc"
    if with_mask:
        nodes.append(helper.make_node("Add", ["sc", "mask"], ["scm"]))
        last = "scm"
    nodes += [helper.make_node("Softmax", [last], ["p"], axis=-1),
              helper.make_node("MatMul", ["p", "v"], ["y"])]
    inputs = [_f32(n, [b, h, s_, d]) for n in "qkv"]
    feeds = {n: RNG.standard_normal((b, h, s_, d)).astype(np.float32) for n in "qkv"}
    if with_mask:
        inputs.append(_f32("mask", [b, 1, 1, s_]))
        feeds["mask"] = np.where(RNG.random((b, 1, 1, s_)) < 0.3, -1e4, 0).astype(np.float32)
    m = _model(nodes, inputs, [_f32("y", None)], [_c("c", np.float32(d ** -0.25))])
    s = _check(m, feeds, {"FusedAttention"}, {"Softmax", "MatMul", "Transpose"})
    att = next(n for n in s.graph.nodes if n.op_type == "FusedAttention")
    assert att.attrs["transpose_k"] == 1 and abs(att.attrs["scale"] - d ** -0.5) < 1e-6


def test_shape_folding_keeps_symbolic_dims():
    # y = Reshape(x, [Shape(x)[0], -1]) with a symbolic batch and fixed trailing dims.
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Gather", ["s", "i0"], ["n"], axis=0),
             helper.make_node("Gather", ["s", "i2"], ["c"], axis=0),
             helper.make_node("Unsqueeze", ["n", "ax"], ["nu"]),
             helper.make_node("Unsqueeze", ["c", "ax"], ["cu"]),
             helper.make_node("Mul", ["cu", "four"], ["c4"]),
             helper.make_node("Concat", ["nu", "c4"], ["t"], axis=0),
             helper.make_node("Reshape", ["x", "t"], ["y"]),
             helper.make_node("Shape", ["y"], ["ys"])]
    inits = [_c("i0", np.int64(0)), _c("i2", np.int64(2)), _c("ax", np.array([0], np.int64)),
             _c("four", np.array([4], np.int64))]
    m = _model(nodes, [_f32("x", ["batch", 4, 3])],
               [_f32("y", None), helper.make_tensor_value_info("ys", TensorProto.INT64, None)],
               inits)
    opts = ai_engine.SessionOptions()
    s = ai_engine.InferenceSession(m.SerializeToString(), opts)
    ops = [n.op_type for n in s.graph.nodes]
    assert ops == ["ReshapeDims", "Shape"], ops
    for batch in (1, 3):
        x = RNG.standard_normal((batch, 4, 3)).astype(np.float32)
        y, ys = s.run(None, {"x": x})
        np.testing.assert_array_equal(y, x.reshape(batch, 12))
        np.testing.assert_array_equal(ys, [batch, 12])


def test_passes_report_no_change_on_plain_graph():
    m = _model([helper.make_node("Relu", ["x"], ["y"])], [_f32("x", [2])], [_f32("y", None)], [])
    from ai_engine.formats.onnx.loader import load_model
    g = load_model(m.SerializeToString()).graph
    assert not any(p(g) for p in (fold_shapes, fuse_gelu, fuse_attention, fuse_matmul_add))


def test_encoder_model_fused_and_equal():
    model = onnx.load(MODEL)
    feeds = {"tokens": RNG.integers(0, 100, (2, 16)).astype(np.int64)}
    s = _check(model, feeds, {"FusedAttention", "MatMulAdd", "ReshapeDims"},
               {"Shape", "Concat", "Erf", "Softmax", "Gemm"})
    assert len(s.graph.nodes) < 40
