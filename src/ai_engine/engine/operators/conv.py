"""Conv and ConvTranspose: https://onnx.ai/onnx/operators/onnx__Conv.html and
https://onnx.ai/onnx/operators/onnx__ConvTranspose.html.

Strategy (NumPy has no convolution primitive, so everything rides on BLAS GEMM):
- 1x1 kernels: a single GEMM on the (strided) input viewed as (N, C, H*W);
- everything else: im2col (one strided copy per tap into a (N, C*K, L) buffer) and one GEMM,
  batched over groups with a group axis; large inputs go block by block (see _blocked).
  Depthwise convs take the same path (a batched (1 x k*k) @ (k*k x L) per channel): measured
  ~5x faster than a tap loop of broadcast multiply-adds, which is memory bound.
float16/bfloat16 compute in float32 (NumPy's half GEMM is very slow) and are cast back.
"""

from __future__ import annotations

import math

import numpy as np

from ai_engine.engine.registry import register

from .conv_engine import fast_conv, ohwi_cached
from .conv_geometry import col2im_add, conv_geometry, im2col, pad_spatial, spatial_defaults, \
    tap_slices, taps, window_extent
from .dtype_policy import compute_dtype

# im2col buffers above this many elements are built and multiplied block by block: blocks
# of ~8 MB bound peak memory on big inputs and batches.
_BLOCK_ELEMS = 1 << 21


def _check_shapes(x, w, group, what="Conv"):
    if x.ndim < 3 or w.ndim != x.ndim:
        raise ValueError(f"{what}: X {x.shape} and W {w.shape} must both be (N, C, spatial...)"
                         " tensors of the same rank")
    if group < 1 or x.shape[1] % group:
        raise ValueError(f"{what}: {x.shape[1]} input channels not divisible by group {group}")


def conv_core(xp, x, w, group, strides, dilations, begin, end, out):
    """Cross-correlate ``x`` (N, C, *S) with ``w`` (M, C/group, *K); both already in the
    compute dtype. Returns (N, M, *out) without bias."""
    n, c = x.shape[:2]
    m = w.shape[0]
    kernel = tuple(w.shape[2:])
    nd = len(kernel)
    cg = c // group
    if w.shape[1] != cg or m % group:
        raise ValueError(f"Conv: W {w.shape} does not fit {c} input channels in {group} groups")
    ksize = math.prod(kernel)
    length = math.prod(out)
    xpad = pad_spatial(xp, x, begin, end, 0)
    head = (slice(None), slice(None))

    if ksize == 1:
        v = xpad[head + tap_slices((0,) * nd, strides, dilations, out)]
        cols = xp.ascontiguousarray(v).reshape(n, c, length)
        return cols_gemm(xp, cols, w, group, out)
    if n * c * ksize * length <= _BLOCK_ELEMS:
        cols = im2col(xp, xpad, kernel, strides, dilations, out).reshape(n, c * ksize, length)
        return cols_gemm(xp, cols, w, group, out)
    return _blocked(xp, xpad, w, group, strides, dilations, out)


