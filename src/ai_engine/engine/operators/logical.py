"""Comparisons, boolean logic, Where and bitwise ops.

Operator pages: https://onnx.ai/onnx/operators/ (onnx__Equal.html, onnx__Where.html,
onnx__BitShift.html, ...). All broadcast NumPy-style; comparisons return bool.
Strings (object arrays of ``str``) work for Equal and Where.
"""

from __future__ import annotations

from ai_engine.engine.operators.dtype_policy import as_array
from ai_engine.engine.operators.elementwise import legacy_broadcast
from ai_engine.engine.registry import register, register_generated


def _binary(name, ufunc_name, since=7, legacy=True):
    def kernel(xp, a, b):
        return as_array(xp, getattr(xp, ufunc_name)(a, b))

    def kernel_legacy(xp, a, b, *, broadcast=0, axis=None):
        a, b = legacy_broadcast(xp, a, b, broadcast, axis)
        return kernel(xp, a, b)

    register_generated(name, kernel, since, kernel_legacy if legacy else None)


_binary("Equal", "equal")
_binary("Less", "less")
_binary("Greater", "greater")
_binary("LessOrEqual", "less_equal", since=12, legacy=False)
_binary("GreaterOrEqual", "greater_equal", since=12, legacy=False)
_binary("And", "logical_and")
_binary("Or", "logical_or")
_binary("Xor", "logical_xor")
_binary("BitwiseAnd", "bitwise_and", since=18, legacy=False)
_binary("BitwiseOr", "bitwise_or", since=18, legacy=False)
_binary("BitwiseXor", "bitwise_xor", since=18, legacy=False)


@register("Not", since=1)
def not_(xp, x):
    """Not: https://onnx.ai/onnx/operators/onnx__Not.html"""
    return as_array(xp, xp.logical_not(x))


@register("BitwiseNot", since=18)
def bitwise_not(xp, x):
    """BitwiseNot: https://onnx.ai/onnx/operators/onnx__BitwiseNot.html"""
    return as_array(xp, xp.invert(x))


@register("Where", since=9)
def where(xp, condition, x, y):
    """Where: https://onnx.ai/onnx/operators/onnx__Where.html"""
    return as_array(xp, xp.where(condition, x, y))


@register("BitShift", since=11)
def bitshift(xp, x, y, *, direction):
    """BitShift: https://onnx.ai/onnx/operators/onnx__BitShift.html

    Opset 28 pins down what C leaves undefined: a shift amount that is negative or at least
    the bit width yields the sign fill alone (-1 for a right shift of a negative signed value,
    else 0); a signed left shift discards the bits pushed past the sign bit.
    """
    if direction not in ("LEFT", "RIGHT"):
        raise ValueError(f"direction must be 'LEFT' or 'RIGHT', got {direction!r}")
    bits = x.dtype.itemsize * 8
    y = y.astype(x.dtype, copy=False)
    out_of_range = y >= bits
    if x.dtype.kind == "i":
        out_of_range |= y < 0
    shift = xp.where(out_of_range, 0, y).astype(x.dtype, copy=False)
    if direction == "LEFT":
        r = xp.left_shift(x, shift)
        fill = xp.zeros((), dtype=x.dtype)
    else:
        r = xp.right_shift(x, shift)
        # x >> (bits - 1) is the sign fill itself: -1 for negative signed x, else 0.
        fill = xp.right_shift(x, bits - 1) if x.dtype.kind == "i" else xp.zeros((), x.dtype)
    return as_array(xp, xp.where(out_of_range, fill, r))
