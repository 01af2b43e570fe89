"""Per-request limits on declared tensors, checked before anything is allocated for them.

A request declares each input's ``shape`` and ``datatype`` in a few bytes of JSON; the array
they describe can be terabytes. So the declaration is checked first: every dim a
non-negative integer no larger than the element limit (a zero-size tensor cannot smuggle a
2**62 dim into the model), the rank bounded, and the elements and bytes summed over all the
request's inputs held to the server's limits (``max_request_elements``,
``max_request_bytes``: 413). The codecs then check the declaration against the bytes actually
sent (binary: the exact size; BYTES: at least 4 bytes of length prefix per element; JSON: the
element count) before they build the array.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ai_engine.network.errors import BadRequestError
from ai_engine.privacy.limits import PayloadTooLargeError

# NumPy's own limit is 64 dims (32 before NumPy 2); no ONNX model we know of feeds more than 8.
MAX_RANK = 32


@dataclass(frozen=True)
class TensorLimits:
    max_elements: int = 1 << 26
    max_bytes: int = 1 << 28

    def budget(self) -> "RequestBudget":
        return RequestBudget(self)


class RequestBudget:
    """What one request has declared so far, input by input."""

    def __init__(self, limits: TensorLimits):
        self.limits = limits
        self.elements = 0
        self.bytes = 0

    def shape(self, name: str, shape) -> tuple[int, ...]:
        """The declared shape as a tuple, after every check that needs no data."""
        if not isinstance(shape, (list, tuple)):
            raise BadRequestError(f"input {name!r}: shape must be a list of non-negative "
                                  f"integers, got {_short(shape)}")
        if len(shape) > MAX_RANK:
            raise BadRequestError(f"input {name!r}: shape has {len(shape)} dims; at most "
                                  f"{MAX_RANK} are supported")
        for d in shape:
            if not isinstance(d, int) or isinstance(d, bool) or d < 0:
                raise BadRequestError(f"input {name!r}: shape must be a list of non-negative "
                                      f"integers, got {_short(shape)}")
            if d > self.limits.max_elements:
                raise PayloadTooLargeError(
                    f"input {name!r}: dim {d} of shape {_short(shape)} exceeds the server's "
                    f"limit of {self.limits.max_elements} elements per request")
        return tuple(shape)

    def declare(self, name: str, shape: tuple[int, ...], itemsize: int) -> int:
        """Count an input's elements (and, for fixed-size types, bytes); returns elements."""
        count = math.prod(shape)
        self.elements += count
        if self.elements > self.limits.max_elements:
            raise PayloadTooLargeError(
                f"input {name!r}: shape {list(shape)} brings the request to {self.elements} "
                f"elements; the server's limit is {self.limits.max_elements} per request")
        self.add_bytes(name, count * itemsize)
        return count

    def add_bytes(self, name: str, n: int) -> None:
        self.bytes += n
        if self.bytes > self.limits.max_bytes:
            raise PayloadTooLargeError(
                f"input {name!r} brings the request to {self.bytes} bytes of tensor data; the "
                f"server's limit is {self.limits.max_bytes} per request")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
