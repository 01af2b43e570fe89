"""com.microsoft QuantizeLinear / DequantizeLinear, and the helpers the other quantized contrib
kernels share (per-tensor parameters, requantization, 256-entry lookup tables).

Spec: onnxruntime docs/ContribOperators.md (com.microsoft.QuantizeLinear,
com.microsoft.DequantizeLinear). onnxruntime registers its ONNX kernels under the Microsoft
domain for these two, so they behave as ONNX QuantizeLinear-10/13 and DequantizeLinear-10/13:
per tensor or per ``axis`` (default 1), integer outputs rounded half to even and saturated.

"Exact" in this package means: the value the operator's formula gives in real arithmetic on the
given (float32) scales, rounded half to even and saturated. Integer sums are exact (int64 or
float64 below 2**53) and the rescaling is done in float64, so a result differs from the real
value only when a product lands within ~1e-16 relative of a .5 tie.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.operators.quantization import (
    _int_range, _saturate_to, dequantize_linear, quantize_linear)
from ai_engine.engine.registry import register

MS_DOMAIN = "com.microsoft"

_EIGHT_BIT = (np.dtype(np.uint8), np.dtype(np.int8))


@register("QuantizeLinear", since=1, domain=MS_DOMAIN)
def ms_quantize_linear(xp, x, y_scale, y_zero_point=None, *, axis=1):
    """com.microsoft.QuantizeLinear-1: ``saturate(round(x / y_scale) + y_zero_point)``, per
    tensor or along ``axis``; uint8 when the zero point is omitted (the ONNX kernel's rule)."""
    return quantize_linear(xp, x, y_scale, y_zero_point, axis=axis)


@register("DequantizeLinear", since=1, domain=MS_DOMAIN)
def ms_dequantize_linear(xp, x, x_scale, x_zero_point=None, *, axis=1):
    """com.microsoft.DequantizeLinear-1: ``(x - x_zero_point) * x_scale`` in the scale's type,
    per tensor or along ``axis``."""
    return dequantize_linear(xp, x, x_scale, x_zero_point, axis=axis)


# --------------------------------------------------------------------------- shared helpers

def eight_bit(x, op: str, what: str = "input"):
    """``x``'s dtype, which must be uint8 or int8 (the T of every QLinear* op)."""
    if x.dtype not in _EIGHT_BIT:
        raise ValueError(f"{op}: {what} must be uint8 or int8, got {x.dtype}")
    return x.dtype


def scalar(p, op: str, what: str):
    """A per-tensor parameter (scalar or 1-element tensor) as a Python number."""
    if p.size != 1 or p.ndim > 1:
        raise ValueError(f"{op}: {what} must be a scalar or a 1-element 1-D tensor, got shape "
                         f"{tuple(p.shape)}")
    v = np.asarray(p).reshape(())
    return float(v) if v.dtype.kind == "f" else int(v)


def zero_point(zp, dtype, op: str, what: str) -> int:
    """A per-tensor zero point of type ``dtype`` as an int (0 when omitted)."""
    if zp is None:
        return 0
    if zp.dtype != dtype:
        raise ValueError(f"{op}: {what} has type {zp.dtype}, the data has {dtype}")
    return scalar(zp, op, what)


def requantize(xp, y, dtype):
    """Real values ``y`` (float64, already divided by the output scale and shifted by its zero
    point) rounded half to even and saturated to ``dtype``."""
    return _saturate_to(xp, xp.asarray(y, dtype=np.float64), np.dtype(dtype))


def table_index(x):
    """The uint8 view of 8-bit data: the index of each value in a 256-entry lookup table."""
    return x.view(np.uint8) if x.dtype == np.int8 else x


def all_codes(dtype):
    """The 256 values of an 8-bit type in the order of their uint8 bit patterns."""
    return np.arange(256, dtype=np.uint8).view(dtype)


def lookup(xp, x, table):
    """``table[x]`` for 8-bit ``x``: a unary quantized op as one gather."""
    return xp.take(xp.asarray(table), table_index(x))


def dequantized_codes(dtype, scale: float, zp: int):
    """Every value of ``dtype`` dequantized as ONNX DequantizeLinear does (float32), then held
    in float64 for the float math that follows."""
    codes = all_codes(dtype)
    v = dequantize_linear(np, codes, np.asarray(scale, np.float32),
                          np.asarray(zp, dtype=dtype))
    return v.astype(np.float64)


def quantize_table(values, scale: float, zp: int, dtype):
    """float64 ``values`` quantized with (``scale``, ``zp``): ``saturate(rint(v / scale) + zp)``
    with the division in float64 (the exact quotient of the float32 scale)."""
    q = np.rint(values / np.float64(np.float32(scale)))
    q += zp
    lo, hi = _int_range(np.dtype(dtype))
    return np.clip(q, lo, hi, out=q).astype(dtype)
