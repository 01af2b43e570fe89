"""Shared helpers for convolution and pooling kernels: padding, output shapes, im2col/col2im.

Conventions: ``pads`` in ONNX order ``(x1_begin, x2_begin, ..., x1_end, x2_end, ...)``;
spatial helpers return per-axis lists ``begin``, ``end``, ``out`` for the spatial axes only.
See https://onnx.ai/onnx/operators/onnx__Conv.html and .../onnx__MaxPool.html for the formulas.
"""

from __future__ import annotations

import threading

import numpy as np

_AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")


def spatial_defaults(nd: int, strides, dilations, pads):
    """Fill omitted INTS attributes with their ONNX defaults for ``nd`` spatial axes."""
    strides = tuple(strides) if strides else (1,) * nd
    dilations = tuple(dilations) if dilations else (1,) * nd
    pads = tuple(pads) if pads else (0,) * (2 * nd)
    if len(strides) != nd or len(dilations) != nd or len(pads) != 2 * nd:
        raise ValueError(f"strides {strides}, dilations {dilations}, pads {pads} do not "
                         f"match {nd} spatial dimensions")
    return strides, dilations, pads


def conv_geometry(in_shape, kernel, strides, dilations, pads, auto_pad):
    """Begin pads, end pads and output sizes of a convolution (ONNX Conv formulas).

    SAME_*: output = ceil(in / stride) and the total padding goes mostly to the end (UPPER)
    or the beginning (LOWER); VALID: no padding; NOTSET: the explicit ``pads``.
    """
    nd = len(in_shape)
    if auto_pad not in _AUTO_PADS:
        raise ValueError(f"unknown auto_pad {auto_pad!r}")
    begin, end, out = [], [], []
    for i in range(nd):
        eff = (kernel[i] - 1) * dilations[i] + 1
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            o = -(-in_shape[i] // strides[i])
            total = max(0, (o - 1) * strides[i] + eff - in_shape[i])
            small = total // 2
            b, e = (small, total - small) if auto_pad == "SAME_UPPER" else (total - small, small)
        elif auto_pad == "VALID":
            b = e = 0
            o = (in_shape[i] - eff) // strides[i] + 1
        else:
            b, e = pads[i], pads[i + nd]
            o = (in_shape[i] + b + e - eff) // strides[i] + 1
        if o < 1:
            raise ValueError(f"non-positive output size along spatial axis {i}: input "
                             f"{in_shape[i]}, kernel {kernel[i]}, pads ({b}, {e})")
        begin.append(b)
        end.append(e)
        out.append(o)
    return begin, end, out


def pool_geometry(in_shape, kernel, strides, dilations, pads, auto_pad, ceil_mode):
    """Like :func:`conv_geometry` plus ``ceil_mode`` (the last window must start inside the
    input or the begin padding, as onnxruntime and the ONNX reference do)."""
    if not ceil_mode or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        return conv_geometry(in_shape, kernel, strides, dilations, pads, auto_pad)
    nd = len(in_shape)
    if auto_pad == "VALID":
        # ceil over no padding, dropping a last window that would start past the input (as
        # onnxruntime does; without the drop, k=1 s=2 on 2 elements read nothing but padding)
        pads = [0] * (2 * nd)
    begin, end, out = list(pads[:nd]), list(pads[nd:]), []
    for i in range(nd):
        eff = (kernel[i] - 1) * dilations[i] + 1
        o = -(-(in_shape[i] + begin[i] + end[i] - eff) // strides[i]) + 1
        if (o - 1) * strides[i] >= in_shape[i] + begin[i]:
            o -= 1
        if o < 1:
            raise ValueError(f"non-positive output size along spatial axis {i}")
        out.append(o)
    return begin, end, out


def pad_spatial(xp, x, begin, end, value=0, required=None):
    """Pad the spatial axes (2..) of ``x``; ``required`` (per axis) extends the end padding
    further so every window of a ceil-mode pooling fits."""
    end = list(end)
    if required is not None:
        for i, r in enumerate(required):
            have = x.shape[2 + i] + begin[i] + end[i]
            if r > have:
                end[i] += r - have
    # Windows of a ceil-mode or SAME output may also stop short of the padded extent; crop
    # negative ends rather than pad (np.pad rejects negative widths).
    if all(b == 0 for b in begin) and all(e == 0 for e in end):
        return x
    if any(b < 0 for b in begin) or any(e < 0 for e in end):
        sl = (slice(None), slice(None)) + tuple(
            slice(max(-b, 0), x.shape[2 + i] - max(-e, 0)) for i, (b, e) in enumerate(zip(begin, end)))
        x = x[sl]
        begin = [max(b, 0) for b in begin]
        end = [max(e, 0) for e in end]
        if all(b == 0 for b in begin) and all(e == 0 for e in end):
            return x
    widths = [(0, 0), (0, 0)] + [(b, e) for b, e in zip(begin, end)]
    return xp.pad(x, widths, mode="constant", constant_values=value)


def window_extent(out, kernel, strides, dilations):
    """Padded input length each axis needs so that every window lies inside it."""
    return [(o - 1) * s + (k - 1) * d + 1 for o, k, s, d in zip(out, kernel, strides, dilations)]


def tap_slices(tap, strides, dilations, out):
    """Slices (for spatial axes) selecting, for kernel offset ``tap``, the padded-input
    element each output position reads: a strided view, no copy."""
    return tuple(slice(t * d, t * d + (o - 1) * s + 1, s)
                 for t, s, d, o in zip(tap, strides, dilations, out))


def taps(kernel):
    """Every kernel offset in row-major order."""
    return list(np.ndindex(*kernel))


def im2col(xp, xpad, kernel, strides, dilations, out):
    """``(N, C, *kernel, *out)`` patches of a padded ``(N, C, *spatial)`` input, contiguous
    so that ``reshape(N, C*K, L)`` is free and feeds one GEMM. One strided copy per tap:
    faster than a transposed sliding_window_view copy because each copy streams rows."""
    n, c = xpad.shape[:2]
    cols = xp.empty((n, c, *kernel, *out), dtype=xpad.dtype)
    for tap in taps(kernel):
        cols[(slice(None), slice(None)) + tap] = xpad[(slice(None), slice(None))
                                                      + tap_slices(tap, strides, dilations, out)]
    return cols


def col2im_add(xp, cols, kernel, strides, dilations, out, full):
    """Scatter-add ``cols`` ``(N, C, *kernel, *out)`` into a zero ``(N, C, *full)`` image:
    the adjoint of :func:`im2col` (ConvTranspose, Col2Im). One strided add per tap."""
    n, c = cols.shape[:2]
    img = xp.zeros((n, c, *full), dtype=cols.dtype)
    for tap in taps(kernel):
        img[(slice(None), slice(None)) + tap_slices(tap, strides, dilations, out)] += \
            cols[(slice(None), slice(None)) + tap]
    return img


def compute_dtype(dtype):
    """float16/bfloat16 GEMMs are slow (or absent) in NumPy: compute in float32."""
    dt = np.dtype(dtype)
    if dt == np.float32 or dt == np.float64:
        return dt
    return np.dtype(np.float32)


# -- direct BLAS access ------------------------------------------------------------------------
# NumPy's matmul always overwrites its output, so accumulating k*k shifted GEMMs into one
# output (BLAS beta=1) needs the sgemm of the OpenBLAS that NumPy itself bundles, reached with
# ctypes: the same library and thread pool as np.matmul, no new dependency. ``None`` when it
# cannot be found (another BLAS build); callers then use their NumPy path.
_ROW_MAJOR, _NO_TRANS = 101, 111
_SGEMM = False  # not looked up yet
_THREADS = None  # (get, set) of the same library's thread count, when found


def _find_sgemm():
    import ctypes
    import glob
    import os

    root = os.path.dirname(os.path.dirname(np.__file__))
    for path in sorted(glob.glob(os.path.join(root, "numpy.libs", "lib*openblas*.so*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name, int_t in (("scipy_cblas_sgemm64_", ctypes.c_int64),
                            ("cblas_sgemm64_", ctypes.c_int64),
                            ("scipy_cblas_sgemm", ctypes.c_int), ("cblas_sgemm", ctypes.c_int)):
            fn = getattr(lib, name, None)
            if fn is None:
                continue
            ptr, f32 = ctypes.c_void_p, ctypes.c_float
            fn.restype = None
            fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, int_t, int_t, int_t, f32,
                           ptr, int_t, ptr, int_t, f32, ptr, int_t]
            if _sgemm_works(fn):
                _find_thread_control(lib)
                return fn
    return None


def _find_thread_control(lib):
    global _THREADS
    import ctypes

    for suffix in ("64_", "_64_", ""):
        get = getattr(lib, f"scipy_openblas_get_num_threads{suffix}", None) \
            or getattr(lib, f"openblas_get_num_threads{suffix}", None)
        put = getattr(lib, f"scipy_openblas_set_num_threads{suffix}", None) \
            or getattr(lib, f"openblas_set_num_threads{suffix}", None)
        if get is not None and put is not None:
            get.restype, get.argtypes = ctypes.c_int, []
            put.restype, put.argtypes = None, [ctypes.c_int]
            _THREADS = (get, put)
            return


class single_thread:
    """Run the enclosed BLAS calls on one thread: below a few MFLOP per call the hand-off to
    the second thread costs more than it saves, and on a busy machine far more (a thread that
    is not scheduled stalls every call). Restores the previous count.

    Only when this is the process's only Python thread: OpenBLAS's thread count is
    process-wide and changing it while another thread is inside a BLAS call is not safe, so a
    server (worker threads) never toggles it."""

    __slots__ = ("prev",)

    def __enter__(self):
        self.prev = None
        if _THREADS is not None and threading.active_count() == 1:
            n = _THREADS[0]()
            if n > 1:
                self.prev = n
                _THREADS[1](1)
        return self

    def __exit__(self, *exc):
        if self.prev is not None:
            _THREADS[1](self.prev)
        return False


def _sgemm_works(fn) -> bool:
    """A 2x3 @ 3x2 accumulate, checked against NumPy: guards against a wrong signature."""
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.arange(6, dtype=np.float32).reshape(3, 2) - 2
    c = np.ones((2, 2), dtype=np.float32)
    try:
        fn(_ROW_MAJOR, _NO_TRANS, _NO_TRANS, 2, 2, 3, 1.0, a.ctypes.data, 3, b.ctypes.data, 2,
           1.0, c.ctypes.data, 2)
    except Exception:  # noqa: BLE001 - any failure means "do not use it"
        return False
    return bool(np.array_equal(c, a @ b + 1))


def sgemm_acc():
    """``f(m, n, k, a_ptr, lda, b_ptr, ldb, c_ptr, ldc)``: row-major float32
    ``C[m, n] += A[m, k] @ B[k, n]`` on raw addresses, or ``None`` without a usable BLAS."""
    global _SGEMM
    if _SGEMM is False:
        fn = _find_sgemm()
        if fn is None:
            _SGEMM = None
        else:
            def acc(m, n, k, a, lda, b, ldb, c, ldc, _fn=fn):
                _fn(_ROW_MAJOR, _NO_TRANS, _NO_TRANS, m, n, k, 1.0, a, lda, b, ldb, 1.0, c, ldc)
            _SGEMM = acc
    return _SGEMM
