"""Where float32 NumPy kernels hand their work to the compiled tier (engine/compiled/): the
checks of dtype and layout that decide whether a kernel applies, and its launch. Each returns
``None`` when it does not apply (tier off, numba absent, another dtype or layout); the caller
then runs its NumPy code."""

from __future__ import annotations

import numpy as np

from ai_engine.engine import compiled


def compiled_unary(xp, x, name):
    """``name``'s activation of ``x`` by the compiled tier (one pass) for a float32 NumPy
    array, or ``None`` (then the caller's NumPy formula runs)."""
    if xp is not np or x.dtype != np.float32 or not x.flags.c_contiguous:
        return None
    ek = compiled.kernels("elementwise_kernels")
    if ek is None:
        return None
    y = np.empty_like(x)
    compiled.launch(ek, "unary", x.size, x.reshape(-1), y.reshape(-1), ek.CODES[name])
    return y


def compiled_softmax(xp, x, out=None):
    """Softmax over the last axis by the compiled tier for a float32 NumPy array (into
    ``out``, which may be ``x``), or ``None``."""
    if xp is not np or x.dtype != np.float32 or not x.flags.c_contiguous or x.size == 0:
        return None
    nk = compiled.kernels("norm_kernels")
    if nk is None:
        return None
    y = np.empty_like(x) if out is None else out
    n = x.shape[-1]
    compiled.launch(nk, "softmax", x.size, x.reshape(-1, n), y.reshape(-1, n))
    return y


def _exactly(p, dims):
    """``p`` as a flat array when its shape is ``dims`` up to leading 1s, else ``None``."""
    if p is None or p.ndim > len(dims) or \
            (1,) * (len(dims) - p.ndim) + tuple(p.shape) != tuple(dims):
        return None
    return np.ascontiguousarray(p.reshape(-1), dtype=np.float32)


def layer_norm_compiled(xc, a, rows, scale, b, epsilon):
    """(Y, Mean, InvStdDev) by the compiled tier for float32 statistics and parameters of the
    normalized shape itself, else ``None``."""
    if xc.dtype != np.float32 or xc.size == 0:
        return None
    nk = compiled.kernels("norm_kernels")
    if nk is None:
        return None
    dims = xc.shape[a:]
    s = _exactly(scale, dims)
    bias = _exactly(b, dims) if b is not None else s
    if s is None or bias is None:
        return None
    x2 = np.ascontiguousarray(xc).reshape(rows, -1)
    y = np.empty_like(x2)
    mean = np.empty(rows, np.float32)
    inv = np.empty(rows, np.float32)
    compiled.launch(nk, "layer_norm", x2.size, x2, y, s, bias, b is not None, mean, inv,
                    np.float32(epsilon))
    stat_shape = xc.shape[:a] + (1,) * (xc.ndim - a)
    return y.reshape(xc.shape), mean.reshape(stat_shape), inv.reshape(stat_shape)
