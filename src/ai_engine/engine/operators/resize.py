"""Resize and Upsample: separable N-D interpolation, one axis at a time.

Operator pages: https://onnx.ai/onnx/operators/onnx__Resize.html,
https://onnx.ai/onnx/operators/onnx__Upsample.html.

Every mode (nearest, linear, cubic, with or without antialias) is separable: the output along
one axis is a weighted sum of a few input samples along that axis. For each resized axis the
host computes, in float64 from the axis lengths alone, an index array ``(out, taps)`` and a
weight array ``(out, taps)``; the data are then gathered with ``take`` once per tap and summed.
Source coordinates use exactly the formulas (same operation order) of the ONNX spec, so the
nearest-pixel choices at ties agree with the reference.
"""

from __future__ import annotations

import math

import numpy as np

from ai_engine.engine.operators import dtype_policy
from ai_engine.engine.registry import register

_COORD_MODES = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
                "asymmetric", "tf_crop_and_resize")


def _source_coords(ctm, out_n, in_n, scale, roi):
    """Input coordinate of every output index along one axis, and the extrapolation mask
    (tf_crop_and_resize only, else None)."""
    y = np.arange(out_n, dtype=np.float64)
    out_w = scale * in_n
    if ctm == "align_corners":
        # With scales, length_resized is the fractional scale * length, as in the ONNX
        # reference and its backend cases (onnxruntime uses the integer output length; the
        # two agree whenever scale * length is whole, e.g. whenever sizes are given).
        x = np.zeros(out_n) if out_w == 1 else y * (in_n - 1) / (out_w - 1)
    elif ctm == "asymmetric":
        x = y / scale
    elif ctm == "tf_crop_and_resize":
        r0, r1 = roi
        if out_w == 1:
            x = np.full(out_n, (r1 - r0) * (in_n - 1) / 2)
        else:
            x = y * (r1 - r0) * (in_n - 1) / (out_w - 1)
        x = x + r0 * (in_n - 1)
        return x, (x < 0) | (x > in_n - 1)
    elif ctm == "pytorch_half_pixel":
        # One output sample reads the first input sample (spec; the reference uses -0.5,
        # which is the same for nearest and linear after edge clamping, not for cubic).
        x = np.zeros(out_n) if out_n == 1 else (y + 0.5) / scale - 0.5
    elif ctm == "half_pixel":
        x = (y + 0.5) / scale - 0.5
    elif ctm == "half_pixel_symmetric":
        # Centres the (possibly fractional) output canvas on the input: matters only when
        # out_n != scale * in_n.
        offset = in_n / 2 * (1 - out_n / out_w)
        x = offset + (y + 0.5) / scale - 0.5
    else:
        raise ValueError(f"Resize: unknown coordinate_transformation_mode {ctm!r}")
    return x, None


def _nearest_index(x, nearest_mode, scale):
    if nearest_mode == "round_prefer_floor":
        return np.ceil(x - 0.5)
    if nearest_mode == "round_prefer_ceil":
        return np.floor(x + 0.5)
    if nearest_mode == "floor":
        return np.floor(x)
    if nearest_mode == "ceil":
        return np.ceil(x)
    if nearest_mode == "simple":
        # Upsample and Resize-10 (onnxruntime's "simple"): ceil when downsampling, else truncate.
        return np.ceil(x) if scale < 1 else np.floor(x)
    raise ValueError(f"Resize: unknown nearest_mode {nearest_mode!r}")


def _cubic(d, a):
    """Keys cubic convolution kernel at distances ``d`` (any sign)."""
    d = np.abs(d)
    near = ((a + 2) * d - (a + 3)) * d * d + 1
    far = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
    return np.where(d <= 1, near, np.where(d < 2, far, 0.0))


def _taps(x, mode, scale, cubic_coeff_a, antialias):
    """Neighbour indices (unclamped) and weights, both ``(out, taps)``, for linear/cubic.

    ``left = ceil(x) - 1`` puts ``ratio = x - left`` in (0, 1]: at an integer coordinate the
    sample sits on the right tap, as in the spec's reference, which fixes which samples an
    even-length window covers."""
    left = np.ceil(x) - 1
    ratio = x - left
    s = min(scale, 1.0) if antialias else 1.0
    support = 1.0 if mode == "linear" else 2.0
    # Antialiasing stretches the kernel by 1/scale when downsampling.
    start = math.floor(-support / s) + 1
    offsets = np.arange(start, 1 - start + 1, dtype=np.float64)
    dist = (offsets[None, :] - ratio[:, None]) * s
    if mode == "linear":
        w = np.clip(1 - np.abs(dist), 0, 1)
    else:
        w = _cubic(dist, cubic_coeff_a)
    if antialias:
        w = w / w.sum(axis=1, keepdims=True)
    idx = (left[:, None] + offsets[None, :]).astype(np.int64)
    return idx, w


