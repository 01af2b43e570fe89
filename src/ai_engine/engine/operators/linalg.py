"""Linear algebra: MatMul, Gemm, Einsum and Det.

https://onnx.ai/onnx/operators/onnx__MatMul.html, https://onnx.ai/onnx/operators/onnx__Gemm.html,
https://onnx.ai/onnx/operators/onnx__Einsum.html, https://onnx.ai/onnx/operators/onnx__Det.html.

MatMul and Gemm carry most of the FLOPs of transformer and MLP models, so float32/float64 go
straight to BLAS through ``xp.matmul`` with no dtype conversion and no contiguity copy
(NumPy hands transposed views to BLAS with the transpose flag). NumPy has no BLAS for
float16 and none at all for the ml_dtypes floats (bfloat16), so those are multiplied in float32
and rounded back once, which is both faster and more accurate than a float16 loop.
"""

from __future__ import annotations

import string

import numpy as np

from ai_engine.engine.registry import register

from ai_engine.engine.operators.dtype_policy import as_array

_BLAS = frozenset(np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.complex128))
_LETTERS = frozenset(string.ascii_letters)


def _blas(x):
    """``x`` in a dtype NumPy multiplies with BLAS (float32 unless it already is one)."""
    if x.dtype in _BLAS or x.dtype.kind in "iub":
        return x
    return x.astype(np.float32)


def _back(xp, r, dtype):
    r = as_array(xp, r)
    return r if r.dtype == dtype else r.astype(dtype)


@register("MatMul", since=1)
def matmul(xp, a, b):
    """MatMul-13: NumPy matmul semantics (N-D batch broadcasting; a 1-D operand gets a 1
    prepended (A) or appended (B) and removed from the result)."""
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"MatMul: operands must have rank >= 1, got {a.shape} and {b.shape}")
    if a.dtype == b.dtype and a.dtype in _BLAS:
        return as_array(xp, xp.matmul(a, b))
    return _back(xp, xp.matmul(_blas(a), _blas(b)), a.dtype)


def _gemm(xp, a, b, c, alpha, beta, trans_a, trans_b):
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"Gemm: A and B must be 2-D, got {a.shape} and {b.shape}")
    if trans_a:
        a = a.T
    if trans_b:
        b = b.T
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"Gemm: inner dimensions differ: op(A) is {a.shape}, op(B) is "
                         f"{b.shape}")
    dtype = a.dtype
    fast = dtype in _BLAS and b.dtype == dtype and (c is None or c.dtype == dtype)
    if not fast:
        a, b = _blas(a), _blas(b)
        c = None if c is None else _blas(c)
        if dtype.kind in "iu" and (alpha != 1.0 or beta != 1.0):
            a, b = a.astype(np.float64), b.astype(np.float64)
    y = xp.matmul(a, b)  # a fresh array we own: the scaling and bias go into it in place
    if alpha != 1.0:
        y *= alpha
    if c is not None and beta != 0.0:
        # The in-place add itself checks that C broadcasts to (M, N) (NumPy refuses to grow
        # the output operand), so the happy path pays for no separate shape check.
        try:
            if beta == 1.0:
                y += c
            else:
                y += beta * c
        except ValueError:
            raise ValueError(f"Gemm: C of shape {tuple(c.shape)} does not broadcast to the "
                             f"output shape {tuple(y.shape)}") from None
    return _back(xp, y, dtype)


@register("Gemm", since=7)
def gemm(xp, a, b, c=None, *, alpha=1.0, beta=1.0, transA=0, transB=0):  # noqa: N803
    """Gemm-13: ``alpha * op(A) @ op(B) + beta * C``, C unidirectionally broadcast to
    (M, N) and optional from opset 11."""
    return _gemm(xp, a, b, c, alpha, beta, transA, transB)


@register("Gemm", since=1)
def gemm_6(xp, a, b, c=None, *, alpha=1.0, beta=1.0, broadcast=0, transA=0,  # noqa: N803
           transB=0):
    """Gemm-6: as Gemm-7, with C broadcast only when ``broadcast=1`` (a model with
    ``broadcast=0`` has a full-size C already, so broadcasting always is equivalent)."""
    return _gemm(xp, a, b, c, alpha, beta, transA, transB)


