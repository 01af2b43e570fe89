"""Activations: Relu family, Sigmoid/Tanh family, Gelu, Softplus, Clip, Softmax family.

Operator pages: https://onnx.ai/onnx/operators/ (onnx__Relu.html, onnx__Gelu.html, ...).
Composite formulas run in float32 for float16/bfloat16 (rounding every intermediate to 11 or 8
bits would cost digits) and in place on one temporary where possible: these are hot-path ops.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ai_engine.engine.operators.compiled_paths import compiled_softmax, compiled_unary
from ai_engine.engine.operators.dtype_policy import (as_array, cast_back, compute_dtype,
                                                     to_compute)
from ai_engine.engine.operators.erf import erf
from ai_engine.engine.registry import register


def _float_op(wide=True):
    """Wrap ``fn(xp, xc, **attrs)``: ``xc`` is the input in its compute dtype (float32 for
    float16 when ``wide``, and for ml_dtypes floats), at least 1-D so ``out=`` works; ``fn``
    must not write into ``xc`` (it may be the caller's array). The result is cast back."""

    def deco(fn):
        @functools.wraps(fn)
        def kernel(xp, x, *args, **attrs):
            xc = to_compute(x) if wide else to_compute(x, keep_float16=True)
            r = fn(xp, xc.reshape(1) if xc.ndim == 0 else xc, *args, **attrs)
            return cast_back(xp, r.reshape(x.shape), x.dtype)
        return kernel
    return deco


def _legacy(name, kernel, since=1):
    """Opset-1 form of a unary op: ``consumed_inputs`` was a memory hint, ignored."""

    def kernel_legacy(xp, x, *args, consumed_inputs=None, **attrs):
        return kernel(xp, x, *args, **attrs)

    kernel_legacy.__doc__ = kernel.__doc__
    register(name, since=since)(kernel_legacy)
    return kernel


def _sigmoid(xp, x):
    # 1 / (1 + exp(-x)): exp(-x) overflows to inf for very negative x and the result is the
    # correct 0 (the true value is below the smallest normal); no cancellation anywhere.
    t = xp.negative(x)
    xp.exp(t, out=t)
    t += 1
    return xp.reciprocal(t, out=t)


def _softplus(xp, x):
    # log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): never overflows.
    t = xp.abs(x)
    xp.negative(t, out=t)
    xp.exp(t, out=t)
    xp.log1p(t, out=t)
    t += xp.maximum(x, 0)
    return t


def _elu(xp, x, alpha):
    t = xp.minimum(x, 0)       # expm1 only of the negative part: no overflow on the rest
    xp.expm1(t, out=t)
    t *= alpha
    return xp.where(x > 0, x, t)


@register("Relu", since=6)
def relu(xp, x):
    """Relu: https://onnx.ai/onnx/operators/onnx__Relu.html"""
    return as_array(xp, xp.maximum(x, x.dtype.type(0)))


@register("LeakyRelu", since=6)
@_float_op()
def leaky_relu(xp, x, *, alpha=0.01):
    """LeakyRelu: https://onnx.ai/onnx/operators/onnx__LeakyRelu.html"""
    t = x * alpha
    if 0.0 <= alpha <= 1.0:
        return xp.maximum(x, t, out=t)   # max(x, alpha*x) is exactly the piecewise form
    return xp.where(x < 0, t, x)


@register("PRelu", since=7)
def prelu(xp, x, slope):
    """PRelu: https://onnx.ai/onnx/operators/onnx__PRelu.html (slope broadcasts to X)."""
    return as_array(xp, xp.where(x < 0, x * slope, x))


@register("PRelu", since=1)
def prelu_1(xp, x, slope, *, consumed_inputs=None):
    """PRelu-1/6: a 1-D slope of size C applies per channel (axis 1)."""
    if slope.ndim == 1 and x.ndim >= 2 and slope.shape[0] == x.shape[1] != 1:
        slope = slope.reshape((-1,) + (1,) * (x.ndim - 2))
    return prelu(xp, x, slope)


@register("Elu", since=6)
@_float_op()
def elu(xp, x, *, alpha=1.0):
    """Elu: https://onnx.ai/onnx/operators/onnx__Elu.html"""
    return _elu(xp, x, alpha)


@register("Selu", since=6)
@_float_op()
def selu(xp, x, *, alpha=1.67326319217681884765625, gamma=1.05070102214813232421875):
    """Selu: https://onnx.ai/onnx/operators/onnx__Selu.html"""
    r = _elu(xp, x, alpha)
    r *= gamma
    return r


@register("Celu", since=12)
@_float_op()
def celu(xp, x, *, alpha=1.0):
    """Celu: https://onnx.ai/onnx/operators/onnx__Celu.html"""
    t = x / alpha
    xp.minimum(t, 0, out=t)
    xp.expm1(t, out=t)
    t *= alpha
    t += xp.maximum(x, 0)
    return t


@register("Sigmoid", since=6)
@_float_op()    # in float16, exp(-x) overflows from x < -11 while sigmoid is still ~1e-5
def sigmoid(xp, x):
    """Sigmoid: https://onnx.ai/onnx/operators/onnx__Sigmoid.html"""
    y = compiled_unary(xp, x, "Sigmoid")
    return _sigmoid(xp, x) if y is None else y


@register("HardSigmoid", since=6)
@_float_op()
def hard_sigmoid(xp, x, *, alpha=0.2, beta=0.5):
    """HardSigmoid: https://onnx.ai/onnx/operators/onnx__HardSigmoid.html"""
    t = x * alpha
    t += beta
    xp.maximum(t, 0, out=t)
    return xp.minimum(t, 1, out=t)


@register("HardSwish", since=14)
@_float_op()
def hard_swish(xp, x):
    """HardSwish: https://onnx.ai/onnx/operators/onnx__HardSwish.html"""
    y = compiled_unary(xp, x, "HardSwish")
    if y is not None:
        return y
    t = hard_sigmoid.__wrapped__(xp, x, alpha=1.0 / 6, beta=0.5)
    t *= x
    return t


@register("Tanh", since=6)
@_float_op(wide=False)
def tanh(xp, x):
    """Tanh: https://onnx.ai/onnx/operators/onnx__Tanh.html"""
    return xp.tanh(x)


@register("Gelu", since=20)
@_float_op()
def gelu(xp, x, *, approximate="none"):
    """Gelu: https://onnx.ai/onnx/operators/onnx__Gelu.html"""
    if approximate == "tanh":
        c = math.sqrt(2.0 / math.pi)
        t = x * x
        t *= 0.044715 * c
        t += c
        t *= x                  # sqrt(2/pi) * (x + 0.044715 x^3)
        xp.tanh(t, out=t)
    elif approximate == "none":
        y = compiled_unary(xp, x, "Gelu")
        if y is not None:
            return y
        t = erf(xp, x * (1.0 / math.sqrt(2.0)), overwrite=True)
    else:
        raise ValueError(f"Gelu approximate must be 'none' or 'tanh', got {approximate!r}")
    t += 1
    t *= x
    t *= 0.5
    return t


@register("Softplus", since=1)
@_float_op()
def softplus(xp, x):
    """Softplus: https://onnx.ai/onnx/operators/onnx__Softplus.html"""
    return _softplus(xp, x)


@register("Softsign", since=1)
@_float_op()
def softsign(xp, x):
    """Softsign: https://onnx.ai/onnx/operators/onnx__Softsign.html"""
    t = xp.abs(x)
    t += 1
    return xp.divide(x, t, out=t)


@register("Mish", since=18)
@_float_op()
def mish(xp, x):
    """Mish: https://onnx.ai/onnx/operators/onnx__Mish.html"""
    t = _softplus(xp, x)
    xp.tanh(t, out=t)
    t *= x
    return t


@register("Swish", since=24)
@_float_op()
def swish(xp, x, *, alpha=1.0):
    """Swish: https://onnx.ai/onnx/operators/onnx__Swish.html"""
    t = _sigmoid(xp, x * alpha if alpha != 1.0 else x)
    t *= x
    return t


@register("ThresholdedRelu", since=10)
@_float_op(wide=False)
def thresholded_relu(xp, x, *, alpha=1.0):
    """ThresholdedRelu: https://onnx.ai/onnx/operators/onnx__ThresholdedRelu.html"""
    return xp.where(x > alpha, x, x.dtype.type(0))


@register("Shrink", since=9)
def shrink(xp, x, *, bias=0.0, lambd=0.5):
    """Shrink: https://onnx.ai/onnx/operators/onnx__Shrink.html (integer types too)."""
    xc = x.astype(np.float64) if x.dtype.kind in "iu" else to_compute(x)
    r = xp.where(xc < -lambd, xc + bias, xc.dtype.type(0))
    r = xp.where(xc > lambd, xc - bias, r)
    return cast_back(xp, r, x.dtype)


for _name, _kernel in (("Relu", relu), ("LeakyRelu", leaky_relu), ("Elu", elu),
                       ("Selu", selu), ("Sigmoid", sigmoid), ("HardSigmoid", hard_sigmoid),
                       ("Tanh", tanh)):
    _legacy(_name, _kernel)


# ---------------------------------------------------------------------------------------------
# Clip

@register("Clip", since=11)
def clip(xp, x, min=None, max=None):  # noqa: A002 - ONNX input names
    """Clip-11+: https://onnx.ai/onnx/operators/onnx__Clip.html (min > max gives max)."""
    if min is None and max is None:
        return x.copy()
    r = as_array(xp, xp.maximum(x, min)) if min is not None else x
    if max is not None:
        r = xp.minimum(r, max, out=r) if r is not x else as_array(xp, xp.minimum(x, max))
    return r


@register("Clip", since=6)
def clip_6(xp, x, *, min=-3.4028234663852886e38, max=3.4028234663852886e38):  # noqa: A002
    """Clip-6: bounds are attributes (defaults: the float32 range, i.e. no bound)."""
    if x.dtype.kind == "f":    # keep the bounds representable (float16: +-65504)
        info = np.finfo(x.dtype)
        min, max = np.clip([min, max], float(info.min), float(info.max)).tolist()
    return clip(xp, x, xp.asarray(min, dtype=x.dtype), xp.asarray(max, dtype=x.dtype))


@register("Clip", since=1)
def clip_1(xp, x, *, min=-3.4028234663852886e38, max=3.4028234663852886e38,  # noqa: A002
           consumed_inputs=None):
    """Clip-1: as Clip-6."""
    return clip_6(xp, x, min=min, max=max)


# ---------------------------------------------------------------------------------------------
# Softmax family. Opset 13+: along one axis. Before: the input is coerced to 2-D
# (prod(shape[:axis]), prod(shape[axis:])) and the op runs along the second dimension.

def _softmax(xp, x, axis):
    if x.size == 0:  # max() of an empty axis raises; the result is empty anyway
        return xp.empty_like(x)
    if axis in (-1, x.ndim - 1):
        y = compiled_softmax(xp, x)
        if y is not None:
            return y
    e = xp.subtract(x, x.max(axis=axis, keepdims=True))   # shift: exp never overflows
    xp.exp(e, out=e)
    e /= e.sum(axis=axis, keepdims=True)
    return e


def _log_softmax(xp, x, axis):
    if x.size == 0:
        return xp.empty_like(x)
    s = xp.subtract(x, x.max(axis=axis, keepdims=True))
    lse = xp.log(xp.exp(s).sum(axis=axis, keepdims=True))
    s -= lse
    return s


def _hardmax(xp, x, axis):
    if x.size == 0:
        return xp.empty_like(x)
    idx = xp.argmax(x, axis=axis, keepdims=True)   # first maximum wins ties, as specified
    n = x.shape[axis]
    ar = xp.arange(n).reshape([n if d == axis % x.ndim else 1 for d in range(x.ndim)])
    return (ar == idx).astype(x.dtype)


def _coerced(fn, xp, x, axis):
    if x.ndim == 0:
        raise ValueError("input must have rank >= 1")
    axis = axis + x.ndim if axis < 0 else axis
    if not 0 <= axis <= x.ndim:
        raise ValueError(f"axis {axis} out of range for rank {x.ndim}")
    if x.size == 0:  # reshape(0, -1) is ambiguous
        return xp.empty_like(x)
    rows = int(np.prod(x.shape[:axis], dtype=np.int64))
    return fn(xp, x.reshape(rows, -1), 1).reshape(x.shape)


def _softmax_family(name, fn):
    @_float_op()
    def kernel(xp, x, *, axis=-1):
        return fn(xp, x, axis)

    @_float_op()
    def kernel_1(xp, x, *, axis=1):
        return _coerced(fn, xp, x, axis)

    kernel.__doc__ = f"{name}-13: https://onnx.ai/onnx/operators/onnx__{name}.html"
    kernel_1.__doc__ = f"{name}-1/11: 2-D coercion at ``axis``."
    register(name, since=13)(kernel)
    register(name, since=1)(kernel_1)


_softmax_family("Softmax", _softmax)
_softmax_family("LogSoftmax", _log_softmax)


@register("Hardmax", since=13)
def hardmax(xp, x, *, axis=-1):
    """Hardmax-13: https://onnx.ai/onnx/operators/onnx__Hardmax.html"""
    return _hardmax(xp, x, axis)


@register("Hardmax", since=1)
def hardmax_1(xp, x, *, axis=1):
    """Hardmax-1/11: 2-D coercion at ``axis``."""
    return _coerced(_hardmax, xp, x, axis)


# SwiGLU-28: https://onnx.ai/onnx/operators/onnx__SwiGLU.html
@register("SwiGLU", since=28)
def swiglu(xp, a, b, *, alpha=1.0):
    """SwiGLU-28: ``Y = A * sigmoid(alpha * A) * B`` (no broadcasting)."""
    if a.shape != b.shape:
        raise ValueError(f"SwiGLU: A {a.shape} and B {b.shape} must have the same shape")
    dt = a.dtype
    ct = compute_dtype(dt)
    af = a.astype(ct)
    # Sigmoid via exp of a non-positive argument only, so large |alpha * a| cannot overflow.
    z = af * ct.type(alpha)
    e = xp.exp(-xp.abs(z))
    sig = xp.where(z >= 0, 1 / (1 + e), e / (1 + e))
    # Half types round where a runtime computing in them would (gate, then product).
    gate = (af * sig.astype(dt).astype(ct)).astype(dt).astype(ct)
    return (gate * b.astype(ct)).astype(dt)
