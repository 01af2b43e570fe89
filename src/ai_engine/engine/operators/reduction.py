"""Reductions: ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2,
ReduceLogSum, ReduceLogSumExp and ReduceSumSquare.

https://onnx.ai/onnx/operators/onnx__ReduceSum.html (and the sibling ``Reduce*`` pages).

Two signatures per op: ``axes`` is an attribute up to opset 17 (ReduceSum: 12) and an optional
input afterwards, together with ``noop_with_empty_axes``. Axes that are absent (or, as an input,
empty) mean "all axes", except that with ``noop_with_empty_axes=1`` they mean "no axis", i.e.
NumPy's ``axis=()``: the reduction step is the identity but composite reductions still apply
their element-wise steps (ReduceSumSquare squares, ReduceLogSum takes the log...).

A reduction over an empty set of values yields the identity of the reduction (0 for sums,
1 for products, -inf / the dtype minimum / False for max, the mirror for min, -inf for the log
reductions).
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.operators.indexing import normalize_axis, to_host
from ai_engine.engine.registry import register

from ai_engine.engine.operators.dtype_policy import as_array, to_compute

_FLOAT_KINDS = "fV"  # ml_dtypes floats (bfloat16...) report kind "V"
_NATIVE_WIDE = frozenset((np.dtype(np.float32), np.dtype(np.float64)))


def _axes_tuple(xp, x, axes, noop_with_empty_axes, op):
    """Normalised, sorted axes; ``None`` for "all axes"; ``()`` for the no-op case."""
    if axes is not None and not isinstance(axes, tuple):
        axes = tuple(int(a) for a in to_host(xp, axes).reshape(-1).tolist())
    if not axes:
        return () if noop_with_empty_axes else None
    norm = sorted(normalize_axis(int(a), x.ndim, op, "axes entry") for a in axes)
    if len(set(norm)) != len(norm):
        raise ValueError(f"{op}: axes {list(axes)} name an axis twice")
    return tuple(norm)


def _reduced_shape(shape, axes, keepdims):
    if axes is None:
        axes = range(len(shape))
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _is_empty_reduction(x, axes):
    """True when some output element reduces an empty set of values."""
    if x.size:
        return False
    return any(x.shape[i] == 0 for i in (range(x.ndim) if axes is None else axes))


def _work(x):
    """Float math in a dtype NumPy computes natively and accurately: float32 and float64 as
    they are, float16 and the ml_dtypes floats in float32 (float16 sums of many terms
    overflow and lose bits)."""
    return to_compute(x) if x.dtype.kind in _FLOAT_KINDS else x


def _floaty(x):
    """For the log/sqrt reductions: integers are computed in float64 then cast back."""
    if x.dtype.kind in "iub":
        return x.astype(np.float64)
    return _work(x)


def _finish(xp, r, dtype):
    r = as_array(xp, r)
    return r if r.dtype == dtype else r.astype(dtype)


# --- the reductions proper: fn(xp, x, axes, keepdims) with axes None (all) or a tuple --------

def _acc(x):
    """The accumulator dtype for sums/products of floats: float16 and the ml_dtypes floats
    accumulate in float32 (NumPy casts chunk-wise, without a full-size copy)."""
    return None if x.dtype in _NATIVE_WIDE else np.float32


def _sum(xp, x, axes, keepdims):
    if x.dtype.kind in "iu":
        # NumPy would widen int32 sums to int64; ONNX keeps the input type.
        return xp.sum(x, axis=axes, keepdims=keepdims, dtype=x.dtype)
    return _finish(xp, xp.sum(x, axis=axes, keepdims=keepdims, dtype=_acc(x)), x.dtype)


def _mean(xp, x, axes, keepdims):
    if x.dtype.kind in "iu":
        # Integer mean truncates, as the reference and onnxruntime do.
        return _finish(xp, xp.mean(x, axis=axes, keepdims=keepdims), x.dtype)
    return _finish(xp, xp.mean(x, axis=axes, keepdims=keepdims, dtype=_acc(x)), x.dtype)


def _prod(xp, x, axes, keepdims):
    if x.dtype.kind in "iu":
        return xp.prod(x, axis=axes, keepdims=keepdims, dtype=x.dtype)
    return _finish(xp, xp.prod(x, axis=axes, keepdims=keepdims, dtype=_acc(x)), x.dtype)


def _extreme(fill_for_float, fill_for_bool, int_attr, reducer):
    def fn(xp, x, axes, keepdims):
        if _is_empty_reduction(x, axes):
            if x.dtype == np.bool_:
                fill = fill_for_bool
            elif x.dtype.kind in "iu":
                fill = getattr(np.iinfo(x.dtype), int_attr)
            else:
                fill = fill_for_float
            return xp.full(_reduced_shape(x.shape, axes, keepdims), fill, dtype=x.dtype)
        if x.dtype.kind == "V":
            # ml_dtypes floats have no fast reduction loops; max/min are exact in float32.
            return _finish(xp, reducer(xp)(x.astype(np.float32), axis=axes,
                                           keepdims=keepdims), x.dtype)
        return as_array(xp, reducer(xp)(x, axis=axes, keepdims=keepdims))
    return fn


_max = _extreme(-np.inf, False, "min", lambda xp: xp.max)
_min = _extreme(np.inf, True, "max", lambda xp: xp.min)


def _l1(xp, x, axes, keepdims):
    if x.dtype.kind in "iu":
        return xp.sum(xp.abs(x), axis=axes, keepdims=keepdims, dtype=x.dtype)
    return _finish(xp, xp.sum(xp.abs(_work(x)), axis=axes, keepdims=keepdims), x.dtype)


def _sum_square(xp, x, axes, keepdims):
    if x.dtype.kind in "iu":
        return xp.sum(x * x, axis=axes, keepdims=keepdims, dtype=x.dtype)
    w = _work(x)
    return _finish(xp, xp.sum(w * w, axis=axes, keepdims=keepdims), x.dtype)


def _l2(xp, x, axes, keepdims):
    w = _floaty(x)
    # Integer results truncate, as the reference and onnxruntime do.
    r = xp.sqrt(xp.sum(w * w, axis=axes, keepdims=keepdims))
    return _finish(xp, r, x.dtype)


def _log_sum(xp, x, axes, keepdims):
    return _finish(xp, xp.log(xp.sum(_floaty(x), axis=axes, keepdims=keepdims)), x.dtype)


def _log_sum_exp(xp, x, axes, keepdims):
    w = _floaty(x)
    if _is_empty_reduction(x, axes):
        return xp.full(_reduced_shape(x.shape, axes, keepdims), -np.inf, dtype=x.dtype)
    if axes == ():
        return _finish(xp, w, x.dtype)
    # Shift by the largest finite value for stability; an all-(-inf) or infinite maximum
    # is not subtracted (it would give nan), so +inf and all -inf come out right.
    m = xp.max(w, axis=axes, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    s = xp.sum(xp.exp(w - m), axis=axes, keepdims=True)
    r = xp.log(s) + m
    if not keepdims:
        r = r.reshape(_reduced_shape(x.shape, axes, False))
    return _finish(xp, r, x.dtype)


# With axis=() these are the identity (the composite ones still apply their element-wise
# steps, which their functions do for axes == ()).
_NO_REDUCTION = frozenset(("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd"))


def _reduce(xp, op, fn, data, axes, keepdims, noop_with_empty_axes):
    axes = _axes_tuple(xp, data, axes, noop_with_empty_axes, op)
    if axes == () and op in _NO_REDUCTION:
        return data
    return fn(xp, data, axes, bool(keepdims))


def _define(op, fn, axes_input_since, what):
    page = f"https://onnx.ai/onnx/operators/onnx__{op}.html"

    def with_axes_attribute(xp, data, *, axes=None, keepdims=1):
        return _reduce(xp, op, fn, data, axes, keepdims, 0)

    def with_axes_input(xp, data, axes=None, *, keepdims=1, noop_with_empty_axes=0):
        return _reduce(xp, op, fn, data, axes, keepdims, noop_with_empty_axes)

    for f, since, how in ((with_axes_attribute, 1, "axes attribute"),
                          (with_axes_input, axes_input_since, "axes input")):
        f.__name__ = f.__qualname__ = f"{op.lower()}_{since}"
        f.__doc__ = f"{op}-{since} ({how}): {what}. {page}"
        register(op, since=since)(f)


_define("ReduceSum", _sum, 13, "sum")
_define("ReduceMean", _mean, 18, "arithmetic mean")
_define("ReduceMax", _max, 18, "maximum (bool from 20: False < True)")
_define("ReduceMin", _min, 18, "minimum (bool from 20: False < True)")
_define("ReduceProd", _prod, 18, "product")
_define("ReduceL1", _l1, 18, "sum of absolute values")
_define("ReduceL2", _l2, 18, "square root of the sum of squares")
_define("ReduceSumSquare", _sum_square, 18, "sum of squares")
_define("ReduceLogSum", _log_sum, 18, "natural log of the sum")
_define("ReduceLogSumExp", _log_sum_exp, 18, "log of the sum of exponentials")
