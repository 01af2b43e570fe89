"""com.microsoft DynamicQuantizeLSTM (contrib/quantized_lstm.py) against a NumPy transcription
of onnxruntime's algorithm (uint8 dynamic quantization of X once and of h at every step, exact
integer products, float32 scaling) and against onnxruntime itself.

onnxruntime's logistic and tanh are polynomial approximations (MlasComputeLogistic/Tanh) and
its weights here are int8 in [-64, 63] so its u8 x s8 GEMM cannot saturate (test_quantized_
linear.py); a one-step difference in a quantized h can then move later steps, so the bound
against onnxruntime is a few 1e-3 on outputs in [-1, 1]."""

from __future__ import annotations

import numpy as np
import pytest

from ms_quant_helpers import both, ms_model, run_ours

rng = np.random.default_rng(23)


def _dq(a):
    lo, hi = np.float32(min(0.0, a.min())), np.float32(max(0.0, a.max()))
    scale = np.float32(1.0) if hi == lo else np.float32((hi - lo) / np.float32(255))
    zp = np.rint(np.clip(np.float32(0) - lo / scale, 0, 255))
    q = np.clip(np.rint(a / scale) + zp, 0, 255)
    return q, scale, zp


def _qgemm(a, w, w_scale, w_zp):
    q, s, z = _dq(a)
    acc = (q.astype(np.int64) - int(z)) @ (w.astype(np.int64) - w_zp.astype(np.int64))
    return (acc * (np.float32(s) * w_scale).astype(np.float64)).astype(np.float32)


def _sig(x):
    return 1 / (1 + np.exp(-x))


def reference(x, w, r, b, ws, wz, rs, rz, h0=None, c0=None, p=None):
    """Forward direction, one layer, default activations."""
    t_len, batch, _ = x.shape
    hid = r.shape[0]
    xw = _qgemm(x.reshape(t_len * batch, -1), w, ws, wz).reshape(t_len, batch, 4 * hid)
    if b is not None:
        xw = xw + b[:4 * hid] + b[4 * hid:]
    h = np.zeros((batch, hid), np.float32) if h0 is None else h0
    c = np.zeros((batch, hid), np.float32) if c0 is None else c0
    ys = []
    for t in range(t_len):
        g = _qgemm(h, r, rs, rz) + xw[t]
        i, o, f, cc = (g[:, k * hid:(k + 1) * hid] for k in range(4))
        if p is not None:
            i = i + p[:hid] * c
            f = f + p[2 * hid:] * c
        i, f, cc = _sig(i), _sig(f), np.tanh(cc)
        c = f * c + i * cc
        if p is not None:
            o = o + p[hid:2 * hid] * c
        h = _sig(o) * np.tanh(c)
        ys.append(h)
    return np.stack(ys)[:, None], h[None], c[None]


@pytest.mark.parametrize("w_dt", [np.int8, np.uint8])
@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("peephole", [False, True])
def test_dynamic_quantize_lstm(w_dt, per_channel, peephole):
    t_len, batch, inp, hid = 6, 2, 10, 8
    x = rng.standard_normal((t_len, batch, inp)).astype(np.float32)
    if w_dt == np.int8:
        w = rng.integers(-64, 64, (1, inp, 4 * hid)).astype(np.int8)
        r = rng.integers(-64, 64, (1, hid, 4 * hid)).astype(np.int8)
        zero = np.zeros((1, 4 * hid) if per_channel else (1,), np.int8)
        wz = rz = zero
    else:
        w = rng.integers(0, 256, (1, inp, 4 * hid)).astype(np.uint8)
        r = rng.integers(0, 256, (1, hid, 4 * hid)).astype(np.uint8)
        shape = (1, 4 * hid) if per_channel else (1,)
        wz = np.full(shape, 128, np.uint8)     # onnxruntime: one uint8 zero point per weight
        rz = np.full(shape, 120, np.uint8)
    scale_shape = (1, 4 * hid) if per_channel else (1,)
    ws = rng.uniform(0.002, 0.004, scale_shape).astype(np.float32)
    rs = rng.uniform(0.002, 0.004, scale_shape).astype(np.float32)
    b = (rng.standard_normal((1, 8 * hid)) * 0.1).astype(np.float32)
    p = (rng.standard_normal((1, 3 * hid)) * 0.1).astype(np.float32) if peephole else None
    consts = {"w": w, "r": r, "b": b, "ws": ws, "wz": wz, "rs": rs, "rz": rz}
    order = ["x", "w", "r", "b", "", "", ""]
    order += ["p"] if peephole else [""]
    if peephole:
        consts["p"] = p
    order += ["ws", "wz", "rs", "rz"]
    ours, theirs = both("DynamicQuantizeLSTM", {"x": x}, consts, n_out=3, order=order,
                        hidden_size=hid)
    want = reference(x, w[0], r[0], b[0], ws[0], wz[0], rs[0], rz[0],
                     p=None if p is None else p[0])
    for got, ref, ort_out in zip(ours, want, theirs):
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(got, ort_out, atol=5e-3)


def test_dynamic_quantize_lstm_bidirectional_with_lengths_matches_onnxruntime():
    t_len, batch, inp, hid = 5, 3, 6, 4
    x = rng.standard_normal((t_len, batch, inp)).astype(np.float32)
    w = rng.integers(-64, 64, (2, inp, 4 * hid)).astype(np.int8)
    r = rng.integers(-64, 64, (2, hid, 4 * hid)).astype(np.int8)
    consts = {"w": w, "r": r, "lens": np.array([5, 3, 1], np.int32),
              "ws": np.full((2,), 0.003, np.float32), "wz": np.zeros((2,), np.int8),
              "rs": np.full((2,), 0.004, np.float32), "rz": np.zeros((2,), np.int8)}
    order = ["x", "w", "r", "", "lens", "", "", "", "ws", "wz", "rs", "rz"]
    ours, theirs = both("DynamicQuantizeLSTM", {"x": x}, consts, n_out=3, order=order,
                        hidden_size=hid, direction="bidirectional")
    assert ours[0].shape == (t_len, 2, batch, hid)
    for got, ort_out in zip(ours, theirs):
        np.testing.assert_allclose(got, ort_out, atol=5e-3)


def test_dynamic_quantize_lstm_requires_weight_scales():
    x = rng.standard_normal((2, 1, 3)).astype(np.float32)
    consts = {"w": np.zeros((1, 3, 8), np.int8), "r": np.zeros((1, 2, 8), np.int8)}
    model = ms_model("DynamicQuantizeLSTM", {"x": x}, consts, n_out=1, hidden_size=2)
    from ai_engine.errors import EngineError
    with pytest.raises(EngineError, match="W_scale"):
        run_ours(model, {"x": x})
