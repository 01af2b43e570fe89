"""Convolution and pooling geometry: padding, output shapes, im2col/col2im.

Conventions: ``pads`` in ONNX order ``(x1_begin, x2_begin, ..., x1_end, x2_end, ...)``;
spatial helpers return per-axis lists ``begin``, ``end``, ``out`` for the spatial axes only.
See https://onnx.ai/onnx/operators/onnx__Conv.html and .../onnx__MaxPool.html for the formulas.
"""

from __future__ import annotations

import numpy as np

_AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")


def spatial_defaults(nd: int, strides, dilations, pads):
    """Fill omitted INTS attributes with their ONNX defaults for ``nd`` spatial axes."""
    strides = tuple(strides) if strides else (1,) * nd
    dilations = tuple(dilations) if dilations else (1,) * nd
    pads = tuple(pads) if pads else (0,) * (2 * nd)
    if len(strides) != nd or len(dilations) != nd or len(pads) != 2 * nd:
        raise ValueError(f"strides {strides}, dilations {dilations}, pads {pads} do not "
                         f"match {nd} spatial dimensions")
    return strides, dilations, pads


def conv_geometry(in_shape, kernel, strides, dilations, pads, auto_pad):
    """Begin pads, end pads and output sizes of a convolution (ONNX Conv formulas).

    SAME_*: output = ceil(in / stride) and the total padding goes mostly to the end (UPPER)
    or the beginning (LOWER); VALID: no padding; NOTSET: the explicit ``pads``.
    """
    nd = len(in_shape)
    if auto_pad not in _AUTO_PADS:
        raise ValueError(f"unknown auto_pad {auto_pad!r}")
    begin, end, out = [], [], []
    for i in range(nd):
        eff = (kernel[i] - 1) * dilations[i] + 1
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            o = -(-in_shape[i] // strides[i])
            total = max(0, (o - 1) * strides[i] + eff - in_shape[i])
            small = total // 2
            b, e = (small, total - small) if auto_pad == "SAME_UPPER" else (total - small, small)
        elif auto_pad == "VALID":
            b = e = 0
            o = (in_shape[i] - eff) // strides[i] + 1
        else:
            b, e = pads[i], pads[i + nd]
            o = (in_shape[i] + b + e - eff) // strides[i] + 1
        if o < 1:
            raise ValueError(f"non-positive output size along spatial axis {i}: input "
                             f"{in_shape[i]}, kernel {kernel[i]}, pads ({b}, {e})")
        begin.append(b)
        end.append(e)
        out.append(o)
    return begin, end, out


def pool_geometry(in_shape, kernel, strides, dilations, pads, auto_pad, ceil_mode):
    """Like :func:`conv_geometry` plus ``ceil_mode`` (the last window must start inside the
    input or the begin padding, as onnxruntime and the ONNX reference do)."""
    if not ceil_mode or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        return conv_geometry(in_shape, kernel, strides, dilations, pads, auto_pad)
    nd = len(in_shape)
    if auto_pad == "VALID":
        # ceil over no padding, dropping a last window that would start past the input (as
        # onnxruntime does; without the drop, k=1 s=2 on 2 elements read nothing but padding)
        pads = [0] * (2 * nd)
    begin, end, out = list(pads[:nd]), list(pads[nd:]), []
    for i in range(nd):
        eff = (kernel[i] - 1) * dilations[i] + 1
        o = -(-(in_shape[i] + begin[i] + end[i] - eff) // strides[i]) + 1
        if (o - 1) * strides[i] >= in_shape[i] + begin[i]:
            o -= 1
        if o < 1:
            raise ValueError(f"non-positive output size along spatial axis {i}")
        out.append(o)
    return begin, end, out


def pad_spatial(xp, x, begin, end, value=0, required=None):
    """Pad the spatial axes (2..) of ``x``; ``required`` (per axis) extends the end padding
    further so every window of a ceil-mode pooling fits."""
    end = list(end)
    if required is not None:
        for i, r in enumerate(required):
            have = x.shape[2 + i] + begin[i] + end[i]
            if r > have:
                end[i] += r - have
    # Windows of a ceil-mode or SAME output may also stop short of the padded extent; crop
    # negative ends rather than pad (np.pad rejects negative widths).
    if all(b == 0 for b in begin) and all(e == 0 for e in end):
        return x
    if any(b < 0 for b in begin) or any(e < 0 for e in end):
        sl = (slice(None), slice(None)) + tuple(
            slice(max(-b, 0), x.shape[2 + i] - max(-e, 0))
            for i, (b, e) in enumerate(zip(begin, end)))
        x = x[sl]
        begin = [max(b, 0) for b in begin]
        end = [max(e, 0) for e in end]
        if all(b == 0 for b in begin) and all(e == 0 for e in end):
            return x
    widths = [(0, 0), (0, 0)] + [(b, e) for b, e in zip(begin, end)]
    return xp.pad(x, widths, mode="constant", constant_values=value)


def window_extent(out, kernel, strides, dilations):
    """Padded input length each axis needs so that every window lies inside it."""
    return [(o - 1) * s + (k - 1) * d + 1 for o, k, s, d in zip(out, kernel, strides, dilations)]


def tap_slices(tap, strides, dilations, out):
    """Slices (for spatial axes) selecting, for kernel offset ``tap``, the padded-input
    element each output position reads: a strided view, no copy."""
    return tuple(slice(t * d, t * d + (o - 1) * s + 1, s)
                 for t, s, d, o in zip(tap, strides, dilations, out))


def taps(kernel):
    """Every kernel offset in row-major order."""
    return list(np.ndindex(*kernel))


def im2col(xp, xpad, kernel, strides, dilations, out):
    """``(N, C, *kernel, *out)`` patches of a padded ``(N, C, *spatial)`` input, contiguous
    so that ``reshape(N, C*K, L)`` is free and feeds one GEMM. One strided copy per tap:
    faster than a transposed sliding_window_view copy because each copy streams rows."""
    n, c = xpad.shape[:2]
    cols = xp.empty((n, c, *kernel, *out), dtype=xpad.dtype)
    for tap in taps(kernel):
        cols[(slice(None), slice(None)) + tap] = xpad[(slice(None), slice(None))
                                                      + tap_slices(tap, strides, dilations, out)]
    return cols


def col2im_add(xp, cols, kernel, strides, dilations, out, full):
    """Scatter-add ``cols`` ``(N, C, *kernel, *out)`` into a zero ``(N, C, *full)`` image:
    the adjoint of :func:`im2col` (ConvTranspose, Col2Im). One strided add per tap."""
    n, c = cols.shape[:2]
    img = xp.zeros((n, c, *full), dtype=cols.dtype)
    for tap in taps(kernel):
        img[(slice(None), slice(None)) + tap_slices(tap, strides, dilations, out)] += \
            cols[(slice(None), slice(None)) + tap]
    return img
