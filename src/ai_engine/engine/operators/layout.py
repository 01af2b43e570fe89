"""Layout kernels: Transpose, Concat, Split, Slice, Pad, Tile, DepthToSpace, SpaceToDepth,
CenterCropPad.

Transpose, Split and Slice return views of their input; kernels never write into inputs.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.operators.shape_ops import ints, norm_axes, norm_axis, scalar
from ai_engine.engine.registry import register


@register("Transpose", since=1)
def transpose(xp, data, *, perm=None):
    """Transpose: https://onnx.ai/onnx/operators/onnx__Transpose.html"""
    if perm is None:
        return data.transpose()
    if sorted(norm_axes(perm, data.ndim, "perm")) != list(range(data.ndim)):
        raise ValueError(f"Transpose: perm {perm} is not a permutation of rank {data.ndim}")
    return data.transpose(perm)


# ---------------------------------------------------------------------------------------------
# Concat / Split

@register("Concat", since=4)
def concat(xp, *inputs, axis):
    """Concat-4+: https://onnx.ai/onnx/operators/onnx__Concat.html"""
    inputs = [x for x in inputs if x is not None]
    if not inputs:
        raise ValueError("Concat: no inputs")
    axis = norm_axis(axis, inputs[0].ndim)
    if len(inputs) == 1:
        return inputs[0]
    return xp.concatenate(inputs, axis=axis)


@register("Concat", since=1)
def concat_1(xp, *inputs, axis=1):
    """Concat-1 (axis defaults to 1): https://onnx.ai/onnx/operators/onnx__Concat.html"""
    return concat(xp, *inputs, axis=axis)


def _split(data, axis: int, sizes: list[int]):
    axis = norm_axis(axis, data.ndim)
    dim = data.shape[axis]
    if any(s < 0 for s in sizes) or sum(sizes) != dim:
        raise ValueError(f"Split: sizes {sizes} do not add up to dimension {dim} of axis {axis}")
    lead = (slice(None),) * axis
    offsets = np.cumsum([0] + sizes).tolist()
    return tuple(data[lead + (slice(a, b),)] for a, b in zip(offsets[:-1], offsets[1:]))


def _equal_sizes(dim: int, n: int, uneven: bool) -> list[int]:
    if n <= 0:
        raise ValueError("Split: no outputs")
    if dim % n == 0:
        return [dim // n] * n
    if not uneven:
        raise ValueError(f"Split: dimension {dim} does not split into {n} equal parts")
    # opset 18: every chunk ceil(dim / n) long, the last one shorter
    chunk = -(-dim // n)
    # trailing chunks may be empty (dim 4 into 3 gives 2, 2, 0), as onnxruntime and the
    # reference implementation do
    return [min(chunk, max(0, dim - i * chunk)) for i in range(n)]


@register("Split", since=18, num_outputs=True)
def split_18(xp, input, split=None, *, axis=0, num_outputs=None, n_outputs=1):
    """Split-18 (split input or num_outputs attribute; uneven last chunk):
    https://onnx.ai/onnx/operators/onnx__Split.html"""
    if split is not None and num_outputs is not None:
        raise ValueError("Split: give either the split input or num_outputs, not both")
    dim = input.shape[norm_axis(axis, input.ndim)]
    if split is not None:
        sizes = ints(split)
    else:
        n = num_outputs if num_outputs is not None else n_outputs
        sizes = _equal_sizes(dim, n, uneven=True)
    return _split(input, axis, sizes)


@register("Split", since=13, num_outputs=True)
def split_13(xp, input, split=None, *, axis=0, n_outputs=1):
    """Split-13 (split input): https://onnx.ai/onnx/operators/onnx__Split.html"""
    dim = input.shape[norm_axis(axis, input.ndim)]
    sizes = ints(split) if split is not None else _equal_sizes(dim, n_outputs, uneven=False)
    return _split(input, axis, sizes)


@register("Split", since=2, num_outputs=True)
def split_2(xp, input, *, axis=0, split=None, n_outputs=1):
    """Split-2/11 (split attribute): https://onnx.ai/onnx/operators/onnx__Split.html"""
    dim = input.shape[norm_axis(axis, input.ndim)]
    sizes = list(split) if split else _equal_sizes(dim, n_outputs, uneven=False)
    return _split(input, axis, sizes)


# ---------------------------------------------------------------------------------------------
# Slice

def _slice(data, starts, ends, axes, steps):
    starts, ends = ints(starts), ints(ends)
    if len(starts) != len(ends):
        raise ValueError(f"Slice: {len(starts)} starts but {len(ends)} ends")
    axes = norm_axes(ints(axes), data.ndim) if axes is not None else list(range(len(starts)))
    steps = ints(steps) if steps is not None else [1] * len(starts)
    if not len(axes) == len(steps) == len(starts):
        raise ValueError("Slice: starts, ends, axes and steps differ in length")
    index = [slice(None)] * data.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps):
        dim = data.shape[axis]
        if step == 0:
            raise ValueError("Slice: step 0")
        start = start + dim if start < 0 else start
        end = end + dim if end < 0 else end
        # The spec clamps starts to [0, dim] for positive steps and to [0, dim - 1] for
        # negative ones, ends to [0, dim] and [-1, dim - 1]; a Python slice reads an end of -1
        # as "the last element", so it becomes None ("through element 0").
        if step > 0:
            start, end = min(max(start, 0), dim), min(max(end, 0), dim)
        elif dim == 0:
            start, end = 0, 0
        else:
            start, end = min(max(start, 0), dim - 1), min(max(end, -1), dim - 1)
            end = None if end < 0 else end
        index[axis] = slice(start, end, step)
    return data[tuple(index)]


@register("Slice", since=10)
def slice_10(xp, data, starts, ends, axes=None, steps=None):
    """Slice-10+ (inputs; negative steps): https://onnx.ai/onnx/operators/onnx__Slice.html"""
    return _slice(data, starts, ends, axes, steps)


@register("Slice", since=1)
def slice_1(xp, data, *, starts, ends, axes=None):
    """Slice-1 (attributes): https://onnx.ai/onnx/operators/onnx__Slice.html"""
    return _slice(data, starts, ends, axes, None)


# ---------------------------------------------------------------------------------------------
# Pad / CenterCropPad / Tile

_PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "edge", "wrap": "wrap"}


