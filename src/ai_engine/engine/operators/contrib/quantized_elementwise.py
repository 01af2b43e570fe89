"""com.microsoft QLinearAdd, QLinearMul, QLinearSigmoid, QLinearLeakyRelu, QLinearSoftmax and
QLinearConcat: element-wise ops on per-tensor quantized 8-bit data.

Spec: onnxruntime docs/ContribOperators.md. Every op is "dequantize, compute, quantize":
inputs dequantize as ONNX DequantizeLinear does (float32), the float op and the division by
the output scale run in float64, and the result rounds half to even and saturates
(quantized.py says what "exact" means here).

How this compares with onnxruntime's x86 kernels (measured in the tests):
- QLinearLeakyRelu and QLinearConcat build the same 256-entry table onnxruntime builds and agree
  with it exactly but for ties that its float32 arithmetic rounds differently.
- QLinearSigmoid: onnxruntime evaluates a polynomial approximation of the logistic function
  (MlasComputeLogistic), so a value next to a rounding boundary can land one step away.
- QLinearAdd/QLinearMul: onnxruntime folds the scale ratios into float32 fused multiply-adds,
  which can move a result next to a .5 boundary by one step.
- QLinearSoftmax: onnxruntime multiplies by ``floor(1 / y_scale)`` instead of dividing by
  y_scale (the same for the usual 1/256), and its int8 kernel wraps a probability of 1.0 to
  -128 instead of saturating to 127; ai-engine saturates as every other quantized op does.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.operators.contrib.quantized import (
    MS_DOMAIN, dequantized_codes, eight_bit, lookup, quantize_table, requantize, scalar,
    table_index, zero_point)
from ai_engine.engine.operators.indexing import normalize_axis
from ai_engine.engine.registry import register


def _params(x, scale, zp, op, what):
    """(dtype, scale, zero point) of one per-tensor quantized operand."""
    dtype = eight_bit(x, op, what)
    return dtype, scalar(scale, op, f"{what}_scale"), zero_point(zp, dtype, op,
                                                                  f"{what}_zero_point")


def _broadcast(a, b, op):
    try:
        return np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} do not "
                         f"broadcast") from None


def _centered(xp, x, zp):
    """``x - zp`` as exact float64."""
    v = x.astype(np.float64)
    if zp:
        v -= zp
    return v


def _binary_params(op, a, a_scale, a_zero_point, b, b_scale, b_zero_point, c_scale,
                   c_zero_point):
    """The checked quantization parameters of a binary QLinear op: (dtype, (A scale, zero
    point), (B ...), (C ...)); A and B must share the quantized dtype and broadcast."""
    dt, sa, za = _params(a, a_scale, a_zero_point, op, "A")
    _, sb, zb = _params(b, b_scale, b_zero_point, op, "B")
    if b.dtype != dt:
        raise ValueError(f"{op}: A is {dt} but B is {b.dtype}")
    sc, zc = scalar(c_scale, op, "C_scale"), zero_point(c_zero_point, dt, op, "C_zero_point")
    _broadcast(a, b, op)
    return dt, (sa, za), (sb, zb), (sc, zc)


@register("QLinearAdd", since=1, domain=MS_DOMAIN)
def qlinear_add(xp, a, a_scale, a_zero_point, b, b_scale, b_zero_point, c_scale,
                c_zero_point=None):
    """QLinearAdd-1: ``C = (A_scale*(A - A_zp) + B_scale*(B - B_zp)) / C_scale + C_zp`` with
    NumPy broadcasting."""
    dt, (sa, za), (sb, zb), (sc, zc) = _binary_params(
        "QLinearAdd", a, a_scale, a_zero_point, b, b_scale, b_zero_point, c_scale, c_zero_point)
    y = _centered(xp, a, za)
    y *= np.float64(np.float32(sa))
    y = y + _centered(xp, b, zb) * np.float64(np.float32(sb))
    y /= np.float64(np.float32(sc))
    y += zc
    return requantize(xp, y, dt)


@register("QLinearMul", since=1, domain=MS_DOMAIN)
def qlinear_mul(xp, a, a_scale, a_zero_point, b, b_scale, b_zero_point, c_scale,
                c_zero_point=None):
    """QLinearMul-1: ``C = (A - A_zp)*(B - B_zp) * (A_scale*B_scale/C_scale) + C_zp`` with
    NumPy broadcasting (the integer product is exact)."""
    dt, (sa, za), (sb, zb), (sc, zc) = _binary_params(
        "QLinearMul", a, a_scale, a_zero_point, b, b_scale, b_zero_point, c_scale, c_zero_point)
    y = _centered(xp, a, za) * _centered(xp, b, zb)
    y *= np.float64(np.float32(sa)) * np.float64(np.float32(sb))
    y /= np.float64(np.float32(sc))
    y += zc
    return requantize(xp, y, dt)


def _unary_table(x, x_scale, x_zero_point, y_scale, y_zero_point, op, fn):
    """The 256-entry table of ``quantize(fn(dequantize(code)))`` for x's type."""
    dt, sx, zx = _params(x, x_scale, x_zero_point, op, "X")
    sy, zy = scalar(y_scale, op, "Y_scale"), zero_point(y_zero_point, dt, op, "Y_zero_point")
    return quantize_table(fn(dequantized_codes(dt, sx, zx)), sy, zy, dt)


