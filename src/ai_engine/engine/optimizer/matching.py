"""What optimizer passes ask of a graph while matching a pattern, written once.

Every pass matches chains of nodes whose intermediate values are read by exactly one node and
are not graph outputs (so removing the chain changes nothing else), compares operands with
one-element constants, and picks "the other operand" of a binary node. Element types are
named (``FLOAT``, ``DOUBLE``...) rather than written as ``TensorProto`` numbers.
"""

from __future__ import annotations

from onnx import TensorProto

from ai_engine.engine.graph import Graph, Node, Value

FLOAT = TensorProto.FLOAT
DOUBLE = TensorProto.DOUBLE
FLOAT16 = TensorProto.FLOAT16
BFLOAT16 = TensorProto.BFLOAT16
INT32 = TensorProto.INT32
INT64 = TensorProto.INT64

SINGLE_OR_DOUBLE = frozenset({FLOAT, DOUBLE})
FLOATING = frozenset({FLOAT, DOUBLE, FLOAT16, BFLOAT16})


def output_ids(graph: Graph) -> set[int]:
    """Identities of the graph's outputs: a matched chain must not swallow one."""
    return {id(v) for v in graph.outputs}


def sole_user(v: Value | None, outputs: set[int], op: str | None = None) -> Node | None:
    """The one node reading ``v`` (of default-domain type ``op`` if given), or ``None`` when
    ``v`` is read by several nodes, by none, or is a graph output."""
    if v is None or len(v.uses) != 1 or id(v) in outputs:
        return None
    user = v.uses[0]
    if op is not None and (user.op_type != op or user.domain):
        return None
    return user


def producer_of(v: Value | None, op: str) -> Node | None:
    """The default-domain ``op`` node that produces ``v``, or ``None``."""
    p = None if v is None else v.producer
    return p if p is not None and p.op_type == op and not p.domain else None


def other_input(node: Node, v: Value) -> Value | None:
    """The input of binary ``node`` that is not ``v`` (``None`` if both or neither are)."""
    a, b = node.inputs[:2]
    if a is v and b is not v:
        return b
    if b is v and a is not v:
        return a
    return None


def constant_scalar(v: Value | None) -> float | None:
    """The value of a one-element floating constant, else ``None``."""
    c = None if v is None else v.const
    if c is None or c.size != 1 or c.dtype.kind != "f":
        return None
    return float(c.reshape(-1)[0])


def is_constant_scalar(v: Value | None, target: float, rel_tol: float = 1e-6) -> bool:
    """Whether ``v`` is a one-element floating constant equal to ``target``."""
    c = constant_scalar(v)
    return c is not None and abs(c - target) <= rel_tol * abs(target)


def replace_nodes(graph: Graph, old: list[Node], new: Node) -> Node:
    """Remove the matched ``old`` nodes and add ``new`` in their place (the pass sorts)."""
    for node in old:
        graph.remove_node(node)
    return graph.add_node(new)