def _pad(xp, data, pads, mode, value, axes=None):
    if mode not in _PAD_MODES:
        raise ValueError(f"Pad: unknown mode {mode!r}")
    r = data.ndim
    axes = list(range(r)) if axes is None else norm_axes(axes, r)
    pads = list(pads)
    if len(pads) != 2 * len(axes):
        raise ValueError(f"Pad: {len(pads)} pads for {len(axes)} axes")
    before, after = [0] * r, [0] * r
    for i, a in enumerate(axes):
        before[a], after[a] = pads[i], pads[i + len(axes)]
    # negative pads crop; crop first, then pad what remains
    if any(p < 0 for p in before + after):
        data = data[tuple(slice(max(0, -b), d - max(0, -e))
                          for b, e, d in zip(before, after, data.shape))]
        before = [max(0, b) for b in before]
        after = [max(0, e) for e in after]
    widths = list(zip(before, after))
    if not any(before + after):
        return data
    if mode == "constant":
        if value is None:
            value = "" if data.dtype == object else 0
        return xp.pad(data, widths, mode="constant", constant_values=value)
    for a, (b, e) in enumerate(widths):
        if (b or e) and data.shape[a] == 0:
            raise ValueError(f"Pad: mode {mode!r} cannot pad an empty axis {a}")
    return xp.pad(data, widths, mode=_PAD_MODES[mode])


@register("Pad", since=18)
def pad_18(xp, data, pads, constant_value=None, axes=None, *, mode="constant"):
    """Pad-18+ (axes input; wrap mode from 19): https://onnx.ai/onnx/operators/onnx__Pad.html"""
    value = scalar(constant_value)
    return _pad(xp, data, ints(pads), mode, value, None if axes is None else ints(axes))


@register("Pad", since=11)
def pad_11(xp, data, pads, constant_value=None, *, mode="constant"):
    """Pad-11/13 (pads input): https://onnx.ai/onnx/operators/onnx__Pad.html"""
    return _pad(xp, data, ints(pads), mode, scalar(constant_value))


@register("Pad", since=2)
def pad_2(xp, data, *, pads, mode="constant", value=0.0):
    """Pad-2 (pads attribute): https://onnx.ai/onnx/operators/onnx__Pad.html"""
    return _pad(xp, data, list(pads), mode, value)


