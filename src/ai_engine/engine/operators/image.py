"""Spatial sampling: GridSample, AffineGrid, RoiAlign.

Operator pages: https://onnx.ai/onnx/operators/onnx__GridSample.html,
onnx__AffineGrid.html, onnx__RoiAlign.html.

GridSample gathers, for every tap of the interpolation kernel (1, 2 or 4 per spatial axis, so
at most 4^3 combinations), one flat index and one weight per output point and accumulates
``take_along_axis`` results: no loop over points. RoiAlign average pooling is separable: per
ROI it is ``Wy @ X @ Wx^T`` with small sampling matrices, run as batched matmuls.
"""

from __future__ import annotations

import itertools

import numpy as np

from ai_engine.engine.operators.dtype_policy import compute_dtype
from ai_engine.engine.registry import register

_CUBIC_A = -0.75


def _cubic_weights(xp, t):
    """Keys cubic weights (A = -0.75) of taps at floor-1 .. floor+2 for fractions ``t``."""
    a = _CUBIC_A
    out = []
    for d in (t + 1, t, 1 - t, 2 - t):
        near = ((a + 2) * d - (a + 3)) * d * d + 1
        far = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
        out.append(xp.where(d <= 1, near, far))
    return out


def _reflect(xp, x, lo, hi):
    """Fold coordinates into [lo, hi] by mirroring at the borders (PyTorch's grid sampler)."""
    span = hi - lo
    if span <= 0:
        return xp.full_like(x, lo)
    below = lo - x
    n = xp.trunc(below / span)
    r = below - n * span
    from_lo = xp.where(n % 2 == 0, lo + r, hi - r)
    above = x - hi
    n = xp.trunc(above / span)
    r = above - n * span
    from_hi = xp.where(n % 2 == 0, hi - r, lo + r)
    return xp.where(x < lo, from_lo, xp.where(x > hi, from_hi, x))


def _grid_sample(xp, x, grid, mode, padding_mode, align_corners):
    k = x.ndim - 2
    if k < 1 or grid.ndim != k + 2 or grid.shape[-1] != k or grid.shape[0] != x.shape[0]:
        raise ValueError(f"GridSample: input {list(x.shape)} and grid {list(grid.shape)} "
                         f"do not match ([N, C, D1..Dk] and [N, O1..Ok, k])")
    if mode not in ("nearest", "linear", "cubic"):
        raise ValueError(f"GridSample: unknown mode {mode!r}")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"GridSample: unknown padding_mode {padding_mode!r}")
    n, c = x.shape[:2]
    dims = x.shape[2:]
    out_shape = (n, c) + grid.shape[1:-1]
    cd = compute_dtype(x.dtype)
    if 0 in out_shape:
        return xp.zeros(out_shape, dtype=x.dtype)
    g = grid.reshape(n, -1, k).astype(np.float64)
    # The grid's last axis lists coordinates innermost-first (x=W, y=H, z=D).
    coords, bounds = [], []
    for i, length in enumerate(dims):
        v = g[:, :, k - 1 - i]
        if align_corners:
            v = (v + 1) / 2.0 * (length - 1)
            lo, hi = 0.0, length - 1.0
        else:
            v = ((v + 1) * length - 1) / 2.0
            lo, hi = -0.5, length - 0.5
        if mode == "nearest":
            v = xp.rint(v)  # half to even, as PyTorch
        outside = (v < lo) | (v > hi)
        if padding_mode == "border" and mode != "cubic":
            # Cubic clamps each tap instead, as PyTorch and onnxruntime do: clamping the
            # coordinate first would flatten the kernel near the border.
            v = xp.where(outside, xp.clip(v, 0, length - 1), v)
        elif padding_mode == "reflection":
            v = xp.where(outside, _reflect(xp, v, lo, hi), v)
        coords.append(v)
        bounds.append((lo, hi))

    # Per axis: list of (integer tap index, weight) arrays of shape [N, P].
    axis_taps = []
    for v in coords:
        if mode == "nearest":
            axis_taps.append([(xp.trunc(v), None)])
            continue
        f = xp.floor(v)
        t = v - f
        if mode == "linear":
            axis_taps.append([(f, 1 - t), (f + 1, t)])
        else:
            axis_taps.append(list(zip((f - 1, f, f + 1, f + 2), _cubic_weights(xp, t))))

    xf = x.reshape(n, c, -1)
    if xf.dtype != cd:
        xf = xf.astype(cd)
    strides = np.cumprod((1,) + dims[::-1])[::-1][1:]
    result = None
    for combo in itertools.product(*axis_taps):
        flat = 0
        weight = None
        valid = None
        for (idx, w), length, (lo, hi), stride in zip(combo, dims, bounds, strides):
            if padding_mode == "zeros":
                ok = (idx >= 0) & (idx <= length - 1)
                valid = ok if valid is None else valid & ok
                idx = xp.clip(idx, 0, length - 1)
            elif padding_mode == "border":
                idx = xp.clip(idx, 0, length - 1)
            else:
                idx = xp.clip(xp.trunc(_reflect(xp, idx, lo, hi)), 0, length - 1)
            flat = flat + idx.astype(np.int64) * int(stride)
            if w is not None:
                weight = w if weight is None else weight * w
        if weight is None:
            weight = xp.ones(flat.shape, dtype=np.float64)
        if valid is not None:
            weight = xp.where(valid, weight, 0.0)
        vals = xp.take_along_axis(xf, flat[:, None, :], axis=2)
        term = vals * weight[:, None, :].astype(cd)
        result = term if result is None else result + term
    return result.reshape(out_shape).astype(x.dtype)


