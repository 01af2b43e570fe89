"""Fuse the exact erf-GELU chain that PyTorch exports into one Gelu node.

Rewrite rule (``c`` constants of one element, every intermediate read once and no graph
output): ``y = Mul(Mul(x, Add(Erf(Div(x, sqrt(2))), 1)), 0.5)`` becomes
``y = Gelu(x, approximate="none")`` (default domain, opset-20 semantics). Also matched:
``Mul(x, 1/sqrt(2))`` for the Div, and the 0.5 applied to ``x`` first:
``Mul(Mul(x, 0.5), Add(Erf(...), 1))``. Operand order of Add/Mul does not matter.
"""

from __future__ import annotations

import math

from ai_engine.engine.graph import Graph, Node
from ai_engine.engine.optimizer.matching import (FLOATING, is_constant_scalar, other_input,
                                                 output_ids, producer_of, replace_nodes,
                                                 sole_user)


def _match(erf: Node, outputs):
    pre = erf.inputs[0].producer if erf.inputs[0] is not None else None
    if pre is None or pre.domain or sole_user(erf.inputs[0], outputs) is not erf:
        return None
    if pre.op_type == "Div" and is_constant_scalar(pre.inputs[1], math.sqrt(2.0)):
        x = pre.inputs[0]
    elif pre.op_type == "Mul" and is_constant_scalar(pre.inputs[1], 1 / math.sqrt(2.0)):
        x = pre.inputs[0]
    elif pre.op_type == "Mul" and is_constant_scalar(pre.inputs[0], 1 / math.sqrt(2.0)):
        x = pre.inputs[1]
    else:
        return None
    add = sole_user(erf.outputs[0], outputs, "Add")
    if add is None or not is_constant_scalar(other_input(add, erf.outputs[0]), 1.0):
        return None
    m1 = sole_user(add.outputs[0], outputs, "Mul")
    if m1 is None:
        return None
    z = other_input(m1, add.outputs[0])
    if z is x:                                   # (x * (1 + erf)) * 0.5
        m2 = sole_user(m1.outputs[0], outputs, "Mul")
        if m2 is None or not is_constant_scalar(other_input(m2, m1.outputs[0]), 0.5):
            return None
        return x, [pre, erf, add, m1, m2], m2.outputs[0]
    half = producer_of(z, "Mul")                    # (x * 0.5) * (1 + erf)
    if half is None or sole_user(z, outputs) is not m1 \
            or not is_constant_scalar(other_input(half, x), 0.5):
        return None
    return x, [pre, erf, add, half, m1], m1.outputs[0]


def fuse_gelu(graph: Graph) -> bool:
    changed = False
    outputs = output_ids(graph)
    for erf in list(graph.nodes):
        if erf.op_type != "Erf" or erf.domain or erf not in graph.nodes:
            continue
        found = _match(erf, outputs)
        if found is None:
            continue
        x, nodes, y = found
        if x.elem_type is not None and x.elem_type not in FLOATING and x.const is None:
            continue
        replace_nodes(graph, nodes, Node("Gelu", [x], [y], {"approximate": "none"},
                                         name=erf.name + "/gelu", opset=20))
        changed = True
    if changed:
        graph.sort()
    return changed
