"""Integer and quantized convolutions: ConvInteger-10
(https://onnx.ai/onnx/operators/onnx__ConvInteger.html) and QLinearConv-10
(https://onnx.ai/onnx/operators/onnx__QLinearConv.html), computed exactly in int64/float64."""

from __future__ import annotations


import numpy as np

from ai_engine.engine.registry import register

from .conv import conv_forward


def _centered(xp, v, zero_point):
    """``v - zero_point`` in float64: integer GEMMs have no BLAS, and float64 holds every
    8-bit product sum exactly (|sum| < 2**53)."""
    v = v.astype(np.float64)
    if zero_point is None:
        return v
    zp = zero_point.astype(np.float64)
    if zp.ndim == 1 and zp.size > 1:
        zp = zp.reshape((-1,) + (1,) * (v.ndim - 1))   # per output channel (W's axis 0)
    else:
        zp = zp.reshape(())
    return v - zp


def _int_conv(xp, x, w, x_zero_point, w_zero_point, attrs, what):
    xc = _centered(xp, x, x_zero_point)
    wc = _centered(xp, w, w_zero_point)
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
