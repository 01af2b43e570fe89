"""``ai_engine::MatMulAdd(a, b, bias, activation)``: ``a @ b + bias`` (optionally exact
erf-GELU), created by the optimizer pass ``fuse_matmul_add``: the bias is added in place into the
GEMM result, one temporary instead of two, one dispatch."""

from __future__ import annotations

import math

import numpy as np

from ai_engine.engine.operators.erf import erf
from ai_engine.engine.registry import register

_INV_SQRT2 = 1.0 / math.sqrt(2.0)


def gelu_inplace(xp, y):
    t = y * y.dtype.type(_INV_SQRT2)
    t = erf(xp, t, overwrite=True)
    t += 1
    t *= 0.5
    y *= t
    return y


@register("MatMulAdd", since=1, domain="ai_engine")
def matmul_add(xp, a, b, bias, *, activation=""):
    """MatMul (onnx__MatMul.html) + Add of a bias broadcast over the last axis [+ Gelu]."""
    y = xp.matmul(a, b)
    if y.shape[-1:] == bias.shape[-1:] and bias.ndim <= y.ndim:
        y += bias
    else:
        y = y + bias
    if activation == "gelu":
        if y.dtype in (np.float32, np.float64):
            gelu_inplace(xp, y)
        else:   # float16/bfloat16: GELU in float32, as the Gelu kernel does, rounded once
            y = gelu_inplace(xp, y.astype(np.float32)).astype(y.dtype)
    elif activation:
        raise ValueError(f"MatMulAdd activation must be '' or 'gelu', got {activation!r}")
    return y
