"""Additive attention biases of the com.microsoft attention ops (Attention, MultiHeadAttention).

onnxruntime turns every mask form into one additive (B, S, T) float matrix: 0 where a query
may attend a key, ``mask_filter_value`` (default -10000, finite, so a fully masked row gives a
uniform softmax rather than NaN) where it may not; the causal mask puts the lowest finite
value of the dtype on future keys, as onnxruntime's PrepareMask does (visible in
MultiHeadAttention's ``qk`` output). Spec: docs/ContribOperators.md, ``mask_index`` of
com.microsoft.Attention and ``key_padding_mask`` of com.microsoft.MultiHeadAttention.
"""

from __future__ import annotations

import numpy as np


def _raw(xp, mask, dtype, filter_value):
    """0/1 mask values -> 0 / filter_value (any positive value attends)."""
    return xp.where(mask > 0, dtype.type(0), dtype.type(filter_value))


def padding_bias(xp, mask, *, batch, seq, past, total, filter_value, dtype, op,
                 attention_forms=True):
    """The (B|1, 1, S|1, T) additive bias of one ``mask_index``/``key_padding_mask``, or None.

    Forms (onnxruntime's names):
    - (B): right padding, the valid length of each sequence (keys at or after it are masked);
    - (2B): end positions then start positions (left padding: keys before start are masked);
    - (B, T): raw 0/1 key mask; (B, S, T): raw per-query mask;
    - (B, 1, M, M): Megatron-style raw mask over a max length M, rows ``past:past+S`` and
      columns ``:T`` used.
    The (2B) and 4-D forms are Attention's only (``attention_forms``); MultiHeadAttention's
    ``key_padding_mask`` does not take them.
    """
    if mask is None:
        return None
    shape = tuple(mask.shape)
    if not attention_forms and (mask.ndim == 4 or (mask.ndim == 1 and shape[0] != batch
                                                   and shape[0] == 2 * batch)):
        raise ValueError(f"{op}: key_padding_mask of shape {shape} must be ({batch},), "
                         f"({batch}, {total}) or ({batch}, {seq}, {total})")
    if mask.ndim == 1 and shape[0] in (batch, 2 * batch):
        j = xp.arange(total).reshape(1, total)
        end = mask[:batch].astype(np.int64).reshape(batch, 1)
        masked = j >= end
        if shape[0] == 2 * batch:
            start = mask[batch:].astype(np.int64).reshape(batch, 1)
            masked = masked | (j < start)
        bias = xp.where(masked, dtype.type(filter_value), dtype.type(0))
        return bias.reshape(batch, 1, 1, total)
    if mask.ndim == 1 and shape[0] == 3 * batch + 2:
        raise ValueError(f"{op}: mask_index of shape (3 * batch_size + 2) (packed sequence "
                         "offsets) is a CUDA-only format; onnxruntime's CPU kernel and "
                         "ai-engine do not support it")
    if mask.ndim == 2 and shape == (batch, total):
        return _raw(xp, mask, dtype, filter_value).reshape(batch, 1, 1, total)
    if mask.ndim == 3 and shape == (batch, seq, total):
        return _raw(xp, mask, dtype, filter_value).reshape(batch, 1, seq, total)
    if mask.ndim == 4 and shape[0] == batch and shape[1] == 1 and shape[2] == shape[3] \
            and shape[2] >= past + seq and shape[3] >= total:
        window = mask[:, :, past:past + seq, :total]
        return _raw(xp, window, dtype, filter_value)
    raise ValueError(f"{op}: mask of shape {shape} is none of the accepted forms (batch "
                     f"{batch}, sequence {seq}, total sequence {total}): ({batch},), "
                     f"({2 * batch},), ({batch}, {total}), ({batch}, {seq}, {total}) or "
                     f"({batch}, 1, M, M) with M >= {max(past + seq, total)}")


def causal_bias(xp, *, seq, past, total, dtype):
    """(1, 1, S, T): the dtype's lowest value where key j lies after query i's position
    past + i (finite, so adding a padding bias on top cannot make NaN)."""
    i = xp.arange(seq).reshape(seq, 1)
    j = xp.arange(total).reshape(1, total)
    bias = xp.where(j > i + past, dtype.type(np.finfo(dtype).min), dtype.type(0))
    return bias.reshape(1, 1, seq, total)


def attention_bias_check(bias, *, batch, heads, seq, total, op):
    """``attention_bias`` must be (B|1, N|1, S, T)."""
    if bias is None:
        return
    shape = tuple(bias.shape)
    if len(shape) != 4 or shape[0] not in (1, batch) or shape[1] not in (1, heads) \
            or shape[2:] != (seq, total):
        raise ValueError(f"{op}: attention_bias of shape {shape} must be ({batch} or 1, "
                         f"{heads} or 1, {seq}, {total})")


def combine(*biases):
    """The sum of the biases that are not None (None when all are)."""
    total = None
    for b in biases:
        if b is None:
            continue
        total = b if total is None else total + b
    return total