def _logistic(v):
    # exp(-v) overflows to inf for v < -709 and gives the correct 0; no cancellation.
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-v))


@register("QLinearSigmoid", since=1, domain=MS_DOMAIN)
def qlinear_sigmoid(xp, x, x_scale, x_zero_point=None, y_scale=None, y_zero_point=None):
    """QLinearSigmoid-1: ``quantize(1 / (1 + exp(-dequantize(x))))``."""
    if y_scale is None:
        raise ValueError("QLinearSigmoid: Y_scale is required")
    table = _unary_table(x, x_scale, x_zero_point, y_scale, y_zero_point, "QLinearSigmoid",
                         _logistic)
    return lookup(xp, x, table)


@register("QLinearLeakyRelu", since=1, domain=MS_DOMAIN)
def qlinear_leaky_relu(xp, x, x_scale, x_zero_point=None, y_scale=None, y_zero_point=None, *,
                       alpha=0.01):
    """QLinearLeakyRelu-1: ``quantize(v if v >= 0 else alpha * v)`` for ``v = dequantize(x)``."""
    if y_scale is None:
        raise ValueError("QLinearLeakyRelu: Y_scale is required")
    a = np.float64(np.float32(alpha))
    table = _unary_table(x, x_scale, x_zero_point, y_scale, y_zero_point, "QLinearLeakyRelu",
                         lambda v: np.where(v >= 0, v, a * v))
    return lookup(xp, x, table)


def _softmax_rows(v, axis):
    """float64 softmax of ``v`` along ``axis`` (stable: the row maximum is subtracted)."""
    e = v - v.max(axis=axis, keepdims=True)
    np.exp(e, out=e)
    e /= e.sum(axis=axis, keepdims=True)
    return e


@register("QLinearSoftmax", since=1, domain=MS_DOMAIN)
def qlinear_softmax(xp, x, x_scale, x_zero_point=None, y_scale=None, y_zero_point=None, *,
                    opset, axis=None):
    """QLinearSoftmax-1: ``quantize(Softmax(dequantize(x)))``. ``opset`` is the version of the
    Softmax it replaces: from 13 it normalizes along ``axis`` (default -1); before 13 over the
    2-D coercion at ``axis`` (default 1), every dimension from ``axis`` on."""
    op = "QLinearSoftmax"
    if y_scale is None:
        raise ValueError(f"{op}: y_scale is required")
    dt, sx, zx = _params(x, x_scale, x_zero_point, op, "X")
    sy, zy = scalar(y_scale, op, "y_scale"), zero_point(y_zero_point, dt, op, "y_zero_point")
    if x.ndim == 0:
        raise ValueError(f"{op}: X must have rank >= 1")
    if x.size == 0:
        return xp.empty(x.shape, dt)
    values = xp.take(xp.asarray(dequantized_codes(dt, sx, zx)), table_index(x))
    if opset >= 13:
        p = _softmax_rows(values, normalize_axis(-1 if axis is None else axis, x.ndim, op))
    else:
        ax = normalize_axis(1 if axis is None else axis, x.ndim, op)
        rows = int(np.prod(x.shape[:ax], dtype=np.int64))
        p = _softmax_rows(values.reshape(rows, -1), 1).reshape(x.shape)
    p /= np.float64(np.float32(sy))
    p += zy
    return requantize(xp, p, dt)


@register("QLinearConcat", since=1, domain=MS_DOMAIN)
def qlinear_concat(xp, y_scale, y_zero_point, *inputs, axis):
    """QLinearConcat-1: ``inputs`` are (tensor, scale, zero point) triplets; each tensor is
    requantized to (Y_scale, Y_zero_point) and the results are concatenated along ``axis``."""
    op = "QLinearConcat"
    dt = eight_bit(y_zero_point, op, "Y_zero_point")
    sy, zy = scalar(y_scale, op, "Y_scale"), scalar(y_zero_point, op, "Y_zero_point")
    if not inputs or len(inputs) % 3:
        raise ValueError(f"{op}: after Y_scale and Y_zero_point the inputs must be (tensor, "
                         f"scale, zero point) triplets, got {len(inputs)} inputs")
    parts = []
    for i in range(0, len(inputs), 3):
        x, s, z = inputs[i:i + 3]
        if x is None or s is None:
            raise ValueError(f"{op}: triplet {i // 3} lacks its tensor or scale")
        xdt, sx, zx = _params(x, s, z, op, f"input {i // 3}")
        if xdt != dt:
            raise ValueError(f"{op}: input {i // 3} is {xdt}, Y_zero_point is {dt}")
        if np.float32(sx) == np.float32(sy) and zx == zy:
            parts.append(x)          # same quantization: the bytes are the answer
        else:
            parts.append(lookup(xp, x, quantize_table(dequantized_codes(dt, sx, zx), sy, zy,
                                                      dt)))
    ranks = {p.ndim for p in parts}
    if len(ranks) != 1:
        raise ValueError(f"{op}: inputs have different ranks {sorted(ranks)}")
    ax = normalize_axis(axis, parts[0].ndim, op)
    for p in parts[1:]:
        if p.shape[:ax] + p.shape[ax + 1:] != parts[0].shape[:ax] + parts[0].shape[ax + 1:]:
            raise ValueError(f"{op}: shapes {[tuple(q.shape) for q in parts]} differ outside "
                             f"axis {ax}")
    return parts[0] if len(parts) == 1 else xp.concatenate(parts, axis=ax)
