"""Fuse a MatMul (or plain Gemm) with its bias add, and a GELU that follows, into one kernel.

Rewrite rules (``W`` a constant 2-D matrix of shape [K, N], ``b`` a constant float vector of
N elements, possibly with leading 1 dims; intermediate values read once, not graph outputs):
- ``Add(MatMul(x, W), b)`` (either Add operand order) -> ``ai_engine::MatMulAdd(x, W, b)``;
- ``Gemm(x, Wt, b, transB=1, alpha=1, beta=1, transA=0)`` with 2-D ``x`` ->
  ``MatMulAdd(x, Wt^T, b)`` (the transpose is materialized once, at load time);
- ``Gelu(MatMulAdd(...), approximate="none")`` -> ``MatMulAdd(..., activation="gelu")``:
  GELU is applied in place on the GEMM result;
- ``com.microsoft::BiasGelu(MatMul(x, W), b)`` (what onnxruntime's optimizer writes for the
  same chain) -> ``MatMulAdd(x, W, b, activation="gelu")``: the bias and GELU in place on the
  GEMM result instead of a new array for the sum.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.graph import Graph, Node
from ai_engine.engine.optimizer.matching import other_input, output_ids, sole_user


def _bias(v, n, dtype):
    c = None if v is None else v.const
    if c is None or c.dtype != dtype or c.size != n or c.ndim < 1 or c.shape[-1] != n:
        return None
    return c.reshape(n)


def _bias_gelu_user(v, outputs):
    """The com.microsoft BiasGelu reading ``v`` as its input A, if it is the only reader."""
    if v is None or len(v.uses) != 1 or id(v) in outputs:
        return None
    n = v.uses[0]
    ok = n.op_type == "BiasGelu" and n.domain == "com.microsoft" and n.inputs[0] is v
    return n if ok else None


def _fuse_one(graph: Graph, node: Node, outputs) -> Node | None:
    if node.op_type == "MatMul":
        w = node.inputs[1].const
        bias_gelu = _bias_gelu_user(node.outputs[0], outputs)
        if w is not None and w.ndim == 2 and w.dtype.kind == "f" and bias_gelu is not None \
                and _bias(bias_gelu.inputs[1], w.shape[1], w.dtype) is not None \
                and bias_gelu.inputs[1].const.ndim == 1:
            graph.remove_node(node)
            graph.remove_node(bias_gelu)
            return graph.add_node(Node("MatMulAdd", [node.inputs[0], node.inputs[1],
                                                     bias_gelu.inputs[1]],
                                       [bias_gelu.outputs[0]], {"activation": "gelu"},
                                       domain="ai_engine", name=node.name, opset=1))
        w = node.inputs[1].const
        if w is None or w.ndim != 2 or w.dtype.kind != "f":
            return None
        add = sole_user(node.outputs[0], outputs, "Add")
        if add is None:
            return None
        b = _bias(other_input(add, node.outputs[0]), w.shape[1], w.dtype)
        if b is None:
            return None
        # A bias with leading 1 dims may raise the output rank; keep those cases unfused.
        bias_in = other_input(add, node.outputs[0])
        if bias_in.const.ndim > 1:
            return None
        graph.remove_node(node)
        graph.remove_node(add)
        x, w_val, y = node.inputs[0], node.inputs[1], add.outputs[0]
    elif node.op_type == "Gemm":
        a = node.attrs
        if a.get("transA", 0) or not a.get("transB", 0) or a.get("alpha", 1.0) != 1.0 \
                or a.get("beta", 1.0) != 1.0 or len(node.inputs) < 3:
            return None
        w = node.inputs[1].const
        if w is None or w.ndim != 2 or w.dtype.kind != "f":
            return None
        if _bias(node.inputs[2], w.shape[0], w.dtype) is None or node.inputs[2].const.ndim != 1:
            return None
        graph.remove_node(node)
        x, y = node.inputs[0], node.outputs[0]
        w_val = graph.add_constant(f"{node.name}/weight_t", np.ascontiguousarray(w.T))
        bias_in = node.inputs[2]
    else:
        return None
    return graph.add_node(Node("MatMulAdd", [x, w_val, bias_in], [y], {},
                               domain="ai_engine", name=node.name, opset=1))


def fuse_matmul_add(graph: Graph) -> bool:
    changed = False
    outputs = output_ids(graph)
    for node in list(graph.nodes):
        if node.domain or node not in graph.nodes:
            continue
        fused = _fuse_one(graph, node, outputs)
        if fused is not None:
            changed = True
    for node in list(graph.nodes):
        if node.op_type != "MatMulAdd" or node.domain != "ai_engine" or node.attrs:
            continue
        gelu = sole_user(node.outputs[0], outputs, "Gelu")
        if gelu is None or gelu.attrs.get("approximate", "none") != "none":
            continue
        graph.remove_node(gelu)
        graph.remove_node(node)
        node.outputs = [gelu.outputs[0]]
        node.attrs = {"activation": "gelu"}
        graph.add_node(node)
        changed = True
    if changed:
        graph.sort()
    return changed
