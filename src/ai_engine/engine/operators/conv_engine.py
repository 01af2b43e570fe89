"""The fast float32 2-D convolution engine that plain Conv and the fused ``FusedConv`` share.

It computes ``act(Conv(X, W) + B + Z)`` (https://onnx.ai/onnx/operators/onnx__Conv.html) with
``W`` in (M, *kernel, C/group) ("OHWI") layout, so that each kernel tap's (M, C) slice and the
whole (M, k*k*C) matrix are both valid BLAS operands without a copy; ``Z`` (optional) is a
residual added before the activation ``act`` ("" | "Relu" | "LeakyRelu" | "Clip" | "Silu" |
"HardSwish" | "Sigmoid").

Fast paths (float32, 2-D, NumPy, the bundled OpenBLAS reachable), all writing the bias into
the output first and letting BLAS accumulate on top of it (beta=1):
- stride-1 kernels larger than 1x1: one GEMM per tap over the flattened, zero-bordered padded
  input (a reused buffer: only its interior is rewritten), into a "wide" output whose rows
  carry the padding columns; the copy that drops them applies the residual and activation;
- 1x1 kernels: one GEMM (strided ones gather their input first);
- other group-1 convolutions (strided 3x3, the 7x7 stem): im2col into a reused buffer ordered
  (kh, kw, C) to match OHWI, and one GEMM;
- depthwise: per-channel (1 x k*k) @ (k*k x L) products over a window copy.
With the compiled tier (engine/compiled/), depthwise convolutions run a numba kernel over the
zero-bordered input (bias, residual and activation fused), and the epilogue of the GEMM paths
is one compiled pass instead of one NumPy pass per operation.
Everything else runs the generic Conv and applies the epilogue.
"""

from __future__ import annotations

import contextlib
import math
import threading

import numpy as np

from ai_engine.engine import compiled

from .blas import sgemm_acc, single_thread
from .conv_geometry import conv_geometry, spatial_defaults

_local = threading.local()
_MAX_BUFFERS = 64
_SHIFTED_MIN_FLOPS = 20e6
_THREADED_MIN_FLOPS = 8e6
_NO_CONTEXT = contextlib.nullcontext()
# Group-1 convolutions of at most this many multiply-adds run the compiled direct kernel: a
# tiny model's convs (a few thousand MACs) then cost one call instead of im2col, a ctypes GEMM
# and an epilogue (~15 us of overhead).
_SMALL_CONV_WORK = 1 << 16
_NO_Z3 = np.empty((0, 0, 0), np.float32)
_NO_Z4 = np.empty((0, 0, 0, 0), np.float32)


def _buffer(key, shape):
    """A per-thread float32 scratch buffer, zero when first made. Callers rewrite only the
    parts they read, so zero borders stay zero across calls and nodes."""
    bufs = getattr(_local, "bufs", None)
    if bufs is None:
        bufs = _local.bufs = {}
    buf = bufs.get(key)
    if buf is None:
        if len(bufs) >= _MAX_BUFFERS:
            bufs.clear()
        buf = bufs[key] = np.zeros(shape, dtype=np.float32)
    return buf


def _addr(a) -> int:
    return a.__array_interface__["data"][0]


def epilogue(xp, src, z, out, activation, alpha, clip_min, clip_max):
    """``out = act(src + z)``; ``src`` may be ``out`` itself (in place)."""
    if z is not None:
        xp.add(src, z, out=out)
        src = out
    if activation == "Relu":
        xp.maximum(src, 0, out=out)
    elif activation == "Clip":
        xp.maximum(src, clip_min, out=out) if clip_min is not None else \
            xp.copyto(out, src)
        if clip_max is not None:
            xp.minimum(out, clip_max, out=out)
    elif activation == "LeakyRelu":
        if 0.0 <= alpha <= 1.0:
            t = src * np.float32(alpha)
            xp.maximum(src, t, out=out)   # max(x, alpha*x) is the piecewise form
        else:
            out[...] = xp.where(src < 0, src * alpha, src)
    elif activation == "Silu":
        xp.multiply(src, _sigmoid(xp, src), out=out)
    elif activation == "HardSwish":
        t = src * np.float32(1.0 / 6.0)
        t += np.float32(0.5)
        xp.clip(t, 0, 1, out=t)
        xp.multiply(src, t, out=out)
    elif activation == "Sigmoid":
        out[...] = _sigmoid(xp, src)
    elif activation:
        raise ValueError(f"FusedConv: unknown activation {activation!r}")
    elif src is not out:
        xp.copyto(out, src)
    return out


