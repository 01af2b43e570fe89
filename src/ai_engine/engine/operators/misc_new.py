"""Newer ONNX operators: gated activations, recurrent linear attention, stateful causal
convolution, and n-gram TF-IDF vectorization.

* SwiGLU-28: https://onnx.ai/onnx/operators/onnx__SwiGLU.html
* LinearAttention-27: https://onnx.ai/onnx/operators/onnx__LinearAttention.html
* CausalConvWithState-27: https://onnx.ai/onnx/operators/onnx__CausalConvWithState.html
* TfIdfVectorizer-9: https://onnx.ai/onnx/operators/onnx__TfIdfVectorizer.html
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.registry import register


def _ct(dtype):
    """Compute dtype: float64 stays, everything else (half types included) runs in float32."""
    return np.dtype(np.float64 if np.dtype(dtype) == np.float64 else np.float32)


@register("SwiGLU", since=28)
def swiglu(xp, a, b, *, alpha=1.0):
    """SwiGLU-28: ``Y = A * sigmoid(alpha * A) * B`` (no broadcasting)."""
    if a.shape != b.shape:
        raise ValueError(f"SwiGLU: A {a.shape} and B {b.shape} must have the same shape")
    dt = a.dtype
    ct = _ct(dt)
    af = a.astype(ct)
    # Sigmoid via exp of a non-positive argument only, so large |alpha * a| cannot overflow.
    z = af * ct.type(alpha)
    e = xp.exp(-xp.abs(z))
    sig = xp.where(z >= 0, 1 / (1 + e), e / (1 + e))
    # Half types round where a runtime computing in them would (gate, then product).
    gate = (af * sig.astype(dt).astype(ct)).astype(dt).astype(ct)
    return (gate * b.astype(ct)).astype(dt)


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
    ct = _ct(out_dtype)
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


@register("CausalConvWithState", since=27)
def causal_conv_with_state(xp, x, weight, bias=None, past_state=None, *, activation="none"):
    """CausalConvWithState-27: depthwise causal 1-D convolution with a carried state.

    https://onnx.ai/onnx/operators/onnx__CausalConvWithState.html
    """
    if activation not in ("none", "silu", "swish"):
        raise ValueError(f"CausalConvWithState: unknown activation {activation!r}")
    if x.ndim != 3 or weight.ndim != 3:
        raise ValueError(f"CausalConvWithState: input {x.shape} and weight {weight.shape} "
                         "must be rank 3")
    batch, channels, length = x.shape
    k = weight.shape[2]
    if weight.shape[0] != channels or weight.shape[1] != 1:
        raise ValueError(f"CausalConvWithState: weight {weight.shape} is not "
                         f"({channels}, 1, k)")
    if past_state is None:
        pad = xp.zeros((batch, channels, k - 1), dtype=x.dtype)
    else:
        if past_state.shape != (batch, channels, k - 1):
            raise ValueError(f"CausalConvWithState: past_state {past_state.shape} is not "
                             f"{(batch, channels, k - 1)}")
        pad = past_state.astype(x.dtype, copy=False)
    padded = xp.concatenate([pad, x], axis=2)                       # (B, C, L + k - 1)
    ct = _ct(x.dtype)
    pf = padded.astype(ct, copy=False)
    w = weight.astype(ct, copy=False)[:, 0, :]                      # (C, k)
    # A loop over the k kernel taps; each tap is one vectorized multiply-add.
    acc = pf[:, :, 0:length] * w[:, 0:1]
    for j in range(1, k):
        acc = acc + pf[:, :, j:j + length] * w[:, j:j + 1]
    if bias is not None:
        acc = acc + bias.astype(ct)[:, None]
    if activation in ("silu", "swish"):
        # The reference rounds the convolution to the input type before the activation.
        acc = acc.astype(x.dtype).astype(ct)
        acc = acc / (1 + xp.exp(-acc))
    present = padded[:, :, length:]
    return acc.astype(x.dtype), present


def _pool_ngrams(pool, ngram_counts):
    """``{n: (array (K, n) of pool items, array (K,) of pool n-gram ordinals)}``."""
    total = len(pool)
    out = {}
    ordinal = 0
    for i, start in enumerate(ngram_counts):
        n = i + 1
        end = ngram_counts[i + 1] if i + 1 < len(ngram_counts) else total
        count = max(0, end - start) // n
        if count:
            out[n] = (np.asarray(pool[start:start + count * n], dtype=object).reshape(count, n),
                      np.arange(ordinal, ordinal + count))
        ordinal += count
    return out


@register("TfIdfVectorizer", since=9)
def tfidf_vectorizer(xp, x, *, max_gram_length, max_skip_count, min_gram_length, mode,
                     ngram_counts, ngram_indexes, pool_int64s=None, pool_strings=None,
                     weights=None):
    """TfIdfVectorizer-9: https://onnx.ai/onnx/operators/onnx__TfIdfVectorizer.html

    Items are mapped to ids of a sorted pool vocabulary, so n-gram matching is integer work:
    for each gram length n and skip s, the (rows, positions, n) windows are encoded level by
    level into pool-prefix ids and looked up with ``searchsorted``.
    """
    if mode not in ("TF", "IDF", "TFIDF"):
        raise ValueError(f"TfIdfVectorizer: unknown mode {mode!r}")
    if (pool_int64s is None) == (pool_strings is None):
        raise ValueError("TfIdfVectorizer: exactly one of pool_int64s and pool_strings is needed")
    strings = pool_strings is not None
    pool = list(pool_strings) if strings else [int(p) for p in pool_int64s]
    out_size = max(ngram_indexes) + 1
    host = x.get() if hasattr(x, "get") else np.asarray(x)   # token matching runs on the host
    if host.ndim == 0:
        host = host.reshape(1)
    if host.ndim not in (1, 2):
        raise ValueError(f"TfIdfVectorizer: input must be [C] or [B, C], got {host.shape}")
    rows = host.reshape(1, -1) if host.ndim == 1 else host
    nrows, ncols = rows.shape
    freq = np.zeros((nrows, out_size), dtype=np.int64)

    vocab = sorted(set(pool))
    v = len(vocab)
    lut = {tok: i for i, tok in enumerate(vocab)}
    if strings:
        flat = [t.decode() if isinstance(t, bytes) else str(t) for t in rows.ravel().tolist()]
    else:
        flat = rows.ravel().tolist()
    # Unknown items get id v, which no pool n-gram contains.
    ids = np.fromiter((lut.get(t, v) for t in flat), dtype=np.int64,
                      count=len(flat)).reshape(nrows, ncols)
    index_of = np.asarray(ngram_indexes, dtype=np.int64)

    for n, (grams, ordinals) in _pool_ngrams(pool, ngram_counts).items():
        if n < min_gram_length or n > max_gram_length:
            continue
        gid = np.array([[lut[t] for t in g] for g in grams], dtype=np.int64)   # (K, n)
        # Prefix codes stay small: each level maps (prefix id, item id) to a dense id.
        pref = np.zeros(len(gid), dtype=np.int64)
        keys = []
        for level in range(n):
            code = pref * (v + 1) + gid[:, level]
            uniq, pref = np.unique(code, return_inverse=True)
            pref = pref.reshape(-1)
            keys.append(uniq)
        final = pref                                   # dense id of each full pool n-gram
        skips = [0] if n == 1 else range(max_skip_count + 1)
        for s in skips:
            step = s + 1
            span = step * (n - 1)
            if span >= ncols:
                continue
            width = ncols - span
            cur = np.zeros((nrows, width), dtype=np.int64)
            ok = np.ones((nrows, width), dtype=bool)
            for level in range(n):
                code = cur * (v + 1) + ids[:, level * step:level * step + width]
                pos = np.searchsorted(keys[level], code)
                pos = np.minimum(pos, len(keys[level]) - 1)
                ok &= keys[level][pos] == code
                cur = np.where(ok, pos, 0)
            # Map dense full-gram ids back to pool ordinals (the last one wins on duplicates).
            slot = np.full(len(keys[-1]), -1, dtype=np.int64)
            slot[final] = index_of[ordinals]
            r, c = np.nonzero(ok)
            cols = slot[cur[r, c]]
            np.add.at(freq, (r, cols), 1)

    if mode == "TF":
        y = freq.astype(np.float32)
    else:
        w = (np.asarray(weights, dtype=np.float32)[:out_size] if weights
             else np.ones(out_size, dtype=np.float32))
        y = (freq > 0) * w if mode == "IDF" else freq * w
        y = y.astype(np.float32)
    if host.ndim == 1 and x.ndim != 2:
        y = y.reshape(out_size)
    return xp.asarray(y)