@register("CenterCropPad", since=18)
def center_crop_pad(xp, input_data, shape, *, axes=None):
    """CenterCropPad: https://onnx.ai/onnx/operators/onnx__CenterCropPad.html"""
    r = input_data.ndim
    axes = list(range(r)) if axes is None else norm_axes(axes, r)
    target = ints(shape)
    if len(target) != len(axes):
        raise ValueError(f"CenterCropPad: {len(target)} sizes for {len(axes)} axes")
    index = [slice(None)] * r
    widths = [(0, 0)] * r
    for a, t in zip(axes, target):
        d = input_data.shape[a]
        if d > t:   # crop: the window starts rounded down (half a pixel left of centre)
            start = (d - t) // 2
            index[a] = slice(start, start + t)
        elif d < t:  # pad: the odd extra pixel goes on the right
            widths[a] = ((t - d) // 2, t - d - (t - d) // 2)
    out = input_data[tuple(index)]
    if any(b or e for b, e in widths):
        out = xp.pad(out, widths, mode="constant")
    return out


@register("Tile", since=6)
def tile(xp, input, repeats):
    """Tile: https://onnx.ai/onnx/operators/onnx__Tile.html"""
    reps = ints(repeats)
    if len(reps) != input.ndim or any(n < 0 for n in reps):
        raise ValueError(f"Tile: repeats {reps} do not match rank {input.ndim}")
    return xp.tile(input, reps)


# ---------------------------------------------------------------------------------------------
# DepthToSpace / SpaceToDepth

def _check_4d(op, x, blocksize):
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input, got rank {x.ndim}")
    if blocksize <= 0:
        raise ValueError(f"{op}: blocksize {blocksize} must be positive")
    return x.shape


@register("DepthToSpace", since=11)
def depth_to_space(xp, input, *, blocksize, mode="DCR"):
    """DepthToSpace-11+ (DCR/CRD): https://onnx.ai/onnx/operators/onnx__DepthToSpace.html"""
    b, c, h, w = _check_4d("DepthToSpace", input, blocksize)
    bs = blocksize
    if c % (bs * bs):
        raise ValueError(f"DepthToSpace: {c} channels not divisible by blocksize^2 = {bs * bs}")
    if mode == "DCR":
        tmp = input.reshape(b, bs, bs, c // (bs * bs), h, w).transpose(0, 3, 4, 1, 5, 2)
    elif mode == "CRD":
        tmp = input.reshape(b, c // (bs * bs), bs, bs, h, w).transpose(0, 1, 4, 2, 5, 3)
    else:
        raise ValueError(f"DepthToSpace: unknown mode {mode!r}")
    return tmp.reshape(b, c // (bs * bs), h * bs, w * bs)


@register("DepthToSpace", since=1)
def depth_to_space_1(xp, input, *, blocksize):
    """DepthToSpace-1 (DCR only): https://onnx.ai/onnx/operators/onnx__DepthToSpace.html"""
    return depth_to_space(xp, input, blocksize=blocksize)


@register("SpaceToDepth", since=28)
def space_to_depth(xp, input, *, blocksize, mode="DCR"):
    """SpaceToDepth-28 (DCR/CRD): https://onnx.ai/onnx/operators/onnx__SpaceToDepth.html"""
    b, c, h, w = _check_4d("SpaceToDepth", input, blocksize)
    bs = blocksize
    if h % bs or w % bs:
        raise ValueError(f"SpaceToDepth: spatial size {h}x{w} not divisible by {bs}")
    tmp = input.reshape(b, c, h // bs, bs, w // bs, bs)
    if mode == "DCR":
        tmp = tmp.transpose(0, 3, 5, 1, 2, 4)
    elif mode == "CRD":
        tmp = tmp.transpose(0, 1, 3, 5, 2, 4)
    else:
        raise ValueError(f"SpaceToDepth: unknown mode {mode!r}")
    return tmp.reshape(b, c * bs * bs, h // bs, w // bs)


@register("SpaceToDepth", since=1)
def space_to_depth_1(xp, input, *, blocksize):
    """SpaceToDepth-1/13 (DCR order): https://onnx.ai/onnx/operators/onnx__SpaceToDepth.html"""
    return space_to_depth(xp, input, blocksize=blocksize)

