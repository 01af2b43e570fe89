"""Kernels that make tensors: Constant, ConstantOfShape, Range, EyeLike, Trilu."""

from __future__ import annotations

import math

import numpy as np

from ai_engine.core import dtypes
from ai_engine.engine.operators.shape_ops import ints, scalar
from ai_engine.engine.registry import register

_NATIVE = frozenset("biufc")


def on_device(xp, a: np.ndarray):
    """``a`` moved to ``xp`` where ``xp`` can hold its dtype (CuPy has no strings and no
    ml_dtypes types: those stay NumPy arrays on the host)."""
    if xp is np or a.dtype.kind not in _NATIVE:
        return a
    return xp.asarray(a)


@register("Constant", since=1)
def constant(xp, *, value=None, sparse_value=None, value_float=None, value_floats=None,
             value_int=None, value_ints=None, value_string=None, value_strings=None):
    """Constant: https://onnx.ai/onnx/operators/onnx__Constant.html

    Exactly one attribute is set; the scalar forms give 0-d tensors, the list forms 1-D ones
    (float32, int64, string).
    """
    given = {k: v for k, v in (("value", value), ("sparse_value", sparse_value),
                               ("value_float", value_float), ("value_floats", value_floats),
                               ("value_int", value_int), ("value_ints", value_ints),
                               ("value_string", value_string),
                               ("value_strings", value_strings)) if v is not None}
    if len(given) != 1:
        raise ValueError(f"Constant: exactly one value attribute must be set, got {sorted(given)}")
    (kind, v), = given.items()
    if kind in ("value", "sparse_value"):
        a = np.asarray(v)
    elif kind in ("value_float", "value_floats"):
        a = np.asarray(v, dtype=np.float32)
    elif kind in ("value_int", "value_ints"):
        a = np.asarray(v, dtype=np.int64)
    else:
        strs = [v] if kind == "value_string" else list(v)
        strs = [s.decode("utf-8") if isinstance(s, bytes) else s for s in strs]
        a = np.empty(len(strs), dtype=object)
        a[:] = strs
        if kind == "value_string":
            a = a.reshape(())
    return on_device(xp, a)


@register("ConstantOfShape", since=9)
def constant_of_shape(xp, input, *, value=None):
    """ConstantOfShape: https://onnx.ai/onnx/operators/onnx__ConstantOfShape.html"""
    shape = ints(input)
    if any(d < 0 for d in shape):
        raise ValueError(f"ConstantOfShape: negative dimension in {shape}")
    if value is None:
        value = np.zeros(1, dtype=np.float32)
    value = np.asarray(value)
    if value.size != 1:
        raise ValueError(f"ConstantOfShape: value must hold one element, not {value.size}")
    if xp is np or value.dtype.kind not in _NATIVE:
        return np.full(shape, value.reshape(()), dtype=value.dtype)
    return xp.full(shape, value.reshape(()).item(), dtype=value.dtype)


def _range(xp, start, limit, delta, stash_float32: bool):
    dtype = start.dtype
    s, lim, d = scalar(start), scalar(limit), scalar(delta)
    if d == 0:
        raise ValueError("Range: delta is 0")
    if dtype.kind in "iu":
        # exact integer count: ceil((limit - start) / delta) without float rounding
        n = max(-((s - lim) // d), 0)
        return (xp.arange(n, dtype=np.int64) * d + s).astype(dtype)
    n = max(math.ceil((float(lim) - float(s)) / float(d)), 0)
    # float16/bfloat16 accumulate in float32 when stash_type asks (opset 27); otherwise the
    # element values are start + i * delta in the input type, as the spec pseudocode does.
    cd = np.dtype(np.float32) if stash_float32 and dtype.itemsize < 4 else dtype
    if cd.kind != "f" or (xp is not np and dtype.kind not in _NATIVE):
        cd = np.dtype(np.float32)
    host = xp if dtype.kind in _NATIVE else np
    i = host.arange(n, dtype=cd)
    out = i * cd.type(d) + cd.type(s)  # NumPy scalars: they mix with CuPy arrays too
    return out.astype(dtype)


@register("Range", since=27)
def range_27(xp, start, limit, delta, *, stash_type=1):
    """Range-27 (stash_type): https://onnx.ai/onnx/operators/onnx__Range.html"""
    return _range(xp, start, limit, delta, stash_type == 1)


@register("Range", since=11)
def range_11(xp, start, limit, delta):
    """Range-11: https://onnx.ai/onnx/operators/onnx__Range.html"""
    return _range(xp, start, limit, delta, False)


@register("EyeLike", since=9)
def eye_like(xp, input, *, dtype=None, k=0):
    """EyeLike: https://onnx.ai/onnx/operators/onnx__EyeLike.html"""
    if input.ndim != 2:
        raise ValueError(f"EyeLike: expected a 2-D input, got rank {input.ndim}")
    out_dtype = dtypes.to_numpy(dtype) if dtype is not None else input.dtype
    n, m = input.shape
    if out_dtype.kind not in _NATIVE:
        return np.eye(n, m, k, dtype=np.float32).astype(out_dtype)
    return xp.eye(n, m, k, dtype=out_dtype)


@register("Trilu", since=14)
def trilu(xp, input, k=None, *, upper=1):
    """Trilu: https://onnx.ai/onnx/operators/onnx__Trilu.html"""
    if input.ndim < 2:
        raise ValueError(f"Trilu: expected rank >= 2, got {input.ndim}")
    k = int(scalar(k, 0))
    n, m = input.shape[-2:]
    # a broadcast mask and a where keep every dtype (strings, bool, ml_dtypes) intact
    mod = xp if input.dtype.kind in _NATIVE else np
    rows = mod.arange(n).reshape(n, 1)
    cols = mod.arange(m).reshape(1, m)
    keep = (cols - rows >= k) if upper else (cols - rows <= k)
    zero = mod.zeros((), dtype=input.dtype) if input.dtype != object else np.array("", object)
    return mod.where(keep, input, zero)
