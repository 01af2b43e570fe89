"""``ai_engine::ReshapeDims(x, *sources, dims, allowzero)``: ONNX Reshape whose target is a list
of monomials over the dims of ``sources`` (see optimizer/shape_folding.py), so the Shape/Gather/
Concat chain that computed the target at run time is gone."""

from __future__ import annotations

from ai_engine.engine.registry import register


@register("ReshapeDims", since=1, domain="ai_engine")
def reshape_dims(xp, x, *sources, dims, allowzero=0):
    """Reshape (https://onnx.ai/onnx/operators/onnx__Reshape.html) to a computed target."""
    shape = []
    i = 0
    while i < len(dims):
        v, n = dims[i], dims[i + 1]
        for k in range(n):
            v *= sources[dims[i + 2 + 2 * k]].shape[dims[i + 3 + 2 * k]]
        shape.append(v)
        i += 2 + 2 * n
    if not allowzero and 0 in shape:
        shape = [x.shape[j] if d == 0 else d for j, d in enumerate(shape)]
    return x.reshape(shape)
