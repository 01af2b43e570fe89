"""The engine's Graph IR -> an ONNX ModelProto (``SessionOptions.optimized_model_filepath``).

The inverse of loader.py and attributes.py: nodes keep their op type, domain and name;
constants (initializers and the constants the optimizer folded) become initializers;
attributes go back to their AttributeProto types (int/bool -> INT, float -> FLOAT, str ->
STRING, ndarray -> TENSOR, Graph -> GRAPH, tuples -> INTS/FLOATS/STRINGS/TENSORS/GRAPHS).
Fused nodes the optimizer made are in the ``ai_engine`` domain (imported at version 1), so
the written model loads back into ai-engine; other runtimes do not know that domain, as
onnxruntime's optimized models with ``com.microsoft`` ops run only on onnxruntime.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import AttributeProto, GraphProto, ModelProto, TypeProto, ValueInfoProto, helper
from onnx import numpy_helper

from ai_engine.engine.graph import Graph, Node, Value
from ai_engine.errors import EngineError

A = AttributeProto


def graph_to_model(graph: Graph, ir_version: int, producer: str = "ai-engine") -> ModelProto:
    """A ModelProto of ``graph`` that :func:`ai_engine.formats.onnx.loader.load_model` reads."""
    opsets = dict(graph.opsets)
    for node in _all_nodes(graph):
        if node.domain not in opsets:
            opsets[node.domain] = max(1, node.opset)
    model = helper.make_model(
        _graph_proto(graph, outer=frozenset()), producer_name=producer,
        opset_imports=[helper.make_opsetid(d, v) for d, v in sorted(opsets.items())])
    model.ir_version = max(ir_version, 4)  # initializers are not repeated as inputs
    return model


def save(graph: Graph, path: str, ir_version: int) -> None:
    """Write ``graph`` to ``path`` as an ONNX file."""
    onnx.save_model(graph_to_model(graph, ir_version), path)


def _all_nodes(graph: Graph):
    for node in graph.nodes:
        yield node
        for value in node.attrs.values():
            subs = value if isinstance(value, tuple) else (value,)
            for sub in subs:
                if isinstance(sub, Graph):
                    yield from _all_nodes(sub)


def _graph_proto(graph: Graph, outer: frozenset) -> GraphProto:
    used: dict[str, Value] = {}
    for node in graph.nodes:
        for v in node.all_inputs():
            used[v.name] = v
    for v in graph.outputs:
        used[v.name] = v
    inputs = {v.name for v in graph.inputs}
    initializers = [numpy_helper.from_array(np.asarray(v.const), v.name)
                    for name, v in used.items()
                    if v.const is not None and name not in inputs and name not in outer]
    produced = {v.name for n in graph.nodes for v in n.outputs if v is not None}
    visible = outer | inputs | produced | {t.name for t in initializers}
    nodes = [_node_proto(node, visible) for node in graph.nodes]
    value_info = [_value_info(v) for name, v in graph.values.items()
                  if name in produced and v.kind == "tensor" and v.elem_type
                  and v not in graph.outputs]
    return helper.make_graph(nodes, graph.name, [_value_info(v) for v in graph.inputs],
                             [_value_info(v) for v in graph.outputs], initializers,
                             value_info=value_info)


def _node_proto(node: Node, visible: frozenset):
    proto = helper.make_node(node.op_type, [v.name if v is not None else "" for v in node.inputs],
                             [v.name if v is not None else "" for v in node.outputs],
                             name=node.name, domain=node.domain)
    for key, value in sorted(node.attrs.items()):
        proto.attribute.append(_attribute(node, key, value, visible))
    return proto


def _value_info(v: Value) -> ValueInfoProto:
    info = ValueInfoProto(name=v.name)
    if v.kind == "tensor" and v.elem_type:
        shape = None if v.shape is None else [d if isinstance(d, (int, str)) else None
                                              for d in v.shape]
        return helper.make_tensor_value_info(v.name, v.elem_type, shape)
    if v.kind in ("sequence", "optional"):
        inner = TypeProto()
        inner.tensor_type.elem_type = v.elem_type or 0
        getattr(info.type, f"{v.kind}_type").elem_type.CopyFrom(inner)
    return info


def _attribute(node: Node, key: str, value, visible: frozenset) -> AttributeProto:
    def subgraph(g: Graph) -> GraphProto:
        return _graph_proto(g, outer=visible)

    attr = AttributeProto(name=key)
    if isinstance(value, (bool, int, np.integer)):
        attr.type, attr.i = A.INT, int(value)
    elif isinstance(value, (float, np.floating)):
        attr.type, attr.f = A.FLOAT, float(value)
    elif isinstance(value, str):
        attr.type, attr.s = A.STRING, value.encode("utf-8")
    elif isinstance(value, np.ndarray):
        attr.type = A.TENSOR
        attr.t.CopyFrom(numpy_helper.from_array(value))
    elif isinstance(value, Graph):
        attr.type = A.GRAPH
        attr.g.CopyFrom(subgraph(value))
    elif isinstance(value, TypeProto):
        attr.type = A.TYPE_PROTO
        attr.tp.CopyFrom(value)
    elif isinstance(value, (tuple, list)):
        _list_attribute(attr, tuple(value), subgraph)
    else:
        raise EngineError(f"cannot write attribute {key!r} of {node.describe()} to ONNX: "
                          f"a {type(value).__name__} has no AttributeProto type")
    return attr


def _list_attribute(attr: AttributeProto, items: tuple, subgraph) -> None:
    if all(isinstance(x, (bool, int, np.integer)) for x in items):  # also the empty tuple
        attr.type = A.INTS
        attr.ints.extend(int(x) for x in items)
    elif all(isinstance(x, (int, float, np.integer, np.floating)) for x in items):
        attr.type = A.FLOATS
        attr.floats.extend(float(x) for x in items)
    elif all(isinstance(x, str) for x in items):
        attr.type = A.STRINGS
        attr.strings.extend(x.encode("utf-8") for x in items)
    elif all(isinstance(x, np.ndarray) for x in items):
        attr.type = A.TENSORS
        attr.tensors.extend(numpy_helper.from_array(x) for x in items)
    elif all(isinstance(x, Graph) for x in items):
        attr.type = A.GRAPHS
        attr.graphs.extend(subgraph(g) for g in items)
    elif all(isinstance(x, TypeProto) for x in items):
        attr.type = A.TYPE_PROTOS
        attr.type_protos.extend(items)
    else:
        raise EngineError(f"cannot write attribute {attr.name!r} to ONNX: its items "
                          f"{sorted({type(x).__name__ for x in items})} are of mixed types")
