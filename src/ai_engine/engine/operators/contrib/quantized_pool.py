"""com.microsoft QLinearGlobalAveragePool and QLinearAveragePool on per-tensor quantized 8-bit
data, NCHW or (``channels_last``) NHWC.

Spec: onnxruntime docs/ContribOperators.md: "Dequantize(Input) -> AveragePool on fp32 data ->
Quantize(output)". The global pool sums the integers exactly (int64) and rescales the sum once
in float64; the windowed pool runs ONNX AveragePool on the dequantized values in float64.
onnxruntime requantizes in float32, so a mean next to a .5 boundary can land one step away.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.operators.contrib.quantized import (
    MS_DOMAIN, dequantized_codes, eight_bit, requantize, scalar, table_index, zero_point)
from ai_engine.engine.operators.pooling import average_pool
from ai_engine.engine.registry import register


def _params(x, x_scale, x_zero_point, y_scale, y_zero_point, op):
    dt = eight_bit(x, op, "X")
    if y_scale is None:
        raise ValueError(f"{op}: y_scale is required")
    return (dt, scalar(x_scale, op, "x_scale"), zero_point(x_zero_point, dt, op, "x_zero_point"),
            scalar(y_scale, op, "y_scale"), zero_point(y_zero_point, dt, op, "y_zero_point"))


@register("QLinearGlobalAveragePool", since=1, domain=MS_DOMAIN)
def qlinear_global_average_pool(xp, x, x_scale, x_zero_point=None, y_scale=None,
                                y_zero_point=None, *, channels_last=0):
    """QLinearGlobalAveragePool-1: the mean over the spatial axes (all but N and C), kept as
    size-1 axes: ``y = (sum(x) - n * x_zp) * x_scale / (n * y_scale) + y_zp``."""
    op = "QLinearGlobalAveragePool"
    dt, sx, zx, sy, zy = _params(x, x_scale, x_zero_point, y_scale, y_zero_point, op)
    if x.ndim < 3:
        raise ValueError(f"{op}: X must have rank >= 3 (N, C and spatial axes), got shape "
                         f"{tuple(x.shape)}")
    spatial = tuple(range(1, x.ndim - 1)) if channels_last else tuple(range(2, x.ndim))
    n = int(np.prod([x.shape[a] for a in spatial], dtype=np.int64))
    if n == 0:
        raise ValueError(f"{op}: X {tuple(x.shape)} has an empty spatial extent")
    total = x.sum(axis=spatial, keepdims=True, dtype=np.int64)
    y = (total - n * zx).astype(np.float64)
    y *= np.float64(np.float32(sx))
    y /= n * np.float64(np.float32(sy))
    y += zy
    return requantize(xp, y, dt)


@register("QLinearAveragePool", since=1, domain=MS_DOMAIN)
def qlinear_average_pool(xp, x, x_scale, x_zero_point=None, y_scale=None, y_zero_point=None, *,
                         kernel_shape, auto_pad="NOTSET", ceil_mode=0, channels_last=0,
                         count_include_pad=0, pads=None, strides=None):
    """QLinearAveragePool-1: ONNX AveragePool (its padding, ceil_mode and count_include_pad
    rules) on ``dequantize(x)``, quantized with (y_scale, y_zero_point)."""
    op = "QLinearAveragePool"
    dt, sx, zx, sy, zy = _params(x, x_scale, x_zero_point, y_scale, y_zero_point, op)
    if x.ndim < 3:
        raise ValueError(f"{op}: X must have rank >= 3, got shape {tuple(x.shape)}")
    values = xp.take(xp.asarray(dequantized_codes(dt, sx, zx)), table_index(x))
    if channels_last:
        values = xp.moveaxis(values, -1, 1)
    pooled = average_pool(xp, values, kernel_shape=kernel_shape, auto_pad=auto_pad,
                          ceil_mode=ceil_mode, count_include_pad=count_include_pad, pads=pads,
                          strides=strides)
    if channels_last:
        pooled = xp.moveaxis(pooled, 1, -1)
    y = pooled / np.float64(np.float32(sy))
    y += zy
    return requantize(xp, y, dt)
