"""Gather / scatter kernels: Gather, GatherElements, GatherND, Scatter, ScatterElements,
ScatterND and TensorScatter.

Every index input is bounds-checked up front so a bad index surfaces as a ``ValueError`` that
names the op, the offending index and the valid range, rather than an ``IndexError`` raised
from inside NumPy advanced indexing (or silent wrap-around on a GPU).
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.registry import register


# --------------------------------------------------------------------------- shared helpers

def normalize_axis(axis: int, rank: int, op: str, what: str = "axis") -> int:
    """``axis`` in ``[-rank, rank-1]`` mapped to ``[0, rank-1]``, else ``ValueError``."""
    if not -rank <= axis < rank:
        raise ValueError(f"{op}: {what} {axis} is out of range for a tensor of rank {rank} "
                         f"(valid range [{-rank}, {rank - 1}])")
    return axis + rank if axis < 0 else axis


def normalize_indices(xp, indices, dim: int, op: str, where: str = "axis 0"):
    """int64 copy of ``indices`` with negative entries wrapped by ``dim``.

    Raises ``ValueError`` naming the first index outside ``[-dim, dim-1]``.
    """
    idx = indices.astype(xp.int64, copy=False)
    if idx.size == 0:
        return idx
    bad = (idx < -dim) | (idx >= dim)
    if bool(bad.any()):
        value = int(idx[bad].ravel()[0])
        raise ValueError(f"{op}: index {value} is out of range for {where} of size {dim} "
                         f"(valid range [{-dim}, {dim - 1}])")
    return xp.where(idx < 0, idx + dim, idx)


def scalar_int(value, op: str, name: str) -> int:
    """A Python int from a 0-d or one-element tensor input (K, axis, depth...)."""
    arr = value.reshape(-1)
    if arr.size != 1:
        raise ValueError(f"{op}: input {name!r} must hold exactly one value, got shape "
                         f"{tuple(value.shape)}")
    return int(arr[0])


def to_host(xp, a):
    """NumPy copy of ``a`` (CuPy arrays move to the host; NumPy arrays pass through)."""
    return xp.asnumpy(a) if hasattr(xp, "asnumpy") else np.asarray(a)


_UFUNC_AT = {"add": "add", "mul": "multiply", "max": "maximum", "min": "minimum"}


def _scatter_into(xp, out, index: tuple, updates, reduction: str, op: str) -> None:
    """``out[index] (op)= updates`` in place on ``out`` (a fresh copy owned by the kernel).

    Reductions go through ``ufunc.at`` so duplicate indices accumulate instead of the last
    write winning, which is what plain fancy assignment does.
    """
    if reduction == "none":
        out[index] = updates
        return
    name = _UFUNC_AT.get(reduction)
    if name is None:
        raise ValueError(f"{op}: unsupported reduction {reduction!r} "
                         f"(expected one of none, add, mul, max, min)")
    ufunc = getattr(xp, name)
    try:
        ufunc.at(out, index, updates)
    except (AttributeError, NotImplementedError, TypeError):
        # CuPy implements ufunc.at only for some ufuncs (no multiply): do it on the host.
        host = to_host(xp, out)
        getattr(np, name).at(host, tuple(to_host(xp, i) if not isinstance(i, slice) else i
                                         for i in index), to_host(xp, updates))
        out[...] = xp.asarray(host)


def _element_index(xp, idx, axis: int) -> tuple:
    """Index tuple addressing ``out[..., idx[...], ...]`` element-wise along ``axis``:
    broadcastable aranges for the other dims (no materialised meshgrid)."""
    rank = idx.ndim
    index = []
    for d in range(rank):
        if d == axis:
            index.append(idx)
        else:
            shape = [1] * rank
            shape[d] = idx.shape[d]
            index.append(xp.arange(idx.shape[d], dtype=xp.int64).reshape(shape))
    return tuple(index)


# --------------------------------------------------------------------------- gather family

@register("Gather", since=1)
def gather(xp, data, indices, *, axis=0):
    """Gather-13: https://onnx.ai/onnx/operators/onnx__Gather.html

    Negative indices count from the end (allowed from opset 11; accepted at every opset since
    earlier models never rely on them failing).
    """
    axis = normalize_axis(axis, data.ndim, "Gather")
    if indices.ndim == 0:
        # One index (Q/K/V splits, shape arithmetic): a view by basic indexing, no copy and
        # none of the vectorized range checks' overhead.
        i, dim = int(indices), data.shape[axis]
        if not -dim <= i < dim:
            raise ValueError(f"Gather: index {i} is out of range for axis {axis} of size {dim} "
                             f"(valid range [{-dim}, {dim - 1}])")
        return data[(slice(None),) * axis + (i,)]
    idx = normalize_indices(xp, indices, data.shape[axis], "Gather", f"axis {axis}")
    return xp.take(data, idx, axis=axis)


@register("GatherElements", since=11)
def gather_elements(xp, data, indices, *, axis=0):
    """GatherElements-13: https://onnx.ai/onnx/operators/onnx__GatherElements.html"""
    if indices.ndim != data.ndim:
        raise ValueError(f"GatherElements: indices rank {indices.ndim} must equal data rank "
                         f"{data.ndim}")
    axis = normalize_axis(axis, data.ndim, "GatherElements")
    for d in range(data.ndim):
        if d != axis and indices.shape[d] > data.shape[d]:
            raise ValueError(f"GatherElements: indices dim {d} ({indices.shape[d]}) exceeds "
                             f"data dim {data.shape[d]}")
    idx = normalize_indices(xp, indices, data.shape[axis], "GatherElements", f"axis {axis}")
    # The output takes the shape of indices, which may be smaller than data off the axis.
    view = data[tuple(slice(None) if d == axis else slice(0, indices.shape[d])
                      for d in range(data.ndim))]
    return xp.take_along_axis(view, idx, axis=axis)


