"""JSON tensor data (KServe V2 REST, "Tensor Data"): nested or flat row-major lists.

Decoding is strict on purpose: NumPy would quietly turn ``"1.5"`` into a float, ``300`` into
``44`` for UINT8 and a ragged list into an object array; each of those is a 400 here, naming
the input and what was wrong, because a silently converted tensor is a wrong answer.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

from ai_engine.network import datatypes
from ai_engine.network.errors import BadRequestError
from ai_engine.network.tensor_limits import RequestBudget


def decode(name: str, datatype: str, shape, data, budget: RequestBudget) -> np.ndarray:
    """The array of a JSON tensor; ``shape`` is checked and counted in ``budget`` first, and
    the data must hold exactly its element count."""
    dtype = datatypes.to_numpy(datatype)
    shape = budget.shape(name, shape)
    count = budget.declare(name, shape, 0 if datatype == "BYTES" else dtype.itemsize)
    if not isinstance(data, list):
        data = [data]
    if datatype == "BYTES":
        flat = _decode_bytes(name, data, count)
        budget.add_bytes(name, sum(len(v) for v in flat))
    else:
        _check_nesting(name, data, len(shape))
        flat = _decode_numbers(name, datatype, dtype, data)
    if flat.size != count:
        raise BadRequestError(f"input {name!r}: shape {list(shape)} needs {count} elements, "
                              f"data has {flat.size}")
    return flat.reshape(shape)


def _check_nesting(name: str, data: list, rank: int) -> None:
    """Data is flat or nested like the shape; deeper nesting is refused before NumPy sees it
    (NumPy would build an object array, or fail past 64 levels)."""
    depth, item = 0, data
    while isinstance(item, list):
        depth += 1
        item = item[0] if item else None
    if depth > max(rank, 1):
        raise BadRequestError(f"input {name!r}: data is nested {depth} levels deep, its shape "
                              f"has {rank} dims")


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
    with np.errstate(over="ignore"):
        out = raw.astype(dtype)
    # JSON has no Infinity, so an infinite result is a finite value too large for the type
    # (1e300 as FP32): refused rather than silently turned into inf.
    if datatype in ("FP16", "FP32", "BF16") and raw.size \
            and np.isinf(out.astype(np.float32)).any():
        raise BadRequestError(f"input {name!r}: value out of range for {datatype} (largest "
                              f"finite is {float(_finfo_max(dtype)):g})")
    return out


def _finfo_max(dtype: np.dtype):
    return ml_dtypes.finfo(dtype).max if dtype == ml_dtypes.bfloat16 else np.finfo(dtype).max


def _kind_name(kind: str) -> str:
    return {"b": "booleans", "i": "integers", "u": "integers", "f": "floats",
            "U": "strings", "O": "mixed or nested values"}.get(kind, f"kind {kind!r}")


def _decode_bytes(name: str, data: list, count: int) -> np.ndarray:
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
            if len(flat) == count:
                raise BadRequestError(f"input {name!r}: data has more than the {count} "
                                      f"elements its shape declares")
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
