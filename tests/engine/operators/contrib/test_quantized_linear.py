"""com.microsoft MatMulIntegerToFloat, DynamicQuantizeMatMul, QGemm and QAttention
(contrib/quantized_linear.py).

Integer GEMMs are compared with an exact NumPy int64 reference. onnxruntime's u8 x s8 kernels
on x86 CPUs without VNNI add pairs of products in saturating int16 (tests/models/
exact_reference.py), so it is only an oracle where that cannot happen: the comparisons with it
below use int8 weights in [-64, 63] (255 * 64 * 2 < 32768), and then agree to float32 rounding
(float outputs) or within one step (requantized outputs)."""

from __future__ import annotations

import numpy as np
import pytest

from ai_engine import InferenceSession
from ai_engine.errors import EngineError
from ms_quant_helpers import (
    assert_within_one_step, both, ms_model, quantize_exact, random_q, run_ours)

rng = np.random.default_rng(5)


def _int_ref(a, za, b, zb):
    return (a.astype(np.int64) - np.asarray(za, np.int64)) @ (b.astype(np.int64)
                                                              - np.asarray(zb, np.int64))


def _safe_b(shape, dt):
    """B values onnxruntime multiplies exactly on every x86 CPU."""
    if dt == np.int8:
        return rng.integers(-64, 64, size=shape).astype(np.int8)
    return random_q(rng, shape, dt)


