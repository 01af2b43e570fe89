"""Compiled row-wise LayerNormalization and Softmax for float32 (C-contiguous (rows, n)).

LayerNorm (https://onnx.ai/onnx/operators/onnx__LayerNormalization.html): per row, the mean,
the mean squared deviation (two passes: as accurate as the NumPy path's centred statistics),
then ``y = (x - mean) * inv_std * scale + bias`` in one pass; Mean and InvStdDev are returned
per row. Softmax (onnx__Softmax.html): per row, the max, ``exp(x - max)`` and its sum, then
one scaling pass; the row stays in cache between passes.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ai_engine.engine.compiled.mathf import FASTMATH, F, exp32

_OPTS = {"cache": True, "fastmath": FASTMATH, "error_model": "numpy", "boundscheck": False}
_ONE = F(1.0)


@njit(inline="always", **_OPTS)
def _layer_norm_row(x, y, scale, bias, has_bias, mean, inv, r, eps):
    n = x.shape[1]
    xr, yr = x[r], y[r]
    s = F(0.0)
    for k in range(n):
        s += xr[k]
    m = s / F(n)
    q = F(0.0)
    for k in range(n):
        d = xr[k] - m
        q += d * d
    iv = _ONE / np.float32(math.sqrt(q / F(n) + eps))
    if has_bias:
        for k in range(n):
            yr[k] = (xr[k] - m) * iv * scale[k] + bias[k]
    else:
        for k in range(n):
            yr[k] = (xr[k] - m) * iv * scale[k]
    mean[r] = m
    inv[r] = iv


@njit(parallel=True, **_OPTS)
def layer_norm_parallel(x, y, scale, bias, has_bias, mean, inv, eps):
    """Rows of ``x`` (rows, n) normalized into ``y``; ``scale``/``bias`` (n,); ``mean``/``inv``
    (rows,) receive the statistics; ``eps`` float32."""
    for r in prange(x.shape[0]):
        _layer_norm_row(x, y, scale, bias, has_bias, mean, inv, r, eps)


@njit(**_OPTS)
def layer_norm_serial(x, y, scale, bias, has_bias, mean, inv, eps):
    """:func:`layer_norm_parallel` on the calling thread."""
    for r in range(x.shape[0]):
        _layer_norm_row(x, y, scale, bias, has_bias, mean, inv, r, eps)


@njit(inline="always", **_OPTS)
def _softmax_row(x, y, r):
    n = x.shape[1]
    xr, yr = x[r], y[r]
    top = xr[0]
    for k in range(1, n):
        v = xr[k]
        top = v if v > top else top
    # A NaN (skipped by the max) or an infinite max gives NaN rows through exp32, as in
    # NumPy's formula.
    for k in range(n):
        yr[k] = exp32(xr[k] - top)
    s = F(0.0)
    for k in range(n):
        s += yr[k]
    inv = _ONE / s
    for k in range(n):
        yr[k] *= inv


@njit(parallel=True, **_OPTS)
def softmax_parallel(x, y):
    """``y[r] = softmax(x[r])`` for each row of ``x`` (rows, n), n >= 1; ``y`` may be ``x``."""
    for r in prange(x.shape[0]):
        _softmax_row(x, y, r)


@njit(**_OPTS)
def softmax_serial(x, y):
    """:func:`softmax_parallel` on the calling thread."""
    for r in range(x.shape[0]):
        _softmax_row(x, y, r)
