"""onnxruntime's normalization fusions (docs/ContribOperators.md):

- com.microsoft SkipLayerNormalization / SkipSimplifiedLayerNormalization: LayerNorm / RMSNorm
  of ``input + skip (+ bias)`` over the last axis, the residual add of a transformer block;
- com.microsoft EmbedLayerNormalization: BERT's word + position (+ segment) embedding lookup
  then LayerNorm, plus the ``mask_index`` (valid tokens per sequence) Attention consumes;
- LayerNormalization and SimplifiedLayerNormalization in the ONNX domain from version 1:
  onnxruntime registers both there as contrib schemas (LayerNormalization before ONNX adopted
  it at 17), and its optimizer writes them into models of any opset.

The statistics reuse the ONNX kernels (operators/normalization.py): one BLAS pass for the row
means and one for the variances, the centred copy normalized in place.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.operators.dtype_policy import cast_back
from ai_engine.engine.operators.normalization import (
    _standardize,
    _stash_dtype,
    layer_normalization,
    rms_normalize,
)
from ai_engine.engine.registry import register

register("LayerNormalization", since=1)(layer_normalization)


def _rms(xp, x, scale, axis, epsilon, stash_type, op):
    """RMS normalization of ``x`` over axes [axis, rank): (Y, inv_std_var)."""
    y, inv = rms_normalize(xp, x, scale, axis, epsilon, stash_type, op)
    return y, cast_back(xp, inv, _stash_dtype(stash_type, x))


@register("SimplifiedLayerNormalization", since=1)
def simplified_layer_normalization(xp, x, scale, *, axis=-1, epsilon=1e-5, stash_type=1):
    """SimplifiedLayerNormalization (onnxruntime contrib schema, ONNX domain): RMSNorm,
    Y = X / sqrt(mean(X^2) + epsilon) * scale; output 2 is that 1 / sqrt(...)."""
    return _rms(xp, x, scale, axis, epsilon, stash_type, "SimplifiedLayerNormalization")


def _skip_sum(xp, x, skip, bias, gamma, op):
    """input + skip (+ bias), checking the shapes onnxruntime accepts."""
    if x.ndim not in (2, 3):
        raise ValueError(f"{op}: input must be 2-D or 3-D, got {tuple(x.shape)}")
    hidden = x.shape[-1]
    if skip.shape[-1] != hidden or skip.ndim > x.ndim \
            or np.broadcast_shapes(x.shape, skip.shape) != x.shape:
        raise ValueError(f"{op}: skip {tuple(skip.shape)} must be the input's shape "
                         f"{tuple(x.shape)} or broadcast to it along the leading axes")
    for name, p in (("gamma", gamma), ("bias", bias)):
        if p is not None and p.shape != (hidden,):
            raise ValueError(f"{op}: {name} of shape {tuple(p.shape)} must be ({hidden},)")
    s = x + skip
    if bias is not None:
        s += bias
    return s


@register("SkipLayerNormalization", since=1, domain="com.microsoft", num_outputs=True)
def skip_layer_normalization(xp, x, skip, gamma, beta=None, bias=None, *, epsilon=1e-12,
                             n_outputs=1):
    """com.microsoft.SkipLayerNormalization: LayerNorm(input + skip + bias) * gamma + beta.

    Outputs: output, mean, inv_std_var ((..., 1), float32 statistics) and the sum itself.
    """
    if beta is not None and beta.shape != gamma.shape:
        raise ValueError(f"SkipLayerNormalization: beta {tuple(beta.shape)} must match gamma "
                         f"{tuple(gamma.shape)}")
    s = _skip_sum(xp, x, skip, bias, gamma, "SkipLayerNormalization")
    if n_outputs >= 4 or s.dtype not in (np.float32, np.float64):
        y, mean, inv = layer_normalization(xp, s, gamma, beta, axis=-1, epsilon=epsilon)
        return (y, mean, inv, s)[:max(n_outputs, 1)]
    # The sum is not an output: normalize it in place (one temporary fewer per call).
    y, mean, inv = _standardize(xp, s.reshape(-1, s.shape[-1]), epsilon, owned=True)
    y = y.reshape(s.shape)
    y *= gamma.astype(y.dtype, copy=False)
    if beta is not None:
        y += beta.astype(y.dtype, copy=False)
    stat = s.shape[:-1] + (1,)
    outs = (y, mean.reshape(stat).astype(np.float32, copy=False),
            inv.reshape(stat).astype(np.float32, copy=False))
    return outs[:max(n_outputs, 1)] if n_outputs > 1 else y


@register("SkipSimplifiedLayerNormalization", since=1, domain="com.microsoft")
def skip_simplified_layer_normalization(xp, x, skip, gamma, bias=None, *, epsilon=1e-12):
    """com.microsoft.SkipSimplifiedLayerNormalization: RMSNorm(input + skip + bias) * gamma.

    The ``mean`` output exists for symmetry with SkipLayerNormalization; RMSNorm has no mean,
    and onnxruntime returns zeros there, so does this kernel.
    """
    s = _skip_sum(xp, x, skip, bias, gamma, "SkipSimplifiedLayerNormalization")
    y, inv = _rms(xp, s, gamma, -1, epsilon, 1, "SkipSimplifiedLayerNormalization")
    return y, xp.zeros_like(inv), inv, s


def _lookup(table, ids, what):
    ids = ids.astype(np.int64, copy=False)
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= table.shape[0]):
        raise ValueError(f"EmbedLayerNormalization: {what} ids range [{int(ids.min())}, "
                         f"{int(ids.max())}] is outside its embedding table of "
                         f"{table.shape[0]} rows")
    return table[ids]


@register("EmbedLayerNormalization", since=1, domain="com.microsoft")
def embed_layer_normalization(xp, input_ids, segment_ids, word_embedding, position_embedding,
                              segment_embedding=None, gamma=None, beta=None, mask=None,
                              position_ids=None, *, epsilon=1e-12, mask_index_type=1):
    """com.microsoft.EmbedLayerNormalization:
    LayerNorm(word[input_ids] + position[position_ids] + segment[segment_ids]) * gamma + beta.

    Outputs: output (B, S, H); mask_index (B,) int32, the count of non-zero ``mask`` entries per
    sequence (zeros without a mask); embedding_sum, the sum before the LayerNorm.
    position_ids default to 0..S-1 and may be (1, S) for every sequence. ``mask_index_type``
    only informs onnxruntime's shape inference; its kernel (and this one) always writes the
    (B,) mask_index.
    """
    if input_ids.ndim != 2:
        raise ValueError(f"EmbedLayerNormalization: input_ids must be (B, S), got "
                         f"{tuple(input_ids.shape)}")
    if gamma is None or beta is None:
        raise ValueError("EmbedLayerNormalization: gamma and beta are required")
    b, s = input_ids.shape
    emb = _lookup(word_embedding, input_ids, "word")
    if position_ids is None:
        pos = np.arange(s, dtype=np.int64).reshape(1, s)
    elif position_ids.shape in ((b, s), (1, s)):
        pos = position_ids
    else:
        raise ValueError(f"EmbedLayerNormalization: position_ids of shape "
                         f"{tuple(position_ids.shape)} must be ({b}, {s}) or (1, {s})")
    emb += _lookup(position_embedding, pos, "position")
    if (segment_ids is None) != (segment_embedding is None):
        raise ValueError("EmbedLayerNormalization: segment_ids and segment_embedding must be "
                         "given together")
    if segment_ids is not None:
        if segment_ids.shape != input_ids.shape:
            raise ValueError(f"EmbedLayerNormalization: segment_ids {tuple(segment_ids.shape)} "
                             f"must match input_ids {tuple(input_ids.shape)}")
        emb += _lookup(segment_embedding, segment_ids, "segment")
    y = layer_normalization(xp, emb, gamma, beta, axis=-1, epsilon=epsilon)[0]
    if mask is None:
        mask_index = xp.zeros(b, dtype=np.int32)
    elif mask.shape != input_ids.shape:
        raise ValueError(f"EmbedLayerNormalization: mask {tuple(mask.shape)} must match "
                         f"input_ids {tuple(input_ids.shape)}")
    else:
        mask_index = xp.count_nonzero(mask, axis=1).astype(np.int32)
    return y, mask_index, emb