def _resize_axis(xp, data, axis, out_n, scale, roi, *, mode, ctm, nearest_mode, cubic_coeff_a,
                 exclude_outside, extrapolation_value, antialias, compute_dtype):
    in_n = data.shape[axis]
    shape = list(data.shape)
    shape[axis] = out_n
    if out_n == 0 or in_n == 0:
        return xp.zeros(shape, dtype=data.dtype if mode == "nearest" else compute_dtype)
    x, extrapolated = _source_coords(ctm, out_n, in_n, scale, roi)
    bshape = [1] * data.ndim
    bshape[axis] = out_n
    if mode == "nearest":
        idx = np.clip(_nearest_index(x, nearest_mode, scale), 0, in_n - 1).astype(np.intp)
        result = xp.take(data, xp.asarray(idx), axis=axis)
    else:
        idx, w = _taps(x, mode, scale, cubic_coeff_a, antialias)
        if exclude_outside:
            w = np.where((idx < 0) | (idx >= in_n), 0.0, w)
            total = w.sum(axis=1, keepdims=True)
            w = w / np.where(total == 0, 1.0, total)
        idx = np.clip(idx, 0, in_n - 1).astype(np.intp)
        if data.dtype != compute_dtype:
            data = data.astype(compute_dtype)
        w = xp.asarray(w.astype(compute_dtype))
        result = None
        for k in range(idx.shape[1]):  # a few taps (more when antialiasing a big shrink)
            term = xp.take(data, xp.asarray(idx[:, k]), axis=axis)
            term *= w[:, k].reshape(bshape)
            result = term if result is None else result.__iadd__(term)
    if extrapolated is not None and extrapolated.any():
        fill = xp.asarray(extrapolation_value, dtype=result.dtype)
        result = xp.where(xp.asarray(extrapolated.reshape(bshape)), fill, result)
    return result


def _cast_back(xp, r, dtype):
    dtype = np.dtype(dtype)
    if r.dtype == dtype:
        return r
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        r = xp.clip(xp.round(r), info.min, info.max)
    elif dtype == np.bool_:
        r = r != 0
    return r.astype(dtype)


def _host_vector(v):
    """An optional 1-D input as a host float/int list, ``None`` when absent or empty."""
    if v is None:
        return None
    v = np.asarray(v.get() if hasattr(v, "get") else v).reshape(-1)
    return None if v.size == 0 else v.tolist()


def _resize(xp, x, roi, scales, sizes, *, mode, ctm, nearest_mode, cubic_coeff_a=-0.75,
            exclude_outside=0, extrapolation_value=0.0, antialias=0, axes=None,
            keep_aspect_ratio_policy="stretch"):
    if mode not in ("nearest", "linear", "cubic"):
        raise ValueError(f"Resize: unknown mode {mode!r}")
    if ctm not in _COORD_MODES:
        raise ValueError(f"Resize: unknown coordinate_transformation_mode {ctm!r}")
    if mode == "nearest" and antialias:
        raise ValueError("Resize: antialias is not defined for mode 'nearest'")
    r = x.ndim
    axes = list(range(r)) if axes is None else [a + r if a < 0 else a for a in axes]
    if len(set(axes)) != len(axes) or any(not 0 <= a < r for a in axes):
        raise ValueError(f"Resize: invalid axes {axes} for rank {r}")
    scales, sizes = _host_vector(scales), _host_vector(sizes)
    # roi only matters to tf_crop_and_resize; other modes ignore whatever it holds.
    roi = _host_vector(roi) if ctm == "tf_crop_and_resize" else None
    if (scales is None) == (sizes is None):
        raise ValueError("Resize: exactly one of 'scales' and 'sizes' must be given")
    given = scales if scales is not None else sizes
    if len(given) != len(axes):
        raise ValueError(f"Resize: {len(given)} scales/sizes for {len(axes)} axes")
    full_scale = [1.0] * r
    out_size = list(x.shape)
    if scales is not None:
        for a, s in zip(axes, scales):
            if s <= 0:
                raise ValueError(f"Resize: scales must be positive, got {scales}")
            full_scale[a] = float(s)
            out_size[a] = int(float(s) * x.shape[a])
    else:
        ratios = [int(n) / x.shape[a] if x.shape[a] else 1.0 for a, n in zip(axes, sizes)]
        if keep_aspect_ratio_policy == "stretch":
            for a, n, s in zip(axes, sizes, ratios):
                full_scale[a], out_size[a] = s, int(n)
        elif keep_aspect_ratio_policy in ("not_larger", "not_smaller"):
            s = min(ratios) if keep_aspect_ratio_policy == "not_larger" else max(ratios)
            for a in axes:
                full_scale[a], out_size[a] = s, int(s * x.shape[a] + 0.5)
        else:
            raise ValueError(f"Resize: unknown keep_aspect_ratio_policy "
                             f"{keep_aspect_ratio_policy!r}")
    full_roi = [0.0] * r + [1.0] * r
    if roi is not None:
        if len(roi) != 2 * len(axes):
            raise ValueError(f"Resize: roi has {len(roi)} values, expected {2 * len(axes)}")
        for i, a in enumerate(axes):
            full_roi[a], full_roi[r + a] = float(roi[i]), float(roi[len(axes) + i])
    if ctm == "tf_crop_and_resize" and roi is None:
        raise ValueError("Resize: tf_crop_and_resize needs the 'roi' input")
    compute_dtype = dtype_policy.compute_dtype(x.dtype)
    result = x
    for a in axes:
        pair = (full_roi[a], full_roi[r + a])
        if (math.isclose(full_scale[a], 1.0) and out_size[a] == x.shape[a]
                and (ctm != "tf_crop_and_resize" or pair == (0.0, 1.0))):
            continue  # identity along this axis
        result = _resize_axis(xp, result, a, out_size[a], full_scale[a], pair, mode=mode,
                              ctm=ctm, nearest_mode=nearest_mode, cubic_coeff_a=cubic_coeff_a,
                              exclude_outside=exclude_outside,
                              extrapolation_value=extrapolation_value, antialias=antialias,
                              compute_dtype=compute_dtype)
    if result is x:
        return x.copy()
    return _cast_back(xp, result, x.dtype)


