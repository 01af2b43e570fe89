"""The one rule for the dtype a kernel does its arithmetic in, and the casts around it.

ONNX kernels must return their input's dtype, but NumPy does not compute every dtype well:

- float32 and float64 are computed as they are;
- float16 is computed in float32: composite formulas (a softmax, a norm, a GELU) would round
  to 11 bits at every step, and NumPy's float16 GEMM is slow. A kernel that is one ufunc (one
  rounding either way) may keep float16 with ``keep_float16=True``;
- the ``ml_dtypes`` floats (bfloat16, float8...) are computed in float32: NumPy runs them
  through slow generic loops that round after every step;
- integers and bools, where a float formula is needed (Resize, GridSample, a LogSum), in the
  narrowest float that holds every value of the type exactly: float32 up to 16 bits (24-bit
  mantissa), float64 above (exact for int32, and for int64 up to 2**53).
"""

from __future__ import annotations

import numpy as np

_FLOAT32 = np.dtype(np.float32)
_FLOAT64 = np.dtype(np.float64)
_FLOAT16 = np.dtype(np.float16)


def compute_dtype(dtype, *, keep_float16: bool = False) -> np.dtype:
    """The dtype to compute values of ``dtype`` in (see the module docstring)."""
    dtype = np.dtype(dtype)
    if dtype == _FLOAT32 or dtype == _FLOAT64:
        return dtype
    if dtype == _FLOAT16 and keep_float16:
        return dtype
    if dtype.kind in "iub" and dtype.itemsize > 2:
        return _FLOAT64
    return _FLOAT32


def to_compute(x, *, keep_float16: bool = False):
    """``x`` in its compute dtype (no copy when it already is)."""
    cd = compute_dtype(x.dtype, keep_float16=keep_float16)
    return x if x.dtype == cd else x.astype(cd)


def as_array(xp, r):
    """A ufunc on 0-d arrays returns a NumPy scalar; the kernel contract wants arrays."""
    return r if isinstance(r, xp.ndarray) else xp.asarray(r)


def cast_back(xp, r, dtype):
    """A result computed by :func:`to_compute` in the input's ``dtype``; always an array."""
    r = as_array(xp, r)
    return r if r.dtype == dtype else r.astype(dtype)
