"""``ai_engine::FusedConv(X, W, B, Z?)``: ``act(Conv(X, W) + B + Z)``, created only by the
optimizer pass ``fuse_conv_activation`` (models never contain it).

Conv's attributes (https://onnx.ai/onnx/operators/onnx__Conv.html) plus ``activation`` ("" |
"Relu" | "LeakyRelu" | "Clip" | "HardSwish" | "Sigmoid" | "Silu") and its parameters ``alpha``
(LeakyRelu slope) and ``clip_min`` / ``clip_max``. ``W`` is pre-transposed once at optimization
time to OHWI (see conv_engine.py); ``Z`` (optional) is a residual added before the activation.
"""

from __future__ import annotations

from ai_engine.engine.operators.conv import conv
from ai_engine.engine.operators.conv_engine import epilogue, fast_conv
from ai_engine.engine.registry import register


@register("FusedConv", since=1, domain="ai_engine")
def fused_conv(xp, x, w, b=None, z=None, *, auto_pad="NOTSET", dilations=None, group=1,
               kernel_shape=None, pads=None, strides=None, activation="", alpha=0.01,
               clip_min=None, clip_max=None):
    """``act(Conv(x, W) + b + z)`` with W in OHWI layout (see the module docstring)."""
    act = (activation, alpha, clip_min, clip_max)
    y = fast_conv(xp, x, w, b, z, auto_pad=auto_pad, dilations=dilations, group=group,
                  pads=pads, strides=strides, act=act)
    if y is not None:
        return y
    # Generic path: back to OIHW and the plain Conv kernel, then the epilogue.
    y = conv(xp, x, xp.moveaxis(w, -1, 1), b, auto_pad=auto_pad, dilations=dilations,
             group=group, kernel_shape=kernel_shape, pads=pads, strides=strides)
    if z is not None:
        y = y + z
    return epilogue(xp, y, None, y, *act) if activation else y
