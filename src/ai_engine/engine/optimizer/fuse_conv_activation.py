"""Fuse a 2-D Conv with the residual Add and the activation that follow it into one
``ai_engine::FusedConv`` (see operators/fused.py), whose weight is pre-transposed to OHWI.

Rewrite rules (W constant float, 4-D; B constant or absent; every intermediate value read
only by the next node of the chain and not a graph output):

1. ``y = Act(Conv(x, W, B))``                  -> ``y = FusedConv(x, W', B, activation=Act)``
2. ``y = Add|Sum(Conv(x, W, B), z)``           -> ``y = FusedConv(x, W', B, z)``
3. ``y = Act(Add|Sum(Conv(x, W, B), z))``      -> ``y = FusedConv(x, W', B, z, activation=Act)``

A Conv with neither stays a Conv (its kernel takes the same fast paths).

``Act`` is Relu, LeakyRelu (alpha), Clip (min/max as attributes, or constant inputs),
HardSwish, Sigmoid, or ``ai_engine::Silu`` (made by ``fuse_silu``).
Add/Sum must have exactly two inputs; the residual ``z`` is the other one (the kernel checks
at run time that it has the Conv output's shape, and broadcasts otherwise). ``W' = W`` moved
to (M, kh, kw, C/group). A missing B becomes a zero constant. The Conv runs first in the
chain, so ``z`` never depends on the fused node's output and the graph stays acyclic.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.graph import Graph, Node
from ai_engine.engine.optimizer.matching import output_ids, replace_nodes, sole_user

_ACTIVATIONS = ("Relu", "LeakyRelu", "Clip", "HardSwish", "Sigmoid")


def _clip_bounds(node: Node):
    """(min, max) as floats or None; ``False`` when a bound is not a constant scalar."""
    if node.opset < 11:
        return node.attrs.get("min"), node.attrs.get("max")
    bounds = []
    for k in (1, 2):
        v = node.inputs[k] if len(node.inputs) > k else None
        if v is None:
            bounds.append(None)
        elif v.const is None or v.const.size != 1:
            return False
        else:
            bounds.append(float(np.asarray(v.const).reshape(())))
    return tuple(bounds)


def _activation_attrs(node: Node) -> dict | None:
    if node.domain == "ai_engine" and node.op_type == "Silu":
        return {"activation": "Silu"}
    if node.domain or node.op_type not in _ACTIVATIONS:
        return None
    if node.op_type == "LeakyRelu":
        return {"activation": "LeakyRelu", "alpha": float(node.attrs.get("alpha", 0.01))}
    if node.op_type == "Clip":
        bounds = _clip_bounds(node)
        if bounds is False:
            return None
        attrs = {"activation": "Clip"}
        if bounds[0] is not None:
            attrs["clip_min"] = float(bounds[0])
        if bounds[1] is not None:
            attrs["clip_max"] = float(bounds[1])
        return attrs
    return {"activation": node.op_type}


def _eligible(conv: Node) -> bool:
    if conv.op_type != "Conv" or conv.domain or len(conv.inputs) < 2:
        return False
    w = conv.inputs[1].const if conv.inputs[1] is not None else None
    if w is None or w.ndim != 4 or w.dtype != np.float32:
        return False
    b_in = conv.inputs[2] if len(conv.inputs) > 2 else None
    return b_in is None or b_in.const is not None


def fuse_conv_activation(graph: Graph) -> bool:
    changed = False
    outputs = output_ids(graph)
    for conv in list(graph.nodes):
        if not _eligible(conv):
            continue
        chain = [conv]
        tail = conv.outputs[0]
        residual = None
        nxt = sole_user(tail, outputs)
        if nxt is not None and not nxt.domain and nxt.op_type in ("Add", "Sum") \
                and len(nxt.inputs) == 2 and nxt.inputs[0] is not nxt.inputs[1]:
            residual = nxt.inputs[1] if nxt.inputs[0] is tail else nxt.inputs[0]
            chain.append(nxt)
            tail = nxt.outputs[0]
            nxt = sole_user(tail, outputs)
        attrs = dict(conv.attrs)
        act = _activation_attrs(nxt) if nxt is not None else None
        if act is not None:
            attrs.update(act)
            chain.append(nxt)
            tail = nxt.outputs[0]
        if len(chain) == 1:
            continue
        w = conv.inputs[1].const
        b_in = conv.inputs[2] if len(conv.inputs) > 2 else None
        w_val = graph.add_constant(f"{conv.name or 'conv'}/ohwi_weight",
                                   np.ascontiguousarray(np.moveaxis(w, 1, -1)))
        if b_in is None:
            b_in = graph.add_constant(f"{conv.name or 'conv'}/zero_bias",
                                      np.zeros(w.shape[0], dtype=w.dtype))
        inputs = [conv.inputs[0], w_val, b_in] + ([residual] if residual is not None else [])
        replace_nodes(graph, chain, Node("FusedConv", inputs, [tail], attrs,
                                         domain="ai_engine", name=conv.name, opset=1))
        changed = True
    if changed:
        graph.opsets.setdefault("ai_engine", 1)
        graph.sort()
    return changed
