"""Fuse SiLU, the activation PyTorch exports as two nodes, into one ``ai_engine::Silu``.

Rewrite rule (the Sigmoid's output read only by the Mul and not a graph output; operand order
of the Mul does not matter): ``y = Mul(x, Sigmoid(x))`` becomes ``y = ai_engine::Silu(x)``
(operators/fused/silu.py). ``x`` itself may have other readers. A Conv producing ``x`` is then
fused with the Silu by ``fuse_conv_activation``.
"""

from __future__ import annotations

from ai_engine.engine.graph import Graph, Node
from ai_engine.engine.optimizer.matching import (FLOATING, other_input, output_ids,
                                                 replace_nodes, sole_user)


def fuse_silu(graph: Graph) -> bool:
    changed = False
    outputs = output_ids(graph)
    for sig in list(graph.nodes):
        if sig.op_type != "Sigmoid" or sig.domain or sig not in graph.nodes:
            continue
        x = sig.inputs[0]
        if x is None or (x.elem_type is not None and x.elem_type not in FLOATING):
            continue
        mul = sole_user(sig.outputs[0], outputs, "Mul")
        if mul is None or other_input(mul, sig.outputs[0]) is not x:
            continue
        replace_nodes(graph, [sig, mul], Node("Silu", [x], [mul.outputs[0]], domain="ai_engine",
                                              name=(sig.name or "sigmoid") + "/silu", opset=1))
        changed = True
    if changed:
        graph.opsets.setdefault("ai_engine", 1)
        graph.sort()
    return changed
