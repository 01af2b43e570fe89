"""Scaled dot-product attention (ONNX ``Attention``) and rotary position embeddings.

* Attention-23/24/25: https://onnx.ai/onnx/operators/onnx__Attention.html
* RotaryEmbedding-23: https://onnx.ai/onnx/operators/onnx__RotaryEmbedding.html

Attention runs as two batched GEMMs over 4-D arrays (``xp.matmul``) with a stable softmax in
between; grouped-query attention folds the query heads that share a KV head into the GEMM's M
dimension instead of repeating K and V, so no per-head Python loop and no K/V copies.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.registry import register

# TensorProto codes accepted by ``softmax_precision``.
_PRECISIONS = {1: np.float32, 10: np.float16, 11: np.float64}


def _precision_dtype(code):
    if code is None:
        return None
    if code == 16:
        import ml_dtypes
        return np.dtype(ml_dtypes.bfloat16)
    if code not in _PRECISIONS:
        raise ValueError(f"Attention: unsupported softmax_precision {code}")
    return np.dtype(_PRECISIONS[code])


def _to_heads(x, num_heads, what):
    """(B, S, H*D) -> (B, H, S, D)."""
    if num_heads is None or num_heads <= 0:
        raise ValueError(f"Attention: 3-D {what} needs q_num_heads and kv_num_heads")
    b, s, hidden = x.shape
    if hidden % num_heads:
        raise ValueError(f"Attention: {what} hidden size {hidden} is not a multiple of "
                         f"{num_heads} heads")
    return x.reshape(b, s, num_heads, hidden // num_heads).transpose(0, 2, 1, 3)


def _bias(xp, dtype, attn_mask, sq, skv, batch, *, is_causal, offset, nonpad,
          left_window, right_window):
    """The additive attention bias (0 / -inf / float mask), or ``None`` when nothing masks.

    Boolean constraints (bool mask, causal frontier, sliding window, KV padding) are combined
    as one ``allowed`` array and turned into 0/-inf once; a float mask is then added.
    ``offset`` is a Python int or a per-batch (B,) array (external cache)."""
    allowed = None
    fbias = None
    if attn_mask is not None:
        pad = skv - attn_mask.shape[-1]
        if pad < 0:
            raise ValueError(f"Attention: attn_mask last dim {attn_mask.shape[-1]} exceeds "
                             f"the total sequence length {skv}")
        if attn_mask.dtype == np.bool_:
            allowed = attn_mask
            if pad:
                allowed = xp.concatenate(
                    [allowed, xp.zeros(allowed.shape[:-1] + (pad,), dtype=bool)], axis=-1)
        else:
            fbias = attn_mask.astype(dtype, copy=False)
            if pad:
                fbias = xp.concatenate(
                    [fbias, xp.full(fbias.shape[:-1] + (pad,), -np.inf, dtype=dtype)], axis=-1)

    windowed = left_window >= 0 or right_window >= 0
    if is_causal or windowed:
        i = xp.arange(sq).reshape(sq, 1)
        j = xp.arange(skv).reshape(1, skv)
        if isinstance(offset, int):
            diff = (i + offset) - j                               # (Sq, Skv)
        else:
            diff = (i + offset.reshape(-1, 1, 1, 1)) - j          # (B, 1, Sq, Skv)
        structural = None
        if is_causal:
            structural = diff >= 0
        if left_window >= 0:
            w = diff <= left_window
            structural = w if structural is None else structural & w
        if right_window >= 0:
            w = -diff <= right_window
            structural = w if structural is None else structural & w
        allowed = structural if allowed is None else allowed & structural

    if nonpad is not None:
        valid = xp.arange(skv).reshape(1, skv) < nonpad.reshape(-1, 1).astype(np.int64)
        valid = valid.reshape(batch, 1, 1, skv)
        allowed = valid if allowed is None else allowed & valid

    if allowed is None:
        return fbias
    bias = xp.where(allowed, dtype.type(0), dtype.type(-np.inf))
    return bias if fbias is None else bias + fbias


# Rows up to this long are summed with per-step bfloat16 rounding (see _softmax).
_SEQUENTIAL_BF16_SUM_MAX = 64


def _softmax(xp, scores, st, sp):
    """Stable softmax over the last axis of ``scores`` (dtype ``st``, modified in place).

    A row whose max is -inf (fully masked) yields zeros, not NaN. ``sp`` is the precision a
    runtime would compute in (softmax_precision, or the half type of the inputs): when it is
    narrower than float32, intermediate results are rounded to it where such a runtime
    rounds them, so outputs agree to the bit instead of drifting by an ulp or two.
    """
    low = sp is not None and sp.itemsize < 4
    rnd = (lambda a: a.astype(sp).astype(st)) if low else (lambda a: a)
    scores = rnd(scores)
    m = scores.max(axis=-1, keepdims=True)
    m = xp.where(xp.isneginf(m), st.type(0), m)
    xp.subtract(scores, m, out=scores)
    scores = rnd(scores)
    xp.exp(scores, out=scores)
    scores = rnd(scores)
    n = scores.shape[-1]
    if low and sp != np.float16 and n <= _SEQUENTIAL_BF16_SUM_MAX:
        # NumPy sums float16 in float32 (one rounding) but ml_dtypes' bfloat16 add rounds
        # after every step; short rows copy that order, long rows keep the float32 sum.
        total = scores[..., :1]
        for i in range(1, n):
            total = rnd(total + scores[..., i:i + 1])
    else:
        total = rnd(scores.sum(axis=-1, keepdims=True))
    total = xp.where(total == 0, st.type(1), total)
    xp.divide(scores, total, out=scores)
    return rnd(scores)


@register("Attention", since=25, num_outputs=True)
def attention(xp, q, k, v, attn_mask=None, past_key=None, past_value=None,
              nonpad_kv_seqlen=None, *, is_causal=0, kv_num_heads=None, q_num_heads=None,
              qk_matmul_output_mode=0, scale=None, softcap=0.0, softmax_precision=None,
              left_window_size=-1, right_window_size=-1, n_outputs=4):
    """Attention-25: https://onnx.ai/onnx/operators/onnx__Attention.html

    Opset 24 added ``nonpad_kv_seqlen``, opset 25 the sliding window attributes. Only the
    ``qk_matmul_output`` the node asks for (``n_outputs`` == 4) is materialized."""
    if not q.ndim == k.ndim == v.ndim or q.ndim not in (3, 4):
        raise ValueError(f"Attention: Q, K, V must all be 3-D or all 4-D, got ranks "
                         f"{q.ndim}, {k.ndim}, {v.ndim}")
    if (past_key is None) != (past_value is None):
        raise ValueError("Attention: past_key and past_value must be given together")
    if nonpad_kv_seqlen is not None and past_key is not None:
        raise ValueError("Attention: nonpad_kv_seqlen cannot be combined with past_key")
    if qk_matmul_output_mode not in (0, 1, 2, 3):
        raise ValueError(f"Attention: qk_matmul_output_mode {qk_matmul_output_mode} is invalid")
    three_d = q.ndim == 3
    out_dtype = q.dtype
    if three_d:
        q = _to_heads(q, q_num_heads, "Q")
        k = _to_heads(k, kv_num_heads, "K")
        v = _to_heads(v, kv_num_heads, "V")

    present_key, present_value = k, v
    if past_key is not None:
        present_key = xp.concatenate([past_key, k], axis=2)
        present_value = xp.concatenate([past_value, v], axis=2)
    k, v = present_key, present_value

    batch, hq, sq, d = q.shape
    hkv, skv = k.shape[1], k.shape[2]
    dv = v.shape[3]
    if hq % hkv or v.shape[1] != hkv:
        raise ValueError(f"Attention: {hq} query heads cannot share {hkv} key / "
                         f"{v.shape[1]} value heads")
    group = hq // hkv

    # bfloat16/float16 lack BLAS kernels and lose precision over a reduction: compute in
    # float32 (float64 for double inputs or a double softmax_precision).
    sp = _precision_dtype(softmax_precision)
    ct = np.dtype(np.float64 if out_dtype == np.float64 else np.float32)
    st = np.dtype(np.float64) if (sp == np.float64 or ct == np.float64) else ct
    if scale is None:
        scale = 1.0 / float(np.sqrt(d))

    # Half-precision inputs: round where a runtime computing in that type would (Q and K
    # scaled by sqrt(scale) each, then the logits, the probabilities and the output), so
    # results match it to the last bit or so instead of drifting by several ulps.
    low = out_dtype.itemsize < 4
    rnd = (lambda a: a.astype(out_dtype).astype(ct)) if low else (lambda a: a)
    if low:
        root = out_dtype.type(np.sqrt(scale)).astype(ct)
        qs = rnd(q.astype(ct) * root)
        kt = rnd(k.astype(ct) * root).swapaxes(-1, -2)
    else:
        qs = q.astype(ct, copy=False) * ct.type(scale)
        kt = k.astype(ct, copy=False).swapaxes(-1, -2)
    # Query heads h = kv * group + g share KV head kv (interleaved repeat), so viewing Q as
    # (B, Hkv, group*Sq, D) makes GQA one batched GEMM per KV head, with no K/V copies.
    scores = xp.matmul(qs.reshape(batch, hkv, group * sq, d), kt)  # (B, Hkv, G*Sq, Skv)
    scores = rnd(scores.reshape(batch, hq, sq, skv))
    if st != ct:
        scores = scores.astype(st)

    qk_out = None
    want_qk = n_outputs >= 4
    if want_qk and qk_matmul_output_mode == 0:
        qk_out = scores.copy()
    if softcap and softcap > 0:
        # Before the mask so that -inf stays -inf (softcap * tanh(-inf) would be finite).
        scores = rnd(xp.tanh(scores / st.type(softcap)) * st.type(softcap))
    if want_qk and qk_matmul_output_mode == 1:
        qk_out = scores.copy()

    if past_key is not None:
        offset = int(past_key.shape[2])
    elif nonpad_kv_seqlen is not None:
        offset = nonpad_kv_seqlen.astype(np.int64).reshape(-1) - sq
    else:
        offset = 0
    bias = _bias(xp, st, attn_mask, sq, skv, batch, is_causal=bool(is_causal), offset=offset,
                 nonpad=nonpad_kv_seqlen, left_window=left_window_size,
                 right_window=right_window_size)
    if bias is not None:
        if np.broadcast_shapes(scores.shape, bias.shape) == scores.shape:
            xp.add(scores, bias, out=scores)
        else:
            scores = scores + bias
        scores = rnd(scores)
    if want_qk and qk_matmul_output_mode == 2:
        qk_out = scores.copy()

    if sp is None and low:
        sp = out_dtype
    probs = _softmax(xp, scores, st, sp)
    probs = rnd(probs) if low else probs
    if bias is not None:
        # Fully-masked rows (decided on the bias, not the logits) give zeros, not NaN.
        dead = xp.isneginf(bias.max(axis=-1, keepdims=True))
        if bool(dead.any()):
            probs = xp.where(dead, st.type(0), probs)
    if want_qk and qk_matmul_output_mode == 3:
        qk_out = probs

    pv = probs.astype(ct, copy=False).reshape(batch, hkv, group * sq, skv)
    y = xp.matmul(pv, v.astype(ct, copy=False)).reshape(batch, hq, sq, dv)
    if three_d:
        y = y.transpose(0, 2, 1, 3).reshape(batch, sq, hq * dv)
    y = y.astype(out_dtype, copy=False)
    if qk_out is not None:
        qk_out = qk_out.astype(out_dtype, copy=False)
    return y, present_key, present_value, qk_out


@register("Attention", since=23, num_outputs=True)
def attention_23(xp, q, k, v, attn_mask=None, past_key=None, past_value=None,
                 nonpad_kv_seqlen=None, *, is_causal=0, kv_num_heads=None, q_num_heads=None,
                 qk_matmul_output_mode=0, scale=None, softcap=0.0, softmax_precision=None,
                 n_outputs=4):
    """Attention-23/24 (no sliding window): https://onnx.ai/onnx/operators/onnx__Attention.html
    """
    return attention(xp, q, k, v, attn_mask, past_key, past_value, nonpad_kv_seqlen,
                     is_causal=is_causal, kv_num_heads=kv_num_heads, q_num_heads=q_num_heads,
                     qk_matmul_output_mode=qk_matmul_output_mode, scale=scale, softcap=softcap,
                     softmax_precision=softmax_precision, n_outputs=n_outputs)


@register("RotaryEmbedding", since=23)
def rotary_embedding(xp, x, cos_cache, sin_cache, position_ids=None, *, interleaved=0,
                     num_heads=0, rotary_embedding_dim=0):
    """RotaryEmbedding-23: https://onnx.ai/onnx/operators/onnx__RotaryEmbedding.html"""
    shape = x.shape
    if x.ndim == 4:
        xs = x.transpose(0, 2, 1, 3)                      # (B, S, H, D)
    elif x.ndim == 3:
        if not num_heads:
            raise ValueError("RotaryEmbedding: 3-D input needs the num_heads attribute")
        b, s, hidden = shape
        if hidden % num_heads:
            raise ValueError(f"RotaryEmbedding: hidden size {hidden} is not a multiple of "
                             f"num_heads {num_heads}")
        xs = x.reshape(b, s, num_heads, hidden // num_heads)
    else:
        raise ValueError(f"RotaryEmbedding: input must be 3-D or 4-D, got {x.ndim}-D")
    head = xs.shape[-1]
    rdim = rotary_embedding_dim or head
    half = rdim // 2
    if position_ids is not None:
        idx = position_ids.astype(np.int64)
        cos_cache, sin_cache = cos_cache[idx], sin_cache[idx]
    if cos_cache.shape[-1] != half or sin_cache.shape[-1] != half:
        raise ValueError(f"RotaryEmbedding: cache last dim {cos_cache.shape[-1]} does not "
                         f"match rotary_embedding_dim / 2 = {half}")
    ct = np.dtype(np.float64 if x.dtype == np.float64 else np.float32)
    cos = cos_cache.astype(ct)[:, :, None, :]             # (B, S, 1, rdim/2)
    sin = sin_cache.astype(ct)[:, :, None, :]
    rot = xs[..., :rdim].astype(ct)
    if interleaved:
        x1, x2 = rot[..., 0::2], rot[..., 1::2]
    else:
        x1, x2 = rot[..., :half], rot[..., half:]
    real = cos * x1 - sin * x2
    imag = sin * x1 + cos * x2
    if interleaved:
        rotated = xp.stack([real, imag], axis=-1).reshape(rot.shape)
    else:
        rotated = xp.concatenate([real, imag], axis=-1)
    out = xp.concatenate([rotated.astype(x.dtype), xs[..., rdim:]], axis=-1)
    if x.ndim == 4:
        return out.transpose(0, 2, 1, 3)
    return out.reshape(shape)
