"""Elementwise math, comparison and bitwise kernels through InferenceSession.

The ONNX backend node cases run separately (scripts/conformance.py); these cover what they
miss: integer division/modulo sign rules, Pow type mixes, Erf accuracy, bfloat16/float16 dtype
preservation, 0-d inputs, opset-1 broadcasting attributes and variadic broadcasting.
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest

from builders import run_op

rng = np.random.default_rng(0)
BF16 = np.dtype(ml_dtypes.bfloat16)


# --------------------------------------------------------------------------- Div / Mod / Pow

@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64])
def test_integer_div_truncates_toward_zero(dtype):
    a = np.array([7, -7, 7, -7, 0, 6, -6], dtype=dtype)
    b = np.array([2, 2, -2, -2, 3, -4, 4], dtype=dtype)
    got = run_op("Div", a, b, opset=14)[0]
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, np.trunc(a / b).astype(dtype))
    # broadcasting with a 0-d divisor
    got = run_op("Div", a, np.array(-3, dtype=dtype), opset=14)[0]
    np.testing.assert_array_equal(got, np.trunc(a / -3).astype(dtype))


def test_zero_dim_inputs_give_arrays():
    got = run_op("Add", np.array(1.5, np.float32), np.array(2.0, np.float32), opset=20)[0]
    assert isinstance(got, np.ndarray) and got.shape == () and got.dtype == np.float32
    got = run_op("Sqrt", np.array(4.0, np.float64), opset=20)[0]
    assert isinstance(got, np.ndarray) and got == 2.0


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integer_mod_python_and_c_semantics(dtype):
    a = np.array([-4, 7, 5, 4, -7, 8], dtype=dtype)
    b = np.array([2, -3, 8, -2, 3, 5], dtype=dtype)
    np.testing.assert_array_equal(run_op("Mod", a, b, opset=20)[0], np.mod(a, b))  # divisor's sign
    np.testing.assert_array_equal(run_op("Mod", a, b, opset=20, fmod=1)[0],
                                  np.fmod(a, b))  # sign of dividend


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_mod(dtype):
    a = np.array([-4.5, 7.25, 5.0, -0.0, 0.0, np.inf, 3.0, -1.0], dtype=dtype)
    b = np.array([2.0, -3.0, 8.0, 2.0, -2.0, 2.0, np.inf, np.inf], dtype=dtype)
    got = run_op("Mod", a, b, opset=13, fmod=0)[0]
    assert got.dtype == dtype
    with np.errstate(invalid="ignore"):
        want = np.mod(a.astype(np.float64), b).astype(dtype)
    np.testing.assert_array_equal(got, want)
    assert np.signbit(got[4]) and not np.signbit(got[3])     # zero takes the divisor's sign
    np.testing.assert_array_equal(run_op("Mod", a[:3], b[:3], opset=20, fmod=1)[0],
                                  np.fmod(a[:3], b[:3]))


def test_pow_integer_negative_exponent():
    x = np.array([1, -1, -1, 2, 3, 2], dtype=np.int64)
    y = np.array([-3, -2, -3, -1, 2, 10], dtype=np.int64)
    np.testing.assert_array_equal(run_op("Pow", x, y, opset=20)[0], [1, 1, -1, 0, 9, 1024])


@pytest.mark.parametrize("base,exp", [(np.float16, np.int64), (BF16, np.int32),
                                      (np.float32, np.float64), (np.int32, np.float32)])
def test_pow_result_has_base_dtype(base, exp):
    x = np.array([1.5, 2.0, 3.0], dtype=np.float32).astype(base)
    y = np.array([2, 3, -1], dtype=exp)
    got = run_op("Pow", x, y, opset=20)[0]
    assert got.dtype == np.dtype(base)
    want = np.power(x.astype(np.float64), y.astype(np.float64)).astype(base)
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=1e-2)


def test_pow_scalar_square_fast_path_matches():
    x = rng.standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_array_equal(run_op("Pow", x, np.array(2.0, np.float32), opset=20)[0], x * x)
    np.testing.assert_allclose(run_op("Pow", np.abs(x), np.array(0.5, np.float32), opset=20)[0],
                               np.sqrt(np.abs(x)), rtol=1e-6)


# --------------------------------------------------------------------------- Erf

def test_erf_float64_accuracy():
    x = np.concatenate([np.linspace(-7, 7, 2001), np.logspace(-300, 0.8, 300), [1.0, 2.0, 6.0]])
    want = np.array([math.erf(v) for v in x])
    got = run_op("Erf", x, opset=13)[0]
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=0)


def test_erf_float32_accuracy_and_specials():
    x = np.linspace(-5, 5, 4001, dtype=np.float32)
    want = np.array([math.erf(float(v)) for v in x])
    got = run_op("Erf", x, opset=13)[0]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=5e-7, atol=1e-30)
    sp = run_op("Erf", np.array([np.nan, np.inf, -np.inf, -0.0], np.float32), opset=13)[0]
    assert np.isnan(sp[0]) and sp[1] == 1 and sp[2] == -1 and np.signbit(sp[3])


@pytest.mark.parametrize("dtype", [np.float16, BF16])
def test_erf_narrow_floats_keep_dtype(dtype):
    x = np.array([-2.0, -0.5, 0.0, 0.25, 1.0, 3.0], np.float32).astype(dtype)
    got = run_op("Erf", x, opset=13)[0]
    assert got.dtype == np.dtype(dtype)
    want = [math.erf(float(v)) for v in x.astype(np.float32)]
    np.testing.assert_allclose(got.astype(np.float32), want, rtol=1e-2, atol=1e-3)


# --------------------------------------------------------------------------- unary math

@pytest.mark.parametrize("op,fn", [("Exp", np.exp), ("Log", np.log), ("Sqrt", np.sqrt),
                                   ("Sin", np.sin), ("Tanh", np.tanh), ("Floor", np.floor),
                                   ("Abs", np.abs), ("Neg", np.negative),
                                   ("Reciprocal", np.reciprocal), ("Sign", np.sign)])
def test_unary_bfloat16_keeps_dtype(op, fn):
    x = np.array([0.5, 1.25, 2.0, 3.5], np.float32)
    got = run_op(op, x.astype(BF16), opset=13 if op != "Sin" else 7)[0]
    assert got.dtype == BF16
    np.testing.assert_allclose(got.astype(np.float32), fn(x), rtol=1e-2)


def test_round_half_to_even():
    x = np.array([0.5, 1.5, 2.5, -0.5, -2.5, 2.3, -4.5, np.inf, np.nan], np.float32)
    np.testing.assert_array_equal(run_op("Round", x, opset=11)[0],
                                  [0, 2, 2, -0.0, -2, 2, -4, np.inf, np.nan])


def test_isinf_flags_and_isnan_bfloat16():
    x = np.array([-np.inf, np.inf, 1.0, np.nan], np.float32)
    assert run_op("IsInf", x, opset=10)[0].tolist() == [True, True, False, False]
    got = run_op("IsInf", x, opset=10, detect_negative=0)[0]
    assert got.tolist() == [False, True, False, False]
    got = run_op("IsInf", x, opset=10, detect_positive=0)[0]
    assert got.tolist() == [True, False, False, False]
    assert run_op("IsNaN", x.astype(BF16), opset=20)[0].tolist() == [False, False, False, True]


# --------------------------------------------------------------------------- variadic

@pytest.mark.parametrize("op,fn", [("Sum", np.add), ("Max", np.maximum), ("Min", np.minimum)])
def test_variadic_broadcast_grows(op, fn):
    a = rng.standard_normal((3, 1)).astype(np.float32)
    b = rng.standard_normal((1, 4)).astype(np.float32)
    c = rng.standard_normal((2, 1, 1)).astype(np.float32)
    np.testing.assert_allclose(run_op(op, a, b, c, opset=13)[0], fn(fn(a, b), c), rtol=1e-6)


def test_mean_three_inputs_and_single_input_is_a_copy():
    a, b, c = (rng.standard_normal((2, 3)) for _ in range(3))
    np.testing.assert_allclose(run_op("Mean", a, b, c, opset=13)[0], (a + b + c) / 3)
    np.testing.assert_array_equal(run_op("Max", a, opset=13)[0], a)


# --------------------------------------------------------------------------- legacy opsets

def test_opset6_add_broadcast_axis():
    a = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    b = rng.standard_normal((3, 4)).astype(np.float32)
    got = run_op("Add", a, b, opset=6, broadcast=1, axis=1)[0]
    np.testing.assert_allclose(got, a + b[:, :, None], rtol=1e-6)
    c = rng.standard_normal(5).astype(np.float32)
    np.testing.assert_allclose(run_op("Mul", a, c, opset=6, broadcast=1)[0], a * c, rtol=1e-6)


# --------------------------------------------------------------------------- logical/bitwise

def test_strings_equal_and_where():
    a = np.array(["a", "bb", "c"], dtype=object)
    b = np.array(["a", "b", "c"], dtype=object)
    assert run_op("Equal", a, b, opset=19)[0].tolist() == [True, False, True]
    got = run_op("Where", np.array([True, False, True]), a, b, opset=16)[0]
    assert got.tolist() == ["a", "b", "c"]


def test_legacy_equal_broadcast():
    a = np.arange(6, dtype=np.int32).reshape(2, 3)
    got = run_op("Equal", a, np.array([0, 4, 2], np.int32), opset=1, broadcast=1)[0]
    np.testing.assert_array_equal(got, a == np.array([0, 4, 2]))


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.uint16])
def test_bitshift_out_of_range_shifts(dtype):
    bits = np.dtype(dtype).itemsize * 8
    x = np.array([5, 5, 5, 3], dtype=dtype)
    y = np.array([1, bits, bits + 1, 0], dtype=dtype)
    assert run_op("BitShift", x, y, opset=11, direction="LEFT")[0].tolist() == [10, 0, 0, 3]
    assert run_op("BitShift", x, y, opset=11, direction="RIGHT")[0].tolist() == [2, 0, 0, 3]
    if np.dtype(dtype).kind == "i":
        neg = np.array([-8, -8, -8], dtype=dtype)
        sh = np.array([1, -1, bits], dtype=dtype)
        assert run_op("BitShift", neg, sh, opset=20, direction="RIGHT")[0].tolist() == [-4, -1, -1]
        assert run_op("BitShift", neg, sh, opset=20, direction="LEFT")[0].tolist() == [-16, 0, 0]


def test_bitwise_not_unsigned():
    x = np.array([0, 1, 255], np.uint8)
    np.testing.assert_array_equal(run_op("BitwiseNot", x, opset=18)[0], [255, 254, 0])