def _blocked(xp, xpad, w, group, strides, dilations, out):
    """im2col + GEMM over blocks of samples or of output rows (first spatial axis): bounds
    the im2col buffer on big images and batches at about the speed of one big GEMM."""
    n, c = xpad.shape[:2]
    m = w.shape[0]
    kernel = tuple(w.shape[2:])
    ksize = math.prod(kernel)
    rest = math.prod(out[1:])
    row = c * ksize * rest
    per_sample = row * out[0]
    y = xp.empty((n, m, out[0] * rest), dtype=xpad.dtype)
    if per_sample >= _BLOCK_ELEMS:
        samples, rows = 1, max(1, _BLOCK_ELEMS // row)
    else:
        samples, rows = max(1, _BLOCK_ELEMS // per_sample), out[0]
    buf = xp.empty((min(samples, n), c) + kernel + (rows,) + tuple(out[1:]), dtype=xpad.dtype)
    all2 = (slice(None), slice(None))
    for s0 in range(0, n, samples):
        s1 = min(n, s0 + samples)
        for r0 in range(0, out[0], rows):
            r1 = min(out[0], r0 + rows)
            shape = (s1 - s0, c) + kernel + (r1 - r0,) + tuple(out[1:])
            # The last, partial block gets its own buffer so it stays contiguous.
            cols = buf if shape == buf.shape else xp.empty(shape, dtype=xpad.dtype)
            for tap in taps(kernel):
                sl = tap_slices(tap, strides, dilations, out)
                first = slice(sl[0].start + r0 * strides[0],
                              sl[0].start + (r1 - 1) * strides[0] + 1, strides[0])
                cols[all2 + tap] = xpad[(slice(s0, s1), slice(None), first) + sl[1:]]
            part = cols_gemm(xp, cols.reshape(s1 - s0, c * ksize, -1), w,
                             group, (r1 - r0,) + tuple(out[1:]))
            y[s0:s1, :, r0 * rest:r1 * rest] = part.reshape(s1 - s0, m, -1)
    return y.reshape((n, m) + tuple(out))


def cols_gemm(xp, cols, w, group, out):
    """(N, C*K, L) patches times W (M, C/group, *K): one GEMM, batched over groups."""
    n = cols.shape[0]
    m = w.shape[0]
    ck, length = w[0].size * group, math.prod(out)
    if group == 1:
        y = xp.matmul(w.reshape(m, ck), cols)
    else:
        y = xp.matmul(w.reshape(group, m // group, ck // group),
                      cols.reshape(n, group, ck // group, length))
    return y.reshape((n, m) + tuple(out))


def conv_forward(xp, x, w, *, auto_pad, dilations, group, kernel_shape, pads, strides,
                 what="Conv"):
    """Shared by Conv, ConvInteger and QLinearConv: geometry + :func:`conv_core`."""
    _check_shapes(x, w, group, what)
    nd = x.ndim - 2
    kernel = tuple(w.shape[2:])
    if kernel_shape and tuple(kernel_shape) != kernel:
        raise ValueError(f"{what}: kernel_shape {tuple(kernel_shape)} != W spatial shape {kernel}")
    strides, dilations, pads = spatial_defaults(nd, strides, dilations, pads)
    begin, end, out = conv_geometry(x.shape[2:], kernel, strides, dilations, pads, auto_pad)
    return conv_core(xp, x, w, group, strides, dilations, begin, end, out)


def _bias_shape(b, nd):
    return b.reshape((1, -1) + (1,) * nd)


@register("Conv", since=1)
def conv(xp, x, w, b=None, *, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None,
         pads=None, strides=None):
    """Conv-1..22: https://onnx.ai/onnx/operators/onnx__Conv.html"""
    if x.ndim == 4 and x.dtype == w.dtype == np.float32 and xp is np:
        # float32 2-D: the BLAS-accumulating paths of conv_engine.py (weights to OHWI once).
        if kernel_shape and tuple(kernel_shape) != tuple(w.shape[2:]):
            raise ValueError(f"Conv: kernel_shape {tuple(kernel_shape)} != W spatial shape "
                             f"{tuple(w.shape[2:])}")
        y = fast_conv(xp, x, ohwi_cached(w), b, None, auto_pad=auto_pad,
                      dilations=dilations, group=group, pads=pads, strides=strides,
                      act=("", 0.0, None, None))
        if y is not None:
            return y
    cdt = compute_dtype(x.dtype)
    y = conv_forward(xp, x.astype(cdt, copy=False), w.astype(cdt, copy=False),
                     auto_pad=auto_pad, dilations=dilations, group=group,
                     kernel_shape=kernel_shape, pads=pads, strides=strides)
    if b is not None:
        y += _bias_shape(b.astype(cdt, copy=False), x.ndim - 2)
    return y.astype(x.dtype, copy=False)


def _transpose_geometry(in_shape, kernel, strides, dilations, pads, output_padding,
                        output_shape, auto_pad):
    """Begin padding (to crop) and output size per axis of a ConvTranspose.

    With ``output_shape`` (or SAME auto_pad, whose target is in*stride) the total padding is
    derived and split as the spec says: SAME_UPPER puts the odd element at the end."""
    nd = len(in_shape)
    begin, out = [], []
    if output_shape:
        output_shape = list(output_shape)[-nd:]
    for i in range(nd):
        natural = strides[i] * (in_shape[i] - 1) + output_padding[i] \
            + (kernel[i] - 1) * dilations[i] + 1
        target = None
        if output_shape:
            target = output_shape[i]
        elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            target = in_shape[i] * strides[i]
        if target is not None:
            total = natural - target
            half = total // 2
            b = half if auto_pad == "SAME_UPPER" else total - half
            begin.append(b)
            out.append(target)
        elif auto_pad == "VALID":
            begin.append(0)
            out.append(natural)
        else:
            begin.append(pads[i])
            out.append(natural - pads[i] - pads[nd + i])
    if any(o < 1 for o in out):
        raise ValueError(f"ConvTranspose: non-positive output shape {out}")
    return begin, out


@register("ConvTranspose", since=1)
def conv_transpose(xp, x, w, b=None, *, auto_pad="NOTSET", dilations=None, group=1,
                   kernel_shape=None, output_padding=None, output_shape=None, pads=None,
                   strides=None):
    """ConvTranspose-1..22: https://onnx.ai/onnx/operators/onnx__ConvTranspose.html

    One GEMM gives every (output channel, tap) contribution of every input pixel; a
    strided scatter-add per tap (col2im) sums them into the output image."""
    _check_shapes(x, w, group, "ConvTranspose")
    n, c = x.shape[:2]
    nd = x.ndim - 2
    kernel = tuple(w.shape[2:])
    if w.shape[0] != c:
        raise ValueError(f"ConvTranspose: W {w.shape} must have {c} input channels first")
    strides, dilations, pads = spatial_defaults(nd, strides, dilations, pads)
    output_padding = tuple(output_padding) if output_padding else (0,) * nd
    begin, out = _transpose_geometry(x.shape[2:], kernel, strides, dilations, pads,
                                     output_padding[-nd:], output_shape, auto_pad)
    cdt = compute_dtype(x.dtype)
    cg, mg = c // group, w.shape[1]
    m = mg * group
    ksize = math.prod(kernel)
    length = math.prod(x.shape[2:])
    xs = x.astype(cdt, copy=False).reshape(n, group, cg, length)
    wt = w.astype(cdt, copy=False).reshape(group, cg, mg * ksize).transpose(0, 2, 1)
    cols = xp.matmul(wt, xs).reshape((n, m) + kernel + tuple(x.shape[2:]))
    if ksize == 1 and all(s == 1 for s in strides):
        img = cols.reshape((n, m) + tuple(x.shape[2:]))
    else:
        full = window_extent(x.shape[2:], kernel, strides, dilations)
        img = col2im_add(xp, cols, kernel, strides, dilations, x.shape[2:], full)
    # Crop the begin padding and crop/zero-extend the end to the requested output size.
    have = img.shape[2:]
    # A begin crop past the computed extent reaches into the output_padding zeros (not in
    # img): crop all of img there, and the end padding supplies the zeros.
    begin = [min(bb, h) for bb, h in zip(begin, have)]
    y = pad_spatial(xp, img, [-bb for bb in begin],
                    [o + bb - h for o, bb, h in zip(out, begin, have)], 0)
    if b is not None:
        y = y + _bias_shape(b.astype(cdt, copy=False), nd)
    return y.astype(x.dtype, copy=False)
