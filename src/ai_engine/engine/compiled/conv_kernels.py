"""Compiled convolution kernels: depthwise convolution over a zero-bordered input, a direct
convolution for small work, and the fused epilogue ``out = act(src + bias + z)`` of every fast
conv path (see operators/conv_engine.py, which owns the layouts and the scratch buffers).

Activation codes (``ACT_CODES``) and their parameters ``(alpha, lo, hi)`` (passed as Python
floats, which numba types much faster than NumPy scalars, and rounded to float32 here): 0 none,
1 Relu, 2 LeakyRelu (alpha), 3 Clip (lo, hi; +-inf for an absent bound), 4 Silu
(x*sigmoid(x)), 5 HardSwish (x*clip(x/6 + 1/2, 0, 1)), 6 Sigmoid. The activation is picked
once per row, outside the loops, so each row loop compiles to SIMD code.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ai_engine.engine.compiled.mathf import FASTMATH, F, sigmoid32

ACT_CODES = {"": 0, "Relu": 1, "LeakyRelu": 2, "Clip": 3, "Silu": 4, "HardSwish": 5,
             "Sigmoid": 6}

_OPTS = {"cache": True, "fastmath": FASTMATH, "error_model": "numpy", "boundscheck": False}
_ZERO, _ONE, _SIXTH, _HALF = F(0.0), F(1.0), F(1.0 / 6.0), F(0.5)


@njit(inline="always", **_OPTS)
def _activate(row, n, act, alpha, lo, hi):
    """``row[:n] = act(row[:n])`` in place."""
    if act == 1:
        for k in range(n):
            v = row[k]
            row[k] = _ZERO if v < _ZERO else v       # NaN stays NaN, as in np.maximum
    elif act == 2:
        for k in range(n):
            v = row[k]
            row[k] = v if v >= _ZERO else v * alpha
    elif act == 3:
        for k in range(n):
            v = row[k]
            v = lo if v < lo else v
            row[k] = hi if v > hi else v
    elif act == 4:
        for k in range(n):
            v = row[k]
            row[k] = v * sigmoid32(v)
    elif act == 5:
        for k in range(n):
            v = row[k]
            t = v * _SIXTH + _HALF
            t = _ZERO if t < _ZERO else t
            t = _ONE if t > _ONE else t
            row[k] = v * t
    elif act == 6:
        for k in range(n):
            row[k] = sigmoid32(row[k])


@njit(inline="always", **_OPTS)
def _dw_plane(xp, w, b, z, y, s, c, kh, kw, sh, sw, dh, dw, act, alpha, lo, hi):
    """One (sample, channel) plane of a depthwise conv over the padded input ``xp``."""
    oh, ow = y.shape[2], y.shape[3]
    bias = b[c]
    for oy in range(oh):
        row = y[s, c, oy]
        for ox in range(ow):
            row[ox] = bias
        for i in range(kh):
            src = xp[s, c, oy * sh + i * dh]
            for j in range(kw):
                wv = w[c, i, j]
                off = j * dw
                if sw == 1:
                    for ox in range(ow):
                        row[ox] += wv * src[ox + off]
                else:
                    for ox in range(ow):
                        row[ox] += wv * src[ox * sw + off]
        if z.shape[0]:
            zr = z[s, c, oy]
            for ox in range(ow):
                row[ox] += zr[ox]
        _activate(row, ow, act, alpha, lo, hi)


@njit(inline="always", **_OPTS)
def _dw3_plane(xp, w, b, z, y, s, c, sh, sw, act, alpha, lo, hi):
    """3x3, dilation 1: the nine taps summed in registers per output vector (one store per
    output instead of nine read-modify-writes of the row)."""
    oh, ow = y.shape[2], y.shape[3]
    bias = b[c]
    w00, w01, w02 = w[c, 0, 0], w[c, 0, 1], w[c, 0, 2]
    w10, w11, w12 = w[c, 1, 0], w[c, 1, 1], w[c, 1, 2]
    w20, w21, w22 = w[c, 2, 0], w[c, 2, 1], w[c, 2, 2]
    for oy in range(oh):
        row = y[s, c, oy]
        r0 = xp[s, c, oy * sh]
        r1 = xp[s, c, oy * sh + 1]
        r2 = xp[s, c, oy * sh + 2]
        if sw == 1:
            for ox in range(ow):
                row[ox] = (bias + w00 * r0[ox] + w01 * r0[ox + 1] + w02 * r0[ox + 2]
                           + w10 * r1[ox] + w11 * r1[ox + 1] + w12 * r1[ox + 2]
                           + w20 * r2[ox] + w21 * r2[ox + 1] + w22 * r2[ox + 2])
        else:
            for ox in range(ow):
                q = ox * sw
                row[ox] = (bias + w00 * r0[q] + w01 * r0[q + 1] + w02 * r0[q + 2]
                           + w10 * r1[q] + w11 * r1[q + 1] + w12 * r1[q + 2]
                           + w20 * r2[q] + w21 * r2[q + 1] + w22 * r2[q + 2])
        if z.shape[0]:
            zr = z[s, c, oy]
            for ox in range(ow):
                row[ox] += zr[ox]
        _activate(row, ow, act, alpha, lo, hi)


@njit(inline="always", **_OPTS)
def _dw5_plane(xp, w, b, z, y, s, c, sh, sw, act, alpha, lo, hi):
    """5x5, dilation 1: per kernel row, its five taps summed in registers."""
    oh, ow = y.shape[2], y.shape[3]
    bias = b[c]
    for oy in range(oh):
        row = y[s, c, oy]
        for ox in range(ow):
            row[ox] = bias
        for i in range(5):
            r = xp[s, c, oy * sh + i]
            a0, a1, a2, a3, a4 = w[c, i, 0], w[c, i, 1], w[c, i, 2], w[c, i, 3], w[c, i, 4]
            if sw == 1:
                for ox in range(ow):
                    row[ox] += (a0 * r[ox] + a1 * r[ox + 1] + a2 * r[ox + 2]
                                + a3 * r[ox + 3] + a4 * r[ox + 4])
            else:
                for ox in range(ow):
                    q = ox * sw
                    row[ox] += (a0 * r[q] + a1 * r[q + 1] + a2 * r[q + 2]
                                + a3 * r[q + 3] + a4 * r[q + 4])
        if z.shape[0]:
            zr = z[s, c, oy]
            for ox in range(ow):
                row[ox] += zr[ox]
        _activate(row, ow, act, alpha, lo, hi)


@njit(inline="always", **_OPTS)
def _dw_any(xp, w, b, z, y, s, c, kh, kw, sh, sw, dh, dw, act, alpha, lo, hi):
    if kh == 3 and kw == 3 and dh == 1 and dw == 1:
        _dw3_plane(xp, w, b, z, y, s, c, sh, sw, act, alpha, lo, hi)
    elif kh == 5 and kw == 5 and dh == 1 and dw == 1:
        _dw5_plane(xp, w, b, z, y, s, c, sh, sw, act, alpha, lo, hi)
    else:
        _dw_plane(xp, w, b, z, y, s, c, kh, kw, sh, sw, dh, dw, act, alpha, lo, hi)


@njit(parallel=True, **_OPTS)
def depthwise_parallel(xp, w, b, z, y, strides, dilations, act, alpha, lo, hi):
    """``y[s, c] = act(b[c] + sum_ij w[c, i, j] * xp[s, c, oy*sh + i*dh, ox*sw + j*dw] +
    z[s, c])`` for the padded input ``xp`` (N, C, Hp, Wp), ``w`` (C, kh, kw), ``y`` (N, C, OH,
    OW); ``z`` is (N, C, OH, OW) or empty (0, ...) for none. Parallel over (sample, channel)."""
    alpha, lo, hi = np.float32(alpha), np.float32(lo), np.float32(hi)
    n, c = y.shape[0], y.shape[1]
    kh, kw = w.shape[1], w.shape[2]
    for p in prange(n * c):
        _dw_any(xp, w, b, z, y, p // c, p % c, kh, kw, strides[0], strides[1], dilations[0],
                dilations[1], act, alpha, lo, hi)


@njit(**_OPTS)
def depthwise_serial(xp, w, b, z, y, strides, dilations, act, alpha, lo, hi):
    """:func:`depthwise_parallel` on the calling thread (small maps: no launch cost)."""
    alpha, lo, hi = np.float32(alpha), np.float32(lo), np.float32(hi)
    n, c = y.shape[0], y.shape[1]
    kh, kw = w.shape[1], w.shape[2]
    for p in range(n * c):
        _dw_any(xp, w, b, z, y, p // c, p % c, kh, kw, strides[0], strides[1], dilations[0],
                dilations[1], act, alpha, lo, hi)


@njit(inline="always", **_OPTS)
def _epilogue_plane(src, z, out, m, act, alpha, lo, hi):
    rows, n = out.shape[1], out.shape[2]
    for r in range(rows):
        dst = out[m, r]
        s = src[m, r]
        if z.shape[0]:
            zr = z[m, r]
            for k in range(n):
                dst[k] = s[k] + zr[k]
        else:
            for k in range(n):
                dst[k] = s[k]
        _activate(dst, n, act, alpha, lo, hi)


@njit(parallel=True, **_OPTS)
def epilogue_parallel(src, z, out, act, alpha, lo, hi):
    """``out = act(src[:, :, :L] + z)`` for ``out`` (M, R, L) and ``src`` (M, R, >= L), both
    C-contiguous: ``src`` may be the wide GEMM output whose rows carry padding columns, or
    ``out`` itself; ``z`` is like ``out`` or empty (0, 0, 0) for none."""
    alpha, lo, hi = np.float32(alpha), np.float32(lo), np.float32(hi)
    for m in prange(out.shape[0]):
        _epilogue_plane(src, z, out, m, act, alpha, lo, hi)


@njit(**_OPTS)
def epilogue_serial(src, z, out, act, alpha, lo, hi):
    """:func:`epilogue_parallel` on the calling thread."""
    alpha, lo, hi = np.float32(alpha), np.float32(lo), np.float32(hi)
    for m in range(out.shape[0]):
        _epilogue_plane(src, z, out, m, act, alpha, lo, hi)


@njit(**_OPTS)
def conv_small_serial(x, w, b, z, y, geometry, act, alpha, lo, hi):
    """Direct group-1 convolution for small work, where im2col + a BLAS call cost more in
    overhead than the arithmetic: ``x`` (N, C, H, W), ``w`` (M, kh, kw, C) OHWI, ``y`` (N, M,
    OH, OW) = act(conv + b + z) (``z`` empty for none); ``geometry`` = (stride h, stride w,
    dilation h, dilation w, pad top, pad left) in one tuple (each argument costs dispatch
    time). Taps that fall into the padding are skipped; the input is transposed to
    channels-last once so each tap is a contiguous dot product with the weight's (C,) row."""
    strides, dilations, begin = geometry[0:2], geometry[2:4], geometry[4:6]
    alpha, lo, hi = np.float32(alpha), np.float32(lo), np.float32(hi)
    n, c, hgt, wid = x.shape
    m, kh, kw = w.shape[0], w.shape[1], w.shape[2]
    oh, ow = y.shape[2], y.shape[3]
    xt = np.empty((n, hgt, wid, c), np.float32)
    for s in range(n):
        for ch in range(c):
            for iy in range(hgt):
                for ix in range(wid):
                    xt[s, iy, ix, ch] = x[s, ch, iy, ix]
    for s in range(n):
        for o in range(m):
            for oy in range(oh):
                row = y[s, o, oy]
                for ox in range(ow):
                    acc = b[o]
                    for i in range(kh):
                        iy = oy * strides[0] + i * dilations[0] - begin[0]
                        if iy < 0 or iy >= hgt:
                            continue
                        for j in range(kw):
                            ix = ox * strides[1] + j * dilations[1] - begin[1]
                            if ix < 0 or ix >= wid:
                                continue
                            wr = w[o, i, j]
                            xr = xt[s, iy, ix]
                            for ch in range(c):
                                acc += wr[ch] * xr[ch]
                    row[ox] = acc
                if z.shape[0]:
                    zr = z[s, o, oy]
                    for ox in range(ow):
                        row[ox] += zr[ox]
                _activate(row, ow, act, alpha, lo, hi)
