"""Compiled float32 activations, one pass over memory each (NumPy needs one pass per
operation: x*sigmoid(x) is four, erf-GELU about thirty).

Codes (``CODES``): Silu x*sigmoid(x); HardSwish x*clip(x/6 + 1/2, 0, 1); Gelu (exact, erf)
x/2*(1 + erf(x/sqrt 2)); Sigmoid. ``unary`` maps a flat array; ``bias_act`` adds a bias along
the last axis first (MatMulAdd's epilogue).
"""

from __future__ import annotations

import math

from numba import njit, prange

from ai_engine.engine.compiled.mathf import FASTMATH, F, erf32, sigmoid32

CODES = {"Silu": 1, "HardSwish": 2, "Gelu": 3, "Sigmoid": 4}

_OPTS = {"cache": True, "fastmath": FASTMATH, "error_model": "numpy", "boundscheck": False}
_ZERO, _ONE, _SIXTH, _HALF = F(0.0), F(1.0), F(1.0 / 6.0), F(0.5)
_INV_SQRT2 = F(1.0 / math.sqrt(2.0))
_BLOCK = 4096     # elements per parallel work item


@njit(inline="always", **_OPTS)
def _map(x, y, lo, hi, code):
    """``y[lo:hi] = f(x[lo:hi])``; the branch is outside the loops (each vectorizes)."""
    if code == 1:
        for i in range(lo, hi):
            v = x[i]
            y[i] = v * sigmoid32(v)
    elif code == 2:
        for i in range(lo, hi):
            v = x[i]
            t = v * _SIXTH + _HALF
            t = _ZERO if t < _ZERO else t
            t = _ONE if t > _ONE else t
            y[i] = v * t
    elif code == 3:
        for i in range(lo, hi):
            v = x[i]
            y[i] = _HALF * v * (_ONE + erf32(v * _INV_SQRT2))
    elif code == 4:
        for i in range(lo, hi):
            y[i] = sigmoid32(x[i])


@njit(parallel=True, **_OPTS)
def unary_parallel(x, y, code):
    """``y = f(x)`` for flat C-contiguous float32 arrays (``y`` may be ``x``)."""
    n = x.size
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        _map(x, y, b * _BLOCK, min(n, (b + 1) * _BLOCK), code)


@njit(**_OPTS)
def unary_serial(x, y, code):
    """:func:`unary_parallel` on the calling thread."""
    _map(x, y, 0, x.size, code)


@njit(inline="always", **_OPTS)
def _bias_rows(y, bias, r0, r1, code):
    n = y.shape[1]
    for r in range(r0, r1):
        row = y[r]
        for k in range(n):
            row[k] += bias[k]
        if code:
            _map(row, row, 0, n, code)


@njit(parallel=True, **_OPTS)
def bias_act_parallel(y, bias, code):
    """``y = f(y + bias)`` in place, ``y`` (rows, n) C-contiguous, ``bias`` (n,); code 0: the
    bias alone."""
    rows = y.shape[0]
    step = max(1, _BLOCK // max(1, y.shape[1]))
    for b in prange((rows + step - 1) // step):
        _bias_rows(y, bias, b * step, min(rows, (b + 1) * step), code)


@njit(**_OPTS)
def bias_act_serial(y, bias, code):
    """:func:`bias_act_parallel` on the calling thread."""
    _bias_rows(y, bias, 0, y.shape[0], code)
