"""TfIdfVectorizer-9: https://onnx.ai/onnx/operators/onnx__TfIdfVectorizer.html (n-gram counts,
IDF and TF-IDF features of integer or string token sequences)."""

from __future__ import annotations

import numpy as np

from ai_engine.engine.registry import register


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
