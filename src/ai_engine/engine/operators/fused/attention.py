"""``ai_engine::FusedAttention(q, k, v, mask?, scale, transpose_k)``: ``softmax(scale * q @ k^T +
mask) @ v`` with the softmax done in place on the score matrix, created by the optimizer pass
``fuse_attention``. (Named apart from ONNX's Attention-23 and com.microsoft's Attention, which
have other inputs and attributes.)"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.operators.compiled_paths import compiled_softmax
from ai_engine.engine.registry import register


@register("FusedAttention", since=1, domain="ai_engine")
def fused_attention(xp, q, k, v, mask=None, *, scale=1.0, transpose_k=0):
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
    if compiled_softmax(xp, s, out=s) is None:
        s -= s.max(axis=-1, keepdims=True)
        xp.exp(s, out=s)
        s /= s.sum(axis=-1, keepdims=True)
    return xp.matmul(s, v)
