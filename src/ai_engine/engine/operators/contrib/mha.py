"""com.microsoft.MultiHeadAttention (docs/ContribOperators.md#com.microsoft.MultiHeadAttention).

Q, K and V come already projected; the op adds the optional bias, splits heads, appends the
optional past K/V, and runs scaled dot-product attention (shared with com.microsoft.Attention,
see attention.py). Layouts, as onnxruntime reads them:
- query (B, S, D), key/value (B, L, D) and (B, L, Dv): bias (D + D + Dv) is added to all three;
- key/value (B, N, L, H) ("BNSH", a cross-attention cache): used as is, the bias goes to Q only
  (onnxruntime's CPU kernel does the same);
- packed QKV: query (B, S, N, 3, H), key and value omitted; packed KV: key (B, L, N, 2, H),
  value omitted (bias layout still Q | K | V, each N*H). onnxruntime's CPU kernel rejects both
  packed forms; they follow the spec and the CUDA layout.
``qk`` (output 3) is scale * Q K^T plus every mask and bias, before the softmax.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.registry import register

from ._masks import attention_bias_check, causal_bias, combine, padding_bias
from .attention import merge_heads, resolve_scale, scaled_dot_product, split_heads

_OP = "MultiHeadAttention"


def _bias_heads(bias, part, heads, head):
    """Bias part ``part`` (0 Q, 1 K, 2 V) shaped (1, N, 1, H) to add to a (B, N, S, H) view."""
    return bias[part * heads * head:(part + 1) * heads * head].reshape(1, heads, 1, head)


def _projected(xp, query, key, value, bias, heads):
    """Q, K, V as (B, N, S|L, H) with the bias added, and whether K/V were given as BNSH."""
    if query.ndim == 5:
        if key is not None or value is not None or query.shape[3] != 3:
            raise ValueError(f"{_OP}: a 5-D query is packed QKV (B, S, N, 3, H) and needs key "
                             f"and value omitted, got query {tuple(query.shape)}")
        qkv = query.transpose(3, 0, 2, 1, 4)                  # (3, B, N, S, H) view
        q, k, v = qkv[0], qkv[1], qkv[2]
        if q.shape[1] != heads:
            raise ValueError(f"{_OP}: packed QKV has {q.shape[1]} heads, num_heads is {heads}")
        if bias is not None:
            h = q.shape[-1]
            q, k, v = (t + _bias_heads(bias, i, heads, h) for i, t in enumerate((q, k, v)))
        return (xp.ascontiguousarray(q), xp.ascontiguousarray(k), xp.ascontiguousarray(v),
                False)
    if query.ndim != 3:
        raise ValueError(f"{_OP}: query must be (B, S, D) or packed (B, S, N, 3, H), got "
                         f"{tuple(query.shape)}")
    q = split_heads(query, heads, "query", _OP)
    h = q.shape[-1]
    if key is None:
        raise ValueError(f"{_OP}: key is required unless query is packed QKV")
    if key.ndim == 5:
        if value is not None or key.shape[2:4] != (heads, 2):
            raise ValueError(f"{_OP}: a 5-D key is packed KV (B, L, {heads}, 2, H) and needs "
                             f"value omitted, got key {tuple(key.shape)}")
        kv = key.transpose(3, 0, 2, 1, 4)
        k, v = kv[0], kv[1]
        bnsh = False
    elif key.ndim == 4:
        if value is None or value.ndim != 4 or key.shape[1] != heads:
            raise ValueError(f"{_OP}: 4-D key/value must both be (B, {heads}, L, H), got "
                             f"{tuple(key.shape)} and "
                             f"{None if value is None else tuple(value.shape)}")
        k, v, bnsh = key, value, True
    else:
        if value is None or key.ndim != 3 or value.ndim != 3:
            raise ValueError(f"{_OP}: key and value must both be (B, L, D), got "
                             f"{tuple(key.shape)} and "
                             f"{None if value is None else tuple(value.shape)}")
        k, v = split_heads(key, heads, "key", _OP), split_heads(value, heads, "value", _OP)
        bnsh = False
    if bias is not None:
        q = q + _bias_heads(bias, 0, heads, h)
        if not bnsh:
            hv = v.shape[-1]
            k = k + _bias_heads(bias, 1, heads, h)
            v = v + bias[2 * heads * h:2 * heads * h + heads * hv].reshape(1, heads, 1, hv)
    # Strided head views make NumPy's batched matmul leave BLAS: one copy each is cheaper.
    return (xp.ascontiguousarray(q), xp.ascontiguousarray(k), xp.ascontiguousarray(v), bnsh)


@register(_OP, since=1, domain="com.microsoft", num_outputs=True)
def multi_head_attention(xp, query, key=None, value=None, bias=None, key_padding_mask=None,
                         attention_bias=None, past_key=None, past_value=None,
                         past_sequence_length=None, cache_indirection=None, *, num_heads,
                         mask_filter_value=-10000.0, scale=0.0, unidirectional=0,
                         n_outputs=1):
    """com.microsoft.MultiHeadAttention: docs/ContribOperators.md"""
    if cache_indirection is not None or past_sequence_length is not None:
        raise ValueError(f"{_OP}: past_sequence_length / cache_indirection (beam-search "
                         "shared KV buffers, the DecoderMaskedMultiHeadAttention layout) are "
                         "not supported; onnxruntime's CPU kernel does not read them either")
    q, k, v, bnsh = _projected(xp, query, key, value, bias, num_heads)
    if (past_key is None) != (past_value is None):
        raise ValueError(f"{_OP}: past_key and past_value must be given together")
    if past_key is not None:
        if bnsh:
            raise ValueError(f"{_OP}: past_key/past_value cannot be combined with BNSH key/value")
        b, n, _, h = k.shape
        if past_key.ndim != 4 or past_key.shape[:2] != (b, n) or past_key.shape[3] != h \
                or past_value.shape[:3] != past_key.shape[:3]:
            raise ValueError(f"{_OP}: past_key {tuple(past_key.shape)} / past_value "
                             f"{tuple(past_value.shape)} must be ({b}, {n}, P, {h})")
        k = xp.concatenate([past_key, k.astype(past_key.dtype, copy=False)], axis=2)
        v = xp.concatenate([past_value, v.astype(past_value.dtype, copy=False)], axis=2)
    batch, _, seq, head = q.shape
    if k.shape[0] != batch or k.shape[3] != head or v.shape[2] != k.shape[2]:
        raise ValueError(f"{_OP}: Q {tuple(q.shape)}, K {tuple(k.shape)} and V "
                         f"{tuple(v.shape)} (as B, N, S, H) do not agree")
    total = k.shape[2]
    past_len = 0 if past_key is None else past_key.shape[2]
    dtype = np.dtype(np.float64 if q.dtype == np.float64 else np.float32)
    attention_bias_check(attention_bias, batch=batch, heads=num_heads, seq=seq, total=total,
                         op=_OP)
    bias_all = combine(
        padding_bias(xp, key_padding_mask, batch=batch, seq=seq, past=past_len, total=total,
                     filter_value=mask_filter_value, dtype=dtype, op=_OP,
                     attention_forms=False),
        causal_bias(xp, seq=seq, past=past_len, total=total, dtype=dtype)
        if unidirectional and seq > 1 else None,
        attention_bias)
    out, qk = scaled_dot_product(xp, q, k, v, bias_all, resolve_scale(scale, head),
                                 want_scores=n_outputs >= 4)
    out = merge_heads(out).astype(query.dtype, copy=False)
    present = (k, v) if past_key is not None or n_outputs > 1 else (None, None)
    outs = (out, *present, qk)
    return outs[:max(n_outputs, 1)]
