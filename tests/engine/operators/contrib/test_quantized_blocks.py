"""com.microsoft MatMulNBits and GatherBlockQuantized (contrib/quantized_blocks.py,
contrib/nbits_kernels.py) against a NumPy dequantize-then-matmul reference (float64) and
onnxruntime (float32 accumulation: 1e-4 relative)."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from ai_engine import InferenceSession
from ai_engine.engine.operators.contrib import nbits_kernels
from ai_engine.errors import EngineError
from ms_quant_helpers import ms_model, run_ort, run_ours

rng = np.random.default_rng(17)


def pack(codes, bits):
    """(..., n) codes -> (..., ceil(n * bits / 8)) uint8, low bits first."""
    per = 8 // bits
    n = codes.shape[-1]
    pad = (-n) % per
    c = np.concatenate([codes, np.zeros(codes.shape[:-1] + (pad,), codes.dtype)], -1)
    c = c.reshape(codes.shape[:-1] + (-1, per)).astype(np.uint16)
    return (c << (np.arange(per) * bits)).sum(-1).astype(np.uint8)


def nbits_weight(n, k, bits, bs, zp_kind, dtype=np.float32):
    """Random packed B, scales, zero points and the float64 weight (N, K) they encode."""
    nb = -(-k // bs)
    codes = rng.integers(0, 1 << bits, (n, nb * bs)).astype(np.uint8)
    codes[:, k:] = 0
    scales = rng.uniform(0.005, 0.02, (n, nb)).astype(dtype)
    b = pack(codes.reshape(n, nb, bs), bits)
    if zp_kind == "none":
        zp_arr, zvals = None, np.full((n, nb), 1 << (bits - 1), np.float64)
    elif zp_kind == "packed":
        z = rng.integers(0, 1 << bits, (n, nb)).astype(np.uint8)
        zp_arr, zvals = pack(z, bits), z.astype(np.float64)
    else:
        z = rng.uniform(0, (1 << bits) - 1, (n, nb)).astype(dtype)
        zp_arr, zvals = z, z.astype(np.float64)
    w = (codes.reshape(n, nb, bs) - zvals[..., None]) * scales.astype(np.float64)[..., None]
    return b, scales, zp_arr, w.reshape(n, nb * bs)[:, :k]


def _run_nbits(a, b, scales, zp, k, n, bits, bs, bias=None, g_idx=None, **attrs):
    feeds = {"a": a}
    consts = {"b": b, "scales": scales}
    order = ["a", "b", "scales"]
    for name, v in (("zp", zp), ("g_idx", g_idx), ("bias", bias)):
        if v is not None:
            consts[name] = v
        order.append(name if v is not None else "")
    while order[-1] == "":
        order.pop()
    model = ms_model("MatMulNBits", feeds, consts, order=order, K=k, N=n, bits=bits,
                     block_size=bs, **attrs)
    return model, feeds


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("bs", [16, 32, 64, 128])
@pytest.mark.parametrize("zp_kind", ["none", "packed", "float"])
@pytest.mark.parametrize("m", [1, 19])
def test_matmul_nbits(bits, bs, zp_kind, m):
    k, n = 160, 24                                   # K not a multiple of 64 / 128
    b, scales, zp, w = nbits_weight(n, k, bits, bs, zp_kind)
    a = rng.standard_normal((m, k)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    model, feeds = _run_nbits(a, b, scales, zp, k, n, bits, bs, bias=bias)
    ours = run_ours(model, feeds)[0]
    want = a.astype(np.float64) @ w.T + bias
    np.testing.assert_allclose(ours, want, rtol=1e-5, atol=1e-5)
    if zp_kind == "float" and bits != 4:
        return                               # onnxruntime: float zero points only for 4 bits
    np.testing.assert_allclose(ours, run_ort(model, feeds)[0], rtol=1e-4, atol=1e-4)


def test_matmul_nbits_2bit_and_batched_a():
    k, n, bits, bs = 64, 8, 2, 32
    b, scales, zp, w = nbits_weight(n, k, bits, bs, "packed")
    a = rng.standard_normal((2, 3, k)).astype(np.float32)
    model, feeds = _run_nbits(a, b, scales, zp, k, n, bits, bs)
    ours = run_ours(model, feeds)[0]
    assert ours.shape == (2, 3, n)
    np.testing.assert_allclose(ours, a.astype(np.float64) @ w.T, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours, run_ort(model, feeds)[0], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("zp_kind", ["none", "float"])
def test_matmul_nbits_g_idx_picks_each_rows_block(zp_kind):
    k, n, bits, bs = 128, 16, 4, 32
    nb = k // bs
    codes = rng.integers(0, 16, (n, k)).astype(np.uint8)
    scales = rng.uniform(0.005, 0.02, (n, nb)).astype(np.float32)
    g_idx = rng.permutation(np.repeat(np.arange(nb), bs)).astype(np.int32)   # act-order
    z = (rng.uniform(0, 15, (n, nb)).astype(np.float32) if zp_kind == "float" else None)
    zvals = z.astype(np.float64) if z is not None else np.full((n, nb), 8.0)
    w = (codes - zvals[:, g_idx]) * scales.astype(np.float64)[:, g_idx]
    b = pack(codes.reshape(n, nb, bs), 4)
    a = rng.standard_normal((3, k)).astype(np.float32)
    model, feeds = _run_nbits(a, b, scales, z, k, n, bits, bs, g_idx=g_idx)
    ours = run_ours(model, feeds)[0]
    np.testing.assert_allclose(ours, a.astype(np.float64) @ w.T, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours, run_ort(model, feeds)[0], rtol=1e-4, atol=1e-4)


def test_matmul_nbits_trivial_g_idx_is_the_plain_layout():
    k, n, bs = 64, 8, 16
    b, scales, zp, w = nbits_weight(n, k, 4, bs, "packed")
    a = rng.standard_normal((1, k)).astype(np.float32)
    g = (np.arange(k) // bs).astype(np.int32)
    model, feeds = _run_nbits(a, b, scales, zp, k, n, 4, bs, g_idx=g)
    np.testing.assert_allclose(run_ours(model, feeds)[0], a.astype(np.float64) @ w.T,
                               rtol=1e-5, atol=1e-5)


def test_matmul_nbits_float16():
    k, n, bs = 96, 12, 32
    b, scales, zp, w = nbits_weight(n, k, 4, bs, "packed", dtype=np.float16)
    a = rng.standard_normal((2, k)).astype(np.float16)
    model, feeds = _run_nbits(a, b, scales, zp, k, n, 4, bs)
    ours = run_ours(model, feeds)[0]
    assert ours.dtype == np.float16
    want = a.astype(np.float64) @ w.T
    np.testing.assert_allclose(ours.astype(np.float64), want, rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(ours.astype(np.float32), run_ort(model, feeds)[0].astype(
        np.float32), rtol=3e-3, atol=3e-3)


def test_matmul_nbits_accuracy_level_4_computes_in_float32():
    """Level 4 lets onnxruntime quantize A to int8 per block; ai-engine keeps float32, which
    meets every level: its result is the float reference, onnxruntime's is within the error
    of 8-bit activations."""
    k, n, bs = 256, 32, 32
    b, scales, zp, w = nbits_weight(n, k, 4, bs, "packed")
    a = rng.standard_normal((1, k)).astype(np.float32)
    model, feeds = _run_nbits(a, b, scales, zp, k, n, 4, bs, accuracy_level=4)
    ours = run_ours(model, feeds)[0]
    want = a.astype(np.float64) @ w.T
    np.testing.assert_allclose(ours, want, rtol=1e-5, atol=1e-5)
    theirs = run_ort(model, feeds)[0]
    assert np.abs(theirs - want).max() < 0.02 * np.abs(want).max()


@pytest.mark.parametrize("bits", [2, 4, 8])
@pytest.mark.parametrize("zp_kind", ["none", "packed", "float"])
def test_tiled_and_fused_kernels_agree(monkeypatch, bits, zp_kind):
    """Both kernel paths, directly; the tiled one with a scratch budget of 3 rows so that it
    walks several tiles."""
    k, n, bs = 100, 10, 32
    b, scales, zp, w = nbits_weight(n, k, bits, bs, zp_kind)
    a = rng.standard_normal((3, k)).astype(np.float32)
    want = a.astype(np.float64) @ w.T
    nb = -(-k // bs)
    monkeypatch.setattr(nbits_kernels, "TILE_WEIGHTS", 3 * nb * bs)
    zp2 = None if zp is None else zp.reshape(n, -1)
    got = nbits_kernels.tiled(np, a, b, scales, zp2, None, bits, bs, k)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    pytest.importorskip("numba")
    assert nbits_kernels.fused_available(bits) == (bits in (4, 8))   # 2 bits: tiled only
    if bits != 2:
        got = nbits_kernels.fused(a, b, scales, zp2, bits, bs, k)    # N = 10: one full group
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)  # of 8 and a tail of 2


def test_row_pool_covers_the_range_once_and_reraises():
    from ai_engine.engine.operators.contrib import row_pool

    seen = []
    row_pool.run(lambda a, b: seen.extend(range(a, b)), 37)
    assert sorted(seen) == list(range(37))

    def fail(a, b):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        row_pool.run(fail, 10)


def test_matmul_nbits_keeps_b_packed_and_dequantizes_in_bounded_tiles(monkeypatch):
    """No float copy of the whole weight: the tiled path's scratch is TILE_WEIGHTS values."""
    k, n, bs = 256, 64, 32
    b, scales, zp, w = nbits_weight(n, k, 4, bs, "packed")
    monkeypatch.setattr(nbits_kernels, "TILE_WEIGHTS", 8 * k)
    seen = []
    real_empty = np.empty

    def spy(shape, dtype=float, *args, **kw):
        out = real_empty(shape, dtype, *args, **kw)
        if np.dtype(dtype) == np.float32:
            seen.append(out.size)
        return out

    a = rng.standard_normal((20, k)).astype(np.float32)      # > FUSED_MAX_ROWS: tiled path
    model, feeds = _run_nbits(a, b, scales, zp, k, n, 4, bs)
    sess = InferenceSession(model)
    monkeypatch.setattr(nbits_kernels.np, "empty", spy)
    got = sess.run(None, feeds)[0]
    np.testing.assert_allclose(got, a.astype(np.float64) @ w.T, rtol=1e-5, atol=1e-5)
    assert max(seen) <= max(8 * k, 20 * n)       # the scratch tile, or the (M, N) output
    assert b.nbytes == n * k // 2                # the initializer: 4 bits a weight


