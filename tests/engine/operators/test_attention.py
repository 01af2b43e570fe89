"""Transformer-era kernels through InferenceSession (attention.py and misc_new.py).

The ONNX backend node cases run separately (scripts/conformance.py); these check Attention
against a plain per-head NumPy formula on shapes and attribute mixes the cases miss (float64,
GQA with a KV cache and causal mask together, sliding windows with an external cache, every
qk_matmul_output mode at once, fully-masked rows), cross-check onnxruntime where it has the
op, and cover RotaryEmbedding, SwiGLU, LinearAttention, CausalConvWithState and
TfIdfVectorizer variants (bfloat16, strings, IDF weights).
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from builders import check_op, run_op, run_op_peer

rng = np.random.default_rng(0)
BF16 = np.dtype(ml_dtypes.bfloat16)


def ref_attention(q, k, v, mask=None, scale=None, causal_offset=None, softcap=0.0):
    """Per-head loop reference on 4-D float64 arrays; ``mask`` is additive (B?, H?, Sq, Skv)."""
    b, hq, sq, d = q.shape
    hkv, skv = k.shape[1], k.shape[2]
    scale = 1 / np.sqrt(d) if scale is None else scale
    bias = np.zeros((b, hq, sq, skv)) + (0 if mask is None else mask)
    if causal_offset is not None:
        off = np.broadcast_to(np.asarray(causal_offset), (b,))
        for bi in range(b):
            allowed = np.arange(skv)[None] <= np.arange(sq)[:, None] + off[bi]
            bias[bi] = np.where(allowed, bias[bi], -np.inf)
    y = np.zeros((b, hq, sq, v.shape[3]))
    for bi in range(b):
        for h in range(hq):
            kv = h // (hq // hkv)
            s = q[bi, h] @ k[bi, kv].T * scale
            if softcap:
                s = softcap * np.tanh(s / softcap)
            s = s + bias[bi, h]
            for r in range(sq):
                if np.all(np.isneginf(bias[bi, h, r])):
                    continue
                p = np.exp(s[r] - s[r].max())
                y[bi, h, r] = (p / p.sum()) @ v[bi, kv]
    return y


def test_attention_4d_float64_matches_formula():
    q, k, v = (rng.standard_normal(s) for s in [(2, 4, 5, 8), (2, 4, 7, 8), (2, 4, 7, 6)])
    y, = run_op("Attention", q, k, v, opset=23)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, ref_attention(q, k, v), rtol=1e-12, atol=1e-12)


def test_attention_3d_gqa_past_causal_presents():
    b, hq, hkv, sq, skv, past, d = 2, 6, 2, 3, 3, 4, 8
    q = rng.standard_normal((b, sq, hq * d)).astype(np.float32)
    k = rng.standard_normal((b, skv, hkv * d)).astype(np.float32)
    v = rng.standard_normal((b, skv, hkv * d)).astype(np.float32)
    pk = rng.standard_normal((b, hkv, past, d)).astype(np.float32)
    pv = rng.standard_normal((b, hkv, past, d)).astype(np.float32)
    y, pk2, pv2 = run_op("Attention", q, k, v, None, pk, pv, outputs=3, opset=23, is_causal=1,
                         q_num_heads=hq, kv_num_heads=hkv)
    k4 = k.reshape(b, skv, hkv, d).transpose(0, 2, 1, 3)
    v4 = v.reshape(b, skv, hkv, d).transpose(0, 2, 1, 3)
    np.testing.assert_array_equal(pk2, np.concatenate([pk, k4], axis=2))
    np.testing.assert_array_equal(pv2, np.concatenate([pv, v4], axis=2))
    q4 = q.reshape(b, sq, hq, d).transpose(0, 2, 1, 3)
    ref = ref_attention(q4.astype(np.float64), pk2.astype(np.float64), pv2.astype(np.float64),
                        causal_offset=past)
    ref = ref.transpose(0, 2, 1, 3).reshape(b, sq, hq * d)
    assert y.dtype == np.float32 and y.shape == (b, sq, hq * d)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


def test_attention_qk_modes_softcap_and_mask():
    q, k, v = (rng.standard_normal(s).astype(np.float32) for s in [(1, 2, 3, 4)] * 3)
    mask = rng.standard_normal((3, 3)).astype(np.float32)
    scale, cap = 0.3, 1.5
    raw = (q @ k.swapaxes(-1, -2)) * scale
    capped = cap * np.tanh(raw / cap)
    e = np.exp(capped + mask - (capped + mask).max(-1, keepdims=True))
    probs = e / e.sum(-1, keepdims=True)
    for mode, want in enumerate([raw, capped, capped + mask, probs]):
        y, qk = run_op("Attention", q, k, v, mask, outputs=["y", "", "", "qk"], opset=23,
                       scale=scale, softcap=cap, qk_matmul_output_mode=mode)
        np.testing.assert_allclose(qk, want, rtol=1e-5, atol=1e-6, err_msg=f"mode {mode}")
        np.testing.assert_allclose(y, probs @ v, rtol=1e-5, atol=1e-6)


def test_attention_fully_masked_row_is_zero_not_nan():
    q, k, v = (rng.standard_normal((1, 1, 3, 4)).astype(np.float32) for _ in range(3))
    mask = np.array([[True, True, False], [False, False, False], [True, False, True]])
    y, = run_op("Attention", q, k, v, mask, opset=23)
    assert np.isfinite(y).all()
    np.testing.assert_array_equal(y[0, 0, 1], 0)
    ref = ref_attention(q.astype(np.float64), k, v, mask=np.where(mask, 0, -np.inf))
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)


def test_attention_external_cache_window_opset25():
    b, h, sq, skv, d = 2, 2, 3, 6, 4
    q, k, v = (rng.standard_normal(s) for s in [(b, h, sq, d), (b, h, skv, d), (b, h, skv, d)])
    nonpad = np.array([4, 6], dtype=np.int64)
    y, = run_op("Attention", q, k, v, None, None, None, nonpad, opset=25, is_causal=1,
                left_window_size=1)
    i = np.arange(sq)[:, None] + (nonpad - sq)[:, None, None]          # absolute positions
    j = np.arange(skv)[None, None]
    allowed = (j <= i) & (j >= i - 1) & (j < nonpad[:, None, None])
    ref = ref_attention(q, k, v, mask=np.where(allowed, 0, -np.inf)[:, None])
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float16, BF16])
def test_attention_half_types_close_to_float32(dtype):
    q, k, v = (rng.standard_normal((2, 4, 16, 32)).astype(dtype) for _ in range(3))
    y, = run_op("Attention", q, k, v, opset=23, is_causal=1)
    assert y.dtype == dtype
    ref = ref_attention(*(a.astype(np.float64) for a in (q, k, v)), causal_offset=0)
    np.testing.assert_allclose(y.astype(np.float64), ref, atol=3e-2)


def test_attention_matches_onnxruntime():
    q, k, v = (rng.standard_normal((2, 4, 5, 8)).astype(np.float32) for _ in range(3))
    mask = rng.standard_normal((5, 5)).astype(np.float32)
    try:
        want = run_op_peer("Attention", q, k, v, mask, opset=23, is_causal=1)
    except Exception as exc:  # noqa: BLE001 - an older onnxruntime without Attention-23
        pytest.skip(f"onnxruntime cannot run Attention-23: {exc}")
    check_op("Attention", q, k, v, mask, expected=want, rtol=1e-5, atol=1e-5, opset=23,
             is_causal=1)


def _rope_ref(x4, cos, sin, interleaved, rdim):
    """x4 (B, H, S, D); cos/sin (B, S, rdim/2)."""
    out = x4.copy()
    c, s = cos[:, None], sin[:, None]
    if interleaved:
        x1, x2 = x4[..., 0:rdim:2], x4[..., 1:rdim:2]
        out[..., 0:rdim:2] = c * x1 - s * x2
        out[..., 1:rdim:2] = s * x1 + c * x2
    else:
        h = rdim // 2
        x1, x2 = x4[..., :h], x4[..., h:rdim]
        out[..., :h] = c * x1 - s * x2
        out[..., h:rdim] = s * x1 + c * x2
    return out


@pytest.mark.parametrize("interleaved", [0, 1])
@pytest.mark.parametrize("rdim", [0, 4])
def test_rotary_embedding_3d_position_ids(interleaved, rdim):
    b, s, h, d, maxpos = 2, 5, 3, 8, 16
    x = rng.standard_normal((b, s, h * d)).astype(np.float32)
    theta = rng.standard_normal((maxpos, (rdim or d) // 2)).astype(np.float32)
    pos = rng.integers(0, maxpos, (b, s)).astype(np.int64)
    y, = run_op("RotaryEmbedding", x, np.cos(theta), np.sin(theta), pos, opset=23, num_heads=h,
                interleaved=interleaved, rotary_embedding_dim=rdim)
    x4 = x.reshape(b, s, h, d).transpose(0, 2, 1, 3)
    ref = _rope_ref(x4, np.cos(theta)[pos], np.sin(theta)[pos], interleaved, rdim or d)
    np.testing.assert_allclose(y, ref.transpose(0, 2, 1, 3).reshape(b, s, h * d), rtol=1e-6,
                               atol=1e-6)


def test_rotary_embedding_4d_bf16_caches_without_positions():
    x = rng.standard_normal((1, 2, 3, 4)).astype(BF16)
    theta = rng.standard_normal((1, 3, 2)).astype(np.float32)
    cos, sin = np.cos(theta).astype(BF16), np.sin(theta).astype(BF16)
    y, = run_op("RotaryEmbedding", x, cos, sin, opset=23)
    assert y.dtype == BF16
    ref = _rope_ref(x.astype(np.float32), cos.astype(np.float32), sin.astype(np.float32), 0, 4)
    np.testing.assert_allclose(y.astype(np.float32), ref, rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, BF16])
def test_swiglu(dtype):
    a = np.array([[-100.0, -2.0, 0.0, 1.5, 100.0]]).astype(dtype)
    b = rng.standard_normal(a.shape).astype(dtype)
    y, = run_op("SwiGLU", a, b, opset=28, alpha=0.7)
    af, bf = a.astype(np.float64), b.astype(np.float64)
    alpha = float(np.float32(0.7))          # FLOAT attributes are stored as float32
    ref = af / (1 + np.exp(-alpha * af)) * bf
    assert y.dtype == dtype and np.isfinite(y.astype(np.float64)).all()
    rtol = {BF16: 1e-2, np.float32: 1e-5}.get(dtype, 1e-12)
    np.testing.assert_allclose(y.astype(np.float64), ref, rtol=rtol)


@pytest.mark.parametrize("rule", ["linear", "gated", "delta", "gated_delta"])
def test_linear_attention_matches_recurrence(rule):
    b, t, hq, hkv, dk, dv = 2, 5, 4, 2, 3, 2
    q = rng.standard_normal((b, t, hq * dk))
    k = rng.standard_normal((b, t, hkv * dk))
    v = rng.standard_normal((b, t, hkv * dv))
    past = rng.standard_normal((b, hkv, dk, dv))
    decay = -rng.random((b, t, hkv)) if "gated" in rule else None
    beta = rng.random((b, t, hkv)) if "delta" in rule else None
    out, state = run_op("LinearAttention", q, k, v, past, decay, beta, outputs=2, opset=27,
                        q_num_heads=hq, kv_num_heads=hkv, update_rule=rule)
    S = past.copy()
    ref = np.zeros((b, t, hq, dv))
    for i in range(t):
        for bi in range(b):
            for h in range(hkv):
                kt, vt = k[bi, i, h * dk:(h + 1) * dk], v[bi, i, h * dv:(h + 1) * dv]
                if decay is not None:
                    S[bi, h] *= np.exp(decay[bi, i, h])
                if beta is not None:
                    vt = beta[bi, i, h] * (vt - S[bi, h].T @ kt)
                S[bi, h] += np.outer(kt, vt)
        for bi in range(b):
            for h in range(hq):
                qt = q[bi, i, h * dk:(h + 1) * dk]
                ref[bi, i, h] = qt @ S[bi, h // (hq // hkv)] / np.sqrt(dk)
    np.testing.assert_allclose(state, S, rtol=1e-10)
    np.testing.assert_allclose(out, ref.reshape(b, t, hq * dv), rtol=1e-10, atol=1e-12)


def test_causal_conv_chunked_equals_whole():
    x = rng.standard_normal((2, 3, 10)).astype(np.float32)
    w = rng.standard_normal((3, 1, 4)).astype(np.float32)
    bias = rng.standard_normal(3).astype(np.float32)
    whole, state = run_op("CausalConvWithState", x, w, bias, outputs=2, opset=27, activation="silu")
    first, s1 = run_op("CausalConvWithState", x[:, :, :7], w, bias, outputs=2, opset=27,
                       activation="silu")
    second, s2 = run_op("CausalConvWithState", x[:, :, 7:], w, bias, s1, outputs=2, opset=27,
                        activation="silu")
    np.testing.assert_allclose(np.concatenate([first, second], axis=2), whole, rtol=1e-6)
    np.testing.assert_array_equal(s2, state)
    np.testing.assert_array_equal(state, x[:, :, -3:])
    padded = np.concatenate([np.zeros((2, 3, 3), np.float32), x], axis=2)
    conv = sum(padded[:, :, j:j + 10] * w[:, 0, j, None] for j in range(4)) + bias[:, None]
    np.testing.assert_allclose(whole, conv / (1 + np.exp(-conv)), rtol=1e-5, atol=1e-6)


def test_tfidf_strings_idf_weights_and_skips():
    pool = ["a", "b", "c", "a", "b", "b", "c"]          # unigrams a b c; bigrams ab bc
    x = np.array([["a", "x", "b", "c", "c", "a"], ["b", "c", "a", "a", "b", "z"]],
                 dtype=object)
    common = dict(max_gram_length=2, min_gram_length=1, max_skip_count=1,
                  ngram_counts=[0, 3], ngram_indexes=[4, 3, 2, 1, 0], pool_strings=pool)
    tf, = run_op("TfIdfVectorizer", x, opset=9, mode="TF", **common)
    # counts in pool order [a, b, c, ab, bc]; output column = ngram_indexes[pool ordinal]
    # row 0: a:2 b:1 c:2, ab 1 (skip 1: a_x_b), bc 1 + 1 (skip 1: b_c_c)
    # row 1: a:2 b:2 c:1, ab 1 + 1 (skip 1: a_a_b), bc 1
    want = np.array([[2, 1, 2, 1, 2], [2, 2, 1, 2, 1]], dtype=np.float32)[:, ::-1]
    np.testing.assert_array_equal(tf, want)
    w = [0.5, 1.0, 2.0, 3.0, 4.0]
    idf, = run_op("TfIdfVectorizer", x, opset=9, mode="IDF", weights=w, **common)
    np.testing.assert_array_equal(idf, (want > 0) * np.float32(w))
    tfidf, = run_op("TfIdfVectorizer", x[0], opset=9, mode="TFIDF", weights=w, **common)
    assert tfidf.shape == (5,) and tfidf.dtype == np.float32
    np.testing.assert_array_equal(tfidf, want[0] * np.float32(w))
