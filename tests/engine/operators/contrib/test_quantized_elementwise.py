"""com.microsoft QLinearAdd/Mul/Sigmoid/LeakyRelu/Softmax/Concat and Quantize/DequantizeLinear
(contrib/quantized_elementwise.py, contrib/quantized.py).

Each op is checked exactly against the NumPy formula (float64 math on the float32-dequantized
values, round half to even) and against onnxruntime within one quantization step: onnxruntime's
x86 kernels use float32 FMAs (Add, Mul), a polynomial logistic (Sigmoid) and a float32 softmax,
so a value next to a rounding boundary may land one step away there."""

from __future__ import annotations

import numpy as np
import pytest

from ai_engine import InferenceSession
from ai_engine.errors import EngineError
from ms_quant_helpers import (
    assert_within_one_step, both, dequantize32, ms_model, quantize_exact, random_q, run_ours)

rng = np.random.default_rng(7)
TYPES = [np.uint8, np.int8]


def _s(v):
    return np.array(v, np.float32)


def _zp(v, dt):
    return np.array(v, dt)


@pytest.mark.parametrize("dt", TYPES)
@pytest.mark.parametrize("shapes", [((2, 3, 4), (2, 3, 4)), ((2, 3, 4), (4,)), ((1,), (3, 5)),
                                    ((3, 1), (1, 6))])
def test_qlinear_add_exact_and_near_onnxruntime(dt, shapes):
    a, b = random_q(rng, shapes[0], dt), random_q(rng, shapes[1], dt)
    za, zb, zc = (_zp(v if dt == np.uint8 else v - 128, dt) for v in (120, 131, 127))
    feeds = {"a": a, "b": b}
    consts = {"sa": _s(0.031), "za": za, "sb": _s(0.047), "zb": zb, "sc": _s(0.052), "zc": zc}
    order = ["a", "sa", "za", "b", "sb", "zb", "sc", "zc"]
    ours, theirs = both("QLinearAdd", feeds, consts, order=order)
    real = (np.float64(np.float32(0.031)) * (a.astype(np.float64) - za)
            + np.float64(np.float32(0.047)) * (b.astype(np.float64) - zb))
    np.testing.assert_array_equal(ours[0], quantize_exact(real, 0.052, int(zc), dt))
    assert ours[0].dtype == dt
    assert_within_one_step(ours[0], theirs[0])


@pytest.mark.parametrize("dt", TYPES)
def test_qlinear_mul_exact_and_near_onnxruntime(dt):
    a, b = random_q(rng, (4, 8), dt), random_q(rng, (8,), dt)
    za, zb, zc = (_zp(v if dt == np.uint8 else v - 128, dt) for v in (128, 100, 140))
    consts = {"sa": _s(0.02), "za": za, "sb": _s(0.03), "zb": zb, "sc": _s(0.09), "zc": zc}
    order = ["a", "sa", "za", "b", "sb", "zb", "sc", "zc"]
    ours, theirs = both("QLinearMul", {"a": a, "b": b}, consts, order=order)
    real = ((a.astype(np.float64) - za) * (b.astype(np.float64) - zb)
            * np.float64(np.float32(0.02)) * np.float64(np.float32(0.03)))
    np.testing.assert_array_equal(ours[0], quantize_exact(real, 0.09, int(zc), dt))
    assert_within_one_step(ours[0], theirs[0])


def test_qlinear_add_omitted_zero_points_are_zero():
    a = random_q(rng, (10,), np.int8)
    b = random_q(rng, (10,), np.int8)
    model = ms_model("QLinearAdd", {"a": a, "b": b}, {"sa": _s(0.5), "sb": _s(0.25),
                                                     "sc": _s(1.0)},
                     order=["a", "sa", "", "b", "sb", "", "sc"])
    got = run_ours(model, {"a": a, "b": b})[0]
    want = quantize_exact(0.5 * a.astype(np.float64) + 0.25 * b, 1.0, 0, np.int8)
    np.testing.assert_array_equal(got, want)


