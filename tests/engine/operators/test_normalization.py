"""Normalization kernels through InferenceSession (normalization.py).

The ONNX backend node cases (scripts/conformance.py) cover float32 with default shapes; these
check against float64 NumPy formulas (and onnxruntime where it has the op) what they miss:
float16/bfloat16/float64 inputs, the stash dtype of LayerNormalization's statistics, data far
from zero (cancellation), broadcast scale shapes, BatchNormalization training outputs in the
opset-9 and opset-14 forms and the opset-7 non-spatial form, GroupNormalization's opset-18
per-group scale, LRN with an even window, LpNormalization of all-zero slices.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from onnx import helper

from ai_engine import InferenceSession
from ai_engine.errors import KernelError

rng = np.random.default_rng(0)
BF16 = np.dtype(ml_dtypes.bfloat16)
TOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5, np.dtype(np.float16): 2e-3,
       BF16: 1.6e-2}


def _tt(a):
    return 16 if a.dtype == BF16 else helper.np_dtype_to_tensor_dtype(a.dtype)


def run(op, inputs, opset, n_out=1, **attrs):
    names = [f"x{i}" if a is not None else "" for i, a in enumerate(inputs)]
    outs = [f"y{i}" for i in range(n_out)]
    node = helper.make_node(op, names, outs, **attrs)
    vi = [helper.make_tensor_value_info(n, _tt(a), a.shape) for n, a in zip(names, inputs) if n]
    graph = helper.make_graph([node], op, vi,
                              [helper.make_tensor_value_info(o, 0, None) for o in outs])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    feeds = {n: a for n, a in zip(names, inputs) if n}
    return InferenceSession(model).run(None, feeds)


def close(got, want, dtype):
    tol = TOL[np.dtype(dtype)]
    assert got.dtype == np.dtype(dtype)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=tol, atol=tol)


def f64(a):
    return a.astype(np.float64)


def _standardize(x, axes, eps):
    m = x.mean(axis=axes, keepdims=True)
    v = ((x - m) ** 2).mean(axis=axes, keepdims=True)
    return (x - m) / np.sqrt(v + eps), m, 1 / np.sqrt(v + eps)


# Attributes are stored as float32: the reference must use the same epsilon.
E3, E4, E5 = (float(np.float32(e)) for e in (1e-3, 1e-4, 1e-5))
DTYPES = [np.float64, np.float32, np.float16, BF16]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 5), (2, 3, 4, 5)])
def test_batchnorm_inference(dtype, shape):
    c = shape[1]
    x = rng.standard_normal(shape).astype(dtype)
    s, b, m = (rng.standard_normal(c).astype(dtype) for _ in range(3))
    v = rng.uniform(0.5, 2, c).astype(dtype)
    (y,) = run("BatchNormalization", [x, s, b, m, v], 15, epsilon=1e-3)
    r = (1, c) + (1,) * (len(shape) - 2)
    want = (f64(x) - f64(m).reshape(r)) / np.sqrt(f64(v).reshape(r) + E3) * \
        f64(s).reshape(r) + f64(b).reshape(r)
    close(y, want, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_batchnorm_training_mode_opset15(dtype):
    x = (rng.standard_normal((4, 3, 5)) * 2 + 1).astype(dtype)
    s, b, m = (rng.standard_normal(3).astype(dtype) for _ in range(3))
    v = rng.uniform(0.5, 2, 3).astype(dtype)
    y, rm, rv = run("BatchNormalization", [x, s, b, m, v], 15, n_out=3, training_mode=1,
                    momentum=0.8)
    bm, bv = f64(x).mean(axis=(0, 2)), f64(x).var(axis=(0, 2))
    want = (f64(x) - bm[:, None]) / np.sqrt(bv[:, None] + E5) * f64(s)[:, None] + \
        f64(b)[:, None]
    close(y, want, dtype)
    close(rm, 0.8 * f64(m) + 0.2 * bm, dtype)
    close(rv, 0.8 * f64(v) + 0.2 * bv, dtype)


def test_batchnorm_opset9_training_outputs():
    x = rng.standard_normal((4, 3, 2, 2)).astype(np.float32)
    s, b, m = (rng.standard_normal(3).astype(np.float32) for _ in range(3))
    v = rng.uniform(0.5, 2, 3).astype(np.float32)
    y, rm, rv, sm, sv = run("BatchNormalization", [x, s, b, m, v], 9, n_out=5)
    bm, bv = f64(x).mean(axis=(0, 2, 3)), f64(x).var(axis=(0, 2, 3))
    close(sm, bm, np.float32)
    close(sv, bv, np.float32)
    close(rm, 0.9 * f64(m) + 0.1 * bm, np.float32)
    close(rv, 0.9 * f64(v) + 0.1 * bv, np.float32)
    close(y, (f64(x) - bm[:, None, None]) / np.sqrt(bv[:, None, None] + 1e-5)
          * f64(s)[:, None, None] + f64(b)[:, None, None], np.float32)


def test_batchnorm_opset7_non_spatial():
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    s, b, m = (rng.standard_normal((3, 4)).astype(np.float32) for _ in range(3))
    v = rng.uniform(0.5, 2, (3, 4)).astype(np.float32)
    (y,) = run("BatchNormalization", [x, s, b, m, v], 7, spatial=0)
    close(y, (f64(x) - f64(m)) / np.sqrt(f64(v) + 1e-5) * f64(s) + f64(b), np.float32)


@pytest.mark.parametrize("dtype", DTYPES)
def test_instance_norm(dtype):
    x = (rng.standard_normal((2, 3, 40)) * 3 + 5).astype(dtype)
    s, b = rng.standard_normal(3).astype(dtype), rng.standard_normal(3).astype(dtype)
    (y,) = run("InstanceNormalization", [x, s, b], 22, epsilon=1e-4)
    n, _, _ = _standardize(f64(x), (2,), E4)
    close(y, n * f64(s)[:, None] + f64(b)[:, None], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [-1, 1])
def test_layer_norm_dtypes_and_stash_dtype(dtype, axis):
    x = (rng.standard_normal((3, 4, 40)) + 2).astype(dtype)
    scale = rng.standard_normal(x.shape[axis:]).astype(dtype)
    bias = rng.standard_normal(x.shape[axis:]).astype(dtype)
    y, mean, inv = run("LayerNormalization", [x, scale, bias], 17, n_out=3, axis=axis)
    axes = tuple(range(axis % 3, 3))
    n, m, i = _standardize(f64(x), axes, E5)
    close(y, n * f64(scale) + f64(bias), dtype)
    # Mean / InvStdDev are of the stash type (float32 by default)
    close(mean, m, np.float32)
    np.testing.assert_allclose(inv, i, rtol=1e-5)


def test_layer_norm_far_from_zero_and_wide_rows():
    # mean 1e4, std 1: a one-pass E[x^2] - E[x]^2 would lose every digit in float32.
    x = (rng.standard_normal((8, 1024)) + 1e4).astype(np.float32)
    scale, bias = np.ones(1024, np.float32), np.zeros(1024, np.float32)
    y, mean, inv = run("LayerNormalization", [x, scale, bias], 17, n_out=3)
    n, m, i = _standardize(f64(x), (1,), 1e-5)
    np.testing.assert_allclose(y, n, atol=2e-3)
    np.testing.assert_allclose(inv, i, rtol=2e-3)


def test_layer_norm_broadcast_scale_no_bias_and_stash_double():
    x = rng.standard_normal((2, 3, 8)).astype(np.float32)
    scale = rng.standard_normal((3, 1)).astype(np.float32)     # broadcasts over (3, 8)
    y, mean, inv = run("LayerNormalization", [x, scale], 17, n_out=3, axis=1, stash_type=11)
    n, m, i = _standardize(f64(x), (1, 2), E5)
    close(y, n * f64(scale), np.float32)
    assert mean.dtype == np.float64 and mean.shape == (2, 1, 1)
    np.testing.assert_allclose(inv, i, rtol=1e-12)


def test_layer_norm_matches_onnxruntime():
    ort = pytest.importorskip("onnxruntime")
    x = rng.standard_normal((4, 6, 16)).astype(np.float32)
    s, b = rng.standard_normal(16).astype(np.float32), rng.standard_normal(16).astype(np.float32)
    node = helper.make_node("LayerNormalization", ["x", "s", "b"], ["y"], epsilon=1e-3)
    graph = helper.make_graph(
        [node], "ln", [helper.make_tensor_value_info(n, 1, a.shape)
                       for n, a in (("x", x), ("s", s), ("b", b))],
        [helper.make_tensor_value_info("y", 1, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    feeds = {"x": x, "s": s, "b": b}
    want = ort.InferenceSession(model.SerializeToString(),
                                providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    np.testing.assert_allclose(InferenceSession(model).run(None, feeds)[0], want, rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_group_norm_opset21_per_channel(dtype):
    x = rng.standard_normal((2, 6, 4, 3)).astype(dtype)
    s, b = rng.standard_normal(6).astype(dtype), rng.standard_normal(6).astype(dtype)
    (y,) = run("GroupNormalization", [x, s, b], 21, num_groups=3)
    n, _, _ = _standardize(f64(x).reshape(2, 3, -1), (2,), 1e-5)
    want = n.reshape(x.shape) * f64(s)[:, None, None] + f64(b)[:, None, None]
    close(y, want, dtype)


def test_group_norm_opset18_per_group():
    x = rng.standard_normal((2, 6, 5)).astype(np.float32)
    s, b = rng.standard_normal(3).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    (y,) = run("GroupNormalization", [x, s, b], 18, num_groups=3)
    n, _, _ = _standardize(f64(x).reshape(2, 3, 10), (2,), 1e-5)
    want = (n * f64(s)[:, None] + f64(b)[:, None]).reshape(x.shape)
    close(y, want, np.float32)
    with pytest.raises(KernelError, match="num_groups=4 does not divide the 6 channels"):
        run("GroupNormalization", [x, s, b], 18, num_groups=4)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rms_norm(dtype):
    x = rng.standard_normal((3, 4, 50)).astype(dtype)
    scale = rng.standard_normal((4, 50)).astype(dtype)
    (y,) = run("RMSNormalization", [x, scale], 23, axis=-2, epsilon=1e-4)
    xf = f64(x)
    want = xf / np.sqrt((xf ** 2).mean(axis=(1, 2), keepdims=True) + E4) * f64(scale)
    close(y, want, dtype)


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_lp_norm_axis_and_zero_slices(p, dtype):
    x = rng.standard_normal((3, 4)).astype(dtype)
    x[:, 1] = 0
    (y,) = run("LpNormalization", [x], 22, axis=0, p=p)
    norm = np.linalg.norm(f64(x), ord=p, axis=0, keepdims=True)
    close(y, np.divide(f64(x), norm, out=np.zeros_like(f64(x)), where=norm != 0), dtype)


def _lrn_ref(x, size, alpha, beta, bias):
    c = x.shape[1]
    sq = np.zeros_like(x)
    for i in range(c):
        lo, hi = max(0, i - (size - 1) // 2), min(c - 1, i + -(-(size - 1) // 2))
        sq[:, i] = (x[:, lo:hi + 1] ** 2).sum(axis=1)
    return x / (bias + alpha / size * sq) ** beta


@pytest.mark.parametrize("size", [1, 2, 4, 5, 9])
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_lrn_window_sizes(size, dtype):
    x = (rng.standard_normal((2, 7, 3, 3)) * 4).astype(dtype)
    (y,) = run("LRN", [x], 13, size=size, alpha=0.01, beta=0.6, bias=1.5)
    close(y, _lrn_ref(f64(x), size, 0.01, 0.6, 1.5), dtype)


@pytest.mark.parametrize("axes", [(0, 2, 3), (1,), (2, 3)])
def test_mvn_axes(axes):
    x = (rng.standard_normal((2, 3, 4, 5)) + 3).astype(np.float32)
    (y,) = run("MeanVarianceNormalization", [x], 13, axes=list(axes))
    xf = f64(x)
    m = xf.mean(axis=axes, keepdims=True)
    want = (xf - m) / (np.sqrt(((xf - m) ** 2).mean(axis=axes, keepdims=True)) + 1e-9)
    close(y, want, np.float32)
