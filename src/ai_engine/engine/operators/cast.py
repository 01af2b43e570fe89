"""Type conversion kernels: Cast, CastLike, BitCast.

NumPy's ``astype`` already follows the spec for the ordinary numeric pairs (floats to
+/-inf when out of range, integers wrap two's-complement style, bool <-> numbers as 0/1), and
``ml_dtypes`` supplies bfloat16, the float8 families, float4 and the 2/4-bit integers with
round-to-nearest-even. What the spec adds on top is done here: the ``saturate`` rule for
float8 targets, FLOAT8E8M0 with ``round_mode``, and strings <-> numbers.

CuPy cannot hold strings or ml_dtypes types, so casts that involve them run on the host; the
result goes back to the device when its dtype is an ordinary one.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

from ai_engine.core import dtypes
from ai_engine.engine.registry import register

_NATIVE = frozenset("biufc")
_F8_SATURATING = frozenset(np.dtype(t) for t in (
    ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e4m3fnuz,
    ml_dtypes.float8_e5m2, ml_dtypes.float8_e5m2fnuz))
_E8M0 = np.dtype(ml_dtypes.float8_e8m0fnu) if hasattr(ml_dtypes, "float8_e8m0fnu") else None
_ML_FLOATS = frozenset(np.dtype(t) for t in (
    ml_dtypes.bfloat16, ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e4m3fnuz,
    ml_dtypes.float8_e5m2, ml_dtypes.float8_e5m2fnuz, ml_dtypes.float4_e2m1fn)) | (
    {_E8M0} if _E8M0 is not None else set())


def _is_string(dtype: np.dtype) -> bool:
    return dtype.kind in "OUS"


def _host(x):
    return x if isinstance(x, np.ndarray) else x.get()


def _as_float(x: np.ndarray) -> np.ndarray:
    """``x`` in a NumPy float type that holds every value exactly (for clipping)."""
    if x.dtype in _ML_FLOATS:
        return x.astype(np.float32)
    if x.dtype.kind in "iub":
        return x.astype(np.float64)
    if x.dtype.kind == "V":  # 2/4-bit integers
        return x.astype(np.float32)
    return x


def _to_string(x: np.ndarray) -> np.ndarray:
    # Plain shortest round-trip notation ("0.47892547", "1e+10", "nan", "inf"), the spelling
    # of str(np.float32(...)) the ONNX tests use.
    if x.dtype in _ML_FLOATS:
        x = x.astype(np.float32)
    elif x.dtype.kind == "V":
        x = x.astype(np.int64)
    return x.astype(np.str_).astype(object)


def _parse_int(s):
    try:
        return int(s)
    except ValueError:
        return float(s)


_PARSE_INT = np.frompyfunc(_parse_int, 1, 1)


def _from_string(x: np.ndarray, to: np.dtype, saturate: int, round_mode: str) -> np.ndarray:
    x = x.astype(object)  # Python str/float parsing accepts "+INF", "-inf", "NaN", "1E8"
    if to == np.bool_:
        return _from_string(x, np.dtype(np.float64), saturate, round_mode).astype(np.bool_)
    if to.kind in "iu":
        # int() keeps big int64/uint64 literals exact; "100.5" falls back to float -> 100
        try:
            return _PARSE_INT(x).astype(to)
        except (ValueError, OverflowError, TypeError) as exc:
            raise ValueError(f"Cast: cannot parse string as a number: {exc}") from None
    try:
        as_float = x.astype(np.float64)
    except ValueError as exc:
        raise ValueError(f"Cast: cannot parse string as a number: {exc}") from None
    if to.kind == "f" and to not in _ML_FLOATS:
        return x.astype(to) if to == np.float32 else as_float.astype(to)
    return _cast_numeric(as_float, to, saturate, round_mode)


def _to_e8m0(x: np.ndarray, saturate: int, round_mode: str) -> np.ndarray:
    """FLOAT8E8M0 (a bare power-of-two exponent), from the float32 bit pattern.

    The table in the Cast spec: NaN -> NaN; with saturation +-Inf and overflow give E8M0_MAX,
    without they give NaN; zero encodes as the smallest exponent (NaN without saturation).
    """
    f = x.astype(np.float32)
    bits = f.view(np.uint32)
    exponent = ((bits >> 23) & 0xFF).astype(np.int32)
    mantissa = bits & 0x7FFFFF
    special = exponent == 0xFF
    if round_mode == "up":
        exponent = exponent + (mantissa > 0)
    elif round_mode == "nearest":
        guard = (bits & 0x400000) > 0
        rest = (bits & 0x3FFFFF) > 0
        exponent = exponent + (guard & (rest | (exponent > 0)))
    elif round_mode != "down":
        raise ValueError(f"Cast: unknown round_mode {round_mode!r}")
    nan = np.isnan(f)
    if saturate:
        exponent = np.minimum(exponent, 0xFE)
        exponent = np.where(special, 0xFE, exponent)
    else:
        exponent = np.minimum(exponent, 0xFF)
        exponent = np.where(special | (f == 0), 0xFF, exponent)
    exponent = np.where(nan, 0xFF, exponent)
    return exponent.astype(np.uint8).view(_E8M0)


def _cast_numeric(x: np.ndarray, to: np.dtype, saturate: int, round_mode: str):
    if _E8M0 is not None and to == _E8M0:
        return _to_e8m0(_as_float(x), saturate, round_mode)
    if to in _F8_SATURATING and saturate:
        # The spec's saturating table: +-Inf and values beyond the range go to +-FLT_MAX,
        # NaN stays NaN (np.clip keeps NaN); in range it is round-to-nearest-even.
        info = ml_dtypes.finfo(to)
        xf = _as_float(x)
        return np.clip(xf, float(info.min), float(info.max)).astype(to)
    return x.astype(to)


def cast_array(xp, x, to: np.dtype, saturate: int = 1, round_mode: str = "up"):
    """``x`` converted to NumPy dtype ``to`` under the ONNX Cast rules (see module doc)."""
    to = np.dtype(to)
    if x.dtype == to or (_is_string(x.dtype) and _is_string(to)):
        if _is_string(to) and x.dtype != object:
            return _host(x).astype(object)
        return x
    plain = x.dtype.kind in _NATIVE and to.kind in _NATIVE
    if plain and not (to in _F8_SATURATING or to == _E8M0):
        return x.astype(to)
    on_host = _host(x)
    if _is_string(to):
        return _to_string(on_host)
    if _is_string(on_host.dtype):
        out = _from_string(on_host, to, saturate, round_mode)
    else:
        out = _cast_numeric(on_host, to, saturate, round_mode)
    if xp is not np and out.dtype.kind in _NATIVE:
        return xp.asarray(out)
    return out


@register("Cast", since=24)
def cast(xp, input, *, to, saturate=1, round_mode="up"):
    """Cast-24+ (saturate, round_mode): https://onnx.ai/onnx/operators/onnx__Cast.html"""
    return cast_array(xp, input, dtypes.to_numpy(to), saturate, round_mode)