# --------------------------------------------------------------------------- Einsum

def _parse_term(term: str, what: str):
    """Letters of one einsum term and whether it has an ellipsis; ``ValueError`` if bad."""
    if term.count("...") > 1:
        raise ValueError(f"Einsum: {what} {term!r} has more than one ellipsis")
    letters = term.replace("...", "")
    bad = sorted(set(letters) - _LETTERS)
    if bad:
        raise ValueError(f"Einsum: {what} {term!r} has invalid characters {bad} (only letters, "
                         f"',', '->' and '...' are allowed)")
    return letters, "..." in term


def _normalize_equation(equation: str, inputs) -> str:
    """Validate ``equation`` against the operands and return it in explicit form."""
    eq = equation.replace(" ", "")
    if eq.count("->") > 1:
        raise ValueError(f"Einsum: equation {equation!r} has more than one '->'")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(inputs):
        raise ValueError(f"Einsum: equation {equation!r} has {len(terms)} operand term(s) but "
                         f"the node has {len(inputs)} input(s)")
    counts: dict[str, int] = {}
    sizes: dict[str, int] = {}
    ellipsis_rank = None
    for k, (term, x) in enumerate(zip(terms, inputs)):
        letters, has_ellipsis = _parse_term(term, f"term {k}")
        if len(letters) > x.ndim or (not has_ellipsis and len(letters) != x.ndim):
            raise ValueError(f"Einsum: term {term!r} does not match input {k} of shape "
                             f"{tuple(x.shape)}")
        if has_ellipsis:
            r = x.ndim - len(letters)
            ellipsis_rank = r if ellipsis_rank is None else max(ellipsis_rank, r)
        # Dimensions named by one letter must agree (1 broadcasts, as in NumPy).
        start = term.find("...")
        dims = (x.shape if not has_ellipsis else
                x.shape[:start] + x.shape[x.ndim - (len(term) - start - 3):])
        for ch, d in zip(letters, dims):
            counts[ch] = counts.get(ch, 0) + 1
            if d != 1:
                if sizes.setdefault(ch, d) != d:
                    raise ValueError(f"Einsum: index {ch!r} has sizes {sizes[ch]} and {d}")
    if arrow:
        out, out_ellipsis = _parse_term(rhs, "output")
        if len(set(out)) != len(out):
            raise ValueError(f"Einsum: output {rhs!r} repeats an index")
        unknown = sorted(set(out) - set(counts))
        if unknown:
            raise ValueError(f"Einsum: output indices {unknown} appear in no input term")
        if out_ellipsis and ellipsis_rank is None:
            raise ValueError(f"Einsum: output {rhs!r} has '...' but no input term does")
        return eq
    # Implicit form: the indices seen once, in ASCII order (upper case first), after '...'.
    out = "".join(sorted(ch for ch, n in counts.items() if n == 1))
    return f"{lhs}->{'...' if ellipsis_rank is not None else ''}{out}"


@register("Einsum", since=12)
def einsum(xp, *inputs, equation):
    """Einsum-12: Einstein summation via ``xp.einsum(optimize=True)`` (pairwise contractions
    through BLAS); the output has the inputs' dtype."""
    if not inputs:
        raise ValueError("Einsum needs at least one input")
    eq = _normalize_equation(equation, inputs)
    dtype = inputs[0].dtype
    ops = [_blas(x) for x in inputs]
    return _back(xp, xp.einsum(eq, *ops, optimize=True), dtype)


# --------------------------------------------------------------------------- Det

@register("Det", since=11)
def det(xp, x):
    """Det-11/22: determinant of the square matrices in the last two axes (LAPACK LU)."""
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"Det: input must be [*, M, M], got {tuple(x.shape)}")
    w = x if x.dtype in _BLAS else x.astype(np.float32)
    return _back(xp, xp.linalg.det(w), x.dtype)
