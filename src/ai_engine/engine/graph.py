"""The graph IR: values that know their producer and their users, nodes, and graphs.

A :class:`Value` is an edge of the dataflow graph (an ONNX value name); a :class:`Node` is an
operator application. Replacing a value keeps producers and users consistent, so optimizer
passes stay short. Subgraphs (the bodies of If, Loop and Scan) are :class:`Graph` objects held
in node attributes; a name a subgraph reads from an enclosing graph is listed in its
``outer_names`` and, for the node that owns the subgraph, in ``implicit_inputs``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


class Value:
    """A named tensor (or sequence/optional) flowing between nodes.

    ``elem_type`` is the ONNX element type or ``None`` when unknown; ``shape`` a tuple whose
    items are ints (fixed), strings (symbolic) or ``None`` (unknown), or ``None`` for an
    unknown rank. ``const`` holds the array of an initializer or a folded constant.
    """

    __slots__ = ("name", "elem_type", "shape", "kind", "producer", "uses", "const")

    def __init__(self, name: str, elem_type: int | None = None, shape=None,
                 kind: str = "tensor", const: np.ndarray | None = None):
        self.name = name
        self.elem_type = elem_type
        self.shape = shape
        self.kind = kind  # "tensor", "sequence", "optional", "map"...
        self.producer: Node | None = None
        self.uses: list[Node] = []
        self.const = const

    @property
    def is_const(self) -> bool:
        return self.const is not None

    def __repr__(self) -> str:
        return f"Value({self.name!r})"


class Node:
    """One operator application. ``inputs`` may hold ``None`` for an omitted optional input."""

    __slots__ = ("op_type", "domain", "name", "inputs", "outputs", "attrs", "opset",
                 "implicit_inputs")

    def __init__(self, op_type: str, inputs, outputs, attrs=None, *, domain: str = "",
                 name: str = "", opset: int = 0):
        self.op_type = op_type
        self.domain = domain
        self.name = name
        self.inputs: list[Value | None] = list(inputs)
        self.outputs: list[Value | None] = list(outputs)
        self.attrs: dict = dict(attrs or {})
        self.opset = opset
        self.implicit_inputs: list[Value] = []

    def all_inputs(self):
        """Explicit inputs, then the outer-scope values its subgraphs read."""
        return [v for v in self.inputs if v is not None] + self.implicit_inputs

    def describe(self) -> str:
        """``Conv node 'conv1'`` for messages."""
        dom = f"{self.domain}::" if self.domain else ""
        return f"{dom}{self.op_type} node {self.name!r}"

    def __repr__(self) -> str:
        return f"Node({self.op_type}, {self.name!r})"


@dataclass
class Graph:
    """A (sub)graph: ordered nodes, named inputs/outputs, constants, and opset imports."""

    name: str = "graph"
    inputs: list[Value] = field(default_factory=list)
    outputs: list[Value] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    values: dict[str, Value] = field(default_factory=dict)
    opsets: dict[str, int] = field(default_factory=dict)
    outer_names: list[str] = field(default_factory=list)
    overridable: list[Value] = field(default_factory=list)  # initializers a feed may replace

    # -- construction -------------------------------------------------------------------
    def value(self, name: str) -> Value:
        """The value called ``name``, created on first mention."""
        v = self.values.get(name)
        if v is None:
            v = self.values[name] = Value(name)
        return v

    def add_constant(self, name_hint: str, array: np.ndarray) -> Value:
        """A new constant value with a name no other value of the graph has."""
        from ai_engine.core.dtypes import to_onnx

        name, k = name_hint, 0
        while name in self.values:
            k += 1
            name = f"{name_hint}_{k}"
        v = self.values[name] = Value(name, to_onnx(array.dtype), tuple(array.shape),
                                      const=array)
        return v

    def add_node(self, node: Node) -> Node:
        self.nodes.append(node)
        self._link(node)
        return node

    def _link(self, node: Node) -> None:
        for v in node.all_inputs():
            v.uses.append(node)
        for v in node.outputs:
            if v is not None:
                v.producer = node

    def _unlink(self, node: Node) -> None:
        for v in node.all_inputs():
            if node in v.uses:
                v.uses.remove(node)
        for v in node.outputs:
            if v is not None and v.producer is node:
                v.producer = None

    # -- editing (for optimizer passes) ---------------------------------------------------
    def remove_node(self, node: Node) -> None:
        self._unlink(node)
        self.nodes.remove(node)

    def replace_uses(self, old: Value, new: Value) -> None:
        """Make every user of ``old`` (and the graph outputs) read ``new`` instead."""
        for user in list(old.uses):
            user.inputs = [new if v is old else v for v in user.inputs]
            user.implicit_inputs = [new if v is old else v for v in user.implicit_inputs]
            new.uses.append(user)
        old.uses.clear()
        self.outputs = [new if v is old else v for v in self.outputs]

    def constants(self) -> dict[str, np.ndarray]:
        return {name: v.const for name, v in self.values.items() if v.const is not None}

    # -- queries --------------------------------------------------------------------------
    def topological_order(self) -> list[Node]:
        """Nodes in dependency order (Kahn's algorithm, stable with respect to file order).

        Raises ``ValueError`` naming a node on a cycle.
        """
        pending = {id(n): 0 for n in self.nodes}
        for n in self.nodes:
            pending[id(n)] = sum(1 for v in n.all_inputs() if v.producer is not None
                                 and id(v.producer) in pending)
        ready = [n for n in self.nodes if pending[id(n)] == 0]
        ready.reverse()
        order = []
        while ready:
            n = ready.pop()
            order.append(n)
            released = []
            for out in n.outputs:
                if out is None:
                    continue
                seen = set()
                for user in out.uses:
                    if id(user) not in pending or id(user) in seen:
                        continue
                    seen.add(id(user))
                    # a node may read the same value several times
                    pending[id(user)] -= sum(1 for v in user.all_inputs() if v is out)
                    if pending[id(user)] == 0:
                        released.append(user)
            ready.extend(reversed(released))
        if len(order) != len(self.nodes):
            stuck = next(n for n in self.nodes if n not in order)
            raise ValueError(f"the graph has a cycle through {stuck.describe()}")
        return order

    def sort(self) -> None:
        self.nodes = self.topological_order()

    def check(self) -> None:
        """Raise ``ValueError`` naming the first inconsistency: a use or producer link that
        does not match the node lists, a node reading a value nothing defines, or nodes out of
        dependency order. The optimizer runs this after every pass when asked
        (``AI_ENGINE_CHECK_PASSES=1``, which the test suite sets)."""
        nodes = {id(n) for n in self.nodes}
        defined = {id(v) for v in self.inputs} | {id(v) for v in self.overridable}
        defined |= {id(v) for v in self.values.values() if v.const is not None}
        defined |= {id(self.values[n]) for n in self.outer_names if n in self.values}
        for node in self.nodes:
            for v in node.all_inputs():
                if sum(1 for u in v.uses if u is node) != \
                        sum(1 for x in node.all_inputs() if x is v):
                    raise ValueError(f"{node.describe()} reads {v.name!r} but is not (or not "
                                     "as often) among its uses")
                if id(v) not in defined and v.producer is None:
                    raise ValueError(f"{node.describe()} reads {v.name!r}, which no node, "
                                     "input or constant defines")
                if v.producer is not None and id(v) not in defined:
                    raise ValueError(f"{node.describe()} reads {v.name!r} before "
                                     f"{v.producer.describe()} computes it")
            for v in node.outputs:
                if v is not None:
                    if v.producer is not node:
                        raise ValueError(f"{node.describe()} writes {v.name!r} whose producer "
                                         f"is {v.producer!r}")
                    for u in v.uses:
                        if id(u) not in nodes:
                            raise ValueError(f"{v.name!r} lists {u.describe()}, which is not "
                                             "in the graph, as a user")
                    defined.add(id(v))
        for v in self.outputs:
            if id(v) not in defined:
                raise ValueError(f"graph output {v.name!r} is not computed")
