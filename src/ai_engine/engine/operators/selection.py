"""Selection, sorting and scan kernels: NonZero, Compress, OneHot, ReverseSequence, Unique,
TopK, ArgMax, ArgMin, CumSum and CumProd."""

from __future__ import annotations

from ai_engine.engine.operators.indexing import normalize_axis, scalar_int
from ai_engine.engine.registry import register


@register("NonZero", since=9)
def nonzero(xp, x):
    """NonZero-13: https://onnx.ai/onnx/operators/onnx__NonZero.html"""
    if x.ndim == 0:
        # A scalar is treated as a one-element vector, as onnxruntime does.
        x = x.reshape(1)
    return xp.stack(xp.nonzero(x)).astype(xp.int64).reshape(x.ndim, -1)


def _compress(xp, data, condition, axis, op="Compress"):
    cond = condition.reshape(-1).astype(xp.bool_)
    if axis is None:
        data = data.reshape(-1)
        axis = 0
    else:
        axis = normalize_axis(axis, data.ndim, op)
    dim = data.shape[axis]
    if cond.shape[0] > dim:
        # numpy.compress semantics: a longer condition is fine only if its tail is all False.
        if bool(cond[dim:].any()):
            raise ValueError(f"{op}: condition has {cond.shape[0]} entries with True beyond "
                             f"axis {axis} of size {dim}")
        cond = cond[:dim]
    return xp.compress(cond, data, axis=axis)


@register("Compress", since=9)
def compress(xp, input, condition, *, axis=None):  # noqa: A002 (ONNX input name)
    """Compress-11: https://onnx.ai/onnx/operators/onnx__Compress.html"""
    return _compress(xp, input, condition, axis)


@register("OneHot", since=9)
def one_hot(xp, indices, depth, values, *, axis=-1):
    """OneHot-11: https://onnx.ai/onnx/operators/onnx__OneHot.html

    Indices in ``[-depth, -1]`` count from the end; anything outside ``[-depth, depth-1]``
    yields an all-off row (the spec's rule, so no range error here).
    """
    d = depth.reshape(-1)
    if d.size != 1:
        raise ValueError(f"OneHot: depth must hold one value, got shape {tuple(depth.shape)}")
    n = int(d[0])
    if n < 1:
        raise ValueError(f"OneHot: depth must be positive, got {n}")
    if values.size != 2:
        raise ValueError(f"OneHot: values must hold [off_value, on_value], got shape "
                         f"{tuple(values.shape)}")
    rank = indices.ndim + 1
    axis = normalize_axis(axis, rank, "OneHot")
    # Float indices are truncated toward zero, as a cast to int64 does.
    idx = indices.astype(xp.int64)
    idx = xp.where(idx < 0, idx + n, idx)
    mask = idx[..., None] == xp.arange(n, dtype=xp.int64)
    mask = xp.moveaxis(mask, -1, axis)
    flat = values.reshape(2)
    return xp.where(mask, flat[1], flat[0]).astype(values.dtype, copy=False)


@register("ReverseSequence", since=10)
def reverse_sequence(xp, input, sequence_lens, *, batch_axis=1, time_axis=0):  # noqa: A002
    """ReverseSequence-10: https://onnx.ai/onnx/operators/onnx__ReverseSequence.html"""
    op = "ReverseSequence"
    if input.ndim < 2:
        raise ValueError(f"{op}: input must have rank >= 2, got {input.ndim}")
    if {batch_axis, time_axis} != {0, 1}:
        raise ValueError(f"{op}: batch_axis and time_axis must be 0 and 1 in some order, got "
                         f"{batch_axis} and {time_axis}")
    batch, steps = input.shape[batch_axis], input.shape[time_axis]
    lens = sequence_lens.reshape(-1).astype(xp.int64)
    if lens.shape[0] != batch:
        raise ValueError(f"{op}: sequence_lens has {lens.shape[0]} entries, expected batch size "
                         f"{batch}")
    bad = (lens < 0) | (lens > steps)
    if bool(bad.any()):
        raise ValueError(f"{op}: sequence length {int(lens[bad][0])} is out of range "
                         f"[0, {steps}] for time axis of size {steps}")
    t = xp.arange(steps, dtype=xp.int64).reshape(steps, 1)
    src = xp.where(t < lens, lens - 1 - t, t)           # (time, batch)
    if batch_axis == 0:
        src = src.T
    src = src.reshape(src.shape + (1,) * (input.ndim - 2))
    return xp.take_along_axis(input, src, axis=time_axis)


# --------------------------------------------------------------------------- Unique

def _sort_key(xp, x):
    """``x`` itself, or float32 for ml_dtypes floats (bfloat16, float8...), whose NumPy sort
    misorders around NaN; the cast is exact, so order and ties are unchanged."""
    if x.dtype.kind == "V" and x.dtype.names is None:
        return x.astype(xp.float32)
    return x


