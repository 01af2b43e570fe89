"""Load an ONNX model (path, bytes or ModelProto) into the engine's Graph IR.

Checks what a malformed model gets wrong and says so with :class:`ModelLoadError`: a missing
or undecodable file, an IR or opset version this engine does not know, a node input nothing
produces, a value produced twice, a cycle, missing external data. Model-local functions
(``ModelProto.functions``) are inlined here, so the rest of the engine sees primitive ops only.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field

import onnx
from google.protobuf.message import DecodeError
from onnx import GraphProto, ModelProto, NodeProto

from ai_engine.engine.graph import Graph, Node, Value
from ai_engine.errors import ModelDecodeError, ModelFileNotFoundError, ModelLoadError
from ai_engine.formats.onnx import attributes
from ai_engine.formats.onnx.functions import FunctionInliner
from ai_engine.formats.onnx.tensors import to_array

MIN_IR_VERSION = 3
MAX_IR_VERSION = onnx.IR_VERSION
MAX_OPSET = onnx.defs.onnx_opset_version()


@dataclass
class LoadedModel:
    graph: Graph
    ir_version: int
    opsets: dict[str, int]
    producer: str = ""
    doc: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    domain: str = ""
    model_version: int = 0
    graph_doc: str = ""


def read_model(model) -> tuple[ModelProto, str | None]:
    """The ModelProto of ``model`` and the directory its external data lives in."""
    if isinstance(model, ModelProto):
        return model, None
    if isinstance(model, (bytes, bytearray, memoryview)):
        return _parse(bytes(model), "the given bytes"), None
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if not os.path.exists(path):
            raise ModelFileNotFoundError(f"model file {path!r} does not exist")
        if os.path.isdir(path):
            raise ModelLoadError(f"model path {path!r} is a directory, not an .onnx file")
        with open(path, "rb") as f:
            data = f.read()
        return _parse(data, repr(path)), os.path.dirname(os.path.abspath(path))
    raise ModelLoadError(f"cannot load a model from a {type(model).__name__}; give a path, "
                         "bytes or an onnx.ModelProto")


def _parse(data: bytes, what: str) -> ModelProto:
    if not data:
        raise ModelDecodeError(f"{what} is empty, not an ONNX model")
    proto = ModelProto()
    try:
        proto.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise ModelDecodeError(f"{what} is not a valid ONNX model (truncated or not ONNX "
                             f"protobuf): {exc}") from None
    if not proto.HasField("graph") or (not proto.graph.node and not proto.graph.output):
        raise ModelLoadError(f"{what} is not an ONNX model: it has no graph")
    return proto


def _check_versions(proto: ModelProto) -> dict[str, int]:
    if proto.ir_version < MIN_IR_VERSION or proto.ir_version > MAX_IR_VERSION:
        raise ModelLoadError(f"unsupported ONNX IR version {proto.ir_version} (this engine "
                             f"reads {MIN_IR_VERSION} to {MAX_IR_VERSION})")
    opsets = {("" if o.domain == "ai.onnx" else o.domain): int(o.version)
              for o in proto.opset_import}
    if not opsets:
        raise ModelLoadError("the model imports no operator set (opset_import is empty)")
    if "" in opsets and not 1 <= opsets[""] <= MAX_OPSET:
        raise ModelLoadError(f"unsupported opset version {opsets['']} of the default domain "
                             f"(this engine supports 1 to {MAX_OPSET})")
    return opsets


def load_model(model, fed_initializers: frozenset = frozenset()) -> LoadedModel:
    """Read, check and convert ``model`` into a :class:`LoadedModel`.

    An initializer that the graph also lists as an input (IR >= 4) is a default the caller
    may override, as in onnxruntime: it stays a constant and is listed in
    ``graph.overridable``, unless named in ``fed_initializers``, which makes it a real input.
    """
    proto, base_dir = read_model(model)
    opsets = _check_versions(proto)
    inliner = FunctionInliner(proto.functions)
    builder = _GraphBuilder(opsets, inliner, base_dir)
    graph = builder.build(proto.graph, outer_visible=frozenset())
    if proto.ir_version >= 4:
        _split_overridable(graph, proto.graph, fed_initializers)
    meta = {p.key: p.value for p in proto.metadata_props}
    return LoadedModel(graph, proto.ir_version, opsets, proto.producer_name,
                       proto.doc_string, meta, proto.domain, proto.model_version,
                       proto.graph.doc_string)


def _split_overridable(graph: Graph, gp: GraphProto, fed: frozenset) -> None:
    inits = {i.name for i in gp.initializer}
    for info in gp.input:
        if info.name not in inits:
            continue
        v = graph.values[info.name]
        if info.name in fed:
            v.const = None
            graph.inputs.append(v)
        else:
            graph.overridable.append(v)


def _value_from_info(graph: Graph, info) -> Value:
    v = graph.value(info.name)
    t = info.type
    which = t.WhichOneof("value")
    if which == "tensor_type":
        v.kind = "tensor"
        v.elem_type = t.tensor_type.elem_type or None
        if t.tensor_type.HasField("shape"):
            v.shape = tuple(d.dim_value if d.HasField("dim_value") else
                            (d.dim_param or None) for d in t.tensor_type.shape.dim)
    elif which is not None:
        v.kind = which.replace("_type", "")
    return v


class _GraphBuilder:
    def __init__(self, opsets: dict[str, int], inliner: FunctionInliner, base_dir):
        self.opsets = opsets
        self.inliner = inliner
        self.base_dir = base_dir
        self._anon = itertools.count()

    def build(self, gp: GraphProto, outer_visible: frozenset) -> Graph:
        graph = Graph(name=gp.name or "graph", opsets=dict(self.opsets))
        nodes = self.inliner.expand(list(gp.node), self.opsets)
        for init in gp.initializer:
            v = graph.value(init.name)
            v.const = to_array(init, self.base_dir)
            v.elem_type, v.shape = init.data_type, tuple(init.dims)
        for sparse in gp.sparse_initializer:
            v = graph.value(sparse.values.name)
            v.const = attributes._sparse_to_dense(sparse)
            v.elem_type, v.shape = sparse.values.data_type, tuple(sparse.dims)
        for info in gp.input:
            v = _value_from_info(graph, info)
            if not v.is_const:  # IR < 4 lists initializers as inputs too: they stay constants
                graph.inputs.append(v)
        for info in gp.value_info:
            _value_from_info(graph, info)
        defined = self._defined_names(graph, nodes)
        visible = outer_visible | defined
        outer: dict[str, None] = {}
        for np_, node_opsets in nodes:
            graph.add_node(self._node(graph, np_, node_opsets, defined, visible, outer))
        for info in gp.output:
            v = _value_from_info(graph, info)
            if v.name not in defined:
                if v.name in outer_visible:
                    outer[v.name] = None
                else:
                    raise ModelLoadError(f"graph output {v.name!r} is not produced by any node")
            graph.outputs.append(v)
        graph.outer_names = list(outer)
        try:
            graph.sort()
        except ValueError as exc:
            raise ModelLoadError(str(exc)) from None
        return graph

    def _defined_names(self, graph: Graph, nodes: list[NodeProto]) -> frozenset:
        names = {v.name for v in graph.inputs} | {n for n, v in graph.values.items()
                                                  if v.is_const}
        for np_, _ in nodes:
            for out in np_.output:
                if not out:
                    continue
                if out in names:
                    raise ModelLoadError(f"value {out!r} is produced twice (again by "
                                         f"{np_.op_type} node {np_.name!r})")
                names.add(out)
        return frozenset(names)

    def _node(self, graph: Graph, np_: NodeProto, opsets, defined, visible, outer) -> Node:
        domain = "" if np_.domain == "ai.onnx" else np_.domain
        name = np_.name or f"{np_.op_type}_{next(self._anon)}"
        inputs = []
        for inp in np_.input:
            if not inp:
                inputs.append(None)
                continue
            if inp not in visible:
                raise ModelLoadError(f"input {inp!r} of {np_.op_type} node {name!r} is not "
                                     "produced by any node, nor a graph input or initializer")
            if inp not in defined:
                outer[inp] = None
            inputs.append(graph.value(inp))
        outputs = [graph.value(o) if o else None for o in np_.output]
        attrs, implicit = {}, {}
        for a in np_.attribute:
            def subgraph(gp, _visible=visible):
                sub = self.build(gp, outer_visible=_visible)
                implicit.update(dict.fromkeys(sub.outer_names))
                return sub
            try:
                attrs[a.name] = attributes.convert(a, subgraph)
            except ModelLoadError:
                raise
            except Exception as exc:
                raise ModelLoadError(f"attribute {a.name!r} of {np_.op_type} node {name!r} "
                                     f"is malformed: {exc}") from None
        node = Node(np_.op_type, inputs, outputs, attrs, domain=domain, name=name,
                    opset=opsets.get(domain, 0))
        for n in implicit:
            if n not in defined:
                outer[n] = None
            node.implicit_inputs.append(graph.value(n))
        return node
