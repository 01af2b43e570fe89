"""Operator registry: plain functions keyed by (domain, op type, since-version).

A kernel is a function ``fn(xp, *inputs, **attributes)``: ``xp`` is the array module (NumPy or
CuPy), inputs come positionally in ONNX order (an omitted optional input is ``None``), and the
ONNX attributes are keyword-only parameters whose Python defaults are the ONNX defaults::

    @register("Softmax", since=13)
    def softmax(xp, x, *, axis=-1):
        ...

A kernel returns one array, or a tuple of arrays for an op with several outputs. Lookup picks
the registration with the newest ``since`` at or below the model's opset for that domain, as
the ONNX versioning rules say (https://onnx.ai/onnx/repo-docs/Versioning.html).

The registry knows nothing of the kernels it holds: importing ``ai_engine.engine.operators``
registers the built-in ones (``binding`` does, as the layer that binds nodes to kernels).
"""

from __future__ import annotations

import bisect
import inspect
from dataclasses import dataclass, field
from typing import Callable

from ai_engine.errors import UnsupportedOperatorError

DEFAULT_DOMAIN = ""
_DOMAIN_ALIASES = {"ai.onnx": DEFAULT_DOMAIN}


def canonical_domain(domain: str) -> str:
    """``ai.onnx`` and ``""`` are the same domain."""
    return _DOMAIN_ALIASES.get(domain, domain)


@dataclass(frozen=True)
class OpDef:
    """One registered kernel.

    ``num_outputs``: the kernel takes a keyword ``n_outputs`` (how many outputs the node
    declares), for ops such as Split whose output count is not an attribute.
    ``outer_scope``: the kernel runs subgraphs (If, Loop, Scan) and takes a keyword
    ``outer_scope``: a dict of the enclosing graph's values the subgraphs read.
    """

    op_type: str
    domain: str
    since: int
    fn: Callable
    num_outputs: bool = False
    outer_scope: bool = False
    attribute_names: frozenset = field(default=frozenset())
    accepts_any_attribute: bool = False


_registry: dict[tuple[str, str], list[OpDef]] = {}


def _attribute_names(fn: Callable) -> tuple[frozenset, bool]:
    params = inspect.signature(fn).parameters.values()
    names = frozenset(p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY)
    var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
    return names - {"n_outputs", "outer_scope"}, var_kw


def register(op_type: str, since: int = 1, domain: str = DEFAULT_DOMAIN, *,
             num_outputs: bool = False, outer_scope: bool = False):
    """Register ``fn`` as the kernel of ``op_type`` from opset ``since`` on (decorator).

    Decorators may be stacked to register one function under several names or versions.
    """

    def decorate(fn: Callable) -> Callable:
        names, var_kw = _attribute_names(fn)
        op = OpDef(op_type, canonical_domain(domain), since, fn, num_outputs, outer_scope,
                   names, var_kw)
        versions = _registry.setdefault((op.domain, op_type), [])
        if any(v.since == since for v in versions):
            raise ValueError(f"{domain or 'ai.onnx'}::{op_type} since {since} registered twice")
        bisect.insort(versions, op, key=lambda v: v.since)
        return fn

    return decorate


def register_generated(name: str, kernel: Callable, since: int,
                       legacy: Callable | None = None) -> Callable:
    """Register a kernel built by a factory (the elementwise and logical families): name and
    document it after the op, register it from opset ``since``, and its opset-1 form
    ``legacy`` (old attributes such as ``broadcast`` / ``consumed_inputs``) from 1."""
    kernel.__name__ = kernel.__qualname__ = name.lower()
    kernel.__doc__ = f"{name}: https://onnx.ai/onnx/operators/onnx__{name}.html"
    register(name, since=since)(kernel)
    if legacy is not None:
        legacy.__doc__ = kernel.__doc__
        register(name, since=1)(legacy)
    return kernel


def find(op_type: str, domain: str, opset: int) -> OpDef | None:
    """The kernel for ``op_type`` at ``opset`` of ``domain``, or ``None``."""
    versions = _registry.get((canonical_domain(domain), op_type))
    if not versions:
        return None
    i = bisect.bisect_right([v.since for v in versions], opset)
    return versions[i - 1] if i else None


def lookup(op_type: str, domain: str, opset: int) -> OpDef:
    """Like :func:`find` but raises :class:`UnsupportedOperatorError` with the versions known."""
    op = find(op_type, domain, opset)
    if op is None:
        known = available_versions(op_type, domain)
        have = f"versions registered: {known}" if known else "no version registered"
        raise UnsupportedOperatorError(
            f"operator {domain or 'ai.onnx'}::{op_type} is not supported at opset {opset} "
            f"({have})", [(domain, op_type, opset, [])])
    return op


def available_versions(op_type: str, domain: str = DEFAULT_DOMAIN) -> list[int]:
    return [v.since for v in _registry.get((canonical_domain(domain), op_type), [])]


def registered_ops() -> dict[tuple[str, str], list[int]]:
    """Every registered (domain, op type) with its since-versions, for ``inspect`` and docs."""
    return {key: [v.since for v in versions] for key, versions in sorted(_registry.items())}
