"""com.microsoft activation fusions (docs/ContribOperators.md) and the activation table that
FusedConv and FusedGemm apply after their GEMM.

- Gelu: x * Phi(x) (erf form); BiasGelu: Gelu(A + B); FastGelu: the tanh approximation
  0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) of X (+ bias); QuickGelu: x * sigmoid(alpha x);
- BiasAdd: X + bias + skip; BiasSplitGelu: (X + bias) split in two halves along the last axis,
  left * Gelu(right) (onnxruntime has CUDA kernels only for these two).

The math is the ONNX Gelu/Sigmoid kernels' (operators/activations.py): float16 in float32.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.operators import activations as onnx_act
from ai_engine.engine.operators.fused.matmul_add import gelu_inplace
from ai_engine.engine.registry import register


def _check_bias(x, bias, op):
    if bias.shape != x.shape[-1:]:
        raise ValueError(f"{op}: bias of shape {tuple(bias.shape)} must be "
                         f"({x.shape[-1]},), the input's last dim")


@register("Gelu", since=1, domain="com.microsoft")
def gelu(xp, x):
    """com.microsoft.Gelu: x * 0.5 * (1 + erf(x / sqrt(2)))."""
    return onnx_act.gelu(xp, x)


@register("BiasGelu", since=1, domain="com.microsoft")
def bias_gelu(xp, a, b):
    """com.microsoft.BiasGelu: Gelu(A + B), B a 1-D bias over A's last axis."""
    _check_bias(a, b, "BiasGelu")
    y = a + b
    if y.dtype in (np.float32, np.float64):
        return gelu_inplace(xp, y)     # the sum is ours: GELU in place, no more temporaries
    return onnx_act.gelu(xp, y)


@register("FastGelu", since=1, domain="com.microsoft")
def fast_gelu(xp, x, bias=None):
    """com.microsoft.FastGelu: tanh-approximated Gelu of X (+ bias)."""
    if bias is not None:
        _check_bias(x, bias, "FastGelu")
        x = x + bias
    return onnx_act.gelu(xp, x, approximate="tanh")


@register("QuickGelu", since=1, domain="com.microsoft")
def quick_gelu(xp, x, *, alpha=1.702):
    """com.microsoft.QuickGelu: x * sigmoid(alpha * x)."""
    t = onnx_act.sigmoid(xp, x * x.dtype.type(alpha))
    t *= x
    return t


@register("BiasAdd", since=1, domain="com.microsoft")
def bias_add(xp, x, bias, skip):
    """com.microsoft.BiasAdd: X + bias + skip, X and skip (N, S, C), bias (C)."""
    if x.ndim != 3 or skip.shape != x.shape:
        raise ValueError(f"BiasAdd: X {tuple(x.shape)} and skip {tuple(skip.shape)} must be "
                         "the same (N, S, C)")
    _check_bias(x, bias, "BiasAdd")
    y = x + bias
    y += skip
    return y


@register("BiasSplitGelu", since=1, domain="com.microsoft")
def bias_split_gelu(xp, x, bias):
    """com.microsoft.BiasSplitGelu: with h = X + bias split into halves [l | r] along the
    last axis, Y = l * Gelu(r), of shape (N, S, D/2)."""
    if x.ndim != 3 or x.shape[-1] % 2:
        raise ValueError(f"BiasSplitGelu: X must be (N, S, D) with D even, got "
                         f"{tuple(x.shape)}")
    _check_bias(x, bias, "BiasSplitGelu")
    half = x.shape[-1] // 2
    y = onnx_act.gelu(xp, x[..., half:] + bias[half:])
    y *= x[..., :half] + bias[:half]
    return y


def _scaled_tanh(xp, y, alpha, beta):
    return onnx_act.tanh(xp, y * y.dtype.type(beta)) * y.dtype.type(alpha)


def _parametric_softplus(xp, y, alpha, beta):
    return onnx_act.softplus(xp, y * y.dtype.type(beta)) * y.dtype.type(alpha)


def _clip(xp, y, lo, hi):
    return xp.minimum(xp.maximum(y, y.dtype.type(lo)), y.dtype.type(hi))


# name -> (function(xp, y, *params), ((parameter name, default or None if required), ...)).
# The parameters are onnxruntime's: FusedConv passes them in order as ``activation_params``,
# FusedGemm by name as ``activation_alpha/beta/gamma``.
_INF = float("inf")
ACTIVATIONS = {
    "Relu": (lambda xp, y: onnx_act.relu(xp, y), ()),
    "Tanh": (lambda xp, y: onnx_act.tanh(xp, y), ()),
    "Sigmoid": (lambda xp, y: onnx_act.sigmoid(xp, y), ()),
    "Softsign": (lambda xp, y: onnx_act.softsign(xp, y), ()),
    "Softplus": (lambda xp, y: onnx_act.softplus(xp, y), ()),
    "LeakyRelu": (lambda xp, y, a: onnx_act.leaky_relu(xp, y, alpha=a), (("alpha", 0.01),)),
    "Elu": (lambda xp, y, a: onnx_act.elu(xp, y, alpha=a), (("alpha", 1.0),)),
    "ThresholdedRelu": (lambda xp, y, a: onnx_act.thresholded_relu(xp, y, alpha=a),
                        (("alpha", 1.0),)),
    "HardSigmoid": (lambda xp, y, a, b: onnx_act.hard_sigmoid(xp, y, alpha=a, beta=b),
                    (("alpha", 0.2), ("beta", 0.5))),
    "Selu": (lambda xp, y, a, g: onnx_act.selu(xp, y, alpha=a, gamma=g),
             (("alpha", 1.67326319217681884765625), ("gamma", 1.05070102214813232421875))),
    "Clip": (_clip, (("min", -_INF), ("max", _INF))),
    "ScaledTanh": (_scaled_tanh, (("alpha", None), ("beta", None))),
    "ParametricSoftplus": (_parametric_softplus, (("alpha", None), ("beta", None))),
}


def activation_fn(name, op, params=None, named=None):
    """``fn(xp, y)`` applying activation ``name``: its parameters from ``params`` (a list in
    order, FusedConv's ``activation_params``) or ``named`` (FusedGemm's alpha/beta/gamma), a
    missing one taking its default."""
    if name not in ACTIVATIONS:
        raise ValueError(f"{op}: unknown activation {name!r}; supported: "
                         f"{sorted(ACTIVATIONS)}")
    fn, spec = ACTIVATIONS[name]
    params = tuple(params or ())
    if len(params) > len(spec):
        raise ValueError(f"{op}: activation {name} takes {len(spec)} parameter(s), got "
                         f"{list(params)}")
    values = []
    for i, (pname, default) in enumerate(spec):
        v = params[i] if i < len(params) else (named or {}).get(pname)
        v = default if v is None else v
        if v is None:
            raise ValueError(f"{op}: activation {name} needs its {pname} parameter")
        values.append(float(v))
    return lambda xp, y: fn(xp, y, *values)