@pytest.mark.parametrize("attrs,match", [
    (dict(bits=3), "bits"), (dict(block_size=24), "block_size"),
    (dict(accuracy_level=7), "accuracy_level"), (dict(K=100), "end in K")])
def test_matmul_nbits_bad_attributes(attrs, match):
    k, n, bs = 64, 8, 32
    b, scales, zp, _ = nbits_weight(n, k, 4, bs, "none")
    a = rng.standard_normal((1, k)).astype(np.float32)
    kw = dict(K=k, N=n, bits=4, block_size=bs)
    kw.update(attrs)
    model = ms_model("MatMulNBits", {"a": a}, {"b": b, "scales": scales}, **kw)
    with pytest.raises(EngineError, match=match):
        InferenceSession(model).run(None, {"a": a})


# --------------------------------------------------------------------------- GatherBlockQuantized

def _blockwise(shape, axis, bs, n_codes, signed):
    lo, hi = (-(n_codes // 2), n_codes // 2) if signed else (0, n_codes)
    codes = rng.integers(lo, hi, shape)
    sshape = list(shape)
    sshape[axis] = -(-shape[axis] // bs)
    scales = rng.uniform(0.01, 0.1, sshape).astype(np.float32)
    zps = rng.integers(lo, hi, sshape)
    return codes, scales, zps


def _expand(p, axis, bs, length):
    return np.repeat(p, bs, axis=axis).take(np.arange(length), axis=axis)


@pytest.mark.parametrize("dtype", ["int4", "uint4"])
@pytest.mark.parametrize("axes", [(0, 1), (1, 0), (0, 0), (1, 1)])
@pytest.mark.parametrize("with_zp", [False, True])
def test_gather_block_quantized_int4(dtype, axes, with_zp):
    g, qa = axes
    shape, bs = (40, 48), 16
    codes, scales, zps = _blockwise(shape, qa, bs, 16, dtype == "int4")
    dt = np.dtype(getattr(ml_dtypes, dtype))
    data = codes.astype(dt)
    idx = np.array([[3, 0], [-1, 7]], np.int64)
    consts = {"data": data, "scales": scales}
    if with_zp:
        consts["zp"] = zps.astype(dt)
    zvals = zps if with_zp else 0
    deq = (codes - _expand(np.asarray(zvals) * np.ones_like(scales, dtype=np.int64), qa, bs,
                           shape[qa])) * _expand(scales, qa, bs, shape[qa])
    want = np.take(deq, np.where(idx < 0, idx + shape[g], idx), axis=g)
    model = ms_model("GatherBlockQuantized", {"idx": idx}, consts,
                     order=["data", "idx", "scales"] + (["zp"] if with_zp else []),
                     gather_axis=g, quantize_axis=qa, block_size=bs)
    ours = run_ours(model, {"idx": idx})[0]
    np.testing.assert_allclose(ours, want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ours, run_ort(model, {"idx": idx})[0], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("bs", [16, 32, 64, 128])
@pytest.mark.parametrize("with_zp", [False, True])
def test_gather_block_quantized_uint8(bits, bs, with_zp):
    vocab, hidden = 30, 256
    n_codes = 1 << bits
    codes = rng.integers(0, n_codes, (vocab, hidden))
    nb = hidden // bs
    scales = rng.uniform(0.01, 0.1, (vocab, nb)).astype(np.float32)
    z = rng.integers(0, n_codes, (vocab, nb))
    data = pack(codes.astype(np.uint8), bits)
    consts = {"data": data, "scales": scales}
    order = ["data", "idx", "scales"]
    if with_zp:
        consts["zp"] = pack(z.astype(np.uint8), bits)
        order.append("zp")
    zv = z if with_zp else np.full_like(z, 1 << (bits - 1))
    deq = (codes - np.repeat(zv, bs, 1)) * np.repeat(scales, bs, 1)
    idx = np.array([[1, 29, 0, 5]], np.int32)
    model = ms_model("GatherBlockQuantized", {"idx": idx}, consts, order=order, bits=bits,
                     block_size=bs, quantize_axis=1)
    ours = run_ours(model, {"idx": idx})[0]
    np.testing.assert_allclose(ours, deq[idx], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ours, run_ort(model, {"idx": idx})[0], rtol=1e-6, atol=1e-6)


def test_gather_block_quantized_out_of_range_index_gives_zeros_and_float16():
    codes, scales, _ = _blockwise((8, 32), 1, 16, 16, False)
    data = codes.astype(ml_dtypes.uint4)
    idx = np.array([1, 8, -9, -8], np.int64)
    consts = {"data": data, "scales": scales.astype(np.float16)}
    model = ms_model("GatherBlockQuantized", {"idx": idx}, consts,
                     order=["data", "idx", "scales"], block_size=16)
    ours = run_ours(model, {"idx": idx})[0]
    assert ours.dtype == np.float16
    assert not ours[1].any() and not ours[2].any()
    np.testing.assert_allclose(ours[3].astype(np.float32),
                               (codes[0] * np.repeat(scales[0], 16)).astype(np.float32),
                               rtol=2e-3)
    np.testing.assert_array_equal(ours, run_ort(model, {"idx": idx})[0])


def test_gather_block_quantized_bad_scales_shape():
    data = np.zeros((4, 32), ml_dtypes.int4)
    consts = {"data": data, "scales": np.ones((4, 3), np.float32)}
    idx = np.array([0], np.int64)
    model = ms_model("GatherBlockQuantized", {"idx": idx}, consts,
                     order=["data", "idx", "scales"], block_size=16)
    with pytest.raises(EngineError, match="scales must have shape"):
        InferenceSession(model).run(None, {"idx": idx})