@register("Resize", since=18)
def resize_18(xp, x, roi=None, scales=None, sizes=None, *, antialias=0, axes=None,
              coordinate_transformation_mode="half_pixel", cubic_coeff_a=-0.75,
              exclude_outside=0, extrapolation_value=0.0, keep_aspect_ratio_policy="stretch",
              mode="nearest", nearest_mode="round_prefer_floor"):
    """Resize-18/19 (antialias, axes, keep_aspect_ratio_policy; half_pixel_symmetric from 19):
    https://onnx.ai/onnx/operators/onnx__Resize.html"""
    return _resize(xp, x, roi, scales, sizes, mode=mode, ctm=coordinate_transformation_mode,
                   nearest_mode=nearest_mode, cubic_coeff_a=cubic_coeff_a,
                   exclude_outside=exclude_outside, extrapolation_value=extrapolation_value,
                   antialias=antialias, axes=axes,
                   keep_aspect_ratio_policy=keep_aspect_ratio_policy)


@register("Resize", since=11)
def resize_11(xp, x, roi=None, scales=None, sizes=None, *,
              coordinate_transformation_mode="half_pixel", cubic_coeff_a=-0.75,
              exclude_outside=0, extrapolation_value=0.0, mode="nearest",
              nearest_mode="round_prefer_floor"):
    """Resize-11/13: https://onnx.ai/onnx/operators/onnx__Resize.html#resize-13"""
    return _resize(xp, x, roi, scales, sizes, mode=mode, ctm=coordinate_transformation_mode,
                   nearest_mode=nearest_mode, cubic_coeff_a=cubic_coeff_a,
                   exclude_outside=exclude_outside, extrapolation_value=extrapolation_value)


def _legacy_resize(xp, x, scales, mode):
    # Resize-10 and Upsample: asymmetric coordinates, output floor(in * scale), and
    # onnxruntime's "simple" nearest rounding.
    if mode not in ("nearest", "linear", "bilinear"):
        raise ValueError(f"{mode!r} is not a supported mode (nearest, linear)")
    return _resize(xp, x, None, scales, None, mode="linear" if mode == "bilinear" else mode,
                   ctm="asymmetric", nearest_mode="simple")


@register("Resize", since=10)
def resize_10(xp, x, scales, *, mode="nearest"):
    """Resize-10: https://onnx.ai/onnx/operators/onnx__Resize.html#resize-10"""
    return _legacy_resize(xp, x, scales, mode)


@register("Upsample", since=9)
def upsample_9(xp, x, scales, *, mode="nearest"):
    """Upsample-9 (deprecated in 10): https://onnx.ai/onnx/operators/onnx__Upsample.html"""
    return _legacy_resize(xp, x, scales, mode)


@register("Upsample", since=7)
def upsample_7(xp, x, *, scales, mode="nearest"):
    """Upsample-7: scales as an attribute."""
    return _legacy_resize(xp, x, np.asarray(scales, dtype=np.float32), mode)
