"""Constant folding.

Rewrite rule: a node whose inputs are all constants (initializers or folded values), that
has no subgraph and is deterministic, is run once at load time with its own kernel; its
outputs become constants and the node goes. Shape subgraphs and Constant nodes vanish this
way, which is most of the nodes of small exported models.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.binding import bind, subgraphs
from ai_engine.engine.graph import Graph

NONDETERMINISTIC = frozenset({"RandomNormal", "RandomUniform", "RandomNormalLike",
                              "RandomUniformLike", "Bernoulli", "Multinomial", "Dropout"})


def _foldable(node) -> bool:
    if node.op_type in NONDETERMINISTIC or subgraphs(node) or node.implicit_inputs:
        return False
    return all(v is None or v.const is not None for v in node.inputs)


def fold_constants(graph: Graph) -> bool:
    changed = False
    for node in list(graph.nodes):
        if not _foldable(node):
            continue
        op, kwargs = bind(node)
        args = [None if v is None else v.const for v in node.inputs]
        try:
            with np.errstate(all="ignore"):
                result = op.fn(np, *args, **kwargs)
        except Exception:  # noqa: BLE001 - left to run time, which reports a KernelError
            continue
        results = result if isinstance(result, tuple) else (result,)
        values = [v for v in node.outputs]
        if any(r is None or isinstance(r, list) for r, v in zip(results, values)
               if v is not None):
            continue  # sequences and empty optionals stay computed at run time
        graph.remove_node(node)
        for v, r in zip(values, results):
            if v is not None:
                v.const = np.asarray(r)
        changed = True
    return changed