@register("GridSample", since=20)
def grid_sample_20(xp, x, grid, *, align_corners=0, mode="linear", padding_mode="zeros"):
    """GridSample-20/22 (N-D; modes linear/nearest/cubic):
    https://onnx.ai/onnx/operators/onnx__GridSample.html"""
    return _grid_sample(xp, x, grid, mode, padding_mode, align_corners)


@register("GridSample", since=16)
def grid_sample_16(xp, x, grid, *, align_corners=0, mode="bilinear", padding_mode="zeros"):
    """GridSample-16 (4-D; modes bilinear/nearest/bicubic):
    https://onnx.ai/onnx/operators/onnx__GridSample.html#gridsample-16"""
    if x.ndim != 4:
        raise ValueError(f"GridSample-16: input must be 4-D, got {list(x.shape)}")
    names = {"bilinear": "linear", "bicubic": "cubic", "nearest": "nearest"}
    if mode not in names:
        raise ValueError(f"GridSample-16: unknown mode {mode!r}")
    return _grid_sample(xp, x, grid, names[mode], padding_mode, align_corners)


@register("AffineGrid", since=20)
def affine_grid(xp, theta, size, *, align_corners=0):
    """AffineGrid-20: https://onnx.ai/onnx/operators/onnx__AffineGrid.html

    Output [N, H, W, 2] (2-D, theta [N, 2, 3]) or [N, D, H, W, 3] (3-D, theta [N, 3, 4])."""
    size = [int(v) for v in np.asarray(size.get() if hasattr(size, "get") else size)]
    k = len(size) - 2
    if k not in (2, 3) or theta.shape != (size[0], k, k + 1):
        raise ValueError(f"AffineGrid: theta {list(theta.shape)} does not match size {size}")
    spatial = size[2:]
    axes = []
    for length in spatial:
        if align_corners:
            a = np.linspace(-1.0, 1.0, length) if length > 1 else np.zeros(length)
        else:
            a = (2 * np.arange(length) + 1) / length - 1
        axes.append(a)
    mesh = np.meshgrid(*axes, indexing="ij")  # D, H, W order
    # Homogeneous base coordinates (x, y[, z], 1): innermost axis first.
    base = np.stack([m.reshape(-1) for m in mesh[::-1]] + [np.ones(mesh[0].size)], axis=1)
    cd = compute_dtype(theta.dtype)
    base = xp.asarray(base.astype(cd))
    out = xp.matmul(base[None], xp.swapaxes(theta.astype(cd), 1, 2))  # [N, P, k]
    return out.reshape([size[0]] + spatial + [k]).astype(theta.dtype)


def _roi_axis_weights(xp, start, bin_size, grid, pooled, length, max_grid):
    """Sampling matrices ``[R, pooled, length]`` along one axis: the bilinear weights of every
    sample point of every bin, summed over the bin's samples (not yet divided by the count);
    also the raw per-sample (low, high, w_low, w_high, valid) for max pooling."""
    p = xp.arange(pooled, dtype=np.float64)[None, :, None]
    i = xp.arange(max_grid, dtype=np.float64)[None, None, :]
    g = grid[:, None, None]
    size = bin_size[:, None, None]
    pos = start[:, None, None] + p * size + (i + 0.5) * size / xp.maximum(g, 1)
    in_grid = i < g
    valid = in_grid & (pos >= -1.0) & (pos <= length)
    pos = xp.maximum(pos, 0.0)
    low = xp.trunc(pos)
    at_end = low >= length - 1
    low = xp.where(at_end, length - 1, low)
    high = xp.where(at_end, low, low + 1)
    pos = xp.where(at_end, low, pos)
    frac = pos - low
    w_low = xp.where(valid, 1.0 - frac, 0.0)
    w_high = xp.where(valid, frac, 0.0)
    low, high = low.astype(np.int64), high.astype(np.int64)
    # Scatter-add the sample weights into [R, pooled, length] cells (bincount sums repeats).
    r = start.shape[0]
    row = (xp.arange(r)[:, None, None] * pooled + xp.arange(pooled)[None, :, None]) * length
    flat = xp.concatenate([(row + low).reshape(-1), (row + high).reshape(-1)])
    wts = xp.concatenate([w_low.reshape(-1), w_high.reshape(-1)])
    mat = xp.bincount(flat, weights=wts, minlength=r * pooled * length)
    return mat.reshape(r, pooled, length), (low, high, w_low, w_high, in_grid)


