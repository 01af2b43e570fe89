"""QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, MatMulInteger and QLinearMatMul
(quantization.py) through InferenceSession, against NumPy formulas and onnxruntime."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from onnx import TensorProto

from builders import const, run_op, run_op_peer
from ai_engine.errors import EngineError

rng = np.random.default_rng(11)


def _q(x, scale, zp, lo, hi):
    return np.clip(np.rint(x / scale) + zp, lo, hi)


# --------------------------------------------------------------------------- QuantizeLinear

def test_quantize_rounds_half_to_even_and_saturates():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 300.0, -300.0, 254.5], np.float32)
    got = run_op("QuantizeLinear", x, const(np.float32(1.0)), const(np.uint8(0)), opset=19)[0]
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, [0, 2, 2, 0, 0, 255, 0, 254])
    got = run_op("QuantizeLinear", x, const(np.float32(1.0)), const(np.int8(1)), opset=19)[0]
    # Rounded first, then shifted: 2.5 -> 2 -> 3 (rounding 3.5 would give 4).
    np.testing.assert_array_equal(got, [1, 3, 3, 1, -1, 127, -128, 127])


@pytest.mark.parametrize("opset", [10, 13, 19])
@pytest.mark.parametrize("zp_dtype", [np.uint8, np.int8])
def test_quantize_per_tensor_matches_onnxruntime(opset, zp_dtype):
    x = (rng.standard_normal((2, 3, 4)) * 40).astype(np.float32)
    consts = {"s": np.float32(0.37), "zp": np.array(3, zp_dtype)}
    got = run_op("QuantizeLinear", x, *map(const, consts.values()), opset=opset)[0]
    np.testing.assert_array_equal(got, run_op_peer("QuantizeLinear", x,
                                                   *map(const, consts.values()), opset=opset)[0])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_quantize_per_axis_matches_onnxruntime(axis):
    x = (rng.standard_normal((3, 4, 5)) * 20).astype(np.float32)
    d = x.shape[axis]
    consts = {"s": rng.uniform(0.1, 1.0, d).astype(np.float32),
              "zp": rng.integers(-5, 5, d).astype(np.int8)}
    got = run_op("QuantizeLinear", x, *map(const, consts.values()), opset=13, axis=axis)[0]
    np.testing.assert_array_equal(got, run_op_peer("QuantizeLinear", x,
                                                   *map(const, consts.values()), opset=13,
                                                   axis=axis)[0])


@pytest.mark.parametrize("d,block", [(8, 4), (7, 3), (6, 6), (5, 8)])
def test_quantize_blocked(d, block):
    x = (rng.standard_normal((3, d)) * 20).astype(np.float32)
    nb = -(-d // block)
    s = rng.uniform(0.2, 2.0, (3, nb)).astype(np.float32)
    zp = rng.integers(0, 20, (3, nb)).astype(np.uint8)
    got = run_op("QuantizeLinear", x, const(s), const(zp), opset=21, axis=1, block_size=block)[0]
    es = np.repeat(s, block, axis=1)[:, :d]
    ez = np.repeat(zp, block, axis=1)[:, :d].astype(np.float32)
    np.testing.assert_array_equal(got, _q(x, es, ez, 0, 255).astype(np.uint8))


def test_quantize_blocked_rejects_wrong_scale_shape():
    x = np.zeros((3, 8), np.float32)
    with pytest.raises(EngineError):
        run_op("QuantizeLinear", x, const(np.ones((3, 3), np.float32)), opset=21, axis=1,
               block_size=4)


@pytest.mark.parametrize("onnx_type,dtype,lo,hi", [
    (TensorProto.INT4, ml_dtypes.int4, -8, 7), (TensorProto.UINT4, ml_dtypes.uint4, 0, 15),
    (TensorProto.INT16, np.int16, -32768, 32767), (TensorProto.UINT16, np.uint16, 0, 65535),
    (TensorProto.UINT8, np.uint8, 0, 255),
])
def test_quantize_output_dtype_without_zero_point(onnx_type, dtype, lo, hi):
    x = np.array([-1e6, -9.5, -2.5, -0.4, 0.5, 3.5, 7.49, 1e6], np.float32)
    got = run_op("QuantizeLinear", x, const(np.float32(1.0)), opset=21, output_dtype=onnx_type)[0]
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got.astype(np.int64), _q(x, 1.0, 0, lo, hi).astype(np.int64))


def test_quantize_default_output_is_uint8():
    x = np.array([-1.0, 2.0, 300.0], np.float32)
    got = run_op("QuantizeLinear", x, const(np.float32(1.0)), opset=13)[0]
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, [0, 2, 255])


@pytest.mark.parametrize("dtype", [ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2])
@pytest.mark.parametrize("saturate", [0, 1])
def test_quantize_float8_saturation(dtype, saturate):
    x = np.array([1.0, 3.3, 1e6, -1e6, np.inf, -np.inf, np.nan], np.float32)
    zp = np.zeros((), dtype)
    got = run_op("QuantizeLinear", x, const(np.float32(0.5)), const(zp), opset=19,
                 saturate=saturate)[0]
    assert got.dtype == np.dtype(dtype)
    m = float(ml_dtypes.finfo(dtype).max)
    y = x / 0.5
    want = (np.clip(y, -m, m) if saturate else y).astype(dtype)
    np.testing.assert_array_equal(got.astype(np.float32), want.astype(np.float32))
    if saturate:
        np.testing.assert_array_equal(got.astype(np.float32)[2:6], [m, -m, m, -m])


def test_quantize_float16_input_and_scale():
    x = np.array([1.0, -2.6, 100.2], np.float16)
    got = run_op("QuantizeLinear", x, const(np.float16(0.5)), const(np.int8(0)), opset=19)[0]
    np.testing.assert_array_equal(got, [2, -5, 127])


def test_quantize_mismatched_output_dtype_raises():
    with pytest.raises(EngineError):
        run_op("QuantizeLinear", np.zeros(3, np.float32), const(np.float32(1.0)),
               const(np.uint8(0)), opset=21, output_dtype=TensorProto.INT8)


# --------------------------------------------------------------------------- DequantizeLinear

@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_dequantize_matches_onnxruntime(dtype, axis):
    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max + 1, (4, 3)).astype(dtype)
    attrs = {}
    if axis is None:
        consts = {"s": np.float32(0.25), "zp": np.array(7, dtype)}
    else:
        d = x.shape[axis]
        consts = {"s": rng.uniform(0.1, 1, d).astype(np.float32),
                  "zp": rng.integers(0, 10, d).astype(dtype)}
        attrs["axis"] = axis
    got = run_op("DequantizeLinear", x, *map(const, consts.values()), opset=13, **attrs)[0]
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, run_op_peer("DequantizeLinear", x,
                                                   *map(const, consts.values()), opset=13,
                                                   **attrs)[0])


def test_dequantize_int32_without_zero_point():
    x = np.array([-5, 0, 1000], np.int32)
    got = run_op("DequantizeLinear", x, const(np.float32(0.5)), opset=19)[0]
    np.testing.assert_array_equal(got, [-2.5, 0, 500])


@pytest.mark.parametrize("d,block", [(8, 4), (7, 3)])
def test_dequantize_blocked(d, block):
    x = rng.integers(-8, 8, (2, d)).astype(ml_dtypes.int4)
    nb = -(-d // block)
    s = rng.uniform(0.2, 2.0, (2, nb)).astype(np.float32)
    zp = rng.integers(-2, 2, (2, nb)).astype(ml_dtypes.int4)
    got = run_op("DequantizeLinear", x, const(s), const(zp), opset=21, axis=1, block_size=block)[0]
    es = np.repeat(s, block, axis=1)[:, :d]
    ez = np.repeat(zp.astype(np.float32), block, axis=1)[:, :d]
    np.testing.assert_allclose(got, (x.astype(np.float32) - ez) * es, rtol=1e-6)


def test_dequantize_output_follows_scale_type_and_output_dtype():
    x = np.array([0, 10, 255], np.uint8)
    got = run_op("DequantizeLinear", x, const(np.float16(0.5)), const(np.uint8(10)), opset=19)[0]
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, [-5, 0, 122.5])
    got = run_op("DequantizeLinear", x, const(np.float32(0.5)), const(np.uint8(10)), opset=23,
                 output_dtype=TensorProto.FLOAT16)[0]
    assert got.dtype == np.float16


def test_dequantize_float8():
    x = np.array([1.0, -3.25, 448.0], np.float32).astype(ml_dtypes.float8_e4m3fn)
    got = run_op("DequantizeLinear", x, const(np.float32(2.0)), opset=19)[0]
    np.testing.assert_array_equal(got, [2.0, -6.5, 896.0])


# --------------------------------------------------------------------------- Dynamic

@pytest.mark.parametrize("x", [
    np.array([[0.0, 2.0, -3.0, 1000.0], [-1.5, 0.3, 5.0, 7.0]], np.float32),
    np.array([1.0, 2.0, 3.0], np.float32),           # all positive: range starts at 0
    np.array([-1.0, -2.0, -3.0], np.float32),        # all negative: range ends at 0
    np.zeros((2, 2), np.float32),                     # max == min: scale 1
])
def test_dynamic_quantize_matches_onnxruntime(x):
    got = run_op("DynamicQuantizeLinear", x, outputs=3, opset=11)
    want = run_op_peer("DynamicQuantizeLinear", x, outputs=3, opset=11)
    assert [g.dtype for g in got] == [np.uint8, np.float32, np.uint8]
    assert got[1].shape == () and got[2].shape == ()
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1], rtol=1e-7)
    np.testing.assert_array_equal(got[2], want[2])


# --------------------------------------------------------------------------- integer GEMMs

def _int_mm(a, b, azp=0, bzp=0):
    return np.matmul(a.astype(np.int64) - azp, b.astype(np.int64) - bzp)


@pytest.mark.parametrize("k", [7, 700, 2000, 30000])
def test_matmul_integer_is_exact_for_long_contractions(k):
    # Extreme values make float32 accumulation inexact beyond ~500 terms: this covers the
    # single float32 GEMM, the chunked float32 path and the float64 fallback.
    a = rng.choice(np.array([0, 255], np.uint8), size=(3, k))
    b = rng.choice(np.array([-128, 127], np.int8), size=(k, 2))
    azp = np.uint8(0)
    got = run_op("MatMulInteger", a, b, const(azp), opset=10)[0]
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, _int_mm(a, b))


def test_matmul_integer_zero_points_per_row_and_column():
    a = rng.integers(0, 256, (2, 4, 6)).astype(np.uint8)
    b = rng.integers(-128, 128, (6, 5)).astype(np.int8)
    azp = rng.integers(0, 256, 4).astype(np.uint8)
    bzp = rng.integers(-5, 5, 5).astype(np.int8)
    got = run_op("MatMulInteger", a, b, const(azp), const(bzp), opset=10)[0]
    want = np.matmul(a.astype(np.int64) - azp[:, None], b.astype(np.int64) - bzp)
    np.testing.assert_array_equal(got, want)


def test_matmul_integer_matches_onnxruntime():
    a = rng.integers(0, 256, (2, 3, 8)).astype(np.uint8)
    b = rng.integers(0, 256, (8, 4)).astype(np.uint8)
    feeds = {"a": a, "b": b}
    consts = {"azp": np.uint8(12), "bzp": np.uint8(130)}
    got = run_op("MatMulInteger", *feeds.values(), *map(const, consts.values()), opset=10)[0]
    np.testing.assert_array_equal(got, run_op_peer("MatMulInteger", *feeds.values(),
                                                   *map(const, consts.values()), opset=10)[0])


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
@pytest.mark.parametrize("shapes", [((4, 16), (16, 3)), ((2, 4, 16), (16, 3))])
def test_qlinear_matmul_matches_onnxruntime(dtype, shapes):
    info = np.iinfo(dtype)
    a = rng.integers(info.min, info.max + 1, shapes[0]).astype(dtype)
    b = rng.integers(info.min, info.max + 1, shapes[1]).astype(dtype)
    bz = np.array(-2 if dtype == np.int8 else 140, dtype)
    inputs = [a, *map(const, [np.float32(0.02), np.array(3, dtype), b, np.float32(0.03), bz,
                              np.float32(0.5), np.array(5, dtype)])]
    got = run_op("QLinearMatMul", *inputs, opset=10)[0]
    want = run_op_peer("QLinearMatMul", *inputs, opset=10)[0]
    assert got.dtype == dtype
    # onnxruntime rescales in float32; a product landing within float32 rounding of a .5
    # tie may round the other way, so allow one unit on rare elements.
    assert np.abs(got.astype(np.int64) - want.astype(np.int64)).max() <= 1
    assert np.mean(got == want) > 0.95
    acc = _int_mm(a, b, 3, int(bz))
    ref = np.clip(np.rint(acc * np.float64(np.float32(0.02) * np.float32(0.03)
                                          / np.float32(0.5))) + 5, info.min, info.max)
    np.testing.assert_array_equal(got, ref.astype(dtype))
