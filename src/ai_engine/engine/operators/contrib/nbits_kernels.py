"""Kernels for MatMulNBits: ``A @ dequantize(B)^T`` with B kept packed (``bits`` bits a weight).

B is (N, k_blocks, blob) uint8: row n holds output feature n, blocked along K, each block's
``block_size`` codes packed low bits first (two 4-bit codes a byte, the first in the low
nibble). Weight (n, k) is ``(code - zero_point[n, block]) * scale[n, block]``.

No float copy of the whole weight is ever made. Two paths:

- ``tiled``: rows of B are dequantized a tile at a time into one scratch buffer of at most
  ``TILE_WEIGHTS`` float32 values and multiplied by BLAS (``A @ tile.T``). Works for any M, any
  array module, g_idx and float zero points; it pays one pass over the dequantized weights
  per call, which BLAS amortizes over many rows of A (prefill).
- ``fused`` (numba, when installed, NumPy arrays, ``M <= FUSED_MAX_ROWS``): one parallel loop
  over the output features that unpacks each byte in registers and accumulates
  ``scale * (sum_k a_k * code_k - zero_point * sum_k a_k)`` per block. A decode step (M = 1)
  reads the packed bytes once and nothing else of the weight's size, which is what makes it a
  memory-bound 4-bit GEMV instead of a dequantize-then-GEMV.

Both accumulate in float32, as onnxruntime's fp32 path (accuracy_level 0/1) does; the order
of the additions differs, so results agree to float32 rounding (about 1e-6 relative).
"""

from __future__ import annotations

import numpy as np

# Scratch budget of the tiled path: 1M float32 values (4 MiB), whatever the weight's size.
TILE_WEIGHTS = 1 << 20
# The fused kernel wins while A has few rows; beyond this BLAS on dequantized tiles is faster.
FUSED_MAX_ROWS = 8


def unpack_codes(xp, packed, bits: int):
    """(..., nbytes) uint8 -> (..., nbytes * 8 // bits) uint8 codes, low bits first."""
    if bits == 8:
        return packed
    shifts = xp.arange(0, 8, bits, dtype=np.uint8)
    codes = (packed[..., None] >> shifts) & np.uint8((1 << bits) - 1)
    return codes.reshape(packed.shape[:-1] + (packed.shape[-1] * (8 // bits),))


def block_zero_points(xp, zero_points, bits: int, rows: slice, n_blocks: int):
    """The float32 (rows, n_blocks) zero points: packed uint8 (unpacked like B), float, or the
    default ``2**(bits-1)`` when ``zero_points`` is None."""
    if zero_points is None:
        return np.float32(1 << (bits - 1))
    z = zero_points[rows]
    if z.dtype == np.uint8:
        z = unpack_codes(xp, z, bits)[:, :n_blocks]
    return z.astype(np.float32)


def tiled(xp, a2, packed, scales, zero_points, g_idx, bits: int, block_size: int, k: int):
    """``a2 (M, K) float32 @ dequantize(packed)^T`` through bounded dequantized tiles."""
    n, n_blocks = scales.shape
    m = a2.shape[0]
    out = xp.empty((m, n), np.float32)
    padded = n_blocks * block_size
    rows_per_tile = max(1, min(n, TILE_WEIGHTS // padded))
    scratch = xp.empty((rows_per_tile, n_blocks, block_size), np.float32)
    for n0 in range(0, n, rows_per_tile):
        n1 = min(n, n0 + rows_per_tile)
        rows = slice(n0, n1)
        w = scratch[:n1 - n0]
        w[...] = unpack_codes(xp, packed[rows], bits).reshape(w.shape)
        z = block_zero_points(xp, zero_points, bits, rows, n_blocks)
        s = scales[rows].astype(np.float32, copy=False)
        if g_idx is None:
            w -= z if np.ndim(z) == 0 else z[..., None]
            w *= s[..., None]
            wk = w.reshape(n1 - n0, padded)[:, :k]
        else:
            # Weight k belongs to block g_idx[k], wherever it sits in B.
            wk = w.reshape(n1 - n0, padded)[:, :k]
            wk -= z if np.ndim(z) == 0 else z[:, g_idx]
            wk *= s[:, g_idx]
        out[:, rows] = a2 @ wk.T
    return out


# --------------------------------------------------------------------------- numba kernel

_FUSED = None


def _compile():
    """The numba kernel, compiled on first use (None when numba is not installed)."""
    global _FUSED
    if _FUSED is not None:
        return _FUSED or None
    try:
        import numba
    except ImportError:
        _FUSED = False
        return None

    @numba.njit(parallel=True, fastmath=True, cache=True, nogil=True)
    def fused_gemv(planes, a_sums, packed, scales, zp_mode, zp_packed, zp_float, bits, out):
        # planes[m, b, t, j]: A's element b*block + j*per_byte + t (the code in bits t*bits..
        # of byte j of block b), so the innermost loop runs over contiguous bytes and
        # contiguous A values with a loop-invariant shift: it vectorizes.
        m_rows, n_blocks, per_byte, blob = planes.shape
        n_out = packed.shape[0]
        mask = (1 << bits) - 1
        default_zp = np.float32(1 << (bits - 1))
        for n in numba.prange(n_out):
            for m in range(m_rows):
                acc = np.float32(0.0)
                for b in range(n_blocks):
                    s = np.float32(0.0)
                    for t in range(per_byte):
                        shift = t * bits
                        for j in range(blob):
                            code = (np.int32(packed[n, b, j]) >> shift) & mask
                            s += planes[m, b, t, j] * np.float32(code)
                    if zp_mode == 0:
                        z = default_zp
                    elif zp_mode == 1:
                        bit = b * bits
                        z = np.float32((np.int32(zp_packed[n, bit >> 3]) >> (bit & 7)) & mask)
                    else:
                        z = zp_float[n, b]
                    acc += scales[n, b] * (s - z * a_sums[m, b])
                out[m, n] = acc

    _FUSED = fused_gemv
    return fused_gemv


def fused_available() -> bool:
    """Whether the numba kernel can run (numba importable)."""
    return _compile() is not None


def fused(a2, packed, scales, zero_points, bits: int, block_size: int, k: int):
    """``a2 (M, K) float32 @ dequantize(packed)^T`` with the numba kernel (NumPy arrays)."""
    kernel = _compile()
    n, n_blocks = scales.shape
    m = a2.shape[0]
    per_byte = 8 // bits
    padded = n_blocks * block_size
    if padded != k:
        a2 = np.concatenate([a2, np.zeros((m, padded - k), np.float32)], axis=1)
    blob = block_size // per_byte
    planes = np.ascontiguousarray(
        a2.reshape(m, n_blocks, blob, per_byte).transpose(0, 1, 3, 2))
    a_sums = a2.reshape(m, n_blocks, block_size).sum(axis=2, dtype=np.float32)
    empty_u8 = np.zeros((1, 1), np.uint8)
    empty_f = np.zeros((1, 1), np.float32)
    if zero_points is None:
        mode, zp_packed, zp_float = 0, empty_u8, empty_f
    elif zero_points.dtype == np.uint8:
        mode, zp_packed, zp_float = 1, np.ascontiguousarray(zero_points), empty_f
    else:
        mode, zp_packed, zp_float = 2, empty_u8, np.ascontiguousarray(
            zero_points, dtype=np.float32)
    out = np.empty((m, n), np.float32)
    kernel(planes, a_sums, np.ascontiguousarray(packed),
           np.ascontiguousarray(scales, dtype=np.float32), mode, zp_packed, zp_float, bits,
           out)
    return out
