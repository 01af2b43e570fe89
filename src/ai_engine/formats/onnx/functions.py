"""Inline model-local functions (``ModelProto.functions``) into the calling graph.

A call node ``(domain, op_type)`` matching a FunctionProto is replaced by the function's nodes
with formal inputs/outputs renamed to the call's actual ones, internal names made unique, and
attribute references (``ref_attr_name``) resolved to the call's attributes or the function's
defaults (https://onnx.ai/onnx/repo-docs/IR.html#functions). Inlined nodes keep the opsets the
function imports.
"""

from __future__ import annotations

import itertools

from onnx import AttributeProto, FunctionProto, NodeProto

from ai_engine.errors import ModelLoadError

_MAX_DEPTH = 64


def _canon(domain: str) -> str:
    return "" if domain == "ai.onnx" else domain


class FunctionInliner:
    def __init__(self, functions):
        self.functions: dict[tuple[str, str], FunctionProto] = {
            (_canon(f.domain), f.name): f for f in functions}
        self._uid = itertools.count()

    def expand(self, nodes: list[NodeProto], opsets: dict[str, int], depth: int = 0):
        """``[(node, opsets_for_node)]`` with every local-function call inlined."""
        out = []
        for node in nodes:
            fn = self.functions.get((_canon(node.domain), node.op_type))
            if fn is None:
                out.append((node, opsets))
                continue
            if depth >= _MAX_DEPTH:
                raise ModelLoadError(f"function {node.op_type!r} calls itself too deeply "
                                     "(recursive functions are not allowed)")
            fn_opsets = {_canon(o.domain): o.version for o in fn.opset_import} or opsets
            out.extend(self.expand(self._instantiate(node, fn), fn_opsets, depth + 1))
        return out

    def _instantiate(self, call: NodeProto, fn: FunctionProto) -> list[NodeProto]:
        prefix = f"{call.name or fn.name}__{next(self._uid)}/"
        rename = {formal: actual for formal, actual in zip(fn.input, call.input)}
        rename.update({formal: "" for formal in fn.input[len(call.input):]})
        rename.update(zip(fn.output, call.output))
        given = {a.name: a for a in call.attribute}
        defaults = {a.name: a for a in fn.attribute_proto}
        body = []
        for fnode in fn.node:
            node = NodeProto()
            node.CopyFrom(fnode)
            node.name = prefix + (fnode.name or fnode.op_type)
            node.ClearField("input")
            node.ClearField("output")
            node.input.extend(rename.get(i, prefix + i) if i else "" for i in fnode.input)
            node.output.extend(rename.get(o, prefix + o) if o else "" for o in fnode.output)
            node.ClearField("attribute")
            for attr in fnode.attribute:
                resolved = self._resolve(attr, given, defaults)
                if resolved is not None:
                    node.attribute.append(resolved)
            body.append(node)
        return body

    @staticmethod
    def _resolve(attr: AttributeProto, given, defaults) -> AttributeProto | None:
        if not attr.ref_attr_name:
            return attr
        source = given.get(attr.ref_attr_name) or defaults.get(attr.ref_attr_name)
        if source is None:
            return None  # the function leaves it unset: the op's own default applies
        resolved = AttributeProto()
        resolved.CopyFrom(source)
        resolved.name = attr.name
        return resolved
