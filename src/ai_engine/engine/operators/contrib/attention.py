"""com.microsoft Attention and MultiHeadAttention, the fusions onnxruntime's transformer
optimizer writes for BERT/GPT-2-style self-attention (docs/ContribOperators.md).

Both are one input projection (Attention: one GEMM against the merged QKV weight) followed by
the scaled dot-product attention of the private fused kernel (``ai_engine::Attention``: two
batched GEMMs with the softmax in place on the score matrix). Heads are strided views of the
projection, never copies: BLAS reads them with a leading dimension.

onnxruntime semantics kept here (its CPU kernels, contrib_ops/cpu/bert/attention*.h):
- masks are additive and finite: padding gets ``mask_filter_value`` (default -10000), future
  keys the dtype's lowest value, and the causal mask applies only when the query has more
  than one position;
- ``scale`` 0 (the default) means 1/sqrt(head_size);
- ``past``/``present`` of Attention stack K and V: (2, B, N, P, H) -> (2, B, N, P + S, H); with
  ``past_present_share_buffer`` both are the (2, B, N, M, H) buffer and the new K/V are written
  at ``past_sequence_length``.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.operators.fused.attention import fused_attention
from ai_engine.engine.registry import register

from ._masks import attention_bias_check, causal_bias, combine, padding_bias


def softmax_inplace(xp, s):
    """Row softmax over the last axis of ``s``, written into ``s``."""
    s -= s.max(axis=-1, keepdims=True)
    xp.exp(s, out=s)
    s /= s.sum(axis=-1, keepdims=True)
    return s


def scaled_dot_product(xp, q, k, v, bias, scale, want_scores=False):
    """softmax(scale * q @ k^T + bias) @ v over (B, N, S, H) views; with ``want_scores`` also
    the pre-softmax matrix (onnxruntime's ``qk`` output)."""
    if not want_scores:
        return fused_attention(xp, q, k, v, bias, scale=scale, transpose_k=1), None
    s = xp.matmul(q, xp.swapaxes(k, -1, -2))
    s *= s.dtype.type(scale)
    if bias is not None:
        s = s + bias.astype(s.dtype, copy=False)
    scores = s.copy()
    return xp.matmul(softmax_inplace(xp, s), v), scores


def split_heads(x, heads, what, op):
    """(B, S, N*H) -> (B, N, S, H) as a view."""
    b, s, hidden = x.shape
    if hidden % heads:
        raise ValueError(f"{op}: {what} hidden size {hidden} is not a multiple of num_heads "
                         f"{heads}")
    return x.reshape(b, s, heads, hidden // heads).transpose(0, 2, 1, 3)


def contiguous_heads(xp, x, heads, what, op):
    """(B, S, N*H) -> a C-contiguous (B, N, S, H) copy: BLAS-friendly batched matmuls."""
    return xp.ascontiguousarray(split_heads(x, heads, what, op))


def merge_heads(x):
    """(B, N, S, H) -> (B, S, N*H)."""
    b, n, s, h = x.shape
    return x.transpose(0, 2, 1, 3).reshape(b, s, n * h)


def resolve_scale(scale, head_size):
    return 1.0 / float(np.sqrt(head_size)) if not scale else float(scale)


def _qkv_sizes(weights, qkv_hidden_sizes, heads):
    total = weights.shape[1]
    if qkv_hidden_sizes:
        if len(qkv_hidden_sizes) != 3 or sum(qkv_hidden_sizes) != total:
            raise ValueError(f"Attention: qkv_hidden_sizes {list(qkv_hidden_sizes)} must be "
                             f"three sizes summing to the weights' second dim {total}")
        sizes = tuple(int(s) for s in qkv_hidden_sizes)
    else:
        if total % 3:
            raise ValueError(f"Attention: weights' second dim {total} is not 3 * hidden_size")
        sizes = (total // 3,) * 3
    if sizes[0] != sizes[1] or any(s % heads for s in sizes):
        raise ValueError(f"Attention: Q/K/V hidden sizes {sizes} must have Q == K and be "
                         f"multiples of num_heads {heads}")
    return sizes


def _with_past(xp, k, v, past, past_len_input, share_buffer, op, want_present):
    """K and V to attend over, and the ``present`` output (None when not asked for)."""
    if past is None:
        # present stacks K and V: only defined when they have the same head size.
        return k, v, xp.stack([k, v]) if want_present and k.shape == v.shape else None
    b, n, s, h = k.shape
    if past.ndim != 5 or past.shape[0] != 2 or past.shape[1:3] != (b, n) \
            or past.shape[4] != h:
        raise ValueError(f"{op}: past of shape {tuple(past.shape)} must be (2, {b}, {n}, "
                         f"past_sequence_length, {h})")
    if not share_buffer:
        present = xp.concatenate([past, xp.stack([k, v]).astype(past.dtype)], axis=3)
        return present[0], present[1], present
    if past_len_input is None:
        raise ValueError(f"{op}: past_present_share_buffer needs the past_sequence_length input")
    p = int(np.asarray(past_len_input).reshape(-1)[0])
    if not 0 <= p <= past.shape[3] - s:
        raise ValueError(f"{op}: past_sequence_length {p} + sequence length {s} exceeds the "
                         f"shared buffer's max length {past.shape[3]}")
    present = past.copy()
    present[0, :, :, p:p + s] = k
    present[1, :, :, p:p + s] = v
    return present[0, :, :, :p + s], present[1, :, :, :p + s], present


@register("Attention", since=1, domain="com.microsoft", num_outputs=True)
def attention(xp, x, weights, bias=None, mask_index=None, past=None, attention_bias=None,
              past_sequence_length=None, *, num_heads, unidirectional=0, qkv_hidden_sizes=None,
              mask_filter_value=-10000.0, scale=0.0, do_rotary=0, rotary_embedding_dim=0,
              past_present_share_buffer=0, n_outputs=2):
    """com.microsoft.Attention: docs/ContribOperators.md#com.microsoft.Attention"""
    if do_rotary:
        raise ValueError("Attention: do_rotary=1 is not supported (onnxruntime's CPU kernel "
                         "rejects it too; fuse the model as MultiHeadAttention + "
                         "RotaryEmbedding)")
    if rotary_embedding_dim:
        raise ValueError("Attention: rotary_embedding_dim is only meaningful with do_rotary")
    if x.ndim != 3 or weights.ndim != 2 or weights.shape[0] != x.shape[2]:
        raise ValueError(f"Attention: input {tuple(x.shape)} must be (B, S, D) and weights "
                         f"{tuple(weights.shape)} (D, Dq + Dk + Dv) with D = {x.shape[-1]}")
    dq, dk, dv = _qkv_sizes(weights, qkv_hidden_sizes, num_heads)
    if bias is not None and tuple(bias.shape) != (dq + dk + dv,):
        raise ValueError(f"Attention: bias of shape {tuple(bias.shape)} must be "
                         f"({dq + dk + dv},)")
    qkv = xp.matmul(x, weights)
    if bias is not None:
        qkv += bias
    if dq == dk == dv:
        # One copy into (3, B, N, S, H): strided head views of the (B, S, 3D) projection
        # make NumPy's batched matmul leave BLAS (measured ~10x slower than this copy).
        b_, s_ = qkv.shape[:2]
        heads = xp.ascontiguousarray(
            qkv.reshape(b_, s_, 3, num_heads, dq // num_heads).transpose(2, 0, 3, 1, 4))
        q, k, v = heads[0], heads[1], heads[2]
    else:
        q, k, v = (contiguous_heads(xp, part, num_heads, what, "Attention") for part, what in
                   ((qkv[..., :dq], "Q"), (qkv[..., dq:dq + dk], "K"), (qkv[..., dq + dk:], "V")))
    if past is not None and dq != dv:
        raise ValueError("Attention: with past, Q, K and V must have the same hidden size")
    k, v, present = _with_past(xp, k, v, past, past_sequence_length,
                               bool(past_present_share_buffer), "Attention", n_outputs > 1)
    batch, _, seq, head = q.shape
    total = k.shape[2]
    past_len = total - seq
    dtype = np.dtype(np.float64 if x.dtype == np.float64 else np.float32)
    attention_bias_check(attention_bias, batch=batch, heads=num_heads, seq=seq, total=total,
                         op="Attention")
    bias_all = combine(
        padding_bias(xp, mask_index, batch=batch, seq=seq, past=past_len, total=total,
                     filter_value=mask_filter_value, dtype=dtype, op="Attention"),
        causal_bias(xp, seq=seq, past=past_len, total=total, dtype=dtype)
        if unidirectional and seq > 1 else None,
        attention_bias)
    out, _ = scaled_dot_product(xp, q, k, v, bias_all, resolve_scale(scale, head))
    y = merge_heads(out).astype(x.dtype, copy=False)
    return (y, present) if n_outputs > 1 else y
