"""Identity elimination.

Rewrite rule: ``y = Identity(x)`` with ``y`` not a graph output: every reader of ``y`` reads
``x`` instead and the node goes. (When ``y`` is a graph output the node stays, so the output
keeps its name.)
"""

from __future__ import annotations

from ai_engine.engine.graph import Graph


def eliminate_identity(graph: Graph) -> bool:
    outputs = {id(v) for v in graph.outputs}
    changed = False
    for node in list(graph.nodes):
        if node.op_type != "Identity" or node.domain or len(node.inputs) != 1:
            continue
        src, dst = node.inputs[0], node.outputs[0]
        if src is None or dst is None or id(dst) in outputs or src.kind != dst.kind \
                and dst.kind != "tensor":
            continue
        graph.remove_node(node)
        graph.replace_uses(dst, src)
        changed = True
    return changed
