"""Fused transformer kernels in the private ``ai_engine`` domain, created only by the optimizer.

- ``ReshapeDims(x, *sources, dims, allowzero)``: ONNX Reshape whose target is a list of
  monomials over the dims of ``sources`` (see optimizer/shape_folding.py), so the Shape/Gather/
  Concat chain that computed the target at run time is gone.
- ``MatMulAdd(a, b, bias, activation)``: ``a @ b + bias`` (optionally exact erf-GELU), the
  bias added in place into the GEMM result: one temporary instead of two, one dispatch.
- ``Attention(q, k, v, mask?, scale, transpose_k)``: ``softmax(scale * q @ k^T + mask) @ v``
  with the softmax done in place on the score matrix.
"""

from __future__ import annotations

import math

import numpy as np

from ai_engine.engine.operators._math import erf
from ai_engine.engine.registry import register

_INV_SQRT2 = 1.0 / math.sqrt(2.0)


@register("ReshapeDims", since=1, domain="ai_engine")
def reshape_dims(xp, x, *sources, dims, allowzero=0):
    """Reshape (https://onnx.ai/onnx/operators/onnx__Reshape.html) to a computed target."""
    shape = []
    i = 0
    while i < len(dims):
        v, n = dims[i], dims[i + 1]
        for k in range(n):
            v *= sources[dims[i + 2 + 2 * k]].shape[dims[i + 3 + 2 * k]]
        shape.append(v)
        i += 2 + 2 * n
    if not allowzero and 0 in shape:
        shape = [x.shape[j] if d == 0 else d for j, d in enumerate(shape)]
    return x.reshape(shape)


def _gelu_inplace(xp, y):
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
            _gelu_inplace(xp, y)
        else:   # float16/bfloat16: GELU in float32, as the Gelu kernel does, rounded once
            y = _gelu_inplace(xp, y.astype(np.float32)).astype(y.dtype)
    elif activation:
        raise ValueError(f"MatMulAdd activation must be '' or 'gelu', got {activation!r}")
    return y


@register("Attention", since=1, domain="ai_engine")
def attention(xp, q, k, v, mask=None, *, scale=1.0, transpose_k=0):
    """softmax(scale * q @ k^T + mask, axis=-1) @ v (MatMul/Softmax-13 semantics)."""
    if q.dtype not in (np.float32, np.float64):
        # The unfused chain rounds only at node boundaries and runs Softmax in float32:
        # emulate that so float16/bfloat16 graphs give the same numbers.
        s = xp.matmul(q, xp.swapaxes(k, -1, -2) if transpose_k else k)
        s = s.astype(np.float32)
        if scale != 1.0:
            s *= np.float32(scale)
        if mask is not None:
            s = s + mask.astype(np.float32)
        s -= s.max(axis=-1, keepdims=True)
        xp.exp(s, out=s)
        s /= s.sum(axis=-1, keepdims=True)
        return xp.matmul(s.astype(q.dtype), v)
    s = xp.matmul(q, xp.swapaxes(k, -1, -2) if transpose_k else k)
    if scale != 1.0:
        s *= s.dtype.type(scale)
    if mask is not None:
        if np.broadcast_shapes(s.shape, mask.shape) == s.shape:
            s += mask
        else:
            s = s + mask
    s -= s.max(axis=-1, keepdims=True)
    xp.exp(s, out=s)
    s /= s.sum(axis=-1, keepdims=True)
    return xp.matmul(s, v)