def _differs(xp, a, b):
    """Elementwise a != b where NaN equals NaN (numpy.unique collapses NaNs)."""
    ne = a != b
    # ml_dtypes floats (bfloat16, float8...) report kind "V" but support isnan.
    if a.dtype.kind in "fc" or (a.dtype.kind == "V" and a.dtype.names is None):
        ne = ne & ~(xp.isnan(a) & xp.isnan(b))
    return ne


@register("Unique", since=11)
def unique(xp, X, *, axis=None, sorted=1):  # noqa: A002 (ONNX attribute name)
    """Unique-11: https://onnx.ai/onnx/operators/onnx__Unique.html

    Returns (Y, indices, inverse_indices, counts). ``sorted=0`` orders the unique values by
    first occurrence. Built from one stable sort so it runs the same on NumPy and CuPy.
    """
    if axis is None:
        flat = _sort_key(xp, X.reshape(-1))
        n = flat.shape[0]
        order = xp.argsort(flat, kind="stable")
        keys = flat[order]
        new = _differs(xp, keys[1:], keys[:-1]) if n else keys[:0].astype(xp.bool_)
    else:
        axis = normalize_axis(axis, X.ndim, "Unique")
        rows = xp.moveaxis(_sort_key(xp, X), axis, 0)
        n = rows.shape[0]
        rows = rows.reshape(n, -1)
        if rows.shape[1] == 0 or n == 0:
            order = xp.arange(n, dtype=xp.int64)
        else:
            # lexsort's last key is primary, so feed the columns reversed.
            order = xp.lexsort(rows.T[::-1])
        keys = rows[order]
        new = _differs(xp, keys[1:], keys[:-1]).any(axis=1) if n else \
            xp.zeros((0,), dtype=xp.bool_)
    start = xp.concatenate([xp.ones((min(n, 1),), dtype=xp.bool_), new])
    group = xp.cumsum(start, dtype=xp.int64) - 1        # sorted position -> unique id
    first = order[start].astype(xp.int64)              # stable sort: first occurrence
    starts = xp.nonzero(start)[0]
    counts = xp.diff(xp.concatenate([starts, xp.asarray([n], dtype=starts.dtype)]))
    counts = counts.astype(xp.int64)
    inverse = xp.empty((n,), dtype=xp.int64)
    inverse[order] = group
    if not sorted:
        perm = xp.argsort(first, kind="stable")
        rank = xp.empty_like(perm)
        rank[perm] = xp.arange(perm.shape[0], dtype=perm.dtype)
        first, counts, inverse = first[perm], counts[perm], rank[inverse].astype(xp.int64)
    y = xp.take(X.reshape(-1), first) if axis is None else xp.take(X, first, axis=axis)
    return y, first, inverse, counts


# --------------------------------------------------------------------------- TopK

def _topk_last(xp, x, k: int, largest: bool):
    """Indices of the top ``k`` along the last axis, best first, ties by lower index."""
    n = x.shape[-1]
    if k == 0:
        return xp.zeros(x.shape[:-1] + (0,), dtype=xp.int64)
    if 4 * k >= n or not hasattr(xp, "argpartition"):
        if largest:
            # Stable ascending sort of the reversed row, read back-to-front: values descend
            # and equal values keep ascending original indices (works for unsigned too).
            o = xp.argsort(x[..., ::-1], axis=-1, kind="stable")[..., ::-1][..., :k]
            return (n - 1 - o).astype(xp.int64)
        return xp.argsort(x, axis=-1, kind="stable")[..., :k].astype(xp.int64)
    # Partial selection: find the k-th best value v, keep everything strictly better plus the
    # lowest-index elements equal to v (argpartition alone picks ties arbitrarily).
    kth = n - k if largest else k - 1
    part = xp.argpartition(x, kth, axis=-1)[..., kth:kth + 1]
    v = xp.take_along_axis(x, part, axis=-1)
    better = x > v if largest else x < v
    eq = x == v
    need = k - better.sum(axis=-1, keepdims=True)
    keep = better | (eq & (xp.cumsum(eq, axis=-1) <= need))
    cand = xp.nonzero(keep.reshape(-1, n))[1].reshape(x.shape[:-1] + (k,))  # ascending index
    vals = xp.take_along_axis(x, cand, axis=-1)
    if largest:
        o = xp.argsort(vals[..., ::-1], axis=-1, kind="stable")[..., ::-1]
        o = k - 1 - o
        # o indexes reversed candidates; map back through the reversal.
        return xp.take_along_axis(cand, o, axis=-1).astype(xp.int64)
    o = xp.argsort(vals, axis=-1, kind="stable")
    return xp.take_along_axis(cand, o, axis=-1).astype(xp.int64)