@register("Cast", since=19)
def cast_19(xp, input, *, to, saturate=1):
    """Cast-19 (saturate for float8): https://onnx.ai/onnx/operators/onnx__Cast.html"""
    return cast_array(xp, input, dtypes.to_numpy(to), saturate)


@register("Cast", since=6)
def cast_6(xp, input, *, to):
    """Cast-6/9/13: https://onnx.ai/onnx/operators/onnx__Cast.html"""
    return cast_array(xp, input, dtypes.to_numpy(to))


@register("CastLike", since=24)
def cast_like(xp, input, target_type, *, saturate=1, round_mode="up"):
    """CastLike-24+: https://onnx.ai/onnx/operators/onnx__CastLike.html"""
    return cast_array(xp, input, target_type.dtype, saturate, round_mode)


@register("CastLike", since=19)
def cast_like_19(xp, input, target_type, *, saturate=1):
    """CastLike-19 (saturate): https://onnx.ai/onnx/operators/onnx__CastLike.html"""
    return cast_array(xp, input, target_type.dtype, saturate)


@register("CastLike", since=15)
def cast_like_15(xp, input, target_type):
    """CastLike-15: https://onnx.ai/onnx/operators/onnx__CastLike.html"""
    return cast_array(xp, input, target_type.dtype)


def _bits(dtype: np.dtype) -> int:
    """Bit width of an ONNX element type (the 4- and 2-bit types sit one per byte here)."""
    onnx_type = dtypes.to_onnx(dtype)
    if onnx_type in dtypes.SUB_BYTE_TYPES:
        name = dtypes.onnx_name(onnx_type)
        return 2 if name.endswith("2") and "E" not in name else 4
    return dtype.itemsize * 8


@register("BitCast", since=26)
def bit_cast(xp, input, *, to):
    """BitCast: https://onnx.ai/onnx/operators/onnx__BitCast.html"""
    target = dtypes.to_numpy(to)
    if _is_string(input.dtype) or _is_string(target):
        raise TypeError("BitCast: strings have no bit pattern to reinterpret")
    src_bits, dst_bits = _bits(input.dtype), _bits(target)
    if src_bits != dst_bits:
        raise TypeError(f"BitCast: {input.dtype} is {src_bits} bits but {target} is {dst_bits}")
    if src_bits < 8:
        # ml_dtypes stores a 2/4-bit value in the low bits of a byte (int4 -1 is 0x0F), so
        # masking the byte gives the raw code, which the target type reads back as is.
        code = _host(input).view(np.uint8) & np.uint8((1 << src_bits) - 1)
        return code.view(target)
    if input.dtype.kind in _NATIVE and target.kind in _NATIVE:
        return input.view(target)
    out = _host(input).view(target)
    return xp.asarray(out) if xp is not np and target.kind in _NATIVE else out
