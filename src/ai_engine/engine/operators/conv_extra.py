"""Integer, quantized and deformable convolutions, and Col2Im.

https://onnx.ai/onnx/operators/onnx__ConvInteger.html,
https://onnx.ai/onnx/operators/onnx__QLinearConv.html,
https://onnx.ai/onnx/operators/onnx__DeformConv.html,
https://onnx.ai/onnx/operators/onnx__Col2Im.html.
"""

from __future__ import annotations

import math

import numpy as np

from ai_engine.engine.registry import register

from ._conv_utils import col2im_add, pad_spatial, spatial_defaults
from .conv import cols_gemm, conv_forward


def _centered(xp, v, zero_point, per_channel_axis=None, ndim=None):
    """``v - zero_point`` in float64: integer GEMMs have no BLAS, and float64 holds every
    8-bit product sum exactly (|sum| < 2**53)."""
    v = v.astype(np.float64)
    if zero_point is None:
        return v
    zp = zero_point.astype(np.float64)
    if zp.ndim == 1 and zp.size > 1:
        zp = zp.reshape((-1,) + (1,) * (ndim - 1))
    else:
        zp = zp.reshape(())
    return v - zp


def _int_conv(xp, x, w, x_zero_point, w_zero_point, attrs, what):
    xc = _centered(xp, x, x_zero_point)
    wc = _centered(xp, w, w_zero_point, ndim=w.ndim)
    return conv_forward(xp, xc, wc, what=what, **attrs)


@register("ConvInteger", since=10)
def conv_integer(xp, x, w, x_zero_point=None, w_zero_point=None, *, auto_pad="NOTSET",
                 dilations=None, group=1, kernel_shape=None, pads=None, strides=None):
    """ConvInteger-10: int32 convolution of zero-point-shifted 8-bit tensors (padding is the
    zero point, i.e. 0 after the shift)."""
    attrs = dict(auto_pad=auto_pad, dilations=dilations, group=group,
                 kernel_shape=kernel_shape, pads=pads, strides=strides)
    y = _int_conv(xp, x, w, x_zero_point, w_zero_point, attrs, "ConvInteger")
    return xp.rint(y).astype(np.int32)


@register("QLinearConv", since=10)
def qlinear_conv(xp, x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale,
                 y_zero_point, b=None, *, auto_pad="NOTSET", dilations=None, group=1,
                 kernel_shape=None, pads=None, strides=None):
    """QLinearConv-10: integer convolution (+ int32 bias), rescaled by
    x_scale*w_scale/y_scale (w_scale may be per output channel), rounded half to even,
    shifted by y_zero_point and saturated to the output type."""
    attrs = dict(auto_pad=auto_pad, dilations=dilations, group=group,
                 kernel_shape=kernel_shape, pads=pads, strides=strides)
    acc = _int_conv(xp, x, w, x_zero_point, w_zero_point, attrs, "QLinearConv")
    nd = x.ndim - 2
    if b is not None:
        acc += b.astype(np.float64).reshape((1, -1) + (1,) * nd)
    ws = w_scale.astype(np.float32)
    if ws.size > 1:
        ws = ws.reshape((1, -1) + (1,) * nd)
    else:
        ws = ws.reshape(())
    # The multiplier is float32 as in onnxruntime's requantization.
    scale = (x_scale.astype(np.float32).reshape(()) * ws / y_scale.astype(np.float32).reshape(()))
    out_dtype = (y_zero_point if y_zero_point is not None else x).dtype
    y = xp.rint(acc * scale.astype(np.float64))
    if y_zero_point is not None:
        y += float(y_zero_point.reshape(-1)[0])
    info = np.iinfo(out_dtype)
    return xp.clip(y, info.min, info.max).astype(out_dtype)


