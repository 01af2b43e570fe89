"""TensorProto -> NumPy, with raw data viewed in place and external data memory-mapped.

ONNX stores a tensor either in typed fields (``float_data``...), in ``raw_data`` (little-endian
bytes), or outside the model file (``data_location = EXTERNAL`` with ``location``, ``offset``
and ``length`` entries; https://onnx.ai/onnx/repo-docs/ExternalData.html). Raw bytes are wrapped
with ``np.frombuffer`` (no copy beyond protobuf's own) and external files with ``np.memmap``
(no copy at all: pages are read when a kernel touches them).
"""

from __future__ import annotations

import os
import sys

import numpy as np
from onnx import TensorProto, numpy_helper

from ai_engine.core import dtypes
from ai_engine.errors import ModelLoadError


def to_array(tensor: TensorProto, base_dir: str | None = None) -> np.ndarray:
    """The value of ``tensor`` as an array (read-only where it views stored bytes)."""
    shape = tuple(tensor.dims)
    if tensor.data_location == TensorProto.EXTERNAL:
        return _external(tensor, shape, base_dir)
    if tensor.HasField("raw_data") and tensor.data_type not in dtypes.SUB_BYTE_TYPES \
            and tensor.data_type != TensorProto.STRING:
        dtype = dtypes.to_numpy(tensor.data_type)
        raw = tensor.raw_data
        count = int(np.prod(shape, dtype=np.int64))
        if len(raw) != count * dtype.itemsize:
            raise ModelLoadError(
                f"tensor {tensor.name!r}: raw_data holds {len(raw)} bytes but shape {shape} of "
                f"{dtypes.onnx_name(tensor.data_type)} needs {count * dtype.itemsize}")
        arr = np.frombuffer(raw, dtype=dtype)
        if sys.byteorder != "little":
            arr = arr.byteswap()
        return arr.reshape(shape)
    try:
        arr = numpy_helper.to_array(tensor)
    except Exception as exc:  # onnx raises assorted errors on malformed tensors
        raise ModelLoadError(f"tensor {tensor.name!r} cannot be decoded: {exc}") from exc
    if tensor.data_type == TensorProto.STRING:
        arr = np.vectorize(lambda b: b.decode("utf-8") if isinstance(b, bytes) else b,
                           otypes=[object])(arr) if arr.size else arr.astype(object)
    return arr


def _external(tensor: TensorProto, shape: tuple, base_dir: str | None) -> np.ndarray:
    info = {entry.key: entry.value for entry in tensor.external_data}
    location = info.get("location")
    if not location:
        raise ModelLoadError(f"tensor {tensor.name!r} is external but names no location")
    if base_dir is None:
        raise ModelLoadError(
            f"tensor {tensor.name!r} is stored in external file {location!r}, but the model "
            "was not loaded from a path, so there is no directory to find it in")
    base = os.path.realpath(base_dir)
    path = os.path.realpath(os.path.join(base, location))
    if os.path.commonpath([base, path]) != base:
        raise ModelLoadError(f"tensor {tensor.name!r}: external data location {location!r} "
                             "escapes the model's directory")
    if not os.path.isfile(path):
        raise ModelLoadError(f"tensor {tensor.name!r}: external data file {path!r} is missing")
    dtype = dtypes.to_numpy(tensor.data_type)
    offset = int(info.get("offset", 0))
    count = int(np.prod(shape, dtype=np.int64))
    nbytes = count * dtype.itemsize
    length = int(info.get("length", nbytes))
    size = os.path.getsize(path)
    if length < nbytes or offset + nbytes > size:
        raise ModelLoadError(
            f"tensor {tensor.name!r}: external file {location!r} has {size} bytes, but "
            f"{nbytes} are needed at offset {offset}")
    if count == 0:
        return np.zeros(shape, dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)
