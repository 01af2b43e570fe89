"""The binary tensor data extension (Triton, "Binary Tensor Data Extension").

A body is the JSON inference header (``Inference-Header-Content-Length`` bytes) followed by
the raw tensors, in the order of the JSON ``inputs`` (or ``outputs``) that carry
``"parameters": {"binary_data_size": N}``. Raw tensors are little-endian, row-major, without
padding; BOOL is one byte per element; each BYTES element is a 4-byte little-endian length
followed by that many bytes, exactly what ``tritonclient.utils.serialize_byte_tensor`` writes.
"""

from __future__ import annotations

import struct

import numpy as np

from ai_engine.network import datatypes
from ai_engine.network.errors import BadRequestError
from ai_engine.network.tensor_limits import RequestBudget

HEADER = "Inference-Header-Content-Length"


def split_body(body: bytes, header_length: str | None) -> tuple[bytes, memoryview]:
    """``(json header, binary rest)``; the whole body is JSON when the header is absent."""
    if header_length is None:
        return body, memoryview(b"")
    try:
        n = int(header_length)
    except ValueError:
        raise BadRequestError(f"{HEADER} must be an integer, got {header_length!r}") from None
    if n < 0 or n > len(body):
        raise BadRequestError(f"{HEADER} is {n} but the body has only {len(body)} bytes")
    view = memoryview(body)
    return bytes(view[:n]), view[n:]


class BinaryReader:
    """Hands out consecutive slices of the binary part, checking every size."""

    def __init__(self, data: memoryview):
        self.data = data
        self.offset = 0

    def read(self, name: str, datatype: str, shape, size,
             budget: RequestBudget) -> np.ndarray:
        """The input's array; its declared shape is checked against ``budget`` and against
        ``size`` (the bytes actually sent) before anything is allocated."""
        dtype = datatypes.to_numpy(datatype)
        shape = budget.shape(name, shape)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise BadRequestError(f"input {name!r}: binary_data_size must be a non-negative "
                                  f"integer, got {size!r}")
        if self.offset + size > len(self.data):
            raise BadRequestError(
                f"input {name!r}: binary_data_size {size} runs past the end of the body "
                f"({len(self.data) - self.offset} bytes left); truncated body or wrong "
                f"{HEADER}")
        chunk = self.data[self.offset:self.offset + size]
        self.offset += size
        if datatype == "BYTES":
            count = budget.declare(name, shape, 0)
            budget.add_bytes(name, size)
            if count * 4 > size:  # every element has a 4-byte length prefix
                raise BadRequestError(f"input {name!r}: shape {list(shape)} of BYTES needs at "
                                      f"least {count * 4} bytes (a 4-byte length per "
                                      f"element), binary_data_size is {size}")
            return deserialize_bytes(name, chunk, count).reshape(shape)
        count = budget.declare(name, shape, dtype.itemsize)
        if size != count * dtype.itemsize:
            raise BadRequestError(f"input {name!r}: shape {list(shape)} of {datatype} needs "
                                  f"{count * dtype.itemsize} bytes, binary_data_size is {size}")
        return np.frombuffer(chunk, dtype=dtype.newbyteorder("<")).astype(dtype, copy=False) \
            .reshape(shape)

    def finish(self) -> None:
        if self.offset != len(self.data):
            raise BadRequestError(f"the body has {len(self.data) - self.offset} bytes after "
                                  f"the last binary input; wrong {HEADER} or binary_data_size")


def deserialize_bytes(name: str, chunk: memoryview, count: int) -> np.ndarray:
    out = np.empty(count, dtype=object)
    pos, end = 0, len(chunk)
    for i in range(count):
        if pos + 4 > end:
            raise BadRequestError(f"input {name!r}: BYTES data ends after {i} of {count} "
                                  f"elements")
        (n,) = struct.unpack_from("<I", chunk, pos)
        pos += 4
        if pos + n > end:
            raise BadRequestError(f"input {name!r}: BYTES element {i} claims {n} bytes, "
                                  f"only {end - pos} left")
        try:
            out[i] = bytes(chunk[pos:pos + n]).decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequestError(f"input {name!r}: BYTES element {i} is not UTF-8 text "
                                  f"(ONNX strings are text)") from None
        pos += n
    if pos != end:
        raise BadRequestError(f"input {name!r}: {end - pos} bytes left over after {count} "
                              f"BYTES elements")
    return out


def serialize(array: np.ndarray) -> bytes:
    """Raw little-endian bytes of an output tensor (BYTES length-prefixed)."""
    if array.dtype == object or array.dtype.kind in "US":
        parts = []
        for v in array.reshape(-1):
            b = v if isinstance(v, bytes) else str(v).encode("utf-8")
            parts.append(struct.pack("<I", len(b)))
            parts.append(b)
        return b"".join(parts)
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
