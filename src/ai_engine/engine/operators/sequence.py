"""Sequence and Optional operators.

Operator pages: https://onnx.ai/onnx/operators/ (onnx__SequenceConstruct.html,
onnx__SequenceAt.html, onnx__SplitToSequence.html, onnx__ConcatFromSequence.html,
onnx__Optional.html, onnx__OptionalHasElement.html, ...).

A sequence value is a Python ``list`` of arrays; ops that "modify" a sequence return a new list
(values may be shared by several consumers). An empty optional is ``None``; an optional that
holds a value is the value itself.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.registry import register


def _index(position, n, name, allow_end=False):
    p = np.asarray(position.get() if hasattr(position, "get") else position)
    if p.size != 1:
        raise ValueError(f"{name}: position must be a scalar, got shape {p.shape}")
    p = int(p.reshape(-1)[0])
    hi = n if allow_end else n - 1
    if not -n <= p <= hi:
        raise ValueError(f"{name}: position {p} out of range for a sequence of length {n}")
    return p + n if p < 0 else p


def _check_seq(seq, name):
    if not isinstance(seq, list):
        raise TypeError(f"{name}: expected a sequence (list), got {type(seq).__name__}")
    return seq


@register("SequenceConstruct", since=11)
def sequence_construct(xp, *inputs):
    """SequenceConstruct-11: https://onnx.ai/onnx/operators/onnx__SequenceConstruct.html"""
    if inputs:
        dtypes = {x.dtype for x in inputs}
        if len(dtypes) > 1:
            raise TypeError(f"SequenceConstruct: tensors of mixed types {sorted(map(str, dtypes))}")
    return list(inputs)


@register("SequenceEmpty", since=11)
def sequence_empty(xp, *, dtype=1):
    """SequenceEmpty-11: https://onnx.ai/onnx/operators/onnx__SequenceEmpty.html"""
    return []


@register("SequenceAt", since=11)
def sequence_at(xp, seq, position):
    """SequenceAt-11: https://onnx.ai/onnx/operators/onnx__SequenceAt.html"""
    seq = _check_seq(seq, "SequenceAt")
    return seq[_index(position, len(seq), "SequenceAt")]


@register("SequenceInsert", since=11)
def sequence_insert(xp, seq, tensor, position=None):
    """SequenceInsert-11: https://onnx.ai/onnx/operators/onnx__SequenceInsert.html"""
    seq = _check_seq(seq, "SequenceInsert")
    if seq and seq[0].dtype != tensor.dtype:
        raise TypeError(f"SequenceInsert: a {tensor.dtype} tensor into a sequence of "
                        f"{seq[0].dtype}")
    p = len(seq) if position is None else _index(position, len(seq), "SequenceInsert", True)
    return seq[:p] + [tensor] + seq[p:]


@register("SequenceErase", since=11)
def sequence_erase(xp, seq, position=None):
    """SequenceErase-11: https://onnx.ai/onnx/operators/onnx__SequenceErase.html"""
    seq = _check_seq(seq, "SequenceErase")
    if not seq:
        raise ValueError("SequenceErase: the sequence is empty")
    p = len(seq) - 1 if position is None else _index(position, len(seq), "SequenceErase")
    return seq[:p] + seq[p + 1:]


@register("SequenceLength", since=11)
def sequence_length(xp, seq):
    """SequenceLength-11: https://onnx.ai/onnx/operators/onnx__SequenceLength.html"""
    return xp.asarray(len(_check_seq(seq, "SequenceLength")), dtype=xp.int64)


@register("ConcatFromSequence", since=11)
def concat_from_sequence(xp, seq, *, axis, new_axis=0):
    """ConcatFromSequence-11: https://onnx.ai/onnx/operators/onnx__ConcatFromSequence.html"""
    seq = _check_seq(seq, "ConcatFromSequence")
    if not seq:
        raise ValueError("ConcatFromSequence: the sequence is empty")
    r = seq[0].ndim + (1 if new_axis else 0)
    if not -r <= axis < r:
        raise ValueError(f"ConcatFromSequence: axis {axis} out of range for rank {r}")
    if new_axis:
        return xp.stack(seq, axis=axis)
    return xp.concatenate(seq, axis=axis)


@register("SplitToSequence", since=11)
def split_to_sequence(xp, x, split=None, *, axis=0, keepdims=1):
    """SplitToSequence-11: https://onnx.ai/onnx/operators/onnx__SplitToSequence.html

    ``split`` a scalar: chunks of that length (the last may be shorter); 1-D: the lengths;
    absent: pieces of length 1, squeezed when ``keepdims`` is 0."""
    if not -x.ndim <= axis < max(x.ndim, 1):
        raise ValueError(f"SplitToSequence: axis {axis} out of range for rank {x.ndim}")
    axis %= x.ndim
    n = x.shape[axis]
    if split is None:
        index = [slice(None)] * x.ndim
        out = []
        for i in range(n):
            index[axis] = slice(i, i + 1) if keepdims else i
            out.append(x[tuple(index)])
        return out
    s = np.asarray(split.get() if hasattr(split, "get") else split).astype(np.int64)
    if s.ndim == 0:
        if s <= 0:
            raise ValueError(f"SplitToSequence: split must be positive, got {int(s)}")
        sizes = [int(s)] * (n // int(s)) + ([n % int(s)] if n % int(s) else [])
    else:
        sizes = s.tolist()
        if sum(sizes) != n or any(v < 0 for v in sizes):
            raise ValueError(f"SplitToSequence: split {sizes} does not add up to {n}")
    bounds = np.cumsum([0] + sizes)
    index = [slice(None)] * x.ndim
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        index[axis] = slice(int(lo), int(hi))
        out.append(x[tuple(index)])
    return out


@register("Optional", since=15)
def optional(xp, value=None, *, type=None):
    """Optional-15: https://onnx.ai/onnx/operators/onnx__Optional.html

    With an input, an optional holding it; without, an empty optional of ``type``."""
    if value is None and type is None:
        raise ValueError("Optional: without an input the 'type' attribute is required")
    return value


@register("OptionalHasElement", since=15)
def optional_has_element(xp, value=None):
    """OptionalHasElement-15/18: https://onnx.ai/onnx/operators/onnx__OptionalHasElement.html

    From 18 the input may also be a plain tensor or sequence, or omitted (then false)."""
    return xp.asarray(value is not None)


@register("OptionalGetElement", since=15)
def optional_get_element(xp, value):
    """OptionalGetElement-15/18: https://onnx.ai/onnx/operators/onnx__OptionalGetElement.html"""
    if value is None:
        raise ValueError("OptionalGetElement: the optional is empty")
    return value
