"""Multiply-add work of a model at batch 1, counted from its ONNX graph (for the big/small split).

Counts 2 FLOPs per multiply-add in Conv, ConvTranspose, MatMul, Gemm and their integer forms,
LSTM and GRU; the elementwise work is left out (it is small beside them in every model here).
Shapes come from onnxruntime's symbolic shape inference (it follows the Shape -> Reshape
chains that ``onnx.shape_inference`` leaves unknown) on a copy with the inputs' shapes set to
those of the batch-1 feeds; a dimension still symbolic inside a subgraph is the batch, counted
as 1. Of an ``If``, only the then-branch is counted (the branch the benchmark's feeds take);
Loop and Scan bodies are not counted (no model here has one).
"""

from __future__ import annotations

import math

import onnx


def _with_input_shapes(model: onnx.ModelProto, shapes: dict) -> onnx.ModelProto:
    model = onnx.ModelProto.FromString(model.SerializeToString())
    for value in model.graph.input:
        if value.name in shapes:
            for dim, size in zip(value.type.tensor_type.shape.dim, shapes[value.name]):
                dim.dim_value = size
    return model


def _shapes(graph: onnx.GraphProto, known: dict) -> dict:
    for v in list(graph.input) + list(graph.value_info) + list(graph.output):
        if v.type.tensor_type.HasField("shape"):
            dims = v.type.tensor_type.shape.dim
            known[v.name] = [d.dim_value if d.HasField("dim_value") else 1 for d in dims]
    for init in graph.initializer:
        known[init.name] = list(init.dims)
    return known


def _node_flops(node, shape) -> float:
    op = node.op_type
    if op in ("Conv", "ConvInteger", "QLinearConv"):
        w_index = 3 if op == "QLinearConv" else 1
        out, w = shape(node.output[0]), shape(node.input[w_index])
        return 2.0 * math.prod(out) * math.prod(w[1:]) if out and w else 0.0
    if op == "ConvTranspose":
        x, w = shape(node.input[0]), shape(node.input[1])
        return 2.0 * math.prod(x) * math.prod(w[1:]) if x and w else 0.0
    if op in ("MatMul", "MatMulInteger", "Gemm", "QLinearMatMul"):
        out, a = shape(node.output[0]), shape(node.input[0])
        if not out or not a:
            return 0.0
        transposed = op == "Gemm" and any(at.name == "transA" and at.i for at in node.attribute)
        k = a[-2] if transposed else a[-1]
        return 2.0 * math.prod(out) * k
    if op in ("LSTM", "GRU"):
        x, w, r = shape(node.input[0]), shape(node.input[1]), shape(node.input[2])
        if not x or not w or not r:
            return 0.0
        steps, batch = x[0], x[1]  # ONNX layout (seq, batch, features)
        # W is (directions, gates * hidden, input), R is (directions, gates * hidden, hidden)
        return 2.0 * steps * batch * w[0] * w[1] * (w[2] + r[2])
    return 0.0


def count_gflop(path: str, input_shapes: dict[str, tuple[int, ...]]) -> float:
    """GFLOP of one run with inputs of ``input_shapes``."""
    from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference

    model = SymbolicShapeInference.infer_shapes(
        _with_input_shapes(onnx.load(path), input_shapes), auto_merge=True)
    return _graph_flops(model.graph, {}) / 1e9


def _graph_flops(graph: onnx.GraphProto, outer: dict) -> float:
    known = _shapes(graph, dict(outer))
    total = 0.0
    for node in graph.node:
        total += _node_flops(node, known.get)
        for attr in node.attribute:
            if attr.name == "then_branch":
                total += _graph_flops(attr.g, known)
    return total
