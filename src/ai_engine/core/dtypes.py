"""ONNX element types <-> NumPy dtypes.

The ONNX ``TensorProto.DataType`` enum (https://onnx.ai/onnx/api/mapping.html) maps onto NumPy
dtypes; the types NumPy lacks (bfloat16, the float8/float4/int4 families) come from
``ml_dtypes``. Strings are NumPy ``object`` arrays of Python ``str``, as in onnxruntime.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
from onnx import TensorProto

_ONNX_TO_NUMPY: dict[int, np.dtype] = {
    TensorProto.FLOAT: np.dtype(np.float32),
    TensorProto.UINT8: np.dtype(np.uint8),
    TensorProto.INT8: np.dtype(np.int8),
    TensorProto.UINT16: np.dtype(np.uint16),
    TensorProto.INT16: np.dtype(np.int16),
    TensorProto.INT32: np.dtype(np.int32),
    TensorProto.INT64: np.dtype(np.int64),
    TensorProto.STRING: np.dtype(object),
    TensorProto.BOOL: np.dtype(np.bool_),
    TensorProto.FLOAT16: np.dtype(np.float16),
    TensorProto.DOUBLE: np.dtype(np.float64),
    TensorProto.UINT32: np.dtype(np.uint32),
    TensorProto.UINT64: np.dtype(np.uint64),
    TensorProto.COMPLEX64: np.dtype(np.complex64),
    TensorProto.COMPLEX128: np.dtype(np.complex128),
    TensorProto.BFLOAT16: np.dtype(ml_dtypes.bfloat16),
    TensorProto.FLOAT8E4M3FN: np.dtype(ml_dtypes.float8_e4m3fn),
    TensorProto.FLOAT8E4M3FNUZ: np.dtype(ml_dtypes.float8_e4m3fnuz),
    TensorProto.FLOAT8E5M2: np.dtype(ml_dtypes.float8_e5m2),
    TensorProto.FLOAT8E5M2FNUZ: np.dtype(ml_dtypes.float8_e5m2fnuz),
    TensorProto.UINT4: np.dtype(ml_dtypes.uint4),
    TensorProto.INT4: np.dtype(ml_dtypes.int4),
    TensorProto.FLOAT4E2M1: np.dtype(ml_dtypes.float4_e2m1fn),
}
for _name, _ml in (("FLOAT8E8M0", "float8_e8m0fnu"), ("UINT2", "uint2"), ("INT2", "int2"),
                   ("FLOAT6E2M3", "float6_e2m3fn"), ("FLOAT6E3M2", "float6_e3m2fn")):
    if hasattr(TensorProto, _name) and hasattr(ml_dtypes, _ml):
        _ONNX_TO_NUMPY[getattr(TensorProto, _name)] = np.dtype(getattr(ml_dtypes, _ml))

_NUMPY_TO_ONNX: dict[np.dtype, int] = {v: k for k, v in _ONNX_TO_NUMPY.items()}
# np.str_ arrays (dtype '<U...') are accepted as strings too.
_ONNX_NAMES = {v: k for k, v in TensorProto.DataType.items()}

# onnxruntime's type strings, returned by NodeArg.type ("tensor(float)").
_ORT_NAMES = {
    TensorProto.FLOAT: "float", TensorProto.DOUBLE: "double", TensorProto.FLOAT16: "float16",
    TensorProto.BFLOAT16: "bfloat16", TensorProto.STRING: "string", TensorProto.BOOL: "bool",
    TensorProto.COMPLEX64: "complex64", TensorProto.COMPLEX128: "complex128",
}

SUB_BYTE_TYPES = frozenset(t for t in (TensorProto.UINT4, TensorProto.INT4,
                                       TensorProto.FLOAT4E2M1,
                                       getattr(TensorProto, "UINT2", -1),
                                       getattr(TensorProto, "INT2", -1)) if t >= 0)


def to_numpy(onnx_type: int) -> np.dtype:
    """NumPy dtype of an ONNX element type; ``ValueError`` naming it if there is none."""
    try:
        return _ONNX_TO_NUMPY[onnx_type]
    except KeyError:
        raise ValueError(f"ONNX element type {onnx_name(onnx_type)} has no NumPy "
                         f"equivalent") from None


def to_onnx(dtype) -> int:
    """ONNX element type of a NumPy dtype (``<U`` strings count as STRING)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "U":
        return TensorProto.STRING
    try:
        return _NUMPY_TO_ONNX[dtype]
    except KeyError:
        raise ValueError(f"NumPy dtype {dtype} has no ONNX element type") from None


def onnx_name(onnx_type: int) -> str:
    """``FLOAT``, ``INT64``... for messages."""
    return _ONNX_NAMES.get(onnx_type, f"<type {onnx_type}>")


def ort_type_string(onnx_type: int) -> str:
    """onnxruntime's ``tensor(float)`` spelling of an element type."""
    name = _ORT_NAMES.get(onnx_type, onnx_name(onnx_type).lower())
    return f"tensor({name})"
