"""``ai_engine::Silu(x)``: ``x * sigmoid(x)`` (SiLU, "swish"), created by the optimizer pass
``fuse_silu`` from ``Mul(x, Sigmoid(x))``: one pass over memory with the compiled tier
(engine/compiled/), and one node instead of two."""

from __future__ import annotations

import numpy as np

from ai_engine.engine.operators.activations import _sigmoid
from ai_engine.engine.operators.compiled_paths import compiled_unary
from ai_engine.engine.operators.dtype_policy import cast_back, to_compute
from ai_engine.engine.registry import register


@register("Silu", since=1, domain="ai_engine")
def silu(xp, x):
    """Mul(x, Sigmoid(x)) (https://onnx.ai/onnx/operators/onnx__Sigmoid.html) in one op;
    float16/bfloat16 are computed in float32, as Sigmoid is, and rounded once."""
    xc = to_compute(x)
    xc = xc.reshape(1) if xc.ndim == 0 else xc
    y = compiled_unary(xp, xc, "Silu")
    if y is None:
        y = _sigmoid(xp, xc)
        y *= xc
    return cast_back(xp, y.reshape(np.shape(x)), x.dtype)
