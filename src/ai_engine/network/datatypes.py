"""KServe V2 tensor datatypes <-> NumPy dtypes and ONNX element types.

KServe V2, "Tensor Data Types": BOOL, UINT8..UINT64, INT8..INT64, FP16, FP32, FP64, BYTES;
Triton adds BF16 (binary tensor data only, but JSON numbers are accepted here too).
BYTES tensors are NumPy ``object`` arrays; the engine wants ``str`` elements (ONNX STRING).
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
from onnx import TensorProto

from ai_engine.network.errors import BadRequestError

_BY_NAME: dict[str, np.dtype] = {
    "BOOL": np.dtype(np.bool_), "UINT8": np.dtype(np.uint8), "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32), "UINT64": np.dtype(np.uint64), "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16), "INT32": np.dtype(np.int32), "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16), "FP32": np.dtype(np.float32), "FP64": np.dtype(np.float64),
    "BF16": np.dtype(ml_dtypes.bfloat16), "BYTES": np.dtype(object),
}
_BY_DTYPE = {v: k for k, v in _BY_NAME.items()}

_BY_ONNX = {
    TensorProto.BOOL: "BOOL", TensorProto.UINT8: "UINT8", TensorProto.UINT16: "UINT16",
    TensorProto.UINT32: "UINT32", TensorProto.UINT64: "UINT64", TensorProto.INT8: "INT8",
    TensorProto.INT16: "INT16", TensorProto.INT32: "INT32", TensorProto.INT64: "INT64",
    TensorProto.FLOAT16: "FP16", TensorProto.FLOAT: "FP32", TensorProto.DOUBLE: "FP64",
    TensorProto.BFLOAT16: "BF16", TensorProto.STRING: "BYTES",
}

# The seed's /api/v1 spells dtypes the NumPy way ("float32"); accept both spellings there.
_NUMPY_NAMES = {"bool": "BOOL", "uint8": "UINT8", "uint16": "UINT16", "uint32": "UINT32",
                "uint64": "UINT64", "int8": "INT8", "int16": "INT16", "int32": "INT32",
                "int64": "INT64", "float16": "FP16", "float32": "FP32", "float64": "FP64",
                "bfloat16": "BF16", "string": "BYTES"}

_FROM_KSERVE = {v: k for k, v in _NUMPY_NAMES.items()}


def to_numpy(datatype: str) -> np.dtype:
    """NumPy dtype of a KServe datatype; 400 naming the valid ones otherwise."""
    try:
        return _BY_NAME[datatype]
    except (KeyError, TypeError):
        raise BadRequestError(f"unknown datatype {datatype!r}; expected one of "
                              f"{sorted(_BY_NAME)}") from None


def from_numpy(dtype) -> str:
    dtype = np.dtype(dtype)
    if dtype.kind in "USO":
        return "BYTES"
    try:
        return _BY_DTYPE[dtype]
    except KeyError:
        raise BadRequestError(f"dtype {dtype} has no KServe datatype") from None


def from_onnx(elem_type: int | None) -> str:
    """KServe spelling of an ONNX element type (``"UNKNOWN"`` when not expressible)."""
    return _BY_ONNX.get(elem_type, "UNKNOWN")


def from_any(name: str) -> str:
    """A KServe datatype from either its own name or a NumPy name (``float32``)."""
    if not isinstance(name, str):
        raise BadRequestError(f"dtype must be a string, got {type(name).__name__}")
    if name in _BY_NAME:
        return name
    if name.lower() in _NUMPY_NAMES:
        return _NUMPY_NAMES[name.lower()]
    raise BadRequestError(f"unknown dtype {name!r}; expected one of {sorted(_NUMPY_NAMES)} "
                          f"or {sorted(_BY_NAME)}")


def triton_config_type(datatype: str) -> str:
    """Triton model-config spelling: FP32 -> TYPE_FP32, BYTES -> TYPE_STRING."""
    return "TYPE_STRING" if datatype == "BYTES" else f"TYPE_{datatype}"


def numpy_name(datatype: str) -> str:
    """The /api/v1 spelling: FP32 -> float32, BYTES -> string."""
    return _FROM_KSERVE[datatype]
