"""Cast, CastLike and BitCast (cast.py) through InferenceSession, against NumPy/ml_dtypes and
the tables of the Cast spec. The ONNX backend node cases run separately (tests/conformance);
these cover strings, float8 saturation specials, FLOAT8E8M0 and BitCast corners."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from onnx import TensorProto

from builders import run_op
from ai_engine.errors import EngineError

F = TensorProto


SPECIALS = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1e6, -1e6, 0.3, 500.0], np.float32)


# --------------------------------------------------------------------------- numeric

@pytest.mark.parametrize("src,dst", [
    (np.float32, F.INT8), (np.int16, F.INT8), (np.float64, F.FLOAT16), (np.int64, F.DOUBLE),
    (np.float32, F.BOOL), (np.bool_, F.FLOAT), (np.uint8, F.INT64), (np.float16, F.UINT8),
])
def test_numeric_pairs_follow_numpy(src, dst):
    x = np.array([0, 1, 2, 3, 7, 100, 200], dtype=src)
    y = run_op("Cast", x, opset=25, to=dst)[0]
    from ai_engine.core.dtypes import to_numpy
    np.testing.assert_array_equal(y, x.astype(to_numpy(dst)))
    assert y.dtype == to_numpy(dst)


def test_fixed_point_wraps():
    y = run_op("Cast", np.array([200, -129], np.int16), opset=25, to=F.INT8)[0]
    np.testing.assert_array_equal(y, [-56, 127])


def test_same_type_is_identity_and_opset6():
    x = np.arange(4, dtype=np.float32)
    np.testing.assert_array_equal(run_op("Cast", x, opset=6, to=F.FLOAT)[0], x)
    np.testing.assert_array_equal(run_op("Cast", x, opset=9, to=F.INT32)[0], np.arange(4))


@pytest.mark.parametrize("dst,dtype", [(F.BFLOAT16, ml_dtypes.bfloat16),
                                       (F.FLOAT4E2M1, ml_dtypes.float4_e2m1fn),
                                       (F.INT4, ml_dtypes.int4), (F.UINT4, ml_dtypes.uint4)])
def test_ml_dtypes_targets_and_back(dst, dtype):
    x = np.array([0.0, 1.0, 2.5, -3.0, 6.0, 7.0], np.float32)
    y = run_op("Cast", x, opset=25, to=dst)[0]
    assert y.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(y.astype(np.float32), x.astype(dtype).astype(np.float32))
    back = run_op("Cast", y, opset=25, to=F.FLOAT)[0]
    assert back.dtype == np.float32


# --------------------------------------------------------------------------- float8

F8 = [(F.FLOAT8E4M3FN, ml_dtypes.float8_e4m3fn), (F.FLOAT8E4M3FNUZ, ml_dtypes.float8_e4m3fnuz),
      (F.FLOAT8E5M2, ml_dtypes.float8_e5m2), (F.FLOAT8E5M2FNUZ, ml_dtypes.float8_e5m2fnuz)]


@pytest.mark.parametrize("dst,dtype", F8)
@pytest.mark.parametrize("src", [np.float32, np.float16])
def test_float8_saturate_table(dst, dtype, src):
    with np.errstate(over="ignore"):
        x = SPECIALS.astype(src)
    y = run_op("Cast", x, opset=19, to=dst)[0].astype(np.float32)
    fmax = float(ml_dtypes.finfo(dtype).max)
    expected = np.clip(x.astype(np.float32), -fmax, fmax).astype(dtype).astype(np.float32)
    np.testing.assert_array_equal(y, expected)
    assert y[3] == fmax and y[4] == -fmax and np.isnan(y[2])


@pytest.mark.parametrize("dst,dtype", F8)
def test_float8_no_saturate_table(dst, dtype):
    y = run_op("Cast", SPECIALS, opset=25, to=dst, saturate=0)[0].astype(np.float32)
    if dtype is ml_dtypes.float8_e5m2:
        assert y[3] == np.inf and y[4] == -np.inf and y[5] == np.inf
    else:  # no infinity in these types: out of range is NaN
        assert np.isnan(y[3]) and np.isnan(y[4]) and np.isnan(y[5])
    fnuz = dtype in (ml_dtypes.float8_e4m3fnuz, ml_dtypes.float8_e5m2fnuz)
    assert np.signbit(y[1]) != fnuz  # -0 exists only without "uz"


def test_float8_from_int_and_double_saturates():
    y = run_op("Cast", np.array([1000, -1000, 3], np.int32), opset=25, to=F.FLOAT8E4M3FN)[0]
    np.testing.assert_array_equal(y.astype(np.float32), [448, -448, 3])
    y = run_op("Cast", np.array([1e300], np.float64), opset=25, to=F.FLOAT8E5M2)[0]
    assert y.astype(np.float32)[0] == 57344


def test_float8e8m0_round_modes():
    x = np.array([0.25, 1.1, 3.0, 2.0 ** 127 * 1.5, np.nan, np.inf], np.float32)
    up = run_op("Cast", x, opset=25, to=F.FLOAT8E8M0, saturate=1, round_mode="up")[0].view(np.uint8)
    np.testing.assert_array_equal(up, [125, 128, 129, 254, 255, 254])
    down = run_op("Cast", x, opset=25, to=F.FLOAT8E8M0, round_mode="down")[0].view(np.uint8)
    np.testing.assert_array_equal(down[:4], [125, 127, 128, 254])
    nearest = run_op("Cast", x, opset=25, to=F.FLOAT8E8M0, saturate=0,
                     round_mode="nearest")[0].view(np.uint8)
    np.testing.assert_array_equal(nearest, [125, 127, 129, 255, 255, 255])


# --------------------------------------------------------------------------- strings

def test_float_to_string():
    x = np.array([0.47892547, 1.0, np.nan, np.inf, -np.inf, 1e10], np.float32)
    y = run_op("Cast", x, opset=25, to=F.STRING)[0]
    assert y.dtype == object
    assert y.tolist() == ["0.47892547", "1.0", "nan", "inf", "-inf", "1e+10"]
    y = run_op("Cast", np.array([3, -7], np.int64), opset=25, to=F.STRING)[0]
    assert y.tolist() == ["3", "-7"]


def test_string_to_numbers():
    s = np.array(["3.14", "1e-5", "1E8", "+INF", "-inf", "NaN", "inf"], dtype=object)
    y = run_op("Cast", s, opset=25, to=F.FLOAT)[0]
    np.testing.assert_array_equal(
        y, np.array([3.14, 1e-5, 1e8, np.inf, -np.inf, np.nan, np.inf], np.float32))
    big = np.array(["9007199254740993", "-5", "100.5"], dtype=object)
    np.testing.assert_array_equal(run_op("Cast", big, opset=25, to=F.INT64)[0],
                                  [9007199254740993, -5, 100])
    y = run_op("Cast", np.array(["0.5", "1000"], dtype=object), opset=25, to=F.FLOAT8E4M3FN)[0]
    np.testing.assert_array_equal(y.astype(np.float32), [0.5, 448])


# --------------------------------------------------------------------------- CastLike / BitCast

def test_castlike():
    x = np.array([1.7, -2.2, 1e4], np.float32)
    like = np.zeros(1, np.float16)
    np.testing.assert_array_equal(run_op("CastLike", x, like, opset=25)[0], x.astype(np.float16))
    like8 = np.zeros(1, ml_dtypes.float8_e4m3fn)
    y = run_op("CastLike", x, like8, opset=25, saturate=0)[0]
    assert np.isnan(y.astype(np.float32)[2])
    y = run_op("CastLike", x, np.zeros(1, np.int32), opset=15)[0]
    np.testing.assert_array_equal(y, [1, -2, 10000])


@pytest.mark.parametrize("src,dst,to", [
    (np.float32, np.int32, F.INT32), (np.uint16, np.float16, F.FLOAT16),
    (np.int64, np.float64, F.DOUBLE), (np.bool_, np.uint8, F.UINT8),
    (np.int8, ml_dtypes.float8_e4m3fn, F.FLOAT8E4M3FN),
])
def test_bitcast(src, dst, to):
    x = np.array([1, 0, 3, 64], dtype=src)
    y = run_op("BitCast", x, opset=26, to=to)[0]
    assert y.dtype == np.dtype(dst)
    np.testing.assert_array_equal(y.view(np.uint8), x.view(np.uint8))


def test_bitcast_4bit_and_width_mismatch():
    x = np.array([-1, -8, 7, 0], ml_dtypes.int4)
    y = run_op("BitCast", x, opset=26, to=F.UINT4)[0]
    np.testing.assert_array_equal(y.astype(np.int32), [15, 8, 7, 0])
    with pytest.raises(EngineError):
        run_op("BitCast", np.zeros(2, np.float32), opset=26, to=F.INT16)