def _gather_nd(xp, data, indices, batch_dims: int, op: str):
    b = batch_dims
    if indices.ndim < 1:
        raise ValueError(f"{op}: indices must have rank >= 1")
    k = indices.shape[-1]
    if b < 0 or b >= min(data.ndim, indices.ndim):
        raise ValueError(f"{op}: batch_dims {b} must be in [0, min(rank(data), "
                         f"rank(indices)) - 1]")
    if data.shape[:b] != indices.shape[:b]:
        raise ValueError(f"{op}: the first {b} dims of data {tuple(data.shape)} and indices "
                         f"{tuple(indices.shape)} must match")
    if k > data.ndim - b:
        raise ValueError(f"{op}: indices.shape[-1] = {k} exceeds rank(data) - batch_dims = "
                         f"{data.ndim - b}")
    batch = int(np.prod(data.shape[:b], dtype=np.int64))
    flat_data = data.reshape((batch,) + tuple(data.shape[b:]))
    flat_idx = indices.reshape(batch, -1, k)
    comps = [normalize_indices(xp, flat_idx[..., j], data.shape[b + j], op, f"data axis {b + j}")
             for j in range(k)]
    batch_ix = xp.arange(batch, dtype=xp.int64).reshape(batch, 1)
    out = flat_data[(batch_ix, *comps)]
    return out.reshape(tuple(indices.shape[:-1]) + tuple(data.shape[b + k:]))


@register("GatherND", since=11)
def gather_nd_11(xp, data, indices):
    """GatherND-11: https://onnx.ai/onnx/operators/onnx__GatherND.html"""
    return _gather_nd(xp, data, indices, 0, "GatherND")


@register("GatherND", since=12)
def gather_nd(xp, data, indices, *, batch_dims=0):
    """GatherND-13: https://onnx.ai/onnx/operators/onnx__GatherND.html"""
    return _gather_nd(xp, data, indices, batch_dims, "GatherND")


# --------------------------------------------------------------------------- scatter family

def _scatter_elements(xp, data, indices, updates, axis: int, reduction: str, op: str):
    if not (data.ndim == indices.ndim == updates.ndim):
        raise ValueError(f"{op}: data, indices and updates must have the same rank, got "
                         f"{data.ndim}, {indices.ndim}, {updates.ndim}")
    if indices.shape != updates.shape:
        raise ValueError(f"{op}: indices shape {tuple(indices.shape)} must equal updates "
                         f"shape {tuple(updates.shape)}")
    axis = normalize_axis(axis, data.ndim, op)
    for d in range(data.ndim):
        if d != axis and indices.shape[d] > data.shape[d]:
            raise ValueError(f"{op}: indices dim {d} ({indices.shape[d]}) exceeds data dim "
                             f"{data.shape[d]}")
    idx = normalize_indices(xp, indices, data.shape[axis], op, f"axis {axis}")
    out = data.copy()
    _scatter_into(xp, out, _element_index(xp, idx, axis), updates.astype(data.dtype, copy=False),
                  reduction, op)
    return out


@register("Scatter", since=9)
def scatter(xp, data, indices, updates, *, axis=0):
    """Scatter-9 (deprecated at 11 in favour of ScatterElements):
    https://onnx.ai/onnx/operators/onnx__Scatter.html"""
    return _scatter_elements(xp, data, indices, updates, axis, "none", "Scatter")


@register("ScatterElements", since=11)
def scatter_elements_11(xp, data, indices, updates, *, axis=0):
    """ScatterElements-11: https://onnx.ai/onnx/operators/onnx__ScatterElements.html"""
    return _scatter_elements(xp, data, indices, updates, axis, "none", "ScatterElements")


@register("ScatterElements", since=16)
def scatter_elements_16(xp, data, indices, updates, *, axis=0, reduction="none"):
    """ScatterElements-16 (reduction none/add/mul)."""
    if reduction not in ("none", "add", "mul"):
        raise ValueError(f"ScatterElements-16: unsupported reduction {reduction!r}")
    return _scatter_elements(xp, data, indices, updates, axis, reduction, "ScatterElements")