def _bilinear_cols(xp, x, offset, mask, kernel, strides, dilations, pads, out, offset_group):
    """Deformable im2col: (N, C, K, L) samples of ``x`` at the kernel taps moved by
    ``offset``, bilinear with zero outside the image (GridSample, align_corners=1)."""
    n, c, h, w = x.shape
    kh, kw = kernel
    oh, ow = out
    og = offset_group
    off = offset.reshape(n, og, kh, kw, 2, oh, ow).astype(x.dtype, copy=False)
    base_h = (np.arange(kh)[:, None, None, None] * dilations[0]
              + np.arange(oh)[None, None, :, None] * strides[0] - pads[0])
    base_w = (np.arange(kw)[None, :, None, None] * dilations[1]
              + np.arange(ow)[None, None, None, :] * strides[1] - pads[1])
    ph = off[:, :, :, :, 0] + xp.asarray(base_h.astype(x.dtype))
    pw = off[:, :, :, :, 1] + xp.asarray(base_w.astype(x.dtype))
    h0, w0 = xp.floor(ph), xp.floor(pw)
    lh, lw = ph - h0, pw - w0
    h0, w0 = h0.astype(np.int64), w0.astype(np.int64)
    flat = x.reshape(n, og, c // og, h * w)
    cols = None
    for dy, wy in ((0, 1 - lh), (1, lh)):
        for dx, wx in ((0, 1 - lw), (1, lw)):
            hh, ww = h0 + dy, w0 + dx
            valid = (hh >= 0) & (hh < h) & (ww >= 0) & (ww < w)
            idx = xp.where(valid, hh * w + ww, 0).reshape(n, og, 1, -1)
            wgt = (wy * wx * valid).reshape(n, og, 1, -1)
            term = xp.take_along_axis(flat, idx, axis=3) * wgt
            cols = term if cols is None else cols + term
    if mask is not None:
        cols = cols * mask.astype(x.dtype, copy=False).reshape(n, og, 1, -1)
    return cols.reshape(n, c * kh * kw, oh * ow)


@register("DeformConv", since=19)
def deform_conv(xp, x, w, offset, b=None, mask=None, *, dilations=None, group=1,
                kernel_shape=None, offset_group=1, pads=None, strides=None):
    """DeformConv-19/22 (2-D): a convolution whose taps sample the input at learned
    fractional offsets, optionally modulated by ``mask``."""
    if x.ndim != 4:
        raise ValueError(f"DeformConv supports 2-D images only, got X {x.shape}")
    n, c = x.shape[:2]
    if c % group or c % offset_group or w.shape[1] * group != c:
        raise ValueError(f"DeformConv: X {x.shape}, W {w.shape}, group {group} and "
                         f"offset_group {offset_group} are inconsistent")
    kernel = tuple(w.shape[2:])
    strides, dilations, pads = spatial_defaults(2, strides, dilations, pads)
    out = tuple(offset.shape[2:])
    cdt = np.float64 if x.dtype == np.float64 else np.float32
    xc = x.astype(cdt, copy=False)
    cols = _bilinear_cols(xp, xc, offset, mask, kernel, strides, dilations, pads, out,
                          offset_group)
    y = cols_gemm(xp, cols, w.astype(cdt, copy=False), group, out)
    if b is not None:
        y += b.astype(cdt).reshape(1, -1, 1, 1)
    return y.astype(x.dtype, copy=False)


@register("Col2Im", since=18)
def col2im(xp, x, image_shape, block_shape, *, dilations=None, pads=None, strides=None):
    """Col2Im-18: sum the sliding blocks of ``x`` (N, C*prod(block), L) back into an
    (N, C, *image_shape) image, the inverse layout of im2col."""
    image = [int(v) for v in np.asarray(image_shape).reshape(-1)]
    block = tuple(int(v) for v in np.asarray(block_shape).reshape(-1))
    nd = len(image)
    strides, dilations, pads = spatial_defaults(nd, strides, dilations, pads)
    ksize = math.prod(block)
    if x.ndim != 3 or x.shape[1] % ksize:
        raise ValueError(f"Col2Im: input {x.shape} is not (N, C*{ksize}, L)")
    nblocks = [(image[i] + pads[i] + pads[nd + i] - (block[i] - 1) * dilations[i] - 1)
               // strides[i] + 1 for i in range(nd)]
    if math.prod(nblocks) != x.shape[2]:
        raise ValueError(f"Col2Im: {x.shape[2]} columns but the geometry gives {nblocks}")
    n, c = x.shape[0], x.shape[1] // ksize
    cols = x.reshape((n, c) + block + tuple(nblocks))
    full = [image[i] + pads[i] + pads[nd + i] for i in range(nd)]
    img = col2im_add(xp, cols, block, strides, dilations, nblocks, full)
    return pad_spatial(xp, img, [-p for p in pads[:nd]], [-p for p in pads[nd:]], 0)
