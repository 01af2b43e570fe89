"""ai.onnx.preview::FlexAttention through InferenceSession (flex_attention.py).

The backend node cases (scripts/conformance.py) cover the basic shapes, fp16/double, GQA and
single score_mod / prob_mod subgraphs; these add what they miss: GQA together with both
modifiers, a subgraph reading an outer-graph value, softmax_precision, bfloat16, fully
masked rows, an Identity modifier (its output aliases the kernel's own buffer) and errors.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from onnx import TensorProto, helper

from ai_engine.errors import EngineError

from builders import run_op

PREVIEW = "ai.onnx.preview"
FLEX = {"": 26, PREVIEW: 1}  # opset imports: the modifier subgraphs use default-domain ops
rng = np.random.default_rng(0)
BF16 = np.dtype(ml_dtypes.bfloat16)


def _mod_graph(name, nodes, dtype=TensorProto.FLOAT, inits=(), x="x", y="y"):
    return helper.make_graph(nodes, name,
                             [helper.make_tensor_value_info(x, dtype, None)],
                             [helper.make_tensor_value_info(y, dtype, None)], list(inits))


def ref(q, k, v, scale=None, score_mod=None, prob_mod=None):
    """Per-head float64 loop; ``score_mod``/``prob_mod`` are NumPy callables on (L, S)."""
    q, k, v = (np.asarray(a, dtype=np.float64) for a in (q, k, v))
    b, hq, sq, e = q.shape
    hkv = k.shape[1]
    scale = 1.0 / np.sqrt(e) if scale is None else scale
    out = np.zeros((b, hq, sq, v.shape[-1]))
    for bi in range(b):
        for h in range(hq):
            kh = h // (hq // hkv)
            s = q[bi, h] @ k[bi, kh].T * scale
            if score_mod is not None:
                s = score_mod(s, bi, h)
            m = s.max(-1, keepdims=True)
            m = np.where(np.isneginf(m), 0, m)
            p = np.exp(s - m)
            tot = p.sum(-1, keepdims=True)
            p = p / np.where(tot == 0, 1, tot)
            if prob_mod is not None:
                p = prob_mod(p)
            out[bi, h] = p @ v[bi, kh]
    return out


def qkv(b=2, hq=4, hkv=2, sq=5, skv=7, e=8, ev=6, dtype=np.float32):
    return (rng.standard_normal((b, hq, sq, e)).astype(dtype),
            rng.standard_normal((b, hkv, skv, e)).astype(dtype),
            rng.standard_normal((b, hkv, skv, ev)).astype(dtype))


def causal_graph(dtype=TensorProto.FLOAT):
    """score_mod: Where(q_idx >= k_idx, x, -inf), positions built from x's shape."""
    nodes = [
        helper.make_node("Shape", ["x"], ["shp"]),
        helper.make_node("Gather", ["shp", "i2"], ["L"], axis=0),
        helper.make_node("Gather", ["shp", "i3"], ["S"], axis=0),
        helper.make_node("Range", ["zero", "L", "one"], ["qr"]),
        helper.make_node("Range", ["zero", "S", "one"], ["kr"]),
        helper.make_node("Unsqueeze", ["qr", "ax1"], ["qi"]),
        helper.make_node("GreaterOrEqual", ["qi", "kr"], ["mask"]),
        helper.make_node("Where", ["mask", "x", "ninf"], ["y"]),
    ]
    inits = [helper.make_tensor(n, TensorProto.INT64, [], [val])
             for n, val in (("zero", 0), ("one", 1), ("i2", 2), ("i3", 3))]
    inits += [helper.make_tensor("ax1", TensorProto.INT64, [1], [1]),
              helper.make_tensor("ninf", dtype, [], [-np.inf])]
    return _mod_graph("causal", nodes, dtype, inits)


