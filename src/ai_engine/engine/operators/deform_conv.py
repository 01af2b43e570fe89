"""DeformConv-19: https://onnx.ai/onnx/operators/onnx__DeformConv.html (convolution whose taps
sample the input at learned offsets, bilinearly, optionally masked)."""

from __future__ import annotations


import numpy as np

from ai_engine.engine.registry import register

from .conv import cols_gemm
from .conv_geometry import spatial_defaults


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