def _sigmoid(xp, x):
    t = xp.negative(x)
    xp.exp(t, out=t)      # inf for very negative x: the correct 0 below
    t += 1
    return xp.reciprocal(t, out=t)


_TIERS: dict = {}


def _compiled(act):
    """The compiled conv kernels and ``act`` as their (code, alpha, lo, hi) arguments, or
    ``None`` (tier off, numba absent). Memoized per activation: this runs on every conv."""
    ck = compiled.kernels("conv_kernels")
    if ck is None:
        return None
    hit = _TIERS.get(act)
    if hit is None:
        name, alpha, lo, hi = act
        code = ck.ACT_CODES.get(name)
        if code is None:
            return None
        # Python floats: numba types them ~10x faster than NumPy scalars; the kernels
        # round them to float32 themselves.
        hit = _TIERS[act] = (ck, (code, float(alpha), -math.inf if lo is None else float(lo),
                                  math.inf if hi is None else float(hi)))
    return hit


def _finish(tier, src, z, out, act):
    """``out = act(src + z)``: ``src`` (M, R, >= L) C-contiguous, ``out`` (M, R, L)."""
    if tier is None:
        epilogue(np, src[:, :, :out.shape[2]], z, out, *act)
        return
    ck, code = tier
    compiled.launch(ck, "epilogue", out.size, src, _NO_Z3 if z is None else z, out, *code)


def _depthwise_compiled(tier, x, w, b, z, y, begin, end, strides, dilations):
    """All samples at once: one compiled kernel over the zero-bordered input."""
    n, c, h, wd = x.shape
    if any(begin + end):
        hp, wp = h + begin[0] + end[0], wd + begin[1] + end[1]
        xp = _buffer(("dwpad", n, c, h, wd, tuple(begin), tuple(end)), (n, c, hp, wp))
        xp[:, :, begin[0]:begin[0] + h, begin[1]:begin[1] + wd] = x
    else:
        xp = x
    ck, code = tier
    kh, kw = w.shape[1], w.shape[2]
    compiled.launch(ck, "depthwise", y.size * kh * kw, xp, w.reshape(c, kh, kw), b,
            _NO_Z4 if z is None else z, y, strides, dilations, *code)


def _fill_padded(x_n, pads, hp, wp, extra):
    """The zero-bordered padded copy of one sample (C, H, W), flattened per channel with
    ``extra`` trailing zeros so the last tap's shifted rows stay inside the buffer."""
    c, h, w = x_n.shape
    buf = _buffer(("pad", c, h, w, pads, hp, wp, extra), (c, hp * wp + extra))
    img = buf[:, :hp * wp].reshape(c, hp, wp)
    img[:, pads[0]:pads[0] + h, pads[1]:pads[1] + w] = x_n
    return buf, img


def _shifted(gemm, x_n, w, b, y_n, z_n, geo, act, tier):
    """Stride-1, group-1: one accumulating GEMM per tap over the flattened padded input."""
    (kh, kw), (dh, dw), pads, (hp, wp), (oh, ow) = geo
    m, cg = w.shape[0], w.shape[3]
    buf, _ = _fill_padded(x_n, pads, hp, wp, (kw - 1) * dw)
    length = oh * wp
    wide = _buffer(("wide", m, length), (m, length))
    np.copyto(wide, b[:, None])
    wa, ba, ya = _addr(w), _addr(buf), _addr(wide)
    ld_w, ld_b = kh * kw * cg, buf.shape[1]
    for i in range(kh):
        for j in range(kw):
            gemm(m, length, cg, wa + 4 * (i * kw + j) * cg, ld_w,
                 ba + 4 * (i * dh * wp + j * dw), ld_b, ya, length)
    _finish(tier, wide.reshape(m, oh, wp), z_n, y_n, act)