@register("ScatterElements", since=18)
def scatter_elements(xp, data, indices, updates, *, axis=0, reduction="none"):
    """ScatterElements-18: https://onnx.ai/onnx/operators/onnx__ScatterElements.html"""
    return _scatter_elements(xp, data, indices, updates, axis, reduction, "ScatterElements")


def _scatter_nd(xp, data, indices, updates, reduction: str, op: str):
    if indices.ndim < 1:
        raise ValueError(f"{op}: indices must have rank >= 1")
    k = indices.shape[-1]
    if k > data.ndim:
        raise ValueError(f"{op}: indices.shape[-1] = {k} exceeds rank(data) = {data.ndim}")
    expected = tuple(indices.shape[:-1]) + tuple(data.shape[k:])
    if tuple(updates.shape) != expected:
        raise ValueError(f"{op}: updates shape {tuple(updates.shape)} must be "
                         f"indices.shape[:-1] + data.shape[k:] = {expected}")
    flat_idx = indices.reshape(-1, k)
    comps = tuple(normalize_indices(xp, flat_idx[:, j], data.shape[j], op, f"data axis {j}")
                  for j in range(k))
    flat_upd = updates.reshape((flat_idx.shape[0],) + tuple(data.shape[k:]))
    out = data.copy()
    _scatter_into(xp, out, comps, flat_upd.astype(data.dtype, copy=False), reduction, op)
    return out


@register("ScatterND", since=11)
def scatter_nd_11(xp, data, indices, updates):
    """ScatterND-11: https://onnx.ai/onnx/operators/onnx__ScatterND.html"""
    return _scatter_nd(xp, data, indices, updates, "none", "ScatterND")


@register("ScatterND", since=16)
def scatter_nd_16(xp, data, indices, updates, *, reduction="none"):
    """ScatterND-16 (reduction none/add/mul)."""
    if reduction not in ("none", "add", "mul"):
        raise ValueError(f"ScatterND-16: unsupported reduction {reduction!r}")
    return _scatter_nd(xp, data, indices, updates, reduction, "ScatterND")


@register("ScatterND", since=18)
def scatter_nd(xp, data, indices, updates, *, reduction="none"):
    """ScatterND-18: https://onnx.ai/onnx/operators/onnx__ScatterND.html"""
    return _scatter_nd(xp, data, indices, updates, reduction, "ScatterND")


@register("TensorScatter", since=24)
def tensor_scatter(xp, past_cache, update, write_indices=None, *, axis=-2, mode="linear"):
    """TensorScatter-24 (KV-cache update):
    https://onnx.ai/onnx/operators/onnx__TensorScatter.html"""
    op = "TensorScatter"
    if mode not in ("linear", "circular"):
        raise ValueError(f"{op}: mode must be 'linear' or 'circular', got {mode!r}")
    if past_cache.ndim != update.ndim:
        raise ValueError(f"{op}: past_cache rank {past_cache.ndim} != update rank {update.ndim}")
    axis = normalize_axis(axis, past_cache.ndim, op)
    if axis == 0:
        raise ValueError(f"{op}: axis must not be the batch axis 0")
    for d in range(past_cache.ndim):
        ok = update.shape[d] <= past_cache.shape[d] if d == axis else \
            update.shape[d] == past_cache.shape[d]
        if not ok:
            raise ValueError(f"{op}: update shape {tuple(update.shape)} is incompatible with "
                             f"past_cache shape {tuple(past_cache.shape)} in dim {d}")
    batch, max_len, seq = past_cache.shape[0], past_cache.shape[axis], update.shape[axis]
    if write_indices is None:
        start = xp.zeros((batch, 1), dtype=xp.int64)
    else:
        if write_indices.size != batch:
            raise ValueError(f"{op}: write_indices has {write_indices.size} entries, expected "
                             f"batch size {batch}")
        start = write_indices.astype(xp.int64).reshape(batch, 1)
    pos = start + xp.arange(seq, dtype=xp.int64).reshape(1, seq)
    if mode == "circular":
        pos = pos % max_len
    elif pos.size and (bool((start < 0).any()) or bool((pos >= max_len).any())):
        first = int(start.reshape(-1)[int(((start < 0) | (start + seq > max_len)).argmax())])
        raise ValueError(f"{op}: write index {first} + sequence length {seq} exceeds "
                         f"max_sequence_length {max_len} (mode 'linear')")
    out = past_cache.copy()
    # With the sequence axis moved next to batch, one (batch, seq) fancy index addresses every
    # slice to write; the moved view still aliases ``out``.
    view = xp.moveaxis(out, axis, 1)
    view[xp.arange(batch, dtype=xp.int64).reshape(batch, 1), pos] = xp.moveaxis(update, axis, 1)
    return out
