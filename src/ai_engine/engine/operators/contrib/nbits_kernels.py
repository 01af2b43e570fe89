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

from ai_engine.engine.operators.contrib import row_pool

# Scratch budget of the tiled path: 1M float32 values (4 MiB), whatever the weight's size.
TILE_WEIGHTS = 1 << 20
# The fused kernel wins while A has few rows; beyond this BLAS on dequantized tiles is faster.
FUSED_MAX_ROWS = 8


def unpack_codes(xp, packed, bits: int, out=None):
    """(..., nbytes) uint8 -> (..., nbytes * 8 // bits) codes, low bits first, written into
    ``out`` (any dtype, e.g. a float32 scratch tile) when given, else a new uint8 array."""
    per_byte = 8 // bits
    shape = packed.shape[:-1] + (packed.shape[-1] * per_byte,)
    if out is None:
        if bits == 8:
            return packed
        out = xp.empty(shape, np.uint8)
    mask = np.uint8((1 << bits) - 1)
    # One strided write per code position of a byte: far faster than broadcasting the
    # shifts over a trailing axis of length 2 or 4.
    for t in range(per_byte):
        plane = packed >> np.uint8(t * bits) if t else packed
        out[..., t::per_byte] = plane & mask if t < per_byte - 1 else plane
    return out


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
        unpack_codes(xp, packed[rows], bits, out=w)
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


# --------------------------------------------------------------------------- numba kernels

# Output features the fused kernels compute together: each A value loaded serves this many
# rows of B, with as many independent accumulators (on the decode shape 8 beat 1, 4 and 16).
_ROWS = 8
_FUSED = None


def _compile():
    """The numba kernels ``{bits: kernel}``, compiled on first use (None without numba)."""
    global _FUSED
    if _FUSED is not None:
        return _FUSED or None
    try:
        import numba
    except ImportError:
        _FUSED = False
        return None

    # Both kernels: for each group g0 <= g < g1 of _ROWS output features, each row m of A and
    # each block b: sums[r] = sum_k a_k * code_k, then acc[r] += scale * (sums[r] - zp *
    # sum_k a_k). zp_mode: 0 default 2**(bits-1), 1 packed uint8 (bits per code), 2 float.
    # The group size is a constant so the row loops unroll into registers; the last
    # N % _ROWS features are left to the caller. The kernels are prange loops run on one
    # numba thread each (row_pool shares the groups between threads): numba's parallel
    # lowering is what lets LLVM vectorize them (a plain njit loop ran 4x slower).

    @numba.njit(parallel=True, fastmath=True, cache=True, nogil=True)
    def gemv_4bit(g0, g1, lo, hi, a_sums, packed, scales, zp_mode, zp_packed, zp_float, out):
        # lo/hi[m, b, j]: the A values that meet the low / high nibble of byte j of block b.
        m_rows, n_blocks, blob = lo.shape
        for g in numba.prange(g0, g1):
            n = g * _ROWS
            for m in range(m_rows):
                acc = np.zeros(_ROWS, np.float32)
                for b in range(n_blocks):
                    sums = np.zeros(_ROWS, np.float32)
                    for j in range(blob):
                        x0 = lo[m, b, j]
                        x1 = hi[m, b, j]
                        for r in range(_ROWS):
                            v = np.int32(packed[n + r, b, j])
                            sums[r] += x0 * np.float32(v & 15) + x1 * np.float32(v >> 4)
                    for r in range(_ROWS):
                        if zp_mode == 0:
                            z = np.float32(8.0)
                        elif zp_mode == 1:
                            z = np.float32((np.int32(zp_packed[n + r, b >> 1]) >> ((b & 1) * 4))
                                           & 15)
                        else:
                            z = zp_float[n + r, b]
                        acc[r] += scales[n + r, b] * (sums[r] - z * a_sums[m, b])
                for r in range(_ROWS):
                    out[m, n + r] = acc[r]

    @numba.njit(parallel=True, fastmath=True, cache=True, nogil=True)
    def gemv_8bit(g0, g1, x, a_sums, packed, scales, zp_mode, zp_packed, zp_float, out):
        # x[m, b, j]: A's element b*block + j, which meets byte j of block b.
        m_rows, n_blocks, blob = x.shape
        for g in numba.prange(g0, g1):
            n = g * _ROWS
            for m in range(m_rows):
                acc = np.zeros(_ROWS, np.float32)
                for b in range(n_blocks):
                    sums = np.zeros(_ROWS, np.float32)
                    for j in range(blob):
                        xj = x[m, b, j]
                        for r in range(_ROWS):
                            sums[r] += xj * np.float32(packed[n + r, b, j])
                    for r in range(_ROWS):
                        if zp_mode == 0:
                            z = np.float32(128.0)
                        elif zp_mode == 1:
                            z = np.float32(zp_packed[n + r, b])
                        else:
                            z = zp_float[n + r, b]
                        acc[r] += scales[n + r, b] * (sums[r] - z * a_sums[m, b])
                for r in range(_ROWS):
                    out[m, n + r] = acc[r]

    _FUSED = {4: gemv_4bit, 8: gemv_8bit}
    return _FUSED


def fused_available(bits: int = 4) -> bool:
    """Whether a numba kernel can run for ``bits`` (numba importable; 4 or 8 bits)."""
    kernels = _compile()
    return kernels is not None and bits in kernels


def fused(a2, packed, scales, zero_points, bits: int, block_size: int, k: int):
    """``a2 (M, K) float32 @ dequantize(packed)^T`` with the numba kernel (NumPy arrays).

    The zero-point term is folded out of the inner loop: per block,
    ``scale * (sum a*code - zero_point * sum a)``."""
    kernel = _compile()[bits]
    n, n_blocks = scales.shape
    m = a2.shape[0]
    padded = n_blocks * block_size
    if padded != k:
        a2 = np.concatenate([a2, np.zeros((m, padded - k), np.float32)], axis=1)
    if bits == 4:     # de-interleaved: the A values of the low and of the high nibbles
        blocks = a2.reshape(m, n_blocks, block_size // 2, 2)
        planes = (np.ascontiguousarray(blocks[..., 0]), np.ascontiguousarray(blocks[..., 1]))
    else:
        planes = (a2.reshape(m, n_blocks, block_size),)
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
    args = (*planes, a_sums, np.ascontiguousarray(packed),
            np.ascontiguousarray(scales, dtype=np.float32), mode, zp_packed, zp_float, out)
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(1)                 # per thread; row_pool supplies the parallelism
    try:
        row_pool.run(lambda g0, g1: kernel(g0, g1, *args), n // _ROWS,
                     setup=lambda: numba.set_num_threads(1))
    finally:
        numba.set_num_threads(previous)
    tail = n - n % _ROWS
    if tail < n:
        rows = slice(tail, n)
        out[:, rows] = tiled(np, a2[:, :k], packed[rows], scales[rows],
                             None if zero_points is None else zero_points[rows], None, bits,
                             block_size, k)
    return out
