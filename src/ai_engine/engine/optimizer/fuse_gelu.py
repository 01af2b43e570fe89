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

def scalar(v, target, tol=1e-6):
    """Whether ``v`` is a one-element float constant equal to ``target``."""
    c = None if v is None else v.const
    return c is not None and c.size == 1 and c.dtype.kind == "f" \
        and abs(float(c.reshape(-1)[0]) - target) <= tol * abs(target)

def single_user(v, outputs, op=None):
    """The only node reading ``v`` (of type ``op``), or None."""
    if v is None or len(v.uses) != 1 or id(v) in outputs:
        return None
    n = v.uses[0]
    return n if (op is None or (n.op_type == op and not n.domain)) else None

def other_input(node, v):
    """The input of a binary ``node`` that is not ``v`` (None if both or neither are)."""
    a, b = node.inputs[:2]
    if a is v and b is not v:
        return b
    if b is v and a is not v:
        return a
    return None

def _match(erf: Node, outputs):
    pre = erf.inputs[0].producer if erf.inputs[0] is not None else None
    if pre is None or pre.domain or len(erf.inputs[0].uses) != 1:
        return None
    if pre.op_type == "Div" and scalar(pre.inputs[1], math.sqrt(2.0)):
        x = pre.inputs[0]
    elif pre.op_type == "Mul" and scalar(pre.inputs[1], 1 / math.sqrt(2.0)):
        x = pre.inputs[0]
    elif pre.op_type == "Mul" and scalar(pre.inputs[0], 1 / math.sqrt(2.0)):
        x = pre.inputs[1]
    else:
        return None
    add = single_user(erf.outputs[0], outputs, "Add")
    if add is None or not scalar(other_input(add, erf.outputs[0]), 1.0):
        return None
    m1 = single_user(add.outputs[0], outputs, "Mul")
    if m1 is None:
        return None
    z = other_input(m1, add.outputs[0])
    if z is x:                                   # (x * (1 + erf)) * 0.5
        m2 = single_user(m1.outputs[0], outputs, "Mul")
        if m2 is None or not scalar(other_input(m2, m1.outputs[0]), 0.5):
            return None
        return x, [pre, erf, add, m1, m2], m2.outputs[0]
    half = z.producer if z is not None else None   # (x * 0.5) * (1 + erf)
    if half is None or half.op_type != "Mul" or half.domain or len(z.uses) != 1 \
            or other_input(half, x) is None or not scalar(other_input(half, x), 0.5):
        return None
    return x, [pre, erf, add, half, m1], m1.outputs[0]

def fuse_gelu(graph: Graph) -> bool:
    changed = False
    outputs = {id(v) for v in graph.outputs}
    for erf in list(graph.nodes):
        if erf.op_type != "Erf" or erf.domain or erf not in graph.nodes:
            continue
        found = _match(erf, outputs)
        if found is None:
            continue
        x, nodes, y = found
        if x.elem_type not in (None, 1, 10, 11, 16) and x.const is None:
            continue
        for n in nodes:
            graph.remove_node(n)
        graph.add_node(Node("Gelu", [x], [y], {"approximate": "none"},
                            name=erf.name + "/gelu", opset=20))
        changed = True
    if changed:
        graph.sort()
    return changed
