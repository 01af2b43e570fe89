"""LinearAttention-27: https://onnx.ai/onnx/operators/onnx__LinearAttention.html (recurrent
linear attention with a carried state, the gated-delta-rule family)."""

from __future__ import annotations

import numpy as np

from ai_engine.engine.operators.dtype_policy import compute_dtype
from ai_engine.engine.registry import register


def _heads(x, n):
    """(B, T, H*D) -> (B, H, T, D)."""
    b, t, hd = x.shape
    if hd % n:
        raise ValueError(f"LinearAttention: last dim {hd} is not a multiple of {n} heads")
    return x.reshape(b, t, n, hd // n).transpose(0, 2, 1, 3)


@register("LinearAttention", since=27)
def linear_attention(xp, query, key, value, past_state=None, decay=None, beta=None, *,
                     chunk_size=64, kv_num_heads, q_num_heads, scale=0.0,
                     update_rule="gated_delta"):
    """LinearAttention-27: https://onnx.ai/onnx/operators/onnx__LinearAttention.html

    The recurrence runs step by step over T (as an RNN does); each step is a few batched
    matmuls over (B, H_kv). ``chunk_size`` is a tuning hint with no effect on results.
    """
    if update_rule not in ("linear", "gated", "delta", "gated_delta"):
        raise ValueError(f"LinearAttention: unknown update_rule {update_rule!r}")
    if q_num_heads <= 0 or kv_num_heads <= 0 or q_num_heads % kv_num_heads:
        raise ValueError(f"LinearAttention: q_num_heads {q_num_heads} must be a positive "
                         f"multiple of kv_num_heads {kv_num_heads}")
    gating = update_rule in ("gated", "gated_delta")
    delta = update_rule in ("delta", "gated_delta")
    if gating and decay is None:
        raise ValueError(f"LinearAttention: update_rule {update_rule!r} needs decay")
    if delta and beta is None:
        raise ValueError(f"LinearAttention: update_rule {update_rule!r} needs beta")
    for name, arr in (("query", query), ("key", key), ("value", value)):
        if arr.ndim != 3:
            raise ValueError(f"LinearAttention: {name} must be 3-D (B, T, H*D), got "
                             f"{arr.shape}")
    out_dtype = query.dtype
    ct = compute_dtype(out_dtype)
    b, t, _ = query.shape
    hkv, group = kv_num_heads, q_num_heads // kv_num_heads
    q4 = _heads(query.astype(ct), q_num_heads)
    k4 = _heads(key.astype(ct), hkv)
    v4 = _heads(value.astype(ct), hkv)
    dk, dv = q4.shape[-1], v4.shape[-1]
    # Queries sharing a KV head read one state: view them as (B, H_kv, group, d_k).
    q5 = q4.reshape(b, hkv, group, t, dk)

    g4 = None
    if gating:
        last = decay.shape[-1]
        if last == hkv:
            g4 = decay.reshape(b, t, hkv, 1).transpose(0, 2, 1, 3)
        elif last == hkv * dk:
            g4 = _heads(decay, hkv)
        else:
            raise ValueError(f"LinearAttention: decay last dim {last} must be {hkv} or "
                             f"{hkv * dk}")
        g4 = xp.exp(g4.astype(ct))                                 # (B, H_kv, T, 1|d_k)
    b4 = None
    if delta:
        last = beta.shape[-1]
        if last not in (hkv, 1):
            raise ValueError(f"LinearAttention: beta last dim {last} must be {hkv} or 1")
        b4 = beta.reshape(b, t, last, 1).transpose(0, 2, 1, 3).astype(ct)  # (B, H|1, T, 1)

    if past_state is not None:
        if past_state.shape != (b, hkv, dk, dv):
            raise ValueError(f"LinearAttention: past_state shape {past_state.shape} is not "
                             f"{(b, hkv, dk, dv)}")
        state_dtype = past_state.dtype
        state = past_state.astype(ct)
    else:
        state_dtype = out_dtype
        state = xp.zeros((b, hkv, dk, dv), dtype=ct)
    scale_val = ct.type(scale if scale else 1.0 / np.sqrt(dk))

    out = xp.empty((b, hkv, group, t, dv), dtype=ct)
    for i in range(t):
        k_t = k4[:, :, i, :]                                        # (B, H_kv, d_k)
        v_t = v4[:, :, i, :]                                        # (B, H_kv, d_v)
        if gating:
            state = state * g4[:, :, i, :, None]
        if delta:
            retrieved = xp.matmul(k_t[:, :, None, :], state)[:, :, 0, :]
            v_t = b4[:, :, i, :] * (v_t - retrieved)
        state = state + k_t[..., :, None] * v_t[..., None, :]
        out[:, :, :, i, :] = xp.matmul(q5[:, :, :, i, :], state)   # (B, H_kv, group, d_v)
    out *= scale_val
    output = out.reshape(b, q_num_heads, t, dv).transpose(0, 2, 1, 3)
    output = output.reshape(b, t, q_num_heads * dv).astype(out_dtype)
    return output, state.astype(state_dtype)
