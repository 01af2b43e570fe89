"""com.microsoft MatMulNBits and GatherBlockQuantized: the block-quantized weights of int4/int8
LLMs (onnxruntime's MatMulNBits quantizer, onnxruntime-genai's model builder).

Spec: onnxruntime docs/ContribOperators.md; matmul_nbits.cc / matmul_nbits_impl.cc and
gather_block_quantized.cc where the doc is silent (g_idx picks each weight's block; float zero
points are subtracted as is; GatherBlockQuantized returns zeros for an out-of-range index).

The quantized initializers are used as they are: MatMulNBits keeps B packed (``bits`` bits a
weight) and never builds a float copy of the whole weight (nbits_kernels.py);
GatherBlockQuantized dequantizes only the rows it gathers.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

from ai_engine.engine.operators.contrib import nbits_kernels
from ai_engine.engine.operators.contrib.quantized import MS_DOMAIN
from ai_engine.engine.operators.indexing import normalize_axis
from ai_engine.engine.registry import register

_FLOATS = frozenset(np.dtype(t) for t in (np.float32, np.float16, ml_dtypes.bfloat16))
# accuracy_level (MatMulNBits doc): 0 unset, 1 fp32, 2 fp16, 3 bf16, 4 int8: the lowest
# precision the computation of A may use.
_ACCURACY_LEVELS = range(5)


def _power_of_two_block(block_size, op):
    if block_size < 16 or block_size & (block_size - 1):
        raise ValueError(f"{op}: block_size must be a power of 2 and >= 16, got {block_size}")


def _count(x, want, op, what):
    if x.size != want:
        raise ValueError(f"{op}: {what} has shape {tuple(x.shape)} ({x.size} values), expected "
                         f"{want} values")


@register("MatMulNBits", since=1, domain=MS_DOMAIN)
def matmul_nbits(xp, a, b, scales, zero_points=None, g_idx=None, bias=None, *, K, N,
                 block_size, bits=4, accuracy_level=0, weight_prepacked=0):
    """MatMulNBits-1: ``Y = A @ dequantize(B)^T (+ bias)``, B (N, ceil(K/block_size), blob)
    packed ``bits`` (2, 4 or 8) bits a weight, ``w = (code - zero_point) * scale`` per block
    along K. zero_points: packed uint8 (N, ceil(k_blocks*bits/8)), or float (N, k_blocks) in
    A's type, or omitted for ``2**(bits-1)``. g_idx (K,) int32 gives each row of K its block.

    accuracy_level is the lowest precision the kernel may compute A in (4 lets onnxruntime
    quantize A to int8 per block). ai-engine always computes in float32 (level 1), which is at
    least as accurate as every level allows; the values 0-4 are accepted, others rejected.
    A float16/bfloat16 A is computed in float32 and the result cast back.
    """
    op = "MatMulNBits"
    if bits not in (2, 4, 8):
        raise ValueError(f"{op}: bits must be 2, 4 or 8, got {bits}")
    _power_of_two_block(block_size, op)
    if accuracy_level not in _ACCURACY_LEVELS:
        raise ValueError(f"{op}: accuracy_level must be 0-4, got {accuracy_level}")
    if weight_prepacked:
        raise ValueError(f"{op}: weight_prepacked={weight_prepacked} (a CUDA-specific layout "
                         f"of B) is not supported")
    if a.dtype not in _FLOATS or scales.dtype != a.dtype:
        raise ValueError(f"{op}: A and scales must have the same float type, got {a.dtype} "
                         f"and {scales.dtype}")
    if a.ndim == 0 or a.shape[-1] != K:
        raise ValueError(f"{op}: A {tuple(a.shape)} must end in K={K}")
    if b.dtype != np.uint8:
        raise ValueError(f"{op}: B must be uint8, got {b.dtype}")
    n_blocks = -(-K // block_size)
    blob = block_size * bits // 8
    _count(b, N * n_blocks * blob, op, "B")
    _count(scales, N * n_blocks, op, "scales")
    packed = b.reshape(N, n_blocks, blob)
    s = scales.reshape(N, n_blocks)
    zp = None
    if zero_points is not None:
        if zero_points.dtype == np.uint8:
            _count(zero_points, N * (-(-n_blocks * bits // 8)), op, "zero_points (packed uint8)")
            zp = zero_points.reshape(N, -1)
        elif zero_points.dtype == a.dtype:
            _count(zero_points, N * n_blocks, op, "zero_points")
            zp = zero_points.reshape(N, n_blocks)
        else:
            raise ValueError(f"{op}: zero_points must be uint8 or A's type {a.dtype}, got "
                             f"{zero_points.dtype}")
    gi = _block_of_each_k(g_idx, K, block_size, n_blocks, op)
    if bias is not None:
        _count(bias, N, op, "bias")
    a2 = a.reshape(-1, K)
    a2 = a2 if a2.dtype == np.float32 else a2.astype(np.float32)
    if (gi is None and a2.shape[0] <= nbits_kernels.FUSED_MAX_ROWS and xp is np
            and nbits_kernels.fused_available(bits)):
        y = nbits_kernels.fused(a2, packed, s, zp, bits, block_size, K)
    else:
        y = nbits_kernels.tiled(xp, a2, packed, s, zp, gi, bits, block_size, K)
    if bias is not None:
        y += bias.reshape(N).astype(np.float32, copy=False)
    y = y.reshape(a.shape[:-1] + (N,))
    return y if a.dtype == np.float32 else y.astype(a.dtype)


def _block_of_each_k(g_idx, k, block_size, n_blocks, op):
    """g_idx as an int64 (K,) array, or None when it is absent or the plain ``k // block``."""
    if g_idx is None:
        return None
    _count(g_idx, k, op, "g_idx")
    gi = np.asarray(g_idx).reshape(k).astype(np.int64)
    if gi.size and (gi.min() < 0 or gi.max() >= n_blocks):
        raise ValueError(f"{op}: g_idx values must be in [0, {n_blocks}), got "
                         f"[{gi.min()}, {gi.max()}]")
    if np.array_equal(gi, np.arange(k) // block_size):
        return None
    return gi


# --------------------------------------------------------------------------- GatherBlockQuantized

_INT4 = (np.dtype(ml_dtypes.int4), np.dtype(ml_dtypes.uint4))


@register("GatherBlockQuantized", since=1, domain=MS_DOMAIN)
def gather_block_quantized(xp, data, indices, scales, zero_points=None, *, bits=4,
                           block_size=128, gather_axis=0, quantize_axis=1):
    """GatherBlockQuantized-1: Gather along ``gather_axis`` of data block-quantized along
    ``quantize_axis``, dequantized: ``(code - zero_point) * scale`` in float32, returned in the
    scales' type. data is int4/uint4 (logical shape; zero point default 0) or uint8 (``bits``
    2, 4 or 8 codes a byte packed along the last axis, which must be quantize_axis, with
    gather_axis 0; zero point default ``2**(bits-1)``, packed the same way). An index outside
    ``[-s, s-1]`` yields zeros (onnxruntime's rule; ONNX Gather would fail)."""
    op = "GatherBlockQuantized"
    _power_of_two_block(block_size, op)
    if scales.dtype not in _FLOATS:
        raise ValueError(f"{op}: scales must be float32, float16 or bfloat16, got {scales.dtype}")
    if indices.dtype not in (np.int32, np.int64):
        raise ValueError(f"{op}: indices must be int32 or int64, got {indices.dtype}")
    r = data.ndim
    if r < 1:
        raise ValueError(f"{op}: data must have rank >= 1")
    g = normalize_axis(gather_axis, r, op, "gather_axis")
    qa = normalize_axis(quantize_axis, r, op, "quantize_axis")
    if data.dtype in _INT4:
        if bits != 4:
            raise ValueError(f"{op}: int4/uint4 data needs bits=4, got {bits}")
        codes_of = lambda x: x.astype(np.int32)                     # noqa: E731
        default_zp = 0
    elif data.dtype == np.uint8:
        if bits not in (2, 4, 8):
            raise ValueError(f"{op}: uint8 data supports bits 2, 4 or 8, got {bits}")
        if g != 0 or qa != r - 1:
            raise ValueError(f"{op}: uint8 data needs gather_axis 0 and quantize_axis {r - 1} "
                             f"(the packed last axis), got {g} and {qa}")
        codes_of = lambda x: nbits_kernels.unpack_codes(xp, x, bits).astype(np.int32)  # noqa
        default_zp = 1 << (bits - 1)
    else:
        raise ValueError(f"{op}: data type {data.dtype} is not supported (int4, uint4, uint8)")
    per_byte = 8 // bits if data.dtype == np.uint8 else 1
    logical = list(data.shape)
    logical[-1 if per_byte > 1 else qa] *= per_byte
    n_blocks = -(-logical[qa] // block_size)
    want = tuple(n_blocks if i == qa else d for i, d in enumerate(logical))
    if tuple(scales.shape) != want:
        raise ValueError(f"{op}: scales must have shape {want} for data {tuple(data.shape)} with "
                         f"block_size {block_size} on axis {qa}, got {tuple(scales.shape)}")
    if zero_points is not None:
        if zero_points.dtype != data.dtype:
            raise ValueError(f"{op}: zero_points type {zero_points.dtype} differs from data "
                             f"type {data.dtype}")
        zwant = want[:-1] + (-(-want[-1] // per_byte),) if per_byte > 1 else want
        if tuple(zero_points.shape) != zwant:
            raise ValueError(f"{op}: zero_points must have shape {zwant}, got "
                             f"{tuple(zero_points.shape)}")

    dim = data.shape[g]
    idx = np.asarray(indices).astype(np.int64).reshape(-1)
    valid = (idx >= -dim) & (idx < dim)
    idx = np.where(valid, np.where(idx < 0, idx + dim, idx), 0)
    codes = codes_of(xp.take(data, xp.asarray(idx), axis=g))
    s_rows = scales if g == qa else xp.take(scales, xp.asarray(idx), axis=g)
    z_rows = None
    if zero_points is not None:
        z_rows = zero_points if g == qa else xp.take(zero_points, xp.asarray(idx), axis=g)
        z_rows = codes_of(z_rows)[..., :n_blocks] if per_byte > 1 else codes_of(z_rows)
    blocks = (idx // block_size) if g == qa else None
    s_full = _per_element(xp, s_rows, qa, block_size, codes.shape[qa], blocks)
    values = codes.astype(np.float32)
    if z_rows is not None:
        values -= _per_element(xp, z_rows, qa, block_size, codes.shape[qa], blocks)
    elif default_zp:
        values -= np.float32(default_zp)
    values *= s_full.astype(np.float32, copy=False)
    if not valid.all():
        shape = [1] * values.ndim
        shape[g] = -1
        values *= xp.asarray(valid.reshape(shape))
    out_shape = logical[:g] + list(np.shape(indices)) + logical[g + 1:]
    return values.reshape(out_shape).astype(scales.dtype, copy=False)


def _per_element(xp, p, axis, block_size, length, blocks):
    """Per-block parameters ``p`` expanded along ``axis`` to one value per element: repeated
    ``block_size`` times (trimmed to ``length``), or picked by ``blocks`` when the gathered
    axis is the quantized one."""
    if blocks is not None:
        return xp.take(p, xp.asarray(blocks), axis=axis)
    full = xp.repeat(p, block_size, axis=axis)
    return full[(slice(None),) * axis + (slice(0, length),)]