def _roi_align(xp, x, rois, batch_indices, *, half_pixel, mode, output_height, output_width,
               sampling_ratio, spatial_scale):
    if x.ndim != 4 or rois.ndim != 2 or rois.shape[1] != 4:
        raise ValueError(f"RoiAlign: expected X [N, C, H, W] and rois [R, 4], got "
                         f"{list(x.shape)} and {list(rois.shape)}")
    if mode not in ("avg", "max"):
        raise ValueError(f"RoiAlign: unknown mode {mode!r}")
    n, c, h, w = x.shape
    r = rois.shape[0]
    cd = compute_dtype(x.dtype)
    if r == 0:
        return xp.zeros((0, c, output_height, output_width), dtype=x.dtype)
    b = batch_indices.reshape(-1).astype(np.int64)
    box = rois.astype(np.float64) * spatial_scale - (0.5 if half_pixel else 0.0)
    start_w, start_h, end_w, end_h = (box[:, j] for j in range(4))
    roi_w, roi_h = end_w - start_w, end_h - start_h
    if not half_pixel:  # legacy behaviour: malformed ROIs become 1x1
        roi_w, roi_h = xp.maximum(roi_w, 1.0), xp.maximum(roi_h, 1.0)
    bin_h, bin_w = roi_h / output_height, roi_w / output_width
    if sampling_ratio > 0:
        grid_h = xp.full(r, float(sampling_ratio))
        grid_w = xp.full(r, float(sampling_ratio))
    else:  # adaptive: about one sample per input pixel
        grid_h, grid_w = xp.ceil(roi_h / output_height), xp.ceil(roi_w / output_width)
    max_gh = max(int(grid_h.max()), 1)
    max_gw = max(int(grid_w.max()), 1)
    wy, ys = _roi_axis_weights(xp, start_h, bin_h, grid_h, output_height, h, max_gh)
    wx, xs = _roi_axis_weights(xp, start_w, bin_w, grid_w, output_width, w, max_gw)
    count = xp.maximum(grid_h * grid_w, 1.0)
    xc = x if x.dtype == cd else x.astype(cd)
    out = xp.zeros((r, c, output_height, output_width), dtype=cd)
    ph, pw = output_height, output_width
    b_host = np.asarray(b.get() if hasattr(b, "get") else b)
    if b_host.shape != (r,) or b_host.min() < 0 or b_host.max() >= n:
        raise ValueError(f"RoiAlign: need {r} batch_indices in [0, {n}), got {b_host}")
    # Two ways to pool: gather the 2x2 neighbours of every sample point (cost ~ samples *
    # C, used for max and for small ROIs on big maps), or dense sampling-matrix GEMMs (cost
    # ~ PH * H * W * C per ROI at BLAS speed, better when the map is small).
    gathered = 4 * max_gh * max_gw * pw * c * ph
    if mode == "max" or gathered * 8 < 2 * ph * h * w * c:
        # Chunks of ROIs bound the [Rc, PH, 2GH, PW, 2GW, C] neighbour values to ~4M.
        step = max(1, (1 << 22) // max(1, gathered))
        pool = _roi_max if mode == "max" else _roi_avg_gather
        for s in range(0, r, step):
            e = min(r, s + step)
            out[s:e] = pool(xp, xc, b[s:e], ys, xs, s, e, cd)
        if mode == "avg":
            out /= count.astype(cd)[:, None, None, None]
        return out.astype(x.dtype)
    # Per image: one GEMM [Rc*PH, H] @ [H, C*W] applies every ROI's row weights, then a
    # batched [PH*C, W] @ [W, PW] per ROI its column weights; chunks bound the temporary.
    step = max(1, (1 << 24) // max(1, ph * c * w))
    for img in np.unique(b_host):
        rows = xp.moveaxis(xc[int(img)], 1, 0).reshape(h, c * w)
        sel = np.nonzero(b_host == img)[0]
        for s in range(0, sel.size, step):
            idx = xp.asarray(sel[s:s + step])
            rc = int(idx.shape[0])
            wyc = (wy[idx] / count[idx, None, None]).astype(cd).reshape(rc * ph, h)
            t = xp.matmul(wyc, rows).reshape(rc, ph * c, w)
            t = xp.matmul(t, xp.swapaxes(wx[idx].astype(cd), 1, 2))
            out[idx] = t.reshape(rc, ph, c, pw).transpose(0, 2, 1, 3)
    return out.astype(x.dtype)


def _roi_avg_gather(xp, xc, bsel, ys, xs, s, e, cd):
    """Sum over the samples of a bin of their bilinear interpolations (not yet averaged)."""
    ylo, yhi, wyl, wyh, _ = (a[s:e] for a in ys)  # [Rc, PH, GH]
    xlo, xhi, wxl, wxh, _ = (a[s:e] for a in xs)  # [Rc, PW, GW]
    yi = xp.concatenate([ylo, yhi], axis=2)  # [Rc, PH, 2GH]
    xi = xp.concatenate([xlo, xhi], axis=2)
    wy = xp.concatenate([wyl, wyh], axis=2).astype(cd)
    wx = xp.concatenate([wxl, wxh], axis=2).astype(cd)
    v = xc[bsel[:, None, None, None, None], :, yi[:, :, :, None, None],
           xi[:, None, None, :, :]]  # [Rc, PH, 2GH, PW, 2GW, C]
    v = (v * wy[:, :, :, None, None, None]).sum(axis=2)  # [Rc, PH, PW, 2GW, C]
    v = (v * wx[:, None, :, :, None]).sum(axis=3)  # [Rc, PH, PW, C]
    return xp.moveaxis(v, -1, 1)


def _roi_max(xp, xc, bsel, ys, xs, s, e, cd):
    """Max over the samples of a bin of the largest weighted corner (w_i * X_i), as the
    reference and onnxruntime define RoiAlign's max mode."""
    ylo, yhi, wyl, wyh, yin = (a[s:e] for a in ys)  # [Rc, PH, GH]
    xlo, xhi, wxl, wxh, xin = (a[s:e] for a in xs)  # [Rc, PW, GW]
    bidx = bsel[:, None, None, None, None]

    def corner(yi, xi, wy_, wx_):
        v = xc[bidx, :, yi[:, :, :, None, None], xi[:, None, None, :, :]]  # [Rc,PH,GH,PW,GW,C]
        wgt = (wy_[:, :, :, None, None] * wx_[:, None, None, :, :]).astype(cd)
        return v * wgt[..., None]

    best = corner(ylo, xlo, wyl, wxl)
    for yi, xi, wy_, wx_ in ((ylo, xhi, wyl, wxh), (yhi, xlo, wyh, wxl), (yhi, xhi, wyh, wxh)):
        best = xp.maximum(best, corner(yi, xi, wy_, wx_))
    inside = (yin[:, :, :, None, None] & xin[:, None, None, :, :])[..., None]
    best = xp.where(inside, best, -xp.inf)
    best = best.max(axis=(2, 4))  # [Rc, PH, PW, C]
    best = xp.where(xp.isneginf(best), 0.0, best)
    return xp.moveaxis(best, -1, 1)


@register("RoiAlign", since=16)
def roi_align_16(xp, x, rois, batch_indices, *, coordinate_transformation_mode="half_pixel",
                 mode="avg", output_height=1, output_width=1, sampling_ratio=0,
                 spatial_scale=1.0):
    """RoiAlign-16/22: https://onnx.ai/onnx/operators/onnx__RoiAlign.html"""
    if coordinate_transformation_mode not in ("half_pixel", "output_half_pixel"):
        raise ValueError(f"RoiAlign: unknown coordinate_transformation_mode "
                         f"{coordinate_transformation_mode!r}")
    return _roi_align(xp, x, rois, batch_indices,
                      half_pixel=coordinate_transformation_mode == "half_pixel", mode=mode,
                      output_height=output_height, output_width=output_width,
                      sampling_ratio=sampling_ratio, spatial_scale=spatial_scale)


@register("RoiAlign", since=10)
def roi_align_10(xp, x, rois, batch_indices, *, mode="avg", output_height=1, output_width=1,
                 sampling_ratio=0, spatial_scale=1.0):
    """RoiAlign-10 (no half-pixel offset): https://onnx.ai/onnx/operators/onnx__RoiAlign.html"""
    return _roi_align(xp, x, rois, batch_indices, half_pixel=False, mode=mode,
                      output_height=output_height, output_width=output_width,
                      sampling_ratio=sampling_ratio, spatial_scale=spatial_scale)
