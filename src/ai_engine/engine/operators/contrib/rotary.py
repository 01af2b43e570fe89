"""com.microsoft.RotaryEmbedding (docs/ContribOperators.md#com.microsoft.RotaryEmbedding) and
the rotation GroupQueryAttention's ``do_rotary`` shares.

The first ``rotary_embedding_dim`` features of every head are rotated as complex pairs
(x1 + i x2) * (cos + i sin): the pairs are the two halves of the rotary part, or with
``interleaved`` the even and odd features. Unlike ONNX RotaryEmbedding-23, the contrib op takes
``position_ids`` second, and a (1,) position_ids is the start position of every sequence.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.registry import register

_OP = "RotaryEmbedding"


def gather_cos_sin(cos_cache, sin_cache, positions, op):
    """cos/sin rows for int positions of shape (B, S): two (B, S, rdim/2) arrays."""
    positions = np.asarray(positions).astype(np.int64, copy=False)
    limit = cos_cache.shape[0]
    if positions.size and (positions.min() < 0 or positions.max() >= limit):
        raise ValueError(f"{op}: position ids range [{positions.min()}, {positions.max()}] "
                         f"is outside the cos/sin cache of {limit} positions")
    return cos_cache[positions], sin_cache[positions]


def rotate(xp, x, cos, sin, interleaved):
    """``x`` (B, S, N, H) (any strides) rotated by (B, S, rdim/2) cos/sin, as a new
    C-contiguous (B, S, N, H) array in x's dtype; features past rdim are copied."""
    half = cos.shape[-1]
    rdim = 2 * half
    if rdim > x.shape[-1]:
        raise ValueError(f"rotary dim {rdim} (from the cos/sin cache) exceeds the head size "
                         f"{x.shape[-1]}")
    ct = np.float64 if x.dtype == np.float64 else np.float32
    c = cos.astype(ct, copy=False)[:, :, None, :]
    s = sin.astype(ct, copy=False)[:, :, None, :]
    part = x[..., :rdim].astype(ct, copy=False)
    x1, x2 = (part[..., 0::2], part[..., 1::2]) if interleaved else (part[..., :half],
                                                                      part[..., half:])
    out = xp.empty(x.shape, dtype=x.dtype)
    real, imag = (out[..., 0:rdim:2], out[..., 1:rdim:2]) if interleaved else \
        (out[..., :half], out[..., half:rdim])
    real[...] = x1 * c - x2 * s
    imag[...] = x1 * s + x2 * c
    out[..., rdim:] = x[..., rdim:]
    return out


@register(_OP, since=1, domain="com.microsoft")
def rotary_embedding(xp, x, position_ids, cos_cache, sin_cache, *, interleaved=0, num_heads=0,
                     rotary_embedding_dim=0, is_packed_batching=0, scale=1.0):
    """com.microsoft.RotaryEmbedding: docs/ContribOperators.md

    ``scale`` is accepted and, as in onnxruntime's kernels (which never read it), has no
    effect: models written by its tools set it and rely on that.
    """
    if is_packed_batching:
        raise ValueError(f"{_OP}: is_packed_batching=1 (ragged batches) is not supported")
    if cos_cache.ndim != 2 or sin_cache.shape != cos_cache.shape:
        raise ValueError(f"{_OP}: cos_cache {tuple(cos_cache.shape)} and sin_cache "
                         f"{tuple(sin_cache.shape)} must be the same (max_position, rdim/2)")
    half = cos_cache.shape[1]
    if rotary_embedding_dim and rotary_embedding_dim != 2 * half:
        raise ValueError(f"{_OP}: rotary_embedding_dim {rotary_embedding_dim} does not match "
                         f"the cos/sin cache width {half} (= rotary_embedding_dim / 2)")
    if x.ndim == 4:
        bsnh = x.transpose(0, 2, 1, 3)
    elif x.ndim == 3:
        if rotary_embedding_dim and not num_heads:
            raise ValueError(f"{_OP}: rotary_embedding_dim needs num_heads for 3-D input")
        heads = num_heads or x.shape[2] // (2 * half)
        if heads <= 0 or x.shape[2] % heads:
            raise ValueError(f"{_OP}: hidden size {x.shape[2]} is not a multiple of "
                             f"{heads} heads")
        bsnh = x.reshape(x.shape[0], x.shape[1], heads, x.shape[2] // heads)
    else:
        raise ValueError(f"{_OP}: input must be (B, S, D) or (B, N, S, H), got "
                         f"{tuple(x.shape)}")
    b, s = bsnh.shape[:2]
    pos = np.asarray(position_ids).astype(np.int64)
    if pos.shape == (1,):
        pos = pos[0] + np.arange(s, dtype=np.int64).reshape(1, s).repeat(b, 0)
    elif pos.shape != (b, s):
        raise ValueError(f"{_OP}: position_ids of shape {tuple(pos.shape)} must be ({b}, {s}) "
                         "or (1,)")
    cos, sin = gather_cos_sin(cos_cache, sin_cache, pos, _OP)
    out = rotate(xp, bsnh, cos, sin, interleaved)
    return out.transpose(0, 2, 1, 3) if x.ndim == 4 else out.reshape(x.shape)
