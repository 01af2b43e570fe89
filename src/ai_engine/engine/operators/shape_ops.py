"""Shape-manipulating kernels: Reshape, Flatten, Squeeze, Unsqueeze, Expand, Shape, Size,
Identity, Dropout, and the small host-side helpers the layout kernels share.

Reshape, Flatten, Squeeze and Unsqueeze return views of their input (no copy): kernels never
write into their inputs, so aliasing is safe.
"""

from __future__ import annotations

import math

import numpy as np

from ai_engine.engine.registry import register


# ---------------------------------------------------------------------------------------------
# host-side helpers (shared with layout.py and generators.py)

def ints(v) -> list[int]:
    """A shape-like input (an int64 tensor, on the host or the device) as Python ints.

    ``tolist`` works for NumPy and CuPy alike and yields arbitrary-precision ints, so the
    INT64_MAX/INT64_MIN sentinels Slice uses never overflow in later arithmetic.
    """
    if v is None:
        return []
    if isinstance(v, (list, tuple)):
        return [int(i) for i in v]
    return [int(i) for i in v.reshape(-1).tolist()]


def norm_axis(axis: int, rank: int, what: str = "axis") -> int:
    if not -rank <= axis < rank:
        raise ValueError(f"{what} {axis} is out of range for rank {rank}")
    return axis + rank if axis < 0 else axis


def norm_axes(axes, rank: int, what: str = "axes") -> list[int]:
    out = [norm_axis(int(a), rank, what) for a in axes]
    if len(set(out)) != len(out):
        raise ValueError(f"{what} {list(axes)} contain duplicates")
    return out


def scalar(v, default=None):
    """A 0-d/1-element tensor input as a Python number (``default`` when omitted)."""
    if v is None:
        return default
    return v.reshape(-1)[0].item() if v.size else default


# ---------------------------------------------------------------------------------------------
# Reshape

def _reshape_target(in_shape, shape, allowzero: int) -> list[int]:
    shape = ints(shape)
    if allowzero and 0 in shape and -1 in shape:
        raise ValueError("Reshape: allowzero=1 forbids mixing 0 and -1 in the shape")
    if not allowzero:
        # 0 copies the input dimension at the same index
        for i, d in enumerate(shape):
            if d == 0:
                if i >= len(in_shape):
                    raise ValueError(f"Reshape: shape[{i}] = 0 has no input dimension to copy")
                shape[i] = in_shape[i]
    if shape.count(-1) > 1:
        raise ValueError(f"Reshape: more than one -1 in shape {shape}")
    if any(d < -1 for d in shape):
        raise ValueError(f"Reshape: invalid dimension in shape {shape}")
    if -1 in shape:
        known = math.prod(d for d in shape if d != -1)
        total = math.prod(in_shape)
        if known == 0 or total % known:
            raise ValueError(f"Reshape: cannot infer -1 reshaping {tuple(in_shape)} to {shape}")
        shape[shape.index(-1)] = total // known
    if math.prod(shape) != math.prod(in_shape):
        raise ValueError(f"Reshape: cannot reshape {tuple(in_shape)} to {shape}")
    return shape


@register("Reshape", since=14)
def reshape(xp, data, shape, *, allowzero=0):
    """Reshape-14: https://onnx.ai/onnx/operators/onnx__Reshape.html"""
    return data.reshape(_reshape_target(data.shape, shape, allowzero))


@register("Reshape", since=5)
def reshape_5(xp, data, shape):
    """Reshape-5 (no allowzero): https://onnx.ai/onnx/operators/onnx__Reshape.html"""
    return data.reshape(_reshape_target(data.shape, shape, 0))


@register("Flatten", since=1)
def flatten(xp, input, *, axis=1):
    """Flatten: https://onnx.ai/onnx/operators/onnx__Flatten.html"""
    r = input.ndim
    if not -r <= axis <= r:
        raise ValueError(f"Flatten: axis {axis} out of range for rank {r}")
    axis = axis + r if axis < 0 else axis
    # explicit sizes rather than -1 so zero-sized inputs reshape too
    return input.reshape(math.prod(input.shape[:axis]), math.prod(input.shape[axis:]))


# ---------------------------------------------------------------------------------------------
# Squeeze / Unsqueeze

def _squeeze(data, axes):
    if axes is None or len(axes) == 0:
        return data.reshape([d for d in data.shape if d != 1])
    axes = norm_axes(axes, data.ndim)
    for a in axes:
        if data.shape[a] != 1:
            raise ValueError(f"Squeeze: dimension {a} has size {data.shape[a]}, not 1")
    return data.reshape([d for i, d in enumerate(data.shape) if i not in axes])


def _unsqueeze(data, axes):
    axes = ints(axes)
    rank = data.ndim + len(axes)
    axes = set(norm_axes(axes, rank))
    dims = iter(data.shape)
    return data.reshape([1 if i in axes else next(dims) for i in range(rank)])


