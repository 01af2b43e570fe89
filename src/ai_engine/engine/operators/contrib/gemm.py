"""com.microsoft FusedGemm and FusedMatMul (docs/ContribOperators.md), written by
onnxruntime's graph optimizer (Gemm + activation; MatMul with a folded Transpose or scalar Mul).

- FusedGemm: ``activation(alpha * op(A) @ op(B) + beta * C)``; the activation and its
  ``activation_alpha/beta/gamma`` as in contrib/activations.py's table.
- FusedMatMul: ``alpha * op(A) @ op(B)`` with NumPy matmul broadcasting, where op moves the
  first axis behind the batch axes (``transBatchA/B``: (X, B..., Y) -> (B..., X, Y)) and then
  swaps the last two (``transA/B``). Both are strided views handed to BLAS, no copies.
"""

from __future__ import annotations

from ai_engine.engine.operators.linalg import gemm, matmul
from ai_engine.engine.registry import register

from .activations import activation_fn


@register("FusedGemm", since=1, domain="com.microsoft")
def fused_gemm(xp, a, b, c=None, *, alpha=1.0, beta=1.0, transA=0, transB=0,
               activation="", activation_alpha=None, activation_beta=None,
               activation_gamma=None):
    """com.microsoft.FusedGemm: Gemm then activation."""
    y = gemm(xp, a, b, c, alpha=alpha, beta=beta, transA=transA, transB=transB)
    if not activation:
        return y
    named = {"alpha": activation_alpha, "beta": activation_beta, "gamma": activation_gamma}
    return activation_fn(activation, "FusedGemm", named=named)(xp, y)


def _op(x, trans, trans_batch, what):
    if (trans or trans_batch) and x.ndim < 2:
        raise ValueError(f"FusedMatMul: {what} of rank {x.ndim} cannot be transposed")
    if trans_batch and x.ndim > 2:
        x = x.transpose(tuple(range(1, x.ndim - 1)) + (0, x.ndim - 1))
    if trans:
        x = x.swapaxes(-1, -2)
    return x


@register("FusedMatMul", since=1, domain="com.microsoft")
def fused_matmul(xp, a, b, *, alpha=1.0, transA=0, transB=0, transBatchA=0,
                 transBatchB=0):
    """com.microsoft.FusedMatMul: alpha * op(A) @ op(B)."""
    y = matmul(xp, _op(a, transA, transBatchA, "A"), _op(b, transB, transBatchB, "B"))
    if alpha != 1.0:
        y *= y.dtype.type(alpha)
    return y
