"""Pooling kernels: MaxPool, AveragePool, LpPool, the Global* pools, MaxUnpool, MaxRoiPool.

Windows are boxes, so max and sum pooling are separable: reduce one spatial axis at a time
with a loop over that axis' kernel taps (strided views, no copies), which costs sum(k) instead
of prod(k) passes. Padding and the ceil-mode overhang are filled with the reduction's identity.
https://onnx.ai/onnx/operators/onnx__MaxPool.html and neighbours.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.operators.dtype_policy import compute_dtype
from ai_engine.engine.registry import register

from .conv_geometry import pad_spatial, pool_geometry, spatial_defaults, tap_slices, taps, \
    window_extent


def _geometry(x, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode):
    if x.ndim < 3:
        raise ValueError(f"pooling needs an (N, C, spatial...) input, got shape {x.shape}")
    nd = x.ndim - 2
    kernel = tuple(kernel_shape)
    if len(kernel) != nd:
        raise ValueError(f"kernel_shape {kernel} does not match input shape {x.shape}")
    strides, dilations, pads = spatial_defaults(nd, strides, dilations, pads)
    begin, end, out = pool_geometry(x.shape[2:], kernel, strides, dilations, pads, auto_pad,
                                    ceil_mode)
    return kernel, strides, dilations, begin, end, out


def _lowest(dtype):
    dt = np.dtype(dtype)
    if dt.kind == "f" or dt.name in ("bfloat16", "float8_e4m3fn", "float8_e5m2"):
        return -np.inf
    if dt.kind in "iu":
        return np.iinfo(dt).min
    raise TypeError(f"MaxPool does not support dtype {dt}")


def _separable(xp, xpad, kernel, strides, dilations, out, reduce):
    """Reduce every window of ``xpad`` with the binary ufunc ``reduce`` one axis at a time."""
    y = xpad
    for ax in range(len(kernel)):
        head = (slice(None),) * (2 + ax)
        views = [y[head + (slice(t * dilations[ax], t * dilations[ax]
                                 + (out[ax] - 1) * strides[ax] + 1, strides[ax]),)]
                 for t in range(kernel[ax])]
        if len(views) == 1:
            y = views[0]
            continue
        # The first pair allocates the accumulator; the rest reduce into it in place.
        acc = reduce(views[0], views[1])
        for v in views[2:]:
            reduce(acc, v, out=acc)
        y = acc
    return y


def _counts(xp, in_shape, kernel, strides, dilations, begin, end, out, include_pad):
    """How many taps of each window hit the input (or the explicit padding when
    ``include_pad``): a product of per-axis counts because windows are boxes."""
    total = None
    for ax, n in enumerate(in_shape):
        pos = (np.arange(out[ax])[:, None] * strides[ax]
               + np.arange(kernel[ax])[None, :] * dilations[ax])
        lo, hi = (0, n + begin[ax] + end[ax]) if include_pad else (begin[ax], begin[ax] + n)
        cnt = ((pos >= lo) & (pos < hi)).sum(axis=1)
        shape = [1] * len(in_shape)
        shape[ax] = out[ax]
        cnt = cnt.reshape(shape)
        total = cnt if total is None else total * cnt
    return total


def _max_with_indices(xp, x, xpad, kernel, strides, dilations, begin, out, storage_order):
    """Tap loop keeping the first maximum's flat input index (row-major over N, C, spatial
    or, with ``storage_order`` 1, column-major over the spatial axes)."""
    n, c = x.shape[:2]
    spatial = x.shape[2:]
    nd = len(spatial)
    order = range(nd - 1, -1, -1) if storage_order == 0 else range(nd)
    sp_strides, acc = [0] * nd, 1
    for ax in order:
        sp_strides[ax] = acc
        acc *= spatial[ax]
    # Running max plus the winning tap number; strictly greater keeps the first maximum in
    # row-major tap order, as onnxruntime does. Masked updates (where/copyto) measured 2-3x
    # slower than this arithmetic blend on small int16 tap numbers.
    y = kb = None
    kdt = np.int16 if np.prod(kernel) < 32768 else np.int32
    for k, tap in enumerate(taps(kernel)):
        v = xpad[(slice(None), slice(None)) + tap_slices(tap, strides, dilations, out)]
        if y is None:
            y = v.copy()
            kb = xp.zeros(y.shape, dtype=kdt)
            continue
        better = v > y
        xp.maximum(y, v, out=y)
        kb += better * kdt(k) - better * kb
    # Tap number -> input coordinates -> flat index.
    idx = 0
    rem = kb.astype(np.int64)
    for ax in range(nd - 1, -1, -1):
        rem, t = xp.divmod(rem, kernel[ax]) if ax else (None, rem)
        shape = [1] * nd
        shape[ax] = out[ax]
        start = xp.asarray((np.arange(out[ax]) * strides[ax] - begin[ax]).reshape(shape))
        idx = idx + (start + t * dilations[ax]) * sp_strides[ax]
    base = (xp.arange(n * c, dtype=np.int64) * int(np.prod(spatial))).reshape(
        (n, c) + (1,) * nd)
    return y, idx + base


@register("MaxPool", since=1, num_outputs=True)
def max_pool(xp, x, *, kernel_shape, auto_pad="NOTSET", ceil_mode=0, dilations=None,
             pads=None, storage_order=0, strides=None, n_outputs=1):
    """MaxPool-1..22: https://onnx.ai/onnx/operators/onnx__MaxPool.html (Indices since 8)."""
    kernel, strides, dilations, begin, end, out = _geometry(
        x, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode)
    xpad = pad_spatial(xp, x, begin, end, _lowest(x.dtype),
                       required=window_extent(out, kernel, strides, dilations))
    if n_outputs > 1:
        return _max_with_indices(xp, x, xpad, kernel, strides, dilations, begin, out,
                                 storage_order)
    return _separable(xp, xpad, kernel, strides, dilations, out, xp.maximum)


