"""FlexAttention (``ai.onnx.preview`` domain, opset 1): attention with user subgraph hooks.

Spec: https://onnx.ai/onnx/operators/onnx_aionnxpreview_FlexAttention.html

    Scores = (Q @ K^T) * scale
    Scores = score_mod(Scores)      # optional GRAPH attribute
    Probs  = Softmax(Scores, -1)
    Probs  = prob_mod(Probs)        # optional GRAPH attribute
    Y      = Probs @ V

The modifier subgraphs take the whole rank-4 ``(B, Hq, L, S)`` tensor (positions are derived
inside the subgraph from its shape), so each runs once per call, fully vectorized. As in
Attention, grouped-query attention folds the query heads sharing a KV head into the GEMM's M
dimension instead of repeating K and V.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.operators.dtype_policy import to_compute
from ai_engine.engine.operators.attention import _precision_dtype, _softmax
from ai_engine.engine.registry import register

PREVIEW_DOMAIN = "ai.onnx.preview"


def _softmax_dtype(input_dtype: np.dtype, softmax_precision) -> np.dtype:
    """softmax_precision if given; else float64 for double inputs and float32 otherwise."""
    if softmax_precision is not None:
        return _precision_dtype(softmax_precision)
    return np.dtype(np.float64) if input_dtype == np.float64 else np.dtype(np.float32)


def _gemm(xp, a, b, dtype):
    """``a @ b`` rounded to ``dtype``; half types go through float32 BLAS (NumPy has no half
    GEMM, and its fallback loop accumulates in float32 anyway)."""
    if np.dtype(dtype).itemsize < 4:
        return xp.matmul(to_compute(a), to_compute(b)).astype(dtype)
    return xp.matmul(a, b)


def _run_mod(runner, x, outer_scope, what):
    outs = runner([x], outer_scope)
    if len(outs) != 1:
        raise ValueError(f"FlexAttention: {what} must produce exactly 1 output, got {len(outs)}")
    y = outs[0]
    if tuple(y.shape) != tuple(x.shape):
        raise ValueError(f"FlexAttention: {what} changed the shape {tuple(x.shape)} to "
                         f"{tuple(y.shape)}")
    return y if y.dtype == x.dtype else y.astype(x.dtype)


@register("FlexAttention", since=1, domain=PREVIEW_DOMAIN, outer_scope=True)
def flex_attention(xp, q, k, v, *, scale=None, score_mod=None, prob_mod=None,
                   softmax_precision=None, outer_scope):
    """FlexAttention-1 (preview): rank-4 Q/K/V, optional score_mod / prob_mod subgraphs."""
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
        raise ValueError(f"FlexAttention: Q, K, V must be rank 4, got shapes {q.shape}, "
                         f"{k.shape}, {v.shape}")
    b, hq, sq, e = q.shape
    bk, hkv, skv, ek = k.shape
    bv, hv, sv, ev = v.shape
    if ek != e:
        raise ValueError(f"FlexAttention: Q head size {e} != K head size {ek}")
    if (bk, hkv, skv) != (bv, hv, sv):
        raise ValueError(f"FlexAttention: K {k.shape} and V {v.shape} disagree on batch, heads "
                         f"or sequence length")
    if bk != b:
        raise ValueError(f"FlexAttention: Q batch {b} != K/V batch {bk}")
    if hkv <= 0 or hq % hkv:
        raise ValueError(f"FlexAttention: q_num_heads {hq} must be a multiple of kv_num_heads "
                         f"{hkv}")
    group = hq // hkv
    st = _softmax_dtype(np.dtype(q.dtype), softmax_precision)

    if scale is None:
        scale = 1.0 / float(np.sqrt(e))
    # Q and K are each pre-scaled by sqrt(scale) in the input dtype (scale taken in float32):
    # the spec's reference rounds this way, which keeps half-precision results bit-close.
    # A NumPy scalar, not a 0-d array, so it also multiplies CuPy arrays.
    sqrt_scale = np.dtype(q.dtype).type(np.sqrt(np.float32(scale)))
    qs = q * sqrt_scale
    ks = k * sqrt_scale
    # (B, Hq, L, E) -> (B, Hkv, G*L, E): query head h uses KV head h // G.
    qg = qs.reshape(b, hkv, group * sq, e)
    scores = _gemm(xp, qg, xp.swapaxes(ks, -1, -2), q.dtype)       # (B, Hkv, G*L, S)
    scores = scores.reshape(b, hq, sq, skv).astype(st)              # a fresh array: owned

    if score_mod is not None:
        modded = _run_mod(score_mod, scores, outer_scope, "score_mod")
        # _softmax works in place: copy unless the subgraph handed back our own buffer, since
        # its output may alias one of its constants.
        scores = modded if modded is scores else modded.copy()
    # Fully masked rows (all -inf) come out as zeros rather than NaN.
    probs = _softmax(xp, scores, st, None)

    if prob_mod is not None:
        probs = _run_mod(prob_mod, probs, outer_scope, "prob_mod")

    pg = probs.reshape(b, hkv, group * sq, skv)
    y = _gemm(xp, pg, v.astype(st), st)                             # (B, Hkv, G*L, Ev)
    return y.reshape(b, hq, sq, ev).astype(v.dtype, copy=False)
