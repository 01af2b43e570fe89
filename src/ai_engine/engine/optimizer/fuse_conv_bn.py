"""Fold an inference-mode BatchNormalization into the Conv that feeds it.

Rewrite rule: ``y = BatchNormalization(Conv(x, W, B?), scale, bias, mean, var)`` with all of
W, B, scale, bias, mean, var constant, the Conv output read only by that BatchNormalization,
and the BatchNormalization producing only ``y`` (no training outputs), becomes
``y = Conv(x, W * s, (B - mean) * s + bias)`` with ``s = scale / sqrt(var + epsilon)``
broadcast over the output channels. The arithmetic is done in float64 and cast back, so the
folded model matches the unfolded one to rounding.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.graph import Graph, Node, Value
from ai_engine.engine.optimizer.matching import output_ids, replace_nodes, sole_user


def _const(v: Value | None):
    return None if v is None else v.const


def fuse_conv_bn(graph: Graph) -> bool:
    changed = False
    outputs = output_ids(graph)
    for bn in list(graph.nodes):
        if bn.op_type != "BatchNormalization" or bn.domain or len(bn.inputs) < 5:
            continue
        if bn.attrs.get("training_mode", 0) or any(o is not None for o in bn.outputs[1:]):
            continue
        conv_out = bn.inputs[0]
        conv = conv_out.producer if conv_out is not None else None
        if conv is None or conv.op_type != "Conv" or conv.domain \
                or sole_user(conv_out, outputs) is not bn:
            continue
        w = _const(conv.inputs[1])
        params = [_const(v) for v in bn.inputs[1:5]]
        bias_in = conv.inputs[2] if len(conv.inputs) > 2 else None
        b = _const(bias_in)
        if w is None or any(p is None for p in params) or (bias_in is not None and b is None):
            continue
        if w.dtype.kind != "f":
            continue
        scale, beta, mean, var = (p.astype(np.float64) for p in params)
        s = scale / np.sqrt(var + bn.attrs.get("epsilon", 1e-5))
        new_w = (w.astype(np.float64) * s.reshape((-1,) + (1,) * (w.ndim - 1))).astype(w.dtype)
        old_b = np.zeros(w.shape[0]) if b is None else b.astype(np.float64)
        new_b = ((old_b - mean) * s + beta).astype(w.dtype)
        w_val = graph.add_constant(f"{conv.name}/folded_weight", new_w)
        b_val = graph.add_constant(f"{conv.name}/folded_bias", new_b)
        replace_nodes(graph, [conv, bn], Node("Conv", [conv.inputs[0], w_val, b_val],
                                              [bn.outputs[0]], conv.attrs, name=conv.name,
                                              opset=conv.opset))
        changed = True
    if changed:
        graph.sort()
    return changed