def test_gqa_with_causal_score_mod_and_prob_mod():
    q, k, v = qkv(hq=6, hkv=2, sq=5, skv=5)
    pm = _mod_graph("half", [helper.make_node("Mul", ["x", "c"], ["y"])],
                    inits=[helper.make_tensor("c", TensorProto.FLOAT, [], [0.5])])
    got = run_op("FlexAttention", q, k, v, opset=FLEX, domain=PREVIEW, score_mod=causal_graph(),
                 prob_mod=pm, scale=0.3)[0]
    tri = np.tril(np.ones((5, 5), bool))
    want = ref(q, k, v, scale=0.3, score_mod=lambda s, b, h: np.where(tri, s, -np.inf),
               prob_mod=lambda p: p * 0.5)
    assert got.dtype == np.float32 and got.shape == (2, 6, 5, 6)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_score_mod_reads_outer_scope_bias():
    """A per-(head, query, key) bias from the main graph, broadcast inside the subgraph."""
    q, k, v = qkv(hq=4, hkv=4)
    bias = rng.standard_normal((1, 4, 5, 7)).astype(np.float32)
    sm = _mod_graph("bias", [helper.make_node("Add", ["x", "bias"], ["y"])])
    got = run_op("FlexAttention", q, k, v, opset=FLEX, domain=PREVIEW, scope={"bias": bias},
                 score_mod=sm)[0]
    want = ref(q, k, v, score_mod=lambda s, b, h: s + bias[0, h])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_identity_modifiers_leave_result_unchanged():
    q, k, v = qkv()
    ident = _mod_graph("id", [helper.make_node("Identity", ["x"], ["y"])])
    np.testing.assert_allclose(run_op("FlexAttention", q, k, v, opset=FLEX, domain=PREVIEW,
                                      score_mod=ident, prob_mod=ident)[0], ref(q, k, v),
                               rtol=1e-5, atol=1e-6)


def test_fully_masked_rows_are_zero_not_nan():
    q, k, v = qkv(sq=3, skv=4)
    allmask = _mod_graph("mask", [
        helper.make_node("Shape", ["x"], ["shp"]),
        helper.make_node("ConstantOfShape", ["shp"], ["y"],
                         value=helper.make_tensor("v", TensorProto.FLOAT, [1], [-np.inf])),
    ])
    got = run_op("FlexAttention", q, k, v, opset=FLEX, domain=PREVIEW, score_mod=allmask)[0]
    assert np.isfinite(got).all() and not got.any()


@pytest.mark.parametrize("precision,dtype", [(TensorProto.DOUBLE, TensorProto.DOUBLE),
                                             (None, TensorProto.FLOAT)])
def test_softmax_precision_sets_modifier_dtype(precision, dtype):
    q, k, v = qkv()
    sm = _mod_graph("cap", [helper.make_node("Tanh", ["x"], ["y"])], dtype=dtype)
    attrs = {} if precision is None else {"softmax_precision": precision}
    got = run_op("FlexAttention", q, k, v, opset=FLEX, domain=PREVIEW, score_mod=sm, **attrs)[0]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref(q, k, v, score_mod=lambda s, b, h: np.tanh(s)),
                               rtol=1e-5, atol=1e-6)


def test_bfloat16_inputs():
    q, k, v = qkv(dtype=BF16)
    got = run_op("FlexAttention", q, k, v, opset=FLEX, domain=PREVIEW)[0]
    assert got.dtype == BF16
    np.testing.assert_allclose(got.astype(np.float32), ref(q, k, v), rtol=2e-2, atol=2e-2)


def test_float64_gqa_matches_reference():
    q, k, v = qkv(hq=8, hkv=2, dtype=np.float64)
    got = run_op("FlexAttention", q, k, v, opset=FLEX, domain=PREVIEW, scale=0.25)[0]
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, ref(q, k, v, scale=0.25), rtol=1e-12, atol=1e-12)


def test_shape_changing_score_mod_is_an_error():
    q, k, v = qkv()
    sm = _mod_graph("bad", [helper.make_node("ReduceSum", ["x"], ["y"], keepdims=1)])
    with pytest.raises(EngineError, match="score_mod changed the shape"):
        run_op("FlexAttention", q, k, v, opset=FLEX, domain=PREVIEW, score_mod=sm)


def test_bad_head_ratio_is_an_error():
    q, k, v = qkv(hq=3, hkv=2)
    with pytest.raises(EngineError, match="multiple of kv_num_heads"):
        run_op("FlexAttention", q, k, v, opset=FLEX, domain=PREVIEW)
