"""Elementwise arithmetic and math: Add Sub Mul Div Pow Mod, unary math, Min/Max/Sum/Mean, Erf.

Operator pages: https://onnx.ai/onnx/operators/ (onnx__Add.html, onnx__Pow.html, ...).
Broadcasting is NumPy's (multidirectional) from opset 7; the opset 1-6 ``broadcast``/``axis``
attributes are honoured by :func:`legacy_broadcast`.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.operators.dtype_policy import as_array, cast_back, to_compute
from ai_engine.engine.operators.erf import erf
from ai_engine.engine.registry import register, register_generated

# Integer division/modulo by zero is undefined in ONNX (NumPy returns 0 and warns); float
# inf/nan results are the IEEE answers the spec expects: so no warnings (the executor runs
# every plan inside np.errstate(all="ignore") once per run, cheaper than one per kernel).


def legacy_broadcast(xp, a, b, broadcast, axis):
    """Opset < 7 binary ops: B is broadcast onto A only when ``broadcast=1``, aligned at
    ``axis`` (default: trailing dims), e.g. A (2,3,4,5), B (3,4) with axis=1."""
    if broadcast and axis is not None and b.ndim and b.ndim < a.ndim:
        ax = axis % a.ndim
        b = b.reshape(b.shape + (1,) * (a.ndim - ax - b.ndim))
    return a, b


def _binary(name, fn, since=7):
    """Register a NumPy-broadcasting binary kernel, plus its opset-1 form with the legacy
    attributes (``consumed_inputs`` is a memory hint of opset 1 and is ignored)."""

    def kernel(xp, a, b):
        return as_array(xp, fn(xp, a, b))

    def kernel_legacy(xp, a, b, *, broadcast=0, axis=None, consumed_inputs=None):
        a, b = legacy_broadcast(xp, a, b, broadcast, axis)
        return kernel(xp, a, b)

    return register_generated(name, kernel, since, kernel_legacy)


def _div(xp, a, b):
    if a.dtype.kind in "iu":
        if a.dtype.kind == "u":
            return xp.floor_divide(a, b)
        # C semantics: truncate toward zero. fmod is the truncated remainder, so a - fmod(a, b)
        # is an exact multiple of b and floor division of it is exact.
        q = xp.subtract(a, xp.fmod(a, b))
        return xp.floor_divide(q, b, out=q) if isinstance(q, xp.ndarray) else q // b
    return xp.divide(a, b)


add = _binary("Add", lambda xp, a, b: xp.add(a, b))
sub = _binary("Sub", lambda xp, a, b: xp.subtract(a, b))
mul = _binary("Mul", lambda xp, a, b: xp.multiply(a, b))
div = _binary("Div", _div)


def _scalar_value(y):
    """Host value of a one-element NumPy exponent (never forces a device sync)."""
    if isinstance(y, np.ndarray) and y.size == 1:
        return y.reshape(()).item()
    return None


def _pow(xp, x, y):
    """Pow-15: result dtype is the base's; the exponent may be of another numeric type."""
    xd = x.dtype
    if xd.kind in "iu":
        if y.dtype.kind == "f" or y.dtype.kind == "V":
            # int ** float: C pow in double, truncated back (what onnxruntime does).
            return xp.power(x.astype(np.float64), y.astype(np.float64)).astype(xd)
        y = y.astype(xd, copy=False)
        neg = y < 0
        if bool(neg.any()):
            # x ** -n for integers: 1 and -1 have exact answers, the rest truncate to 0.
            r = xp.power(x, xp.where(neg, 0, y).astype(xd))
            odd = (y % 2) != 0
            inv = xp.where(x == 1, 1, xp.where(x == -1, xp.where(odd, -1, 1), 0)).astype(xd)
            return xp.where(neg, inv, r)
        return xp.power(x, y)
    xc = to_compute(x, keep_float16=True)
    s = _scalar_value(y)
    if s == 2:
        return cast_back(xp, xp.square(xc), xd)
    if s == 3:
        # GELU-tanh's x**3 (dynamo exports): NumPy's float32 power is ~200x slower than two
        # multiplies, and x*x*x is what onnxruntime computes (bit-identical).
        return cast_back(xp, xc * xc * xc, xd)
    if s == 1:
        return x.copy()
    return cast_back(xp, xp.power(xc, y.astype(xc.dtype, copy=False)), xd)


pow_ = _binary("Pow", _pow)


@register("Mod", since=10)
def mod(xp, a, b, *, fmod=0):
    """Mod: https://onnx.ai/onnx/operators/onnx__Mod.html (fmod=0: sign of the divisor, as
    Python's %; fmod=1: sign of the dividend, as C fmod)."""
    if a.dtype.kind in "iu" or a.dtype in (np.float32, np.float64):
        return as_array(xp, (xp.fmod if fmod else xp.mod)(a, b))
    # float16/bfloat16: the float32 remainder rounds to the same value.
    r = (xp.fmod if fmod else xp.mod)(a.astype(np.float32), b.astype(np.float32))
    return cast_back(xp, r, a.dtype)


# ---------------------------------------------------------------------------------------------
# Unary math. Float-only ops compute ml_dtypes floats (bfloat16...) in float32.