def test_qlinear_add_rounds_ties_to_even():
    # 0.5*(A) with A = 1, 3, 5: exactly 0.5, 1.5, 2.5 -> 0, 2, 2
    a = np.array([1, 3, 5, -1, -3], np.int8)
    b = np.zeros(5, np.int8)
    model = ms_model("QLinearAdd", {"a": a, "b": b}, {"sa": _s(0.5), "sb": _s(1.0),
                                                     "sc": _s(1.0)},
                     order=["a", "sa", "", "b", "sb", "", "sc"])
    np.testing.assert_array_equal(run_ours(model, {"a": a, "b": b})[0], [0, 2, 2, 0, -2])


@pytest.mark.parametrize("dt", TYPES)
def test_qlinear_sigmoid_exact_and_near_onnxruntime(dt):
    x = np.arange(256, dtype=np.uint8).view(dt).reshape(16, 16)       # every code
    zx = _zp(128 if dt == np.uint8 else 0, dt)
    zy = _zp(0 if dt == np.uint8 else -128, dt)
    consts = {"sx": _s(0.05), "zx": zx, "sy": _s(1 / 256), "zy": zy}
    ours, theirs = both("QLinearSigmoid", {"x": x}, consts)
    v = dequantize32(x, 0.05, zx).astype(np.float64)
    np.testing.assert_array_equal(ours[0], quantize_exact(1 / (1 + np.exp(-v)), 1 / 256,
                                                          int(zy), dt))
    assert_within_one_step(ours[0], theirs[0])


@pytest.mark.parametrize("dt", TYPES)
@pytest.mark.parametrize("alpha", [0.01, 0.2])
def test_qlinear_leaky_relu_exact_and_onnxruntime(dt, alpha):
    x = np.arange(256, dtype=np.uint8).view(dt)
    zx = _zp(100 if dt == np.uint8 else -20, dt)
    zy = _zp(30 if dt == np.uint8 else -100, dt)
    consts = {"sx": _s(0.1), "zx": zx, "sy": _s(0.07), "zy": zy}
    ours, theirs = both("QLinearLeakyRelu", {"x": x}, consts, alpha=alpha)
    v = dequantize32(x, 0.1, zx).astype(np.float64)
    real = np.where(v >= 0, v, np.float64(np.float32(alpha)) * v)
    np.testing.assert_array_equal(ours[0], quantize_exact(real, 0.07, int(zy), dt))
    # Same table as onnxruntime builds; float32 there vs float64 here differ only at ties.
    assert_within_one_step(ours[0], theirs[0], frac_exact=0.98)


@pytest.mark.parametrize("dt", TYPES)
@pytest.mark.parametrize("axis", [-1, 1])
def test_qlinear_softmax_opset13(dt, axis):
    x = random_q(rng, (2, 5, 7), dt)
    zx = _zp(128 if dt == np.uint8 else 0, dt)
    zy = _zp(0 if dt == np.uint8 else -128, dt)
    consts = {"sx": _s(0.08), "zx": zx, "sy": _s(1 / 256), "zy": zy}
    ours, theirs = both("QLinearSoftmax", {"x": x}, consts, opset=13, axis=axis)
    v = dequantize32(x, 0.08, zx).astype(np.float64)
    e = np.exp(v - v.max(axis=axis, keepdims=True))
    p = e / e.sum(axis=axis, keepdims=True)
    want = quantize_exact(p, 1 / 256, int(zy), dt)
    np.testing.assert_array_equal(ours[0], want)
    if dt == np.int8:
        # onnxruntime's int8 kernel wraps a probability that rounds to 1.0 to -128.
        keep = want != 127
        assert_within_one_step(ours[0][keep], theirs[0][keep])
    else:
        assert_within_one_step(ours[0], theirs[0])