def _single_gemm(gemm, cols, w, b, y_n, z_n, act, tier):
    """``y = act(W @ cols + b + z)`` with ``cols`` (K, L) C-contiguous, y_n (M, L)."""
    m = w.shape[0]
    k, length = cols.shape
    if tier is not None:
        np.copyto(y_n, b[:, None])
        gemm(m, length, k, _addr(w), k, _addr(cols), length, _addr(y_n), length)
        if act[0] or z_n is not None:
            y3 = y_n.reshape(m, 1, length)
            _finish(tier, y3, None if z_n is None else z_n.reshape(m, 1, length), y3, act)
        return
    if z_n is not None:
        np.add(z_n, b[:, None], out=y_n)
        z_n = None
    else:
        np.copyto(y_n, b[:, None])
    gemm(m, length, k, _addr(w), k, _addr(cols), length, _addr(y_n), length)
    epilogue(np, y_n, None, y_n, *act)


def _im2col(x_n, geo, strides):
    """(kh*kw*C, OH*OW) patches, rows ordered (kh, kw, C) to match OHWI: one strided copy
    from a window view of the padded buffer (a single call beats one copy per tap)."""
    (kh, kw), (dh, dw), pads, (hp, wp), (oh, ow) = geo
    c = x_n.shape[0]
    buf, _ = _fill_padded(x_n, pads, hp, wp, 0)
    cols = _buffer(("cols", kh, kw, c, oh, ow), (kh, kw, c, oh, ow))
    sc, sh, sw = buf.strides[0], strides[0] * wp * 4, strides[1] * 4
    win = np.ndarray((kh, kw, c, oh, ow), np.float32, buffer=buf,
                     strides=(dh * wp * 4, dw * 4, sc, sh, sw))
    np.copyto(cols, win)
    return cols.reshape(kh * kw * c, oh * ow)


def _depthwise(x_n, w, b, y_n, z_n, geo, strides, act):
    """Depthwise: per-channel (1 x k*k) @ (k*k x L) products over a window copy: ~3x faster
    than a multiply-add per tap, which makes two memory passes per tap."""
    (kh, kw), (dh, dw), pads, (hp, wp), (oh, ow) = geo
    c = x_n.shape[0]
    sh, sw = strides
    buf, _ = _fill_padded(x_n, pads, hp, wp, (kw - 1) * dw)
    sc = buf.strides[0]
    if sh == sw == 1:
        # Wide layout: each tap is one contiguous run per channel; the padding columns are
        # dropped by the epilogue's copy.
        shape, st, rows, cols_ = (c, kh, kw, oh * wp), (sc, dh * wp * 4, dw * 4, 4), oh, wp
    else:
        shape = (c, kh, kw, oh, ow)
        st = (sc, dh * wp * 4, dw * 4, sh * wp * 4, sw * 4)
        rows, cols_ = oh, ow
    win = np.ndarray(shape, np.float32, buffer=buf, strides=st)
    patches = _buffer(("dcols",) + shape, shape)
    np.copyto(patches, win)
    res = _buffer(("dres", c, rows * cols_), (c, 1, rows * cols_))
    np.matmul(w.reshape(c, 1, kh * kw), patches.reshape(c, kh * kw, rows * cols_), out=res)
    view = res.reshape(c, rows, cols_)[:, :, :ow]
    np.add(view, b[:, None, None], out=y_n)
    epilogue(np, y_n, z_n, y_n, *act)


