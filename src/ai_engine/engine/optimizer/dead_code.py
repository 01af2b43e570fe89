"""Dead-code elimination.

Rewrite rule: a node none of whose outputs is read by another node or is a graph output is
removed (repeated until nothing changes, so whole dead chains go). Nodes of ops with side
effects do not exist in ONNX inference graphs, so every node is removable.
"""

from __future__ import annotations

from ai_engine.engine.graph import Graph


def eliminate_dead_code(graph: Graph) -> bool:
    needed = {id(v) for v in graph.outputs}
    changed = False
    for node in reversed(list(graph.nodes)):
        live = any(v is not None and (v.uses or id(v) in needed) for v in node.outputs)
        if not live:
            graph.remove_node(node)
            changed = True
    used = {id(v) for n in graph.nodes for v in n.all_inputs()} | needed
    for name in [n for n, v in graph.values.items()
                 if v.const is not None and id(v) not in used]:
        del graph.values[name]  # drop unused initializers so their memory goes too
    return changed
