"""Linear quantization: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, MatMulInteger
and QLinearMatMul.

https://onnx.ai/onnx/operators/onnx__QuantizeLinear.html,
https://onnx.ai/onnx/operators/onnx__DequantizeLinear.html,
https://onnx.ai/onnx/operators/onnx__DynamicQuantizeLinear.html,
https://onnx.ai/onnx/operators/onnx__MatMulInteger.html,
https://onnx.ai/onnx/operators/onnx__QLinearMatMul.html.

Granularity follows the scale's shape: per tensor (one value), per axis (1-D along ``axis``,
opset 13) or blocked (same rank as x, ``ceil(D/block_size)`` along ``axis``, opset 21).
Integer outputs round half to even and saturate to the type's range (int2...uint16); float8
outputs saturate to the largest finite value when ``saturate=1`` (the default) and otherwise
follow the plain cast (overflow to NaN for e4m3fn, to inf for e5m2); float4/float6 have no
inf/NaN and always saturate.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

from ai_engine.core.dtypes import to_numpy
from ai_engine.engine.operators.indexing import normalize_axis
from ai_engine.engine.registry import register

_NATIVE_FLOATS = frozenset(np.dtype(t) for t in (np.float16, np.float32, np.float64))
_INTEGER_QTYPES = frozenset(np.dtype(t) for t in (np.int8, np.uint8, np.int16, np.uint16,
                                                  np.int32, np.uint32))
_SUB_BYTE_INTS = frozenset(np.dtype(getattr(ml_dtypes, n)) for n in
                           ("int4", "uint4", "int2", "uint2") if hasattr(ml_dtypes, n))


def _is_int_qtype(dtype) -> bool:
    return dtype in _INTEGER_QTYPES or dtype in _SUB_BYTE_INTS


def _int_range(dtype):
    info = ml_dtypes.iinfo(dtype) if dtype in _SUB_BYTE_INTS else np.iinfo(dtype)
    return int(info.min), int(info.max)


def _operand(x):
    """``x`` as a native float for arithmetic: native floats unchanged, integers in float64
    (exact for int32), ml_dtypes values (bfloat16, float8, e8m0 scales...) in float32."""
    if x.dtype in _NATIVE_FLOATS:
        return x
    return x.astype(np.float64 if x.dtype.kind in "iu" else np.float32)


# --------------------------------------------------------------------------- granularity

def _granular(xp, x, params, axis, block_size, op):
    """``x`` and each of ``params`` (scale, zero point or None) shaped to broadcast together.

    Blocked parameters whose block divides the axis are matched by splitting that axis of x
    into (blocks, block_size), which avoids materialising a full-size scale; the caller
    reshapes the result back to ``x.shape``. Otherwise parameters are repeated per element.
    """
    scale = params[0]
    if block_size and block_size < 0:
        raise ValueError(f"{op}: block_size must be positive, got {block_size}")
    if block_size and scale.ndim == x.ndim and scale.ndim > 0:
        ax = normalize_axis(axis, x.ndim, op)
        d, b = x.shape[ax], block_size
        want = x.shape[:ax] + (-(-d // b),) + x.shape[ax + 1:]
        for p in params:
            if p is not None and tuple(p.shape) != want:
                raise ValueError(f"{op}: blocked quantization of x {tuple(x.shape)} with "
                                 f"block_size {b} on axis {ax} needs scale/zero point of "
                                 f"shape {want}, got {tuple(p.shape)}")
        if d % b == 0:
            split = x.shape[:ax] + (d // b, b) + x.shape[ax + 1:]
            return x.reshape(split), [None if p is None else
                                      p.reshape(want[:ax + 1] + (1,) + want[ax + 1:])
                                      for p in params]
        return x, [None if p is None else
                   xp.repeat(p, b, axis=ax)[(slice(None),) * ax + (slice(0, d),)]
                   for p in params]
    if scale.size == 1 and scale.ndim <= 1:
        return x, [None if p is None else p.reshape(()) for p in params]
    if scale.ndim != 1:
        raise ValueError(f"{op}: scale of shape {tuple(scale.shape)} is neither per-tensor, "
                         f"per-axis (1-D) nor blocked (block_size={block_size})")
    ax = normalize_axis(axis, x.ndim, op)
    if scale.shape[0] != x.shape[ax]:
        raise ValueError(f"{op}: per-axis scale has {scale.shape[0]} values but axis {ax} of "
                         f"x {tuple(x.shape)} has {x.shape[ax]}")
    shape = (1,) * ax + (-1,) + (1,) * (x.ndim - ax - 1)
    return x, [None if p is None else p.reshape(shape) for p in params]


# --------------------------------------------------------------------------- casts

def _saturate_to(xp, y, dtype, saturate=True, rounded=False):
    """Float values ``y`` (already scaled and shifted; a fresh array the caller hands over,
    rounded and clipped in place) to the quantized ``dtype``."""
    y = xp.asarray(y)  # a 0-d quotient comes back as a NumPy scalar
    if _is_int_qtype(dtype):
        lo, hi = _int_range(dtype)
        if not rounded:
            y = xp.rint(y, out=y)
        y = xp.clip(y, lo, hi, out=y)
        # Sub-byte ints are reached through int8 (ml_dtypes casts between integers exactly).
        if dtype in _SUB_BYTE_INTS:
            return y.astype(np.int8).astype(dtype)
        return y.astype(dtype)
    finfo = ml_dtypes.finfo(dtype)
    if saturate or not dtype.name.startswith("float8"):
        # float4/float6 have no inf/NaN: saturating is their only behaviour.
        m = float(finfo.max)
        y = xp.clip(y, -m, m, out=y)
    return y.astype(dtype)


def _out_dtype(zero_point, output_dtype, op):
    if zero_point is not None:
        if output_dtype and to_numpy(output_dtype) != zero_point.dtype:
            raise ValueError(f"{op}: output_dtype {to_numpy(output_dtype)} differs from the "
                             f"zero point type {zero_point.dtype}")
        return zero_point.dtype
    return to_numpy(output_dtype) if output_dtype else np.dtype(np.uint8)


# --------------------------------------------------------------------------- QuantizeLinear

@register("QuantizeLinear", since=10)  # later versions only add attributes/types
def quantize_linear(xp, x, y_scale, y_zero_point=None, *, axis=1, block_size=0,
                    output_dtype=0, precision=0, saturate=1):
    """QuantizeLinear-10..25: ``saturate(round(x / y_scale) + y_zero_point)``.

    The division is done in the type of x and y_scale promoted (float32 for the ml_dtypes
    scales), or in ``precision`` when given (opset 23).
    """
    op = "QuantizeLinear"
    dtype = _out_dtype(y_zero_point, output_dtype, op)
    xs, (s, zp) = _granular(xp, x, [y_scale, y_zero_point], axis, block_size, op)
    if precision:
        p = to_numpy(precision)
        xs, s = xs.astype(p), s.astype(p)
    y = xp.asarray(_operand(xs) / _operand(s))  # fresh: rounded and shifted in place below
    if precision and p not in _NATIVE_FLOATS:
        y = y.astype(p).astype(np.float32)  # a quotient rounded to e.g. bfloat16
    if y.dtype == np.float16:
        # A float16 quotient is exact in float32; a 16-bit zero point may not be in float16.
        y = y.astype(np.float32)
    if _is_int_qtype(dtype):
        # Round first, then shift: rint(y + zp) differs from rint(y) + zp on .5 ties.
        y = xp.rint(y, out=y)
        if zp is not None:
            y += zp.astype(y.dtype)
        out = _saturate_to(xp, y, dtype, rounded=True)
    else:
        if zp is not None:
            y += zp.astype(y.dtype)
        out = _saturate_to(xp, y, dtype, bool(saturate))
    return out.reshape(x.shape) if out.shape != x.shape else out


# --------------------------------------------------------------------------- DequantizeLinear

@register("DequantizeLinear", since=10)  # later versions only add attributes/types
def dequantize_linear(xp, x, x_scale, x_zero_point=None, *, axis=1, block_size=0,
                      output_dtype=0):
    """DequantizeLinear-10..25: ``(x - x_zero_point) * x_scale`` computed in float32, in the
    dtype of x_scale or ``output_dtype`` (opset 23)."""
    op = "DequantizeLinear"
    out = to_numpy(output_dtype) if output_dtype else x_scale.dtype
    if out.name.startswith("float8_e8m0"):
        out = np.dtype(np.float32)  # e8m0 is a scale-only type, never an output type
    if x_zero_point is not None and x_zero_point.dtype != x.dtype:
        raise ValueError(f"{op}: x_zero_point type {x_zero_point.dtype} differs from x type "
                         f"{x.dtype}")
    xs, (s, zp) = _granular(xp, x, [x_scale, x_zero_point], axis, block_size, op)
    y = xs.astype(np.float32)  # a fresh array: the shift and the scaling go into it in place
    if zp is not None:
        y -= zp.astype(np.float32)
    y *= s if s.dtype == np.float32 else s.astype(np.float32)
    if y.shape != x.shape:
        y = y.reshape(x.shape)
    return y if y.dtype == out else y.astype(out)


# --------------------------------------------------------------------------- Dynamic

@register("DynamicQuantizeLinear", since=11)
def dynamic_quantize_linear(xp, x):
    """DynamicQuantizeLinear-11: uint8 quantization with scale and zero point computed from
    the data range extended to include 0 (float32 arithmetic as the spec's formula)."""
    xf = x if x.dtype == np.float32 else x.astype(np.float32)
    if xf.size:
        hi = np.float32(max(0.0, float(xp.max(xf))))
        lo = np.float32(min(0.0, float(xp.min(xf))))
    else:
        hi = lo = np.float32(0.0)
    scale = np.float32(1.0) if hi == lo else (hi - lo) / np.float32(255.0)
    zp = np.rint(np.clip(np.float32(0.0) - lo / scale, 0, 255))
    y = xp.rint(xf / scale)
    y += zp
    y = xp.clip(y, 0, 255, out=y).astype(np.uint8)
    return (y, xp.asarray(scale, dtype=x.dtype),
            xp.asarray(np.uint8(zp), dtype=np.uint8))


# --------------------------------------------------------------------------- integer GEMM

def _centered(x, zero_point, per_row: bool):
    """``x - zero_point`` as float32; a 1-D per-row zero point of A becomes a column."""
    v = x.astype(np.float32)
    if zero_point is not None:
        zp = zero_point.astype(np.float32)
        if zp.size == 1:
            zp = zp.reshape(())
        elif per_row and zp.ndim == 1 and x.ndim >= 2:
            zp = zp.reshape(-1, 1)
        v -= zp
    return v


def _exact_int_matmul(xp, a, b):
    """``a @ b`` for float32 arrays holding integers, exact.

    float32 BLAS is exact while every partial sum stays below 2**24; with ``m = max|a| *
    max|b|`` that holds for contractions of up to ``2**24 // m`` terms. Longer ones are
    split into chunks of that length accumulated in float64 (exact below 2**53), or done in
    float64 BLAS outright when that would take many chunks.
    """
    k = a.shape[-1]
    if k == 0 or a.size == 0 or b.size == 0:
        return xp.matmul(a, b).astype(np.float64)
    m = float(xp.abs(a).max()) * float(xp.abs(b).max())
    chunk = int(2 ** 24 // m) if m else k
    if chunk >= k:
        return xp.matmul(a, b)
    if -(-k // chunk) > 8:
        return xp.matmul(a.astype(np.float64), b.astype(np.float64))
    acc = None
    for s in range(0, k, chunk):
        part = xp.matmul(a[..., s:s + chunk], b[..., s:s + chunk, :]) if b.ndim > 1 else \
            xp.matmul(a[..., s:s + chunk], b[s:s + chunk])
        acc = part.astype(np.float64) if acc is None else acc + part
    return acc


@register("MatMulInteger", since=10)
def matmul_integer(xp, a, b, a_zero_point=None, b_zero_point=None):
    """MatMulInteger-10: int32 ``(A - a_zero_point) @ (B - b_zero_point)`` with MatMul's
    broadcasting; zero points per tensor, per row of A or per column of B."""
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"MatMulInteger: operands must have rank >= 1, got {a.shape} and "
                         f"{b.shape}")
    acc = _exact_int_matmul(xp, _centered(a, a_zero_point, True),
                            _centered(b, b_zero_point, False))
    # Exact integers; int32 wrap-around is the spec's overflow behaviour.
    return acc.astype(np.int64).astype(np.int32)


def _row_param(p, a_ndim):
    """A per-row parameter of A as a column (1-D of M values -> (M, 1))."""
    if p.size == 1:
        return p.reshape(())
    return p.reshape(-1, 1) if p.ndim == 1 and a_ndim >= 2 else p


def _ts(p):
    """Scales multiply in their own precision (float16 stays float16), ml_dtypes in float32."""
    return p if p.dtype in _NATIVE_FLOATS else p.astype(np.float32)


@register("QLinearMatMul", since=10)
@register("QLinearMatMul", since=21)
def qlinear_matmul(xp, a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale,
                   y_zero_point):
    """QLinearMatMul-10/21: the integer product rescaled by ``a_scale * b_scale / y_scale``,
    rounded half to even, shifted by y_zero_point and saturated (float8 types from 21)."""
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"QLinearMatMul: operands must have rank >= 1, got {a.shape} and "
                         f"{b.shape}")
    ac = _centered(a, a_zero_point, True)
    bc = _centered(b, b_zero_point, False)
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        acc = _exact_int_matmul(xp, ac, bc)
    else:
        acc = xp.matmul(ac.astype(np.float64), bc.astype(np.float64))
    # The multiplier is formed in the scales' type, as the reference does, then applied in
    # float64 so the rounding of the product matches an int32 accumulator times it.
    mult = _row_param(_ts(a_scale), a.ndim) * _ts(b_scale) / _ts(y_scale)
    y = xp.multiply(acc, mult.astype(np.float64), dtype=np.float64)
    dtype = (y_zero_point if y_zero_point is not None else a).dtype
    if _is_int_qtype(dtype):
        y = xp.rint(y, out=y)
    if y_zero_point is not None:
        y += y_zero_point.astype(np.float64)
    return _saturate_to(xp, y, dtype)