def _unary(name, fn, since=6, legacy=True, float_only=True):
    def kernel(xp, x):
        if float_only and x.dtype.kind != "f":
            return cast_back(xp, fn(xp, to_compute(x, keep_float16=True)), x.dtype)
        return as_array(xp, fn(xp, x))

    def kernel_legacy(xp, x, *, consumed_inputs=None):
        return kernel(xp, x)

    register_generated(name, kernel, since, kernel_legacy if legacy else None)
    return kernel


def _abs(xp, x):
    return x.copy() if x.dtype.kind in "ub" else xp.abs(x)


_unary("Sqrt", lambda xp, x: xp.sqrt(x))
_unary("Exp", lambda xp, x: xp.exp(x))
_unary("Log", lambda xp, x: xp.log(x))
_unary("Abs", _abs, float_only=False)
_unary("Neg", lambda xp, x: xp.negative(x), float_only=False)
_unary("Reciprocal", lambda xp, x: xp.reciprocal(x))
_unary("Floor", lambda xp, x: xp.floor(x))
_unary("Ceil", lambda xp, x: xp.ceil(x))
_unary("Round", lambda xp, x: xp.rint(x), since=11, legacy=False)   # rint: halves to even
_unary("Sign", lambda xp, x: xp.sign(x), since=9, legacy=False, float_only=False)
for _name, _fn in (("Sin", "sin"), ("Cos", "cos"), ("Tan", "tan"), ("Asin", "arcsin"),
                   ("Acos", "arccos"), ("Atan", "arctan")):
    _unary(_name, (lambda f: lambda xp, x: getattr(xp, f)(x))(_fn), since=7, legacy=False)
for _name, _fn in (("Sinh", "sinh"), ("Cosh", "cosh"), ("Asinh", "arcsinh"),
                   ("Acosh", "arccosh"), ("Atanh", "arctanh")):
    _unary(_name, (lambda f: lambda xp, x: getattr(xp, f)(x))(_fn), since=9, legacy=False)


@register("Erf", since=9)
def erf_(xp, x):
    """Erf: https://onnx.ai/onnx/operators/onnx__Erf.html (integer inputs allowed by the
    spec: computed in float64 and cast back)."""
    if x.dtype.kind in "iu":
        return erf(xp, x.astype(np.float64)).astype(x.dtype)
    return erf(xp, x)


@register("IsNaN", since=9)
def isnan(xp, x):
    """IsNaN: https://onnx.ai/onnx/operators/onnx__IsNaN.html"""
    return as_array(xp, xp.isnan(to_compute(x, keep_float16=True)))


@register("IsInf", since=10)
def isinf(xp, x, *, detect_negative=1, detect_positive=1):
    """IsInf: https://onnx.ai/onnx/operators/onnx__IsInf.html"""
    x = to_compute(x, keep_float16=True)
    if detect_negative and detect_positive:
        return as_array(xp, xp.isinf(x))
    if detect_positive:
        return as_array(xp, x == np.inf)
    if detect_negative:
        return as_array(xp, x == -np.inf)
    return xp.zeros(x.shape, dtype=bool)


# ---------------------------------------------------------------------------------------------
# Variadic Min/Max/Sum/Mean with NumPy broadcasting (opset 8+; earlier: same shapes).

def _variadic(xp, ufunc, inputs):
    if not inputs:
        raise ValueError("expects at least one input")
    if len(inputs) == 1:
        return inputs[0].copy()
    dtype = inputs[0].dtype
    if len(inputs) > 2 and ufunc is xp.add and dtype.itemsize == 2 and dtype.kind in "fV":
        # float16/bfloat16 sums of 3+ inputs: accumulate in float32 and round once, as
        # onnxruntime does, instead of rounding after every addition.
        return cast_back(xp, _variadic(xp, ufunc, [x.astype(np.float32) for x in inputs]), dtype)
    res = as_array(xp, ufunc(inputs[0], inputs[1]))
    for x in inputs[2:]:
        if np.broadcast_shapes(res.shape, x.shape) == res.shape:
            ufunc(res, x, out=res)   # accumulate in place: no temporary per input
        else:
            res = as_array(xp, ufunc(res, x))
    return res


def _variadic_op(name, ufunc_name, since=8):
    def kernel(xp, *inputs):
        return _variadic(xp, getattr(xp, ufunc_name), inputs)

    def kernel_legacy(xp, *inputs, consumed_inputs=None):
        return kernel(xp, *inputs)

    return register_generated(name, kernel, since, kernel_legacy)


_variadic_op("Max", "maximum")
_variadic_op("Min", "minimum")
_variadic_op("Sum", "add")


@register("Mean", since=8)
def mean(xp, *inputs):
    """Mean: https://onnx.ai/onnx/operators/onnx__Mean.html"""
    dtype = inputs[0].dtype if inputs else None
    if dtype is not None and dtype.itemsize == 2 and dtype.kind in "fV" and len(inputs) > 1:
        wide = _variadic(xp, xp.add, [x.astype(np.float32) for x in inputs])
        return cast_back(xp, wide / len(inputs), dtype)  # one rounding, as for Sum
    res = _variadic(xp, xp.add, inputs)
    if len(inputs) > 1:
        res /= len(inputs)
    return res


@register("Mean", since=1)
def mean_1(xp, *inputs, consumed_inputs=None):
    """Mean-1: https://onnx.ai/onnx/operators/onnx__Mean.html"""
    return mean(xp, *inputs)
