"""Bind a node to its kernel once, at load time: lookup, attribute check, keyword arguments."""

from __future__ import annotations

import inspect

from ai_engine.engine import operators  # noqa: F401  (registers the built-in kernels)
from ai_engine.engine import registry
from ai_engine.engine.graph import Graph, Node
from ai_engine.errors import ModelLoadError, UnsupportedOperatorError


def unsupported_ops(graph: Graph) -> list[tuple[str, str, int, list[str]]]:
    """Every (domain, op type, opset) of ``graph`` and its subgraphs that has no kernel."""
    missing: dict[tuple[str, str, int], list[str]] = {}
    for node in iter_nodes(graph):
        if registry.find(node.op_type, node.domain, node.opset) is None:
            missing.setdefault((node.domain, node.op_type, node.opset), []).append(node.name)
    return [(d, op, v, names) for (d, op, v), names in missing.items()]


def check_supported(graph: Graph) -> None:
    """Raise one :class:`UnsupportedOperatorError` listing every unsupported operator."""
    missing = unsupported_ops(graph)
    if not missing:
        return
    lines = []
    for domain, op, opset, names in missing:
        known = registry.available_versions(op, domain)
        have = f"have versions {known}" if known else "not implemented"
        shown = ", ".join(repr(n) for n in names[:5]) + (" ..." if len(names) > 5 else "")
        lines.append(f"{domain or 'ai.onnx'}::{op} (opset {opset}; {have}) in nodes {shown}")
    raise UnsupportedOperatorError(
        f"the model uses {len(missing)} unsupported operator(s): " + "; ".join(lines), missing)


def iter_nodes(graph: Graph):
    """All nodes of ``graph`` and, depth first, of the subgraphs in their attributes."""
    for node in graph.nodes:
        yield node
        for sub in subgraphs(node):
            yield from iter_nodes(sub)


def subgraphs(node: Node) -> list[Graph]:
    found = []
    for value in node.attrs.values():
        if isinstance(value, Graph):
            found.append(value)
        elif isinstance(value, tuple) and value and isinstance(value[0], Graph):
            found.extend(value)
    return found


def bind(node: Node) -> tuple[registry.OpDef, dict]:
    """The kernel of ``node`` and its keyword arguments (subgraphs still as Graphs).

    Fails with :class:`ModelLoadError` on an attribute the op does not have or a required
    attribute that is missing, naming the node.
    """
    op = registry.find(node.op_type, node.domain, node.opset)
    if op is None:
        raise UnsupportedOperatorError(
            f"{node.describe()}: operator not supported at opset {node.opset}",
            [(node.domain, node.op_type, node.opset, [node.name])])
    kwargs = dict(node.attrs)
    if not op.accepts_any_attribute:
        unknown = sorted(set(kwargs) - op.attribute_names)
        if unknown:
            raise ModelLoadError(f"{node.describe()} (opset {node.opset}) has attribute(s) "
                                 f"{unknown} that the op does not define; it takes "
                                 f"{sorted(op.attribute_names)}")
        missing = [name for name in _required(op.fn) if name not in kwargs]
        if missing:
            raise ModelLoadError(f"{node.describe()} is missing required attribute(s) "
                                 f"{missing}")
    if op.num_outputs:
        kwargs["n_outputs"] = len(node.outputs)
    return op, kwargs


def _required(fn) -> list[str]:
    return [p.name for p in inspect.signature(fn).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty
            and p.name not in ("n_outputs", "outer_scope")]