def test_qlinear_softmax_opset12_coerces_to_2d():
    x = random_q(rng, (2, 3, 4), np.uint8)
    consts = {"sx": _s(0.1), "zx": _zp(128, np.uint8), "sy": _s(1 / 256),
              "zy": _zp(0, np.uint8)}
    ours, theirs = both("QLinearSoftmax", {"x": x}, consts, opset=12, axis=1)
    v = dequantize32(x, 0.1, 128).astype(np.float64).reshape(2, 12)
    e = np.exp(v - v.max(axis=1, keepdims=True))
    want = quantize_exact((e / e.sum(axis=1, keepdims=True)).reshape(x.shape), 1 / 256, 0,
                          np.uint8)
    np.testing.assert_array_equal(ours[0], want)
    assert_within_one_step(ours[0], theirs[0])


@pytest.mark.parametrize("dt", TYPES)
def test_qlinear_concat_requantizes_each_input(dt):
    a, b, c = (random_q(rng, shape, dt) for shape in ((2, 3, 4), (2, 5, 4), (2, 1, 4)))
    z = [_zp(v if dt == np.uint8 else v - 128, dt) for v in (128, 120, 140, 128)]
    consts = {"sy": _s(0.05), "zy": z[0], "sa": _s(0.05), "za": z[0], "sb": _s(0.11),
              "zb": z[1], "sc": _s(0.02), "zc": z[2]}
    order = ["sy", "zy", "a", "sa", "za", "b", "sb", "zb", "c", "sc", "zc"]
    ours, theirs = both("QLinearConcat", {"a": a, "b": b, "c": c}, consts, order=order, axis=1)
    parts = [a]                                          # same (scale, zp) as Y: copied
    for x, s, zz in ((b, 0.11, z[1]), (c, 0.02, z[2])):
        parts.append(quantize_exact(dequantize32(x, s, zz), 0.05, int(z[0]), dt))
    np.testing.assert_array_equal(ours[0], np.concatenate(parts, axis=1))
    assert_within_one_step(ours[0], theirs[0], frac_exact=0.98)


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_contrib_quantize_dequantize_match_onnxruntime(axis):
    x = (rng.standard_normal((3, 4)) * 5).astype(np.float32)
    attrs = {} if axis is None else {"axis": axis}
    if axis is None:
        consts = {"s": _s(0.05), "z": _zp(3, np.int8)}
    else:
        d = x.shape[axis]
        consts = {"s": rng.uniform(0.02, 0.1, d).astype(np.float32),
                  "z": rng.integers(-5, 5, d).astype(np.int8)}
    ours, theirs = both("QuantizeLinear", {"x": x}, consts, **attrs)
    np.testing.assert_array_equal(ours[0], theirs[0])
    q = ours[0]
    ours, theirs = both("DequantizeLinear", {"q": q}, consts, **attrs)
    np.testing.assert_array_equal(ours[0], theirs[0])


@pytest.mark.parametrize("op,bad", [
    ("QLinearAdd", "float_input"), ("QLinearAdd", "vector_scale"), ("QLinearAdd", "mixed"),
    ("QLinearAdd", "shapes")])
def test_qlinear_add_bad_input_is_a_clear_error(op, bad):
    a = random_q(rng, (4,), np.uint8)
    b = random_q(rng, (4,), np.int8 if bad == "mixed" else np.uint8)
    if bad == "float_input":
        a = a.astype(np.float32)
    if bad == "shapes":
        b = random_q(rng, (3,), np.uint8)
    sa = _s([0.1, 0.2]) if bad == "vector_scale" else _s(0.1)
    model = ms_model(op, {"a": a, "b": b}, {"sa": sa, "sb": _s(0.1), "sc": _s(0.1)},
                     order=["a", "sa", "", "b", "sb", "", "sc"])
    with pytest.raises(EngineError, match="QLinearAdd"):
        InferenceSession(model).run(None, {"a": a, "b": b})
