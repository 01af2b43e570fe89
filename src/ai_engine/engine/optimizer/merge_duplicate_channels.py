"""Compute each distinct output channel of a Conv once: identical channels stay identical.

Rewrite rule: ``y = Conv(x, W, B?)`` (group 1, float weights) whose constant ``W`` and ``B``
hold only ``u < M`` distinct output channels (a row of ``W`` together with its bias) becomes
``y = Gather(Conv(x, W[first], B[first]), inverse, axis=1)``, where ``first`` picks one
channel of each kind and ``inverse`` maps every original channel to its kind.

Why: BLAS kernels round a dot product differently depending on where its row falls in the
register tiles (OpenBLAS's Haswell sgemm gives rows with identical weights results one ulp
apart, in alternating blocks of six). A model whose channels are exact copies (the ONNX
``light_squeezenet`` test network: every weight constant) must still give identical
channels, as onnxruntime does; a Softmax over outputs near 1e10 turns one ulp into all the
probability mass. Computing a channel once makes copies identical by construction and saves
the duplicated work; models without duplicate channels are not touched (one hash per row at
load).
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.graph import Graph, Node


def _distinct_channels(w: np.ndarray, b: np.ndarray | None):
    """(first index of each distinct channel, channel -> distinct index) or None."""
    m = w.shape[0]
    rows = np.ascontiguousarray(w.reshape(m, -1))
    if b is not None:
        rows = np.concatenate([rows, b.reshape(m, 1).astype(rows.dtype)], axis=1)
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    if len(first) == m:
        return None
    return first, inverse.reshape(-1)


def _rewrite(graph: Graph, conv: Node) -> bool:
    if conv.op_type != "Conv" or conv.domain or conv.attrs.get("group", 1) != 1:
        return False
    w_val = conv.inputs[1]
    b_val = conv.inputs[2] if len(conv.inputs) > 2 else None
    w = w_val.const if w_val is not None else None
    b = b_val.const if b_val is not None else None
    if w is None or w.dtype.kind != "f" or w.ndim < 3 or (b_val is not None and b is None):
        return False
    found = _distinct_channels(w, b)
    if found is None:
        return False
    first, inverse = found
    order = np.argsort(first)                 # keep the channels in their first-seen order
    first = first[order]
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    name = conv.name or conv.outputs[0].name
    inputs = [conv.inputs[0], graph.add_constant(f"{name}/distinct_weight", w[first])]
    if b is not None:
        inputs.append(graph.add_constant(f"{name}/distinct_bias", b[first]))
    y = conv.outputs[0]
    distinct = graph.value(f"{y.name}/distinct_channels")
    distinct.elem_type = y.elem_type
    graph.remove_node(conv)
    graph.add_node(Node("Conv", inputs, [distinct], conv.attrs, name=conv.name,
                        opset=conv.opset))
    index = graph.add_constant(f"{name}/channel_of", rank[inverse].astype(np.int64))
    graph.add_node(Node("Gather", [distinct, index], [y], {"axis": 1},
                        name=f"{conv.name}/copy_channels", opset=conv.opset))
    return True


def merge_duplicate_channels(graph: Graph) -> bool:
    changed = False
    for node in list(graph.nodes):
        changed |= _rewrite(graph, node)
    if changed:
        graph.sort()
    return changed