@register("Squeeze", since=13)
def squeeze(xp, data, axes=None):
    """Squeeze-13 (axes input): https://onnx.ai/onnx/operators/onnx__Squeeze.html"""
    return _squeeze(data, None if axes is None else ints(axes))


@register("Squeeze", since=1)
def squeeze_1(xp, data, *, axes=None):
    """Squeeze-1/11 (axes attribute): https://onnx.ai/onnx/operators/onnx__Squeeze.html"""
    return _squeeze(data, axes)


@register("Unsqueeze", since=13)
def unsqueeze(xp, data, axes):
    """Unsqueeze-13 (axes input): https://onnx.ai/onnx/operators/onnx__Unsqueeze.html"""
    return _unsqueeze(data, axes)


@register("Unsqueeze", since=1)
def unsqueeze_1(xp, data, *, axes):
    """Unsqueeze-1/11 (axes attribute): https://onnx.ai/onnx/operators/onnx__Unsqueeze.html"""
    return _unsqueeze(data, axes)


# ---------------------------------------------------------------------------------------------
# Expand, Shape, Size

@register("Expand", since=8)
def expand(xp, input, shape):
    """Expand: https://onnx.ai/onnx/operators/onnx__Expand.html

    Bidirectional broadcast: the output shape may be smaller than ``shape`` where the input
    has a larger dimension. A contiguous copy, not a stride-0 view, so the result is an
    ordinary writable array for whoever receives it.
    """
    out_shape = np.broadcast_shapes(tuple(input.shape), tuple(ints(shape)))
    # .copy(), not ascontiguousarray: that one promotes a 0-d result to shape (1,)
    return xp.broadcast_to(input, out_shape).copy()


@register("Shape", since=15)
def shape(xp, data, *, start=0, end=None):
    """Shape-15 (start/end): https://onnx.ai/onnx/operators/onnx__Shape.html"""
    # Python slicing clamps out-of-range start/end exactly as the spec asks
    return xp.asarray(np.array(data.shape[start:end], dtype=np.int64))


@register("Shape", since=1)
def shape_1(xp, data):
    """Shape-1: https://onnx.ai/onnx/operators/onnx__Shape.html"""
    return xp.asarray(np.array(data.shape, dtype=np.int64))


@register("Size", since=1)
def size(xp, data):
    """Size: https://onnx.ai/onnx/operators/onnx__Size.html"""
    return xp.asarray(np.array(math.prod(data.shape), dtype=np.int64))


# ---------------------------------------------------------------------------------------------
# Identity, Dropout

@register("Identity", since=1)
def identity(xp, input):
    """Identity: https://onnx.ai/onnx/operators/onnx__Identity.html

    Tensors, sequences (lists) and optionals (``None`` or a value) pass through unchanged.
    """
    return input


def _dropout(xp, data, ratio, training, seed, n_outputs, mask_dtype):
    want_mask = n_outputs > 1
    if not training or ratio == 0:
        mask = xp.ones(data.shape, dtype=mask_dtype) if want_mask else None
        return data, mask
    if not 0 <= ratio < 1:
        raise ValueError(f"Dropout: ratio {ratio} is not in [0, 1)")
    # Drawn on the host with NumPy's legacy RandomState so that a given seed reproduces the
    # masks of the ONNX reference (and its backend test data) bit for bit.
    rng = np.random.RandomState(seed) if seed is not None else np.random
    keep = xp.asarray(rng.uniform(0.0, 1.0, data.shape) >= ratio)
    # a NumPy scalar (not a 0-d array) mixes with CuPy arrays too
    scale = data.dtype.type(1.0 / (1.0 - ratio))
    out = xp.where(keep, data * scale, xp.zeros((), dtype=data.dtype)).astype(data.dtype)
    return out, (keep.astype(mask_dtype) if want_mask else None)


@register("Dropout", since=12, num_outputs=True)
def dropout(xp, data, ratio=None, training_mode=None, *, seed=None, n_outputs=1):
    """Dropout-12/13/22 (ratio and training_mode inputs):
    https://onnx.ai/onnx/operators/onnx__Dropout.html"""
    return _dropout(xp, data, float(scalar(ratio, 0.5)), bool(scalar(training_mode, False)),
                    seed, n_outputs, np.bool_)


@register("Dropout", since=10, num_outputs=True)
def dropout_10(xp, data, *, ratio=0.5, n_outputs=1):
    """Dropout-10 (inference only; bool mask): https://onnx.ai/onnx/operators/onnx__Dropout.html"""
    return _dropout(xp, data, ratio, False, None, n_outputs, np.bool_)


@register("Dropout", since=7, num_outputs=True)
def dropout_7(xp, data, *, ratio=0.5, n_outputs=1):
    """Dropout-7 (inference only; the mask has the data type):
    https://onnx.ai/onnx/operators/onnx__Dropout.html"""
    return _dropout(xp, data, ratio, False, None, n_outputs, data.dtype)