def _window_sum(xp, x, kernel, strides, dilations, begin, end, out, cdt):
    xpad = pad_spatial(xp, x.astype(cdt, copy=False), begin, end, 0,
                       required=window_extent(out, kernel, strides, dilations))
    return _separable(xp, xpad, kernel, strides, dilations, out, xp.add)


def _float_compute(x):
    if x.dtype.kind != "f" and x.dtype.name != "bfloat16":
        raise TypeError(f"pooling expects a float tensor, got {x.dtype}")
    return compute_dtype(x.dtype)


@register("AveragePool", since=1)
def average_pool(xp, x, *, kernel_shape, auto_pad="NOTSET", ceil_mode=0, count_include_pad=0,
                 dilations=None, pads=None, strides=None):
    """AveragePool-1..22: https://onnx.ai/onnx/operators/onnx__AveragePool.html
    (count_include_pad since 7, ceil_mode since 10, dilations since 19)."""
    kernel, strides, dilations, begin, end, out = _geometry(
        x, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode)
    cdt = _float_compute(x)
    s = _window_sum(xp, x, kernel, strides, dilations, begin, end, out, cdt)
    cnt = _counts(xp, x.shape[2:], kernel, strides, dilations, begin, end, out,
                  bool(count_include_pad))
    # Not in place: with a 1x1 kernel ``s`` may be a view of the input.
    s = s / xp.asarray(np.maximum(cnt, 1).astype(cdt))
    return s.astype(x.dtype, copy=False)


@register("LpPool", since=1)
def lp_pool(xp, x, *, kernel_shape, auto_pad="NOTSET", ceil_mode=0, dilations=None, p=2,
            pads=None, strides=None):
    """LpPool-1..22: https://onnx.ai/onnx/operators/onnx__LpPool.html: (sum |x|^p)^(1/p)
    over each window (padding contributes zero)."""
    kernel, strides, dilations, begin, end, out = _geometry(
        x, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode)
    cdt = _float_compute(x)
    a = xp.abs(x.astype(cdt))
    a = a * a if p == 2 else a ** p
    s = _window_sum(xp, a, kernel, strides, dilations, begin, end, out, cdt)
    s = xp.sqrt(s) if p == 2 else s ** (1.0 / p)
    return s.astype(x.dtype, copy=False)


def _spatial_axes(x):
    if x.ndim < 3:
        raise ValueError(f"global pooling needs an (N, C, spatial...) input, got {x.shape}")
    return tuple(range(2, x.ndim))


