"""Exact ``A @ (B - b_zero_point)`` for an 8-bit weight B (K, N) that stays 8-bit in memory.

BLAS multiplies floats, so B's integers are converted to float32 a column tile at a time
into scratch of at most ``TILE_WEIGHTS`` values; a weight that fits that budget is converted
once and reused (the recurrent weight of an LSTM, used at every step). The products are exact
(quantization._exact_int_matmul keeps every partial sum inside float's exact integer range).
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.operators.quantization import _exact_int_matmul

# Scratch budget: 1M float32 values (4 MiB) of converted weight at a time.
TILE_WEIGHTS = 1 << 20


class CentredWeight:
    """B (K, N) with a zero point per tensor (scalar) or per column (N,), or None."""

    def __init__(self, b, zero_point):
        self.b = b
        self.zp = None if zero_point is None else np.asarray(zero_point, np.float32)
        k, self.n = b.shape
        self.cols = max(1, TILE_WEIGHTS // max(k, 1))
        self.whole = self._tile(0, self.n) if self.cols >= self.n else None

    def _tile(self, n0, n1):
        t = self.b[:, n0:n1].astype(np.float32)
        if self.zp is not None:
            t -= self.zp if self.zp.ndim == 0 else self.zp[n0:n1]
        return t

    def product(self, xp, a):
        """``a @ (B - zp)`` for float32 ``a`` (..., K) holding integers; float32 or float64."""
        if self.whole is not None:
            return _exact_int_matmul(xp, a, self.whole)
        out = xp.empty(a.shape[:-1] + (self.n,), np.float64)
        for n0 in range(0, self.n, self.cols):
            n1 = min(self.n, n0 + self.cols)
            out[..., n0:n1] = _exact_int_matmul(xp, a, self._tile(n0, n1))
        return out


def integer_product(xp, a, a_zero_point, b, b_zero_point):
    """``(A - a_zp) @ (B - b_zp)`` exactly, with MatMul broadcasting. A 2-D B (a weight) goes
    through :class:`CentredWeight`; a batched B (an activation) is converted whole."""
    ac = a.astype(np.float32)
    if a_zero_point is not None:
        ac -= np.float32(a_zero_point)
    if b.ndim == 2:
        return CentredWeight(b, b_zero_point).product(xp, ac)
    bc = b.astype(np.float32)
    if b_zero_point is not None:
        bc -= np.asarray(b_zero_point, np.float32)
    return _exact_int_matmul(xp, ac, bc)
