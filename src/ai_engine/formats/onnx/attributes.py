"""AttributeProto -> Python values, as kernels receive them (docs/kernels.md).

INT -> int, FLOAT -> float, STRING -> str, TENSOR -> ndarray, INTS/FLOATS/STRINGS -> tuples,
SPARSE_TENSOR -> dense ndarray, GRAPH -> engine Graph (compiled later by the executor),
TYPE_PROTO -> the TypeProto itself.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from onnx import AttributeProto, numpy_helper

from ai_engine.formats.onnx.tensors import to_array

A = AttributeProto


def _sparse_to_dense(sparse) -> np.ndarray:
    values = to_array(sparse.values)
    indices = to_array(sparse.indices).astype(np.int64)
    dims = tuple(sparse.dims)
    dense = np.zeros(int(np.prod(dims, dtype=np.int64)), dtype=values.dtype)
    if indices.ndim == 2:  # [nnz, rank] coordinates
        indices = np.ravel_multi_index(tuple(indices.T), dims)
    dense[indices] = values
    return dense.reshape(dims)


def convert(attr: AttributeProto, subgraph: Callable) -> object:
    """Python value of ``attr``; ``subgraph(GraphProto)`` converts graph attributes."""
    t = attr.type
    if t == A.INT:
        return int(attr.i)
    if t == A.FLOAT:
        return float(attr.f)
    if t == A.STRING:
        return attr.s.decode("utf-8")
    if t == A.INTS:
        return tuple(int(i) for i in attr.ints)
    if t == A.FLOATS:
        return tuple(float(f) for f in attr.floats)
    if t == A.STRINGS:
        return tuple(s.decode("utf-8") for s in attr.strings)
    if t == A.TENSOR:
        return to_array(attr.t)
    if t == A.TENSORS:
        return tuple(to_array(x) for x in attr.tensors)
    if t == A.SPARSE_TENSOR:
        return _sparse_to_dense(attr.sparse_tensor)
    if t == A.GRAPH:
        return subgraph(attr.g)
    if t == A.GRAPHS:
        return tuple(subgraph(g) for g in attr.graphs)
    if t == A.TYPE_PROTO:
        return attr.tp
    if t == A.TYPE_PROTOS:
        return tuple(attr.type_protos)
    raise ValueError(f"attribute {attr.name!r} has unknown type {t}")


__all__ = ["convert", "numpy_helper"]
