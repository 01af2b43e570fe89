"""com.microsoft FusedConv and NhwcConv (docs/ContribOperators.md).

- FusedConv(X, W, B?, Z?): ``activation(Conv(X, W) + B + Z)``, Conv's attributes plus
  ``activation`` and its ``activation_params``: what onnxruntime's Conv+activation (and
  Conv+Add+activation) fusion writes. Z is the residual summed before the activation, as in
  onnxruntime's CPU Conv kernel.
- NhwcConv(X, W, B?): Conv on channels-last data: X (N, H, W, C), W (M, kH, kW, C/group), Y
  (N, OH, OW, M) (onnxruntime's transformer optimizer writes it for UNet/VAE convolutions).

Both run the float32 convolution engine of operators/fused.py (BLAS GEMMs with the bias, the
residual and Relu/LeakyRelu/Clip folded into the GEMM epilogue); the other activations are one
pass over the result. Other dtypes and ranks use the ONNX Conv kernel.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.operators.conv import conv
from ai_engine.engine.operators.conv_engine import ohwi_cached
from ai_engine.engine.operators.fused.conv import fused_conv as ohwi_conv
from ai_engine.engine.registry import register

from .activations import activation_fn

# Activations the fused.py epilogue applies itself (with their parameters).
_EPILOGUE = {"Relu", "LeakyRelu", "Clip"}


def _conv_plus(xp, x, w_oihw, w_ohwi, b, z, conv_attrs, epilogue):
    """Conv + B (+ Z) with an optional fused.py epilogue ``(name, alpha, lo, hi)``."""
    if xp is np and x.ndim == 4 and x.dtype == np.float32 and w_ohwi is not None \
            and w_ohwi.dtype == np.float32:
        name, alpha, lo, hi = epilogue
        return ohwi_conv(xp, x, w_ohwi, b, z, **conv_attrs, activation=name, alpha=alpha,
                         clip_min=lo, clip_max=hi)
    y = conv(xp, x, w_oihw, b, **conv_attrs)
    if z is not None:
        if np.broadcast_shapes(y.shape, z.shape) != y.shape:
            raise ValueError(f"Z of shape {tuple(z.shape)} does not match the convolution "
                             f"output {tuple(y.shape)}")
        y = y + z
    if epilogue[0]:
        name, alpha, lo, hi = epilogue
        params = (lo, hi) if name == "Clip" else (alpha,) if name == "LeakyRelu" else ()
        y = activation_fn(name, "FusedConv", params)(xp, y)
    return y


@register("FusedConv", since=1, domain="com.microsoft")
def fused_conv(xp, x, w, b=None, z=None, *, auto_pad="NOTSET", dilations=None, group=1,
               kernel_shape=None, pads=None, strides=None, activation="",
               activation_params=None):
    """com.microsoft.FusedConv: activation(Conv(X, W) + B + Z); activation one of Relu, Tanh,
    Sigmoid, LeakyRelu [alpha], Clip [min, max], HardSigmoid [alpha, beta] (and the other
    entries of contrib/activations.py's table)."""
    act = activation_fn(activation, "FusedConv", activation_params) if activation else None
    params = tuple(activation_params or ())
    if activation in _EPILOGUE:
        if activation == "LeakyRelu":
            epilogue = ("LeakyRelu", params[0] if params else 0.01, None, None)
        elif activation == "Clip":
            lo, hi = params if params else (None, None)
            epilogue = ("Clip", 0.0, lo, hi)
        else:
            epilogue = ("Relu", 0.0, None, None)
        act = None
    else:
        epilogue = ("", 0.0, None, None)
    conv_attrs = {"auto_pad": auto_pad, "dilations": dilations, "group": group,
                      "kernel_shape": kernel_shape, "pads": pads, "strides": strides}
    w_ohwi = ohwi_cached(w) if w.ndim == 4 and xp is np else None
    y = _conv_plus(xp, x, w, w_ohwi, b, z, conv_attrs, epilogue)
    return act(xp, y) if act is not None else y


@register("NhwcConv", since=1, domain="com.microsoft")
def nhwc_conv(xp, x, w, b=None, *, auto_pad="NOTSET", dilations=None, group=1,
              kernel_shape=None, pads=None, strides=None):
    """com.microsoft.NhwcConv: Conv with channels last on X, W (OHWI) and Y."""
    if x.ndim < 3 or w.ndim != x.ndim:
        raise ValueError(f"NhwcConv: X {tuple(x.shape)} and W {tuple(w.shape)} must have the "
                         "same rank >= 3 (channels last)")
    if kernel_shape and tuple(kernel_shape) != tuple(w.shape[1:-1]):
        raise ValueError(f"NhwcConv: kernel_shape {tuple(kernel_shape)} != W spatial shape "
                         f"{tuple(w.shape[1:-1])}")
    x_first = xp.moveaxis(x, -1, 1)
    w_oihw = xp.moveaxis(w, -1, 1)
    conv_attrs = {"auto_pad": auto_pad, "dilations": dilations, "group": group,
                      "kernel_shape": None, "pads": pads, "strides": strides}
    w_ohwi = xp.ascontiguousarray(w) if w.ndim == 4 and xp is np else None
    y = _conv_plus(xp, x_first, w_oihw, w_ohwi, b, None, conv_attrs, ("", 0.0, None, None))
    return xp.moveaxis(y, 1, -1)
