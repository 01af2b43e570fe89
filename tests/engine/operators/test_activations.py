"""Activation kernels through InferenceSession (activations.py).

The ONNX backend node cases run separately (scripts/conformance.py); these cover what they
miss: float16/bfloat16 inputs, extreme inputs (stability), older opsets (Clip attributes,
2-D coercion of the Softmax family, per-channel PRelu), integer Clip/Shrink/PRelu, and an
onnxruntime cross-check.
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest

from builders import check_op, run_op, run_op_peer

rng = np.random.default_rng(0)
BF16 = np.dtype(ml_dtypes.bfloat16)
_erf = np.vectorize(math.erf)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softplus(x):
    return np.logaddexp(0, x)


FORMULAS = {
    "Relu": (14, {}, lambda x: np.maximum(x, 0)),
    "LeakyRelu": (16, {"alpha": 0.25}, lambda x: np.where(x < 0, 0.25 * x, x)),
    "Elu": (22, {"alpha": 0.5}, lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
    # the spec's defaults are float32 values of the usual constants
    "Selu": (22, {}, lambda x: 1.05070102214813232421875 * np.where(
        x > 0, x, 1.67326319217681884765625 * np.expm1(x))),
    "Celu": (12, {"alpha": 2.0}, lambda x: np.maximum(x, 0) + np.minimum(0, 2 * np.expm1(x / 2))),
    "Sigmoid": (13, {}, _sigmoid),
    "HardSigmoid": (22, {}, lambda x: np.clip(0.2 * x + 0.5, 0, 1)),
    "HardSwish": (22, {}, lambda x: x * np.clip(x / 6 + 0.5, 0, 1)),
    "Tanh": (13, {}, np.tanh),
    "Softplus": (22, {}, _softplus),
    "Softsign": (22, {}, lambda x: x / (1 + np.abs(x))),
    "Mish": (22, {}, lambda x: x * np.tanh(_softplus(x))),
    "Swish": (24, {"alpha": 1.5}, lambda x: x * _sigmoid(1.5 * x)),
    "ThresholdedRelu": (22, {"alpha": 0.5}, lambda x: np.where(x > 0.5, x, 0)),
    "Gelu": (20, {}, lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2)))),
}


@pytest.mark.parametrize("op", sorted(FORMULAS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, BF16])
def test_activation_matches_formula_and_keeps_dtype(op, dtype):
    opset, attrs, fn = FORMULAS[op]
    x = np.concatenate([rng.standard_normal(40) * 3, [0.0, -0.0]]).astype(dtype)
    got = run_op(op, x, opset=opset, **attrs)[0]
    assert got.dtype == np.dtype(dtype) and got.shape == x.shape
    want = fn(x.astype(np.float64))
    tol = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 2e-6,
           np.dtype(np.float16): 2e-3, BF16: 1.6e-2}[np.dtype(dtype)]
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=tol, atol=tol)


def test_gelu_tanh_approximation():
    x = rng.standard_normal(50).astype(np.float32) * 3
    c = math.sqrt(2 / math.pi)
    want = 0.5 * x * (1 + np.tanh(c * (x + 0.044715 * x.astype(np.float64) ** 3)))
    np.testing.assert_allclose(run_op("Gelu", x, opset=20, approximate="tanh")[0], want, rtol=2e-6,
                               atol=1e-7)


def test_stable_at_extremes():
    x = np.array([-1000.0, -700.0, -50.0, 50.0, 1000.0])
    with np.errstate(all="raise"):
        sig = run_op("Sigmoid", x, opset=13)[0]
        sp = run_op("Softplus", x, opset=22)[0]
    np.testing.assert_allclose(sig[1:3], np.exp(x[1:3]), rtol=1e-12)   # relative accuracy
    assert sig[0] == 0 and sig[-1] == 1
    np.testing.assert_allclose(sp, [0, math.exp(-700), math.exp(-50), 50, 1000], rtol=1e-12)
    ls = run_op("LogSoftmax", np.array([[1000.0, 0.0, -1000.0]], np.float32), opset=13)[0]
    np.testing.assert_allclose(ls, [[0, -1000, -2000]])
    sm = run_op("Softmax", np.array([[1e4, 1e4]], np.float16), opset=13)[0]
    assert sm.dtype == np.float16 and np.allclose(sm.astype(np.float32), 0.5)


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax", "Hardmax"])
def test_softmax_family_coerces_to_2d_before_opset13(op):
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    new = run_op(op, x.reshape(2, 12), opset=13, axis=1)[0].reshape(2, 3, 4)
    np.testing.assert_allclose(run_op(op, x, opset=11, axis=1)[0], new, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(run_op(op, x, opset=11)[0], new, rtol=1e-6, atol=1e-7)  # default 1
    last = run_op(op, x, opset=13)[0]   # default axis -1
    np.testing.assert_allclose(run_op(op, x, opset=11, axis=-1)[0], last, rtol=1e-6, atol=1e-7)


def test_hardmax_first_maximum_wins():
    x = np.array([[1, 3, 3, 2], [0, 0, 0, 0]], np.float32)
    np.testing.assert_array_equal(run_op("Hardmax", x, opset=13)[0],
                                  [[0, 1, 0, 0], [1, 0, 0, 0]])


def test_clip_versions_and_types():
    x = np.array([-3.0, -1.0, 0.5, 2.0, 70000.0], np.float32)
    np.testing.assert_array_equal(run_op("Clip", x, opset=6, min=-1.5, max=1.0)[0],
                                  np.clip(x, -1.5, 1.0))
    h = np.array([-60000, 1, 60000], np.float16)
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(run_op("Clip", h, opset=6)[0], h)   # defaults: no bound
    np.testing.assert_array_equal(run_op("Clip", x, None, np.array(1.0, np.float32), opset=13)[0],
                                  np.minimum(x, 1.0))
    i = np.array([-5, 0, 5, 100], np.int8)
    np.testing.assert_array_equal(run_op("Clip", i, np.array(-2, np.int8), np.array(3, np.int8),
                                         opset=13)[0], [-2, 0, 3, 3])
    np.testing.assert_array_equal(run_op("Clip", i, opset=13)[0], i)


def test_prelu_per_channel_and_integer():
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    slope = np.array([0.1, 0.2, 0.3], np.float32)
    want = np.where(x < 0, x * slope[:, None], x)
    np.testing.assert_allclose(run_op("PRelu", x, slope, opset=6)[0], want, rtol=1e-6)
    np.testing.assert_allclose(run_op("PRelu", x, slope[:, None], opset=9)[0], want, rtol=1e-6)
    xi = np.array([-4, -1, 0, 3], np.int32)
    np.testing.assert_array_equal(run_op("PRelu", xi, np.array([2], np.int32), opset=16)[0],
                                  [-8, -2, 0, 3])


def test_shrink_integer_and_leaky_alpha_above_one():
    xi = np.array([-5, -1, 0, 1, 5], np.int32)
    got = run_op("Shrink", xi, opset=9, lambd=1.5, bias=1.0)[0]
    assert got.dtype == np.int32 and got.tolist() == [-4, 0, 0, 0, 4]
    x = np.array([-2.0, 3.0], np.float32)
    np.testing.assert_allclose(run_op("LeakyRelu", x, opset=16, alpha=2.0)[0], [-4.0, 3.0])


def test_opset1_consumed_inputs_accepted():
    x = np.array([-1.0, 2.0], np.float32)
    np.testing.assert_array_equal(run_op("Relu", x, opset=1, consumed_inputs=[0])[0], [0, 2])


@pytest.mark.parametrize("op,opset,attrs", [
    ("Gelu", 20, {}), ("Softmax", 13, {"axis": 1}), ("LogSoftmax", 13, {"axis": 0}),
    ("Sigmoid", 13, {}), ("Softplus", 22, {}), ("Mish", 22, {}), ("Elu", 22, {"alpha": 0.7}),
    ("Erf", 13, {}), ("HardSwish", 22, {})])
def test_matches_onnxruntime(op, opset, attrs):
    x = (rng.standard_normal((3, 5)) * 4).astype(np.float32)
    try:
        want = run_op_peer(op, x, opset=opset, **attrs)
    except Exception as exc:  # noqa: BLE001 - an older onnxruntime without this opset
        pytest.skip(f"onnxruntime cannot load it: {exc}")
    check_op(op, x, expected=want, rtol=2e-6, atol=1e-6, opset=opset, **attrs)