@register("GlobalAveragePool", since=1)
def global_average_pool(xp, x):
    """GlobalAveragePool-1..22: https://onnx.ai/onnx/operators/onnx__GlobalAveragePool.html"""
    axes = _spatial_axes(x)
    return x.mean(axis=axes, dtype=_float_compute(x), keepdims=True).astype(x.dtype, copy=False)


@register("GlobalMaxPool", since=1)
def global_max_pool(xp, x):
    """GlobalMaxPool-1..22: https://onnx.ai/onnx/operators/onnx__GlobalMaxPool.html"""
    return x.max(axis=_spatial_axes(x), keepdims=True)


@register("GlobalLpPool", since=1)
def global_lp_pool(xp, x, *, p=2):
    """GlobalLpPool-1..22: https://onnx.ai/onnx/operators/onnx__GlobalLpPool.html"""
    cdt = _float_compute(x)
    a = xp.abs(x.astype(cdt))
    s = (a ** p).sum(axis=_spatial_axes(x), keepdims=True) ** (1.0 / p)
    return s.astype(x.dtype, copy=False)


@register("MaxUnpool", since=9)
def max_unpool(xp, x, indices, output_shape=None, *, kernel_shape, pads=None, strides=None):
    """MaxUnpool-9..22: https://onnx.ai/onnx/operators/onnx__MaxUnpool.html: scatter each
    value to its flat index (as MaxPool's Indices) in a zero tensor."""
    nd = x.ndim - 2
    strides, _, pads = spatial_defaults(nd, strides, None, pads)
    inferred = [x.shape[0], x.shape[1]] + [
        (x.shape[2 + i] - 1) * strides[i] - pads[i] - pads[nd + i] + kernel_shape[i]
        for i in range(nd)]
    shape = inferred if output_shape is None else [int(v) for v in np.asarray(output_shape)]
    if len(shape) != x.ndim:
        raise ValueError(f"MaxUnpool output_shape {shape} must have rank {x.ndim}")
    # Indices address the pooled tensor's (N, C, inferred spatial) layout; a larger requested
    # shape holds that block in its leading corner.
    y = xp.zeros(int(np.prod(inferred)), dtype=x.dtype)
    y[indices.reshape(-1)] = x.reshape(-1)
    y = y.reshape(inferred)
    if list(shape) == inferred:
        return y
    res = xp.zeros(shape, dtype=x.dtype)
    sl = tuple(slice(0, min(a, b)) for a, b in zip(inferred, shape))
    res[sl] = y[sl]
    return res


@register("MaxRoiPool", since=1)
def max_roi_pool(xp, x, rois, *, pooled_shape, spatial_scale=1.0):
    """MaxRoiPool-1..22: https://onnx.ai/onnx/operators/onnx__MaxRoiPool.html (Caffe
    ROIPooling: rounded box, bins floor/ceil of equal fractions, empty bins give 0).
    Loops over RoIs and bins (small, static); each bin is a vectorised max over channels."""
    ph, pw = (int(v) for v in pooled_shape)
    r = np.asarray(rois if xp is np else xp.asnumpy(rois), dtype=np.float64)
    n_rois = r.shape[0]
    c, h, w = x.shape[1:]
    y = xp.zeros((n_rois, c, ph, pw), dtype=x.dtype)
    for i in range(n_rois):
        b = int(r[i, 0])
        # C round(): halves away from zero, unlike np.round.
        x1, y1, x2, y2 = (int(np.sign(v) * np.floor(abs(v * spatial_scale) + 0.5))
                          for v in r[i, 1:5])
        rh, rw = max(y2 - y1 + 1, 1), max(x2 - x1 + 1, 1)
        bh, bw = rh / ph, rw / pw
        for py in range(ph):
            hs = min(max(int(np.floor(py * bh)) + y1, 0), h)
            he = min(max(int(np.ceil((py + 1) * bh)) + y1, 0), h)
            for px in range(pw):
                ws = min(max(int(np.floor(px * bw)) + x1, 0), w)
                we = min(max(int(np.ceil((px + 1) * bw)) + x1, 0), w)
                if he > hs and we > ws:
                    y[i, :, py, px] = x[b, :, hs:he, ws:we].max(axis=(1, 2))
    return y