def _topk(xp, x, k: int, axis: int, largest: int, op="TopK"):
    axis = normalize_axis(axis, x.ndim, op)
    n = x.shape[axis]
    if not 0 <= k <= n:
        raise ValueError(f"{op}: k = {k} is out of range for axis {axis} of size {n} "
                         f"(valid range [0, {n}])")
    moved = xp.moveaxis(x, axis, -1)
    idx = _topk_last(xp, _sort_key(xp, moved), k, bool(largest))
    vals = xp.take_along_axis(moved, idx, axis=-1)
    return xp.moveaxis(vals, -1, axis), xp.moveaxis(idx, -1, axis)


@register("TopK", since=1)
def top_k_1(xp, X, *, k, axis=-1):
    """TopK-1 (k as an attribute): https://onnx.ai/onnx/operators/onnx__TopK.html"""
    return _topk(xp, X, k, axis, 1)


@register("TopK", since=10)
def top_k_10(xp, X, K, *, axis=-1):
    """TopK-10 (k as an input)."""
    return _topk(xp, X, scalar_int(K, "TopK", "K"), axis, 1)


@register("TopK", since=11)
def top_k(xp, X, K, *, axis=-1, largest=1, sorted=1):  # noqa: A002
    """TopK-11/24: https://onnx.ai/onnx/operators/onnx__TopK.html

    Results are always sorted (``sorted=0`` leaves the order unspecified, so sorted is valid).
    """
    return _topk(xp, X, scalar_int(K, "TopK", "K"), axis, largest)


# --------------------------------------------------------------------------- ArgMax / ArgMin

def _arg_reduce(xp, fn, x, axis, keepdims, select_last_index, op):
    axis = normalize_axis(axis, x.ndim, op)
    if x.shape[axis] == 0:
        raise ValueError(f"{op}: cannot reduce over axis {axis} of size 0")
    if select_last_index:
        flipped = xp.flip(x, axis=axis)
        out = x.shape[axis] - 1 - fn(flipped, axis=axis)
    else:
        out = fn(x, axis=axis)
    out = xp.asarray(out).astype(xp.int64)
    return xp.expand_dims(out, axis) if keepdims else out


@register("ArgMax", since=1)
def arg_max_1(xp, data, *, axis=0, keepdims=1):
    """ArgMax-1/11: https://onnx.ai/onnx/operators/onnx__ArgMax.html"""
    return _arg_reduce(xp, xp.argmax, data, axis, keepdims, 0, "ArgMax")


@register("ArgMax", since=12)
def arg_max(xp, data, *, axis=0, keepdims=1, select_last_index=0):
    """ArgMax-13: https://onnx.ai/onnx/operators/onnx__ArgMax.html"""
    return _arg_reduce(xp, xp.argmax, data, axis, keepdims, select_last_index, "ArgMax")


@register("ArgMin", since=1)
def arg_min_1(xp, data, *, axis=0, keepdims=1):
    """ArgMin-1/11: https://onnx.ai/onnx/operators/onnx__ArgMin.html"""
    return _arg_reduce(xp, xp.argmin, data, axis, keepdims, 0, "ArgMin")


@register("ArgMin", since=12)
def arg_min(xp, data, *, axis=0, keepdims=1, select_last_index=0):
    """ArgMin-13: https://onnx.ai/onnx/operators/onnx__ArgMin.html"""
    return _arg_reduce(xp, xp.argmin, data, axis, keepdims, select_last_index, "ArgMin")


# --------------------------------------------------------------------------- CumSum / CumProd

def _cumulative(xp, fn, identity, x, axis, exclusive, reverse, op):
    axis = normalize_axis(scalar_int(axis, op, "axis"), x.ndim, op)
    if reverse:
        x = xp.flip(x, axis=axis)
    # dtype pinned: NumPy would widen int32 / bool accumulations to the platform int.
    out = fn(x, axis=axis, dtype=x.dtype)
    if exclusive:
        # Shift instead of subtracting/dividing out x: exact, and no division by zero.
        head = [slice(None)] * x.ndim
        head[axis] = slice(0, x.shape[axis] - 1)
        pad_shape = list(x.shape)
        pad_shape[axis] = min(1, x.shape[axis])
        pad = xp.full(pad_shape, identity, dtype=x.dtype)
        out = xp.concatenate([pad, out[tuple(head)]], axis=axis)
    if reverse:
        out = xp.flip(out, axis=axis)
    return out


@register("CumSum", since=11)
def cum_sum(xp, x, axis, *, exclusive=0, reverse=0):
    """CumSum-14: https://onnx.ai/onnx/operators/onnx__CumSum.html"""
    return _cumulative(xp, xp.cumsum, 0, x, axis, exclusive, reverse, "CumSum")


@register("CumProd", since=26)
def cum_prod(xp, x, axis, *, exclusive=0, reverse=0):
    """CumProd-26: https://onnx.ai/onnx/operators/onnx__CumProd.html"""
    return _cumulative(xp, xp.cumprod, 1, x, axis, exclusive, reverse, "CumProd")