@pytest.mark.parametrize("a_dt", [np.uint8, np.int8])
@pytest.mark.parametrize("b_dt", [np.uint8, np.int8])
@pytest.mark.parametrize("per_column", [False, True])
def test_matmul_integer_to_float(a_dt, b_dt, per_column):
    a = random_q(rng, (2, 3, 16), a_dt)
    b = _safe_b((16, 6), b_dt)
    za = np.array(7 if a_dt == np.uint8 else -3, a_dt)
    zb = (random_q(rng, (6,), b_dt) // 4) if per_column else np.array(5, b_dt)
    sa = np.float32(0.02)
    sb = rng.uniform(0.01, 0.05, 6).astype(np.float32) if per_column else np.float32(0.03)
    bias = rng.standard_normal(6).astype(np.float32)
    consts = {"b": b, "sa": sa, "sb": sb, "za": za, "zb": zb, "bias": bias}
    if a_dt == np.int8 and b_dt == np.uint8:
        model = ms_model("MatMulIntegerToFloat", {"a": a}, consts)
        ours = run_ours(model, {"a": a})        # onnxruntime has no s8 x u8 kernel
        theirs = None
    else:
        ours, theirs = both("MatMulIntegerToFloat", {"a": a}, consts)
    want = (_int_ref(a, za, b, zb) * (sa * sb).astype(np.float64)).astype(np.float32) + bias
    np.testing.assert_allclose(ours[0], want, rtol=1e-6, atol=1e-6)
    if theirs is not None:
        np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("b_dt", [np.uint8, np.int8])
def test_dynamic_quantize_matmul(b_dt):
    a = (rng.standard_normal((3, 32)) * 2).astype(np.float32)
    b = _safe_b((32, 8), b_dt)
    zb = np.array(3, b_dt)
    bias = rng.standard_normal(8).astype(np.float32)
    ours, theirs = both("DynamicQuantizeMatMul", {"a": a},
                        {"b": b, "sb": np.float32(0.01), "zb": zb, "bias": bias})
    lo, hi = min(0.0, a.min()), max(0.0, a.max())
    scale = np.float32((np.float32(hi) - np.float32(lo)) / np.float32(255))
    zp = np.rint(np.clip(-np.float32(lo) / scale, 0, 255))
    aq = np.clip(np.rint(a / scale) + zp, 0, 255).astype(np.uint8)
    want = (_int_ref(aq, zp, b, zb) * np.float64(scale * np.float32(0.01))).astype(
        np.float32) + bias
    np.testing.assert_allclose(ours[0], want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("a_dt", [np.uint8, np.int8])
@pytest.mark.parametrize("trans", [(0, 0), (1, 0), (0, 1), (1, 1)])
@pytest.mark.parametrize("quantized_out", [False, True])
def test_qgemm(a_dt, trans, quantized_out):
    b_dt = np.int8
    m, k, n = 5, 24, 7
    a = random_q(rng, (k, m) if trans[0] else (m, k), a_dt)
    b = _safe_b((n, k) if trans[1] else (k, n), b_dt)
    za = np.array(11 if a_dt == np.uint8 else -2, a_dt)
    zb = np.zeros(n, b_dt)
    sb = rng.uniform(0.01, 0.03, n).astype(np.float32)
    c = rng.integers(-500, 500, (n,)).astype(np.int32)
    consts = {"sa": np.float32(0.05), "za": za, "b": b, "sb": sb, "zb": zb, "c": c}
    order = ["a", "sa", "za", "b", "sb", "zb", "c"]
    if quantized_out:
        zy = np.array(128 if a_dt == np.uint8 else 0, a_dt)
        consts.update(sy=np.float32(0.4), zy=zy)
        order += ["sy", "zy"]
    ours, theirs = both("QGemm", {"a": a}, consts, order=order, alpha=0.5, transA=trans[0],
                        transB=trans[1])
    at = a.T if trans[0] else a
    bt = b.T if trans[1] else b
    acc = _int_ref(at, za, bt, zb) + c
    mult = np.float32(0.5) * np.float32(0.05) * sb
    if quantized_out:
        want = quantize_exact(acc * (mult / np.float32(0.4)).astype(np.float64), 1.0,
                              int(consts["zy"]), a_dt)
        np.testing.assert_array_equal(ours[0], want)
        assert_within_one_step(ours[0], theirs[0])
    else:
        want = (acc * mult.astype(np.float64)).astype(np.float32)
        np.testing.assert_allclose(ours[0], want, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-5)


def test_integer_gemm_is_exact_where_onnxruntime_may_saturate():
    """Full-range u8 x s8: the int16 pair-sum of a non-VNNI CPU would clip; ours is exact."""
    a = np.full((1, 64), 255, np.uint8)
    b = np.full((64, 1), 127, np.int8)
    consts = {"b": b, "sa": np.float32(1.0), "sb": np.float32(1.0)}
    got = run_ours(ms_model("MatMulIntegerToFloat", {"a": a}, consts), {"a": a})[0]
    assert got[0, 0] == 255 * 127 * 64


def _attention_ref(qkv, b, s, heads, past, mask_bias, scale):
    d = qkv.shape[-1] // 3 // heads
    q, k, v = (qkv[..., i * heads * d:(i + 1) * heads * d].reshape(b, s, heads, d)
               .transpose(0, 2, 1, 3) for i in range(3))
    if past is not None:
        k = np.concatenate([past[0], k], axis=2)
        v = np.concatenate([past[1], v], axis=2)
    sc = q @ k.transpose(0, 1, 3, 2) * scale
    if mask_bias is not None:
        sc = sc + mask_bias
    e = np.exp(sc - sc.max(-1, keepdims=True))
    p = e / e.sum(-1, keepdims=True)
    return (p @ v).transpose(0, 2, 1, 3).reshape(b, s, heads * d), np.stack([k, v])


@pytest.mark.parametrize("case", ["plain", "per_column", "lengths", "raw_mask",
                                  "unidirectional_past", "left_right_padding"])
def test_qattention(case):
    b, s, hidden, heads = 2, 5, 16, 4
    d = hidden // heads
    x = random_q(rng, (b, s, 12), np.uint8)
    w = rng.integers(-64, 64, (12, 3 * hidden)).astype(np.int8)
    bias = rng.standard_normal(3 * hidden).astype(np.float32) * 0.1
    ws = (rng.uniform(0.01, 0.02, 3 * hidden).astype(np.float32) if case == "per_column"
          else np.float32(0.015))
    consts = {"w": w, "bias": bias, "xs": np.float32(0.03), "ws": ws}
    feeds = {"x": x}
    order = ["x", "w", "bias", "xs", "ws"]
    attrs = {"num_heads": heads}
    past = None
    mask_bias = None
    total = s
    if case == "unidirectional_past":
        past = rng.standard_normal((2, b, heads, 3, d)).astype(np.float32)
        total = s + 3
        feeds["past"] = past
        order += ["", "xz", "", "past"]
        consts["xz"] = np.array(128, np.uint8)
        attrs["unidirectional"] = 1
        j = np.arange(total)
        mask_bias = np.where(j[None, :] > 3 + np.arange(s)[:, None], -10000.0, 0.0)
    elif case == "lengths":
        consts["mask"] = np.array([3, 5], np.int32)
        order += ["mask", "xz"]
        consts["xz"] = np.array(128, np.uint8)
        mask_bias = np.where(np.arange(s)[None, :] >= np.array([[3], [5]]), -10000.0, 0.0)
        mask_bias = mask_bias[:, None, None, :]
    elif case == "left_right_padding":
        consts["mask"] = np.array([5, 4, 1, 0], np.int32)        # ends then starts
        order += ["mask"]
        j = np.arange(s)[None, :]
        hidden_ = (j >= np.array([[5], [4]])) | (j < np.array([[1], [0]]))
        mask_bias = np.where(hidden_, -10000.0, 0.0)[:, None, None, :]
    elif case == "raw_mask":
        raw = np.ones((b, s), np.int32)
        raw[0, 1] = raw[1, 4] = 0
        consts["mask"] = raw
        order += ["mask"]
        mask_bias = np.where(raw == 0, -10000.0, 0.0)[:, None, None, :]
    n_out = 2 if past is not None else 1
    model = ms_model("QAttention", feeds, consts, n_out=n_out, order=order, **attrs)
    from ms_quant_helpers import run_ort
    ours, theirs = run_ours(model, feeds), run_ort(model, feeds)
    xz = int(consts.get("xz", 0))
    qkv = (_int_ref(x.reshape(b * s, 12), xz, w, 0) * (np.float32(0.03) * ws).astype(
        np.float64)).reshape(b, s, -1) + bias
    want, present = _attention_ref(qkv, b, s, heads, past, mask_bias, 1 / np.sqrt(d))
    np.testing.assert_allclose(ours[0], want, rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-4, atol=1e-4)
    if n_out == 2:
        np.testing.assert_allclose(ours[1], present, rtol=2e-5, atol=2e-5)
        np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-4, atol=1e-4)


def test_qgemm_needs_y_scale_and_zero_point_together():
    a = random_q(rng, (2, 4), np.uint8)
    consts = {"sa": np.float32(1), "za": np.array(0, np.uint8), "b": random_q(rng, (4, 3),
                                                                              np.uint8),
              "sb": np.float32(1), "zb": np.array(0, np.uint8), "sy": np.float32(1)}
    model = ms_model("QGemm", {"a": a}, consts, order=["a", "sa", "za", "b", "sb", "zb", "",
                                                        "sy"])
    with pytest.raises(EngineError, match="y_scale and y_zero_point"):
        InferenceSession(model).run(None, {"a": a})


def test_matmul_integer_to_float_shape_mismatch_is_clear():
    a = random_q(rng, (2, 5), np.uint8)
    consts = {"b": random_q(rng, (4, 3), np.uint8), "sa": np.float32(1), "sb": np.float32(1)}
    with pytest.raises(EngineError, match="do not multiply"):
        InferenceSession(ms_model("MatMulIntegerToFloat", {"a": a}, consts)).run(None, {"a": a})
