"""Direct access to the sgemm of the OpenBLAS that NumPy bundles (ctypes, no new dependency).

NumPy's matmul always overwrites its output, so accumulating k*k shifted GEMMs into one output
(BLAS beta=1) needs sgemm itself: the same library and thread pool as ``np.matmul``.
"""

from __future__ import annotations

import threading

import numpy as np

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
