"""com.microsoft.GroupQueryAttention with its KV cache, as onnxruntime-genai's models use it
(docs/ContribOperators.md#com.microsoft.GroupQueryAttention; onnxruntime's CPU kernel,
contrib_ops/cpu/bert/gqa_attention_base.h, where the doc is silent).

Per batch entry b, ``total_b = seqlens_k[b] + 1`` keys are valid. The first prompt
(sequence length == ``total_sequence_length``) starts at position 0 (right-padded entries
have total_b < S); later steps append S tokens after ``past_b = total_b - S`` cached ones.
``present_key``/``present_value`` are (B, kv_num_heads, max(past buffer length,
total_sequence_length), H): rows [0, past_b) from the past, then the new tokens, zeros after
(onnxruntime-genai passes a max-length past buffer, so the present has that length too).

Query i (position ``past_b + i``) attends keys j < total_b with j <= its position (``causal``)
and j > position - ``local_window_size`` (the query itself and the window - 1 keys before
it, as onnxruntime 1.32's CPU kernel counts the window). Query head h uses KV head
h // (num_heads / kv_num_heads): the grouped heads are folded into one GEMM per KV head, so K
and V are never repeated. The softmax variants: ``softcap`` (c * tanh(x / c) on the scaled
logits), ``smooth_softmax`` (an extra logit 0 in the denominator) and ``head_sink`` (an extra
per-head logit in the denominator).
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.registry import register

from .rotary import gather_cos_sin, rotate

_OP = "GroupQueryAttention"


def _positions(seqlens, seq, first_prompt, position_ids):
    """(B, S) rotary positions and per-entry past lengths."""
    total = seqlens.astype(np.int64) + 1
    past = np.zeros_like(total) if first_prompt else total - seq
    if position_ids is not None:
        pos = np.asarray(position_ids).astype(np.int64)
        if pos.shape != (len(total), seq):
            raise ValueError(f"{_OP}: position_ids of shape {pos.shape} must be "
                             f"({len(total)}, {seq})")
        if first_prompt:
            # onnxruntime reads only position_ids[0, 0] on the first prompt (its doc says
            # so): every sequence starts there.
            pos = pos.reshape(-1)[0] + np.arange(seq, dtype=np.int64)[None, :].repeat(
                len(total), 0)
        return pos, past, total
    return past[:, None] + np.arange(seq, dtype=np.int64)[None, :], past, total


def _unpack(query, key, value, heads, kv_heads):
    """Q (B, S, N, H), K and V (B, S, Nkv, H) views."""
    b, s, d = query.shape
    if key is None:
        if value is not None:
            raise ValueError(f"{_OP}: packed QKV (key omitted) needs value omitted too")
        if d % (heads + 2 * kv_heads):
            raise ValueError(f"{_OP}: packed QKV width {d} is not (num_heads + 2 * "
                             f"kv_num_heads) * head_size")
        h = d // (heads + 2 * kv_heads)
        qkv = query.reshape(b, s, heads + 2 * kv_heads, h)
        return qkv[:, :, :heads], qkv[:, :, heads:heads + kv_heads], qkv[:, :, heads + kv_heads:]
    if value is None or key.shape != value.shape or key.ndim != 3 or key.shape[:2] != (b, s):
        raise ValueError(f"{_OP}: key {tuple(key.shape)} and value "
                         f"{None if value is None else tuple(value.shape)} must both be "
                         f"({b}, {s}, kv_hidden)")
    if d % heads or key.shape[2] % kv_heads or d // heads != key.shape[2] // kv_heads:
        raise ValueError(f"{_OP}: query width {d} / {heads} heads and key width "
                         f"{key.shape[2]} / {kv_heads} heads give different head sizes")
    h = d // heads
    return (query.reshape(b, s, heads, h), key.reshape(b, s, kv_heads, h),
            value.reshape(b, s, kv_heads, h))


def _present(xp, past, new, past_len, present_len, what):
    """The present cache: past rows [0, past_b), new rows [past_b, past_b + S), zeros after."""
    b, s, n, h = new.shape
    out = xp.zeros((b, n, present_len, h), dtype=new.dtype)
    for i in range(b):
        p = int(past_len[i])
        if p:
            if past is None or past.shape[2] < p:
                raise ValueError(f"{_OP}: batch entry {i} needs {p} cached positions but "
                                 f"{what} holds {0 if past is None else past.shape[2]}")
            out[i, :, :p] = past[i, :, :p]
        out[i, :, p:p + s] = new[i].transpose(1, 0, 2)
    return out


def _allowed(past_len, total_len, seq, keys, causal, window):
    """(B, 1, 1, S, T) bool: which keys each query position may attend."""
    j = np.arange(keys).reshape(1, 1, keys)
    pos = past_len.reshape(-1, 1, 1) + np.arange(seq).reshape(1, seq, 1)
    ok = j < total_len.reshape(-1, 1, 1)
    if causal:
        ok = ok & (j <= pos)
    if window > 0:
        ok = ok & (j > pos - window)
    return ok[:, None, None]


def _softmax(xp, s, sink):
    """Softmax over the last axis in place; ``sink`` (broadcastable to s[..., :1]) is an
    extra logit that only adds to the denominator."""
    m = s.max(axis=-1, keepdims=True)
    if sink is not None:
        m = xp.maximum(m, sink)
    s -= m
    xp.exp(s, out=s)
    total = s.sum(axis=-1, keepdims=True)
    if sink is not None:
        total += xp.exp(sink - m)
    s /= total
    return s


def _check_unsupported(k_scale, v_scale, q_norm_weight, k_norm_weight, query_seqlens,
                       k_quant_type, v_quant_type, sliding_window_cache, causal, window):
    if k_scale is not None or v_scale is not None or k_quant_type != "NONE" \
            or v_quant_type != "NONE":
        raise ValueError(f"{_OP}: a quantized KV cache (k_scale/v_scale, k_quant_type/"
                         "v_quant_type) is not supported; use a float cache")
    if q_norm_weight is not None or k_norm_weight is not None:
        raise ValueError(f"{_OP}: q_norm_weight/k_norm_weight are not supported (onnxruntime "
                         "honours them on CUDA/WebGPU only)")
    if query_seqlens is not None:
        raise ValueError(f"{_OP}: the query_seqlens input is not supported")
    if sliding_window_cache:
        raise ValueError(f"{_OP}: sliding_window_cache=1 (window-sized KV buffers) is not "
                         "supported")
    if causal not in (0, 1) or (not causal and window > 0):
        raise ValueError(f"{_OP}: causal must be 0 or 1, and local_window_size needs causal=1")


@register(_OP, since=1, domain="com.microsoft", num_outputs=True)
def group_query_attention(xp, query, key, value, past_key, past_value, seqlens_k,
                          total_sequence_length, cos_cache=None, sin_cache=None,
                          position_ids=None, attention_bias=None, head_sink=None, k_scale=None,
                          v_scale=None, q_norm_weight=None, k_norm_weight=None,
                          query_seqlens=None, *, num_heads, kv_num_heads, scale=0.0,
                          softcap=0.0, do_rotary=0, rotary_interleaved=0, local_window_size=-1,
                          smooth_softmax=-1, qk_output=0, causal=1, sliding_window_cache=0,
                          qk_norm_epsilon=1e-6, q_norm_epsilon=None, k_norm_epsilon=None,
                          k_quant_type="NONE", v_quant_type="NONE", kv_cache_bit_width=None,
                          n_outputs=3):
    """com.microsoft.GroupQueryAttention: docs/ContribOperators.md (see the module docstring).

    The epsilons and ``kv_cache_bit_width`` only matter with q/k norm weights or a quantized
    cache, both rejected with a clear error.
    """
    _check_unsupported(k_scale, v_scale, q_norm_weight, k_norm_weight, query_seqlens,
                       k_quant_type, v_quant_type, sliding_window_cache, causal,
                       local_window_size)
    if num_heads <= 0 or kv_num_heads <= 0 or num_heads % kv_num_heads:
        raise ValueError(f"{_OP}: num_heads {num_heads} must be a positive multiple of "
                         f"kv_num_heads {kv_num_heads}")
    if query.ndim != 3:
        raise ValueError(f"{_OP}: query must be (B, S, D), got {tuple(query.shape)}")
    q, k, v = _unpack(query, key, value, num_heads, kv_num_heads)
    b, s, _, h = q.shape
    seqlens = np.asarray(seqlens_k).reshape(-1)
    if seqlens.shape != (b,):
        raise ValueError(f"{_OP}: seqlens_k of shape {tuple(np.shape(seqlens_k))} must be "
                         f"({b},)")
    total_seq = int(np.asarray(total_sequence_length).reshape(-1)[0])
    pos, past_len, total_len = _positions(seqlens, s, s == total_seq, position_ids)
    if total_len.max() > total_seq or (past_len < 0).any() and s != total_seq:
        raise ValueError(f"{_OP}: seqlens_k {seqlens.tolist()} do not fit sequence length "
                         f"{s} and total_sequence_length {total_seq}")
    if do_rotary:
        if cos_cache is None or sin_cache is None:
            raise ValueError(f"{_OP}: do_rotary=1 needs cos_cache and sin_cache")
        cos, sin = gather_cos_sin(cos_cache, sin_cache, pos, _OP)
        q = rotate(xp, q, cos, sin, rotary_interleaved)
        k = rotate(xp, k, cos, sin, rotary_interleaved)
    if (past_key is None) != (past_value is None):
        raise ValueError(f"{_OP}: past_key and past_value must be given together")
    buffer = 0 if past_key is None else past_key.shape[2]
    if past_key is not None and (past_key.ndim != 4 or past_key.shape[:2] != (b, kv_num_heads)
                                 or past_key.shape[3] != h or past_value.shape != past_key.shape):
        raise ValueError(f"{_OP}: past_key {tuple(past_key.shape)} / past_value "
                         f"{tuple(past_value.shape)} must be ({b}, {kv_num_heads}, P, {h})")
    present_len = max(buffer, total_seq)
    present_k = _present(xp, past_key, k, past_len, present_len, "past_key")
    present_v = _present(xp, past_value, v, past_len, present_len, "past_value")

    group = num_heads // kv_num_heads
    keys = total_seq
    ct = np.float64 if query.dtype == np.float64 else np.float32
    # Query head h = kv * group + g: (B, S, N, H) -> (B, Nkv, G*S, H), one GEMM per KV head.
    qg = q.transpose(0, 2, 1, 3).reshape(b, kv_num_heads, group * s, h).astype(ct, copy=False)
    kt = present_k[:, :, :keys].astype(ct, copy=False).swapaxes(-1, -2)
    scores = xp.matmul(qg, kt)
    scores *= ct(1.0 / np.sqrt(h) if not scale else scale)
    s5 = scores.reshape(b, kv_num_heads, group, s, keys)
    if softcap > 0:
        s5 = xp.tanh(s5 / ct(softcap), out=s5)
        s5 *= ct(softcap)
    if attention_bias is not None:
        ab = attention_bias.astype(ct, copy=False)
        if ab.ndim != 4 or ab.shape[0] not in (1, b) or ab.shape[1] not in (1, num_heads) \
                or ab.shape[2] != s or ab.shape[3] < keys:
            raise ValueError(f"{_OP}: attention_bias {tuple(ab.shape)} must be ({b} or 1, "
                             f"{num_heads} or 1, {s}, {keys})")
        ab = ab[..., :keys]
        s5 += ab.reshape(ab.shape[0], kv_num_heads if ab.shape[1] > 1 else 1,
                         group if ab.shape[1] > 1 else 1, s, keys)
    allowed = _allowed(past_len, total_len, s, keys, causal, local_window_size)
    s5[...] = xp.where(allowed, s5, ct(-np.inf))
    # onnxruntime leaves the masked logits it never computes at 0 in the qk output.
    qk = xp.where(allowed, s5, ct(0)) if qk_output == 1 and n_outputs > 3 else None
    sink = None
    if head_sink is not None:
        sink = head_sink.astype(ct).reshape(1, kv_num_heads, group, 1, 1)
    elif smooth_softmax == 1:
        sink = ct(0.0)
    _softmax(xp, s5, sink)
    if qk_output == 2 and n_outputs > 3:
        qk = s5.copy()
    out = xp.matmul(scores, present_v[:, :, :keys].astype(ct, copy=False))  # (B, Nkv, G*S, H)
    out = out.reshape(b, num_heads, s, h).transpose(0, 2, 1, 3).reshape(b, s, num_heads * h)
    if qk is not None:
        qk = qk.reshape(b, num_heads, s, keys).astype(query.dtype, copy=False)
    outs = (out.astype(query.dtype, copy=False), present_k, present_v, qk)
    return outs[:max(n_outputs, 1)]
