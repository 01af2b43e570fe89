"""Fuse scaled dot-product attention into one kernel.

Rewrite rule (every intermediate read once and not a graph output; ``c`` one-element float
constants):
``O = MatMul(Softmax(S [* c | / c] [+ M], axis=-1), V)`` with ``S = MatMul(Q [* c1], K' [* c2])``
becomes ``O = ai_engine::FusedAttention(Q, K', V, M?, scale=c1*c2*c (or /c))``. When ``K'`` is
``Transpose(K)`` swapping the last two axes only, the kernel reads ``K`` and ``transpose_k=1``
lets BLAS do the transpose. The scale is applied once to the score matrix and the softmax runs
in place on it (float32/float64 graphs only: in half precision the unfused chain rounds
after every node, which the fused kernel would not reproduce), which saves three temporaries
and five dispatches per head group.
"""

from __future__ import annotations

from ai_engine.engine.graph import Graph, Node
from ai_engine.engine.optimizer.matching import (SINGLE_OR_DOUBLE, constant_scalar,
                                                 other_input, output_ids, replace_nodes,
                                                 sole_user)


def _strip_scale(v, outputs, nodes):
    """Follow ``v`` back through Mul-by-constant nodes read once; returns (source, factor)."""
    factor = 1.0
    while True:
        p = v.producer
        if p is None or p.domain or p.op_type != "Mul" or len(v.uses) != 1 \
                or id(v) in outputs:
            return v, factor
        for i in (0, 1):
            c = constant_scalar(p.inputs[1 - i])
            if c is not None and p.inputs[i].const is None:
                factor *= c
                nodes.append(p)
                v = p.inputs[i]
                break
        else:
            return v, factor


def _match(sm: Node, outputs):
    if sm.attrs.get("axis", -1) != -1 or len(sm.inputs[0].uses) != 1:
        return None
    nodes, mask, scale = [sm], None, 1.0
    v = sm.inputs[0]
    p = v.producer
    if p is not None and not p.domain and p.op_type == "Add" and id(v) not in outputs:
        a, b = p.inputs[:2]
        pa = a.producer
        s_in = a if pa is not None and pa.op_type in ("MatMul", "Mul", "Div") else b
        mask = other_input(p, s_in)
        if mask is None or len(s_in.uses) != 1:
            return None
        nodes.append(p)
        v = s_in
        p = v.producer
    if p is not None and not p.domain and p.op_type in ("Mul", "Div") and id(v) not in outputs:
        c = constant_scalar(p.inputs[1])
        if c is not None and c != 0 and len(p.inputs[0].uses) == 1:
            scale = c if p.op_type == "Mul" else 1.0 / c
            nodes.append(p)
            v = p.inputs[0]
            p = v.producer
    if p is None or p.domain or p.op_type != "MatMul" or id(v) in outputs:
        return None
    nodes.append(p)
    q, f1 = _strip_scale(p.inputs[0], outputs, nodes)
    k, f2 = _strip_scale(p.inputs[1], outputs, nodes)
    transpose_k = 0
    t = k.producer
    if t is not None and not t.domain and t.op_type == "Transpose" and len(k.uses) == 1 \
            and id(k) not in outputs:
        perm = t.attrs.get("perm")
        n = len(perm) if perm else 0
        if n >= 2 and tuple(perm) == tuple(range(n - 2)) + (n - 1, n - 2):
            nodes.append(t)
            k = t.inputs[0]
            transpose_k = 1
    out = sole_user(sm.outputs[0], outputs, "MatMul")
    if out is None or out.inputs[0] is not sm.outputs[0] or out.inputs[1] is sm.outputs[0]:
        return None
    nodes.append(out)
    return q, k, out.inputs[1], mask, scale * f1 * f2, transpose_k, nodes, out.outputs[0]


def fuse_attention(graph: Graph) -> bool:
    changed = False
    outputs = output_ids(graph)
    for sm in list(graph.nodes):
        if sm.op_type != "Softmax" or sm.domain or sm not in graph.nodes or sm.opset < 13:
            continue
        found = _match(sm, outputs)
        if found is None:
            continue
        q, k, v, mask, scale, transpose_k, nodes, y = found
        if any(x.elem_type is not None and x.elem_type not in SINGLE_OR_DOUBLE
               for x in (q, k, v, y)):
            continue  # half precision: the unfused chain rounds at every node; keep it
        inputs = [q, k, v] + ([mask] if mask is not None else [])
        replace_nodes(graph, nodes, Node("FusedAttention", inputs, [y],
                                         {"scale": float(scale), "transpose_k": transpose_k},
                                         domain="ai_engine", name=sm.name + "/attention",
                                         opset=1))
        changed = True
    if changed:
        graph.sort()
    return changed
