"""Check feeds against the model's declared inputs before anything runs.

An unknown or missing input, a wrong element type, a wrong rank or a fixed dimension that
differs raises :class:`InvalidInputError` naming the input, what the model expects and what
was given. Symbolic dimensions (``"batch"``) accept any size.
"""

from __future__ import annotations

import numpy as np

from ai_engine.core import dtypes
from ai_engine.engine.graph import Value
from ai_engine.errors import InvalidInputError


def _describe_shape(shape) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


class FeedValidator:
    def __init__(self, inputs: list[Value]):
        self.names = [v.name for v in inputs]
        self.specs = []
        for v in inputs:
            dtype = None
            if v.kind == "tensor" and v.elem_type:
                try:
                    dtype = dtypes.to_numpy(v.elem_type)
                except ValueError:
                    dtype = None
            self.specs.append((v.name, v.kind, dtype, v.shape))
        self.known = frozenset(self.names)

    def check(self, feeds: dict, xp=np) -> list:
        """The feeds in input order, converted to arrays; raises on any mismatch."""
        if not isinstance(feeds, dict):
            raise InvalidInputError(f"feeds must be a dict of input name -> array, not "
                                    f"{type(feeds).__name__}")
        unknown = [k for k in feeds if k not in self.known]
        if unknown:
            raise InvalidInputError(f"unknown input(s) {unknown}; the model's inputs are "
                                    f"{self.names}")
        values = []
        for name, kind, dtype, shape in self.specs:
            if name not in feeds:
                raise InvalidInputError(f"input {name!r} is missing; the model's inputs are "
                                        f"{self.names}")
            value = feeds[name]
            if kind == "tensor":
                value = self._check_tensor(name, dtype, shape, value, xp)
            values.append(value)
        return values

    @staticmethod
    def _check_tensor(name, dtype, shape, value, xp):
        if not hasattr(value, "dtype") or not hasattr(value, "shape"):
            try:
                value = np.asarray(value, dtype=dtype)
            except (TypeError, ValueError) as exc:
                what = dtypes.onnx_name(dtypes.to_onnx(dtype)) if dtype is not None else "it"
                raise InvalidInputError(f"input {name!r}: cannot make an array of {what}: "
                                        f"{exc}") from None
        if dtype is not None and value.dtype != dtype:
            if not (dtype == object and value.dtype.kind in "UO"):
                raise InvalidInputError(
                    f"input {name!r} expects element type {dtype} "
                    f"(tensor({dtypes.onnx_name(dtypes.to_onnx(dtype)).lower()})), "
                    f"got {value.dtype}")
            if value.dtype.kind == "U":
                value = value.astype(object)
        if shape is not None:
            if value.ndim != len(shape):
                raise InvalidInputError(
                    f"input {name!r} expects rank {len(shape)} shape {_describe_shape(shape)}, "
                    f"got rank {value.ndim} shape {list(value.shape)}")
            for axis, (want, got) in enumerate(zip(shape, value.shape)):
                if isinstance(want, int) and want > 0 and want != got:
                    raise InvalidInputError(
                        f"input {name!r} expects dimension {axis} to be {want} (shape "
                        f"{_describe_shape(shape)}), got shape {list(value.shape)}")
        if xp is not np and isinstance(value, np.ndarray):
            value = xp.asarray(value)
        return value
