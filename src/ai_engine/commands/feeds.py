"""Feeds for the CLI: ``NAME=FILE.npy`` arguments, or random inputs of the declared shapes."""

from __future__ import annotations

import os

import numpy as np

from ai_engine.core import dtypes
from ai_engine.errors import InvalidInputError


def parse_input_args(specs: list[str]) -> dict[str, np.ndarray]:
    feeds = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--input {spec!r}: expected NAME=FILE.npy")
        if not os.path.isfile(path):
            raise ValueError(f"--input {name}: file {path!r} does not exist")
        try:
            feeds[name] = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise ValueError(f"--input {name}: {path!r} is not a .npy array file: {exc}") \
                from None
    return feeds


def concrete_shape(shape, default_dim: int = 1) -> tuple[int, ...]:
    """Declared shape with symbolic or unknown dimensions replaced by ``default_dim``."""
    return tuple(d if isinstance(d, int) and d > 0 else default_dim for d in (shape or ()))


def random_feeds(graph_inputs, seed: int = 0, shapes: dict | None = None,
                 default_dim: int = 1) -> dict[str, np.ndarray]:
    """Random data of each input's declared dtype and shape; ``shapes`` overrides an input's
    shape, and symbolic dims become ``default_dim``."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for v in graph_inputs:
        if v.kind != "tensor" or not v.elem_type:
            raise InvalidInputError(f"input {v.name!r} is a {v.kind}; give it with --input")
        dtype = dtypes.to_numpy(v.elem_type)
        shape = (shapes or {}).get(v.name) or concrete_shape(v.shape, default_dim)
        if dtype == np.bool_:
            feeds[v.name] = rng.random(shape) > 0.5
        elif dtype.kind in "iu":
            feeds[v.name] = rng.integers(0, 10, shape).astype(dtype)
        elif dtype == object:
            feeds[v.name] = np.full(shape, "text", dtype=object)
        else:
            feeds[v.name] = rng.standard_normal(shape).astype(dtype)
    return feeds
