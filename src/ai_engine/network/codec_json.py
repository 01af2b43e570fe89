"""JSON tensor data (KServe V2 REST, "Tensor Data"): nested or flat row-major lists.

Decoding is strict on purpose: NumPy would quietly turn ``"1.5"`` into a float, ``300`` into
``44`` for UINT8 and a ragged list into an object array; each of those is a 400 here, naming
the input and what was wrong, because a silently converted tensor is a wrong answer.
"""

from __future__ import annotations

import math

import numpy as np

from ai_engine.network import datatypes
from ai_engine.network.errors import BadRequestError


def check_shape(name: str, shape) -> tuple[int, ...]:
    if (not isinstance(shape, (list, tuple))
            or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                       for d in shape)):
        raise BadRequestError(f"input {name!r}: shape must be a list of non-negative "
                              f"integers, got {shape!r}")
    return tuple(shape)


def decode(name: str, datatype: str, shape, data) -> np.ndarray:
    """The array of a JSON tensor; its element count must match ``shape``."""
    dtype = datatypes.to_numpy(datatype)
    shape = check_shape(name, shape)
    if not isinstance(data, list):
        data = [data]
    if datatype == "BYTES":
        flat = _decode_bytes(name, data)
    else:
        flat = _decode_numbers(name, datatype, dtype, data)
    if flat.size != math.prod(shape):
        raise BadRequestError(f"input {name!r}: shape {list(shape)} needs "
                              f"{math.prod(shape)} elements, data has {flat.size}")
    return flat.reshape(shape)


def _decode_numbers(name: str, datatype: str, dtype: np.dtype, data: list) -> np.ndarray:
    try:
        raw = np.asarray(data)
    except ValueError:
        raise BadRequestError(f"input {name!r}: data is ragged (nested lists of different "
                              f"lengths)") from None
    raw = raw.reshape(-1)
    kind = raw.dtype.kind
    if raw.size and datatype == "BOOL" and kind != "b":
        raise BadRequestError(f"input {name!r}: BOOL data must be true/false, got "
                              f"{_kind_name(kind)}")
    if raw.size and datatype != "BOOL" and kind not in ("iu" if dtype.kind in "iu" else "iuf"):
        raise BadRequestError(f"input {name!r}: {datatype} data must be "
                              f"{'integers' if dtype.kind in 'iu' else 'numbers'}, got "
                              f"{_kind_name(kind)}")
    if dtype.kind in "iu" and raw.size:
        info = np.iinfo(dtype)
        if int(raw.min()) < info.min or int(raw.max()) > info.max:
            raise BadRequestError(f"input {name!r}: value out of range for {datatype} "
                                  f"[{info.min}, {info.max}]")
    return raw.astype(dtype)


def _kind_name(kind: str) -> str:
    return {"b": "booleans", "i": "integers", "u": "integers", "f": "floats",
            "U": "strings", "O": "mixed or nested values"}.get(kind, f"kind {kind!r}")


def _decode_bytes(name: str, data: list) -> np.ndarray:
    flat: list = []
    stack = [iter(data)]
    while stack:  # iterative flatten: deep nesting in hostile JSON must not recurse
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            if not isinstance(item, str):
                raise BadRequestError(f"input {name!r}: BYTES data must be strings, got "
                                      f"{type(item).__name__}")
            flat.append(item)
        else:
            stack.pop()
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out


def encode(array: np.ndarray) -> tuple[str, list[int], list]:
    """``(datatype, shape, flat data)`` of an output array for a JSON response."""
    datatype = datatypes.from_numpy(array.dtype)
    flat = array.reshape(-1)
    if datatype == "BYTES":
        data = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                for v in flat]
    elif datatype == "BF16":
        data = flat.astype(np.float32).tolist()
    else:
        data = flat.tolist()
    return datatype, list(array.shape), data