def _fast(xp, x, w, b, z, group, strides, dilations, begin, end, out, act):
    """The float32 NumPy fast paths; ``None`` when none applies."""
    if xp is not np or x.dtype != np.float32 or x.ndim != 4 or min(begin + end) < 0:
        return None
    n, c, h, wd = x.shape
    m, kh, kw, cg = w.shape
    depthwise = group == c == m and cg == 1 and group > 1
    if group != 1 and not depthwise:
        return None
    if z is not None and tuple(z.shape) != (n, m, out[0], out[1]):
        return None
    x = np.ascontiguousarray(x)
    z = None if z is None else np.ascontiguousarray(z, dtype=np.float32)
    b = np.zeros(m, np.float32) if b is None else b.astype(np.float32, copy=False)
    y = np.empty((n, m, out[0], out[1]), dtype=np.float32)
    tier = _compiled(act)
    if tier is not None and not depthwise and n * m * cg * kh * kw * out[0] * out[1] <= \
            _SMALL_CONV_WORK:
        tier[0].conv_small_serial(x, w, b, _NO_Z4 if z is None else z, y,
                                  strides + dilations + (begin[0], begin[1]), *tier[1])
        return y
    gemm = sgemm_acc()
    if gemm is None:
        return None
    hp, wp = h + begin[0] + end[0], wd + begin[1] + end[1]
    geo = ((kh, kw), tuple(dilations), (begin[0], begin[1]), (hp, wp), tuple(out))
    if depthwise and tier is not None:
        _depthwise_compiled(tier, x, w, b, z, y, begin, end, strides, dilations)
        return y
    pointwise = kh == kw == 1 and not any(begin + end)
    flops = 2 * m * cg * kh * kw * out[0] * out[1]
    # Per-tap GEMMs pay ~5 us of ctypes call each: worth it only when they save a big copy.
    # and only on wide enough rows: with N = OH*Wp below ~128 (7x7 maps) the per-tap GEMMs
    # run slower than one im2col GEMM with K = k*k*C. A 1x1 kernel is one GEMM either way.
    shifted = strides == (1, 1) and flops >= _SHIFTED_MIN_FLOPS and out[0] * wp >= 128 \
        and not pointwise
    with single_thread() if flops * n < _THREADED_MIN_FLOPS else _NO_CONTEXT:
        for s in range(n):
            y_n, z_n = y[s], None if z is None else z[s]
            if depthwise:
                _depthwise(x[s], w, b, y_n, z_n, geo, strides, act)
            elif shifted:
                _shifted(gemm, x[s], w, b, y_n, z_n, geo, act, tier)
            else:
                if pointwise:
                    v = x[s] if strides == (1, 1) else x[s][:, ::strides[0], ::strides[1]]
                    cols = v.reshape(c, -1) if strides == (1, 1) else \
                        _copy_into(("pw", c) + tuple(out), v)
                else:
                    cols = _im2col(x[s], geo, strides)
                _single_gemm(gemm, cols, w, b, y_n.reshape(m, -1),
                             None if z_n is None else z_n.reshape(m, -1), act, tier)
    return y


def _copy_into(key, v):
    buf = _buffer(key, v.shape)
    np.copyto(buf, v)
    return buf.reshape(v.shape[0], -1)


def fast_conv(xp, x, w, b, z, *, auto_pad, dilations, group, pads, strides, act):
    """The fast paths for W in OHWI layout, or ``None`` when none applies (the caller then
    runs the generic Conv)."""
    if xp is not np or x.ndim != 4 or w.ndim != 4 or x.dtype != np.float32 \
            or w.dtype != np.float32 or w.shape[3] * group != x.shape[1]:
        return None
    key = (x.shape, w.shape, auto_pad, _tuple(dilations), _tuple(pads), _tuple(strides))
    geo = _GEOMETRY.get(key)
    if geo is None:
        strides, dilations, pads = spatial_defaults(2, strides, dilations, pads)
        begin, end, out = conv_geometry(x.shape[2:], (w.shape[1], w.shape[2]), strides,
                                        dilations, pads, auto_pad)
        if len(_GEOMETRY) >= _MAX_BUFFERS:
            _GEOMETRY.clear()
        geo = _GEOMETRY[key] = (tuple(strides), tuple(dilations), tuple(begin), tuple(end),
                                tuple(out))
    return _fast(xp, x, w, b, z, group, *geo, act)


# Geometry per (input shape, weight shape, attributes): a conv node sees the same few shapes
# run after run, and computing it costs more than a tiny conv itself.
_GEOMETRY: dict = {}


def _tuple(v):
    return v if v is None or type(v) is tuple else tuple(v)


_OHWI: dict = {}


def ohwi_cached(w):
    """``w`` (OIHW) in OHWI layout, transposed once per weight array: Conv nodes see the same
    constant array on every run. Entries die with their array (weak reference)."""
    if w.shape[2] == w.shape[3] == 1:
        return w.reshape(w.shape[0], 1, 1, w.shape[1])   # same memory order
    hit = _OHWI.get(id(w))
    if hit is not None and hit[0]() is w:
        return hit[1]
    import weakref

    t = np.ascontiguousarray(np.moveaxis(w, 1, -1))
    try:
        # the defaults bind this weight's id now, not at the callback's call
        ref = weakref.ref(w, lambda _r, k=id(w), cache=_OHWI: cache.pop(k, None))  # noqa: B008
    except TypeError:
        return t
    _OHWI[id(w)] = (ref, t)
    return t
