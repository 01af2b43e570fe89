"""Tune glibc malloc for inference, and hand free memory back to the OS on demand.

Measured here: glibc serves arrays above 128 KiB with fresh ``mmap`` pages and returns them on
free, so every multi-MB intermediate of every run pays page faults; a chain of elementwise ops
on 128x3072 float32 ran 11x faster (2.97 ms -> 0.27 ms) once large blocks came from the heap
and stayed there. So the first session raises ``M_MMAP_THRESHOLD`` and ``M_TRIM_THRESHOLD``
and pads the heap top; in return, whoever frees a lot at once (the server, after unloading a
model) calls :func:`release_free_memory`, which ``malloc_trim``s the heap.

Set ``AI_ENGINE_MALLOC_TUNING=0`` to leave malloc alone. Not glibc: both are no-ops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 1 << 30  # blocks below 1 GiB come from the heap
TRIM_THRESHOLD = 1 << 30
TOP_PAD = 64 << 20

_lock = threading.Lock()
_tuned = False


def _libc():
    try:
        name = ctypes.util.find_library("c") or "libc.so.6"
        libc = ctypes.CDLL(name)
        libc.mallopt  # noqa: B018 - glibc only
        libc.malloc_trim  # noqa: B018
        return libc
    except (OSError, AttributeError):
        return None


def tune_malloc() -> bool:
    """Apply the inference-friendly malloc settings once per process; True if applied."""
    global _tuned
    with _lock:
        if _tuned:
            return True
        if os.environ.get("AI_ENGINE_MALLOC_TUNING", "1") == "0":
            return False
        libc = _libc()
        if libc is None:
            return False
        ok = all(libc.mallopt(param, ctypes.c_int(value)) == 1 for param, value in (
            (_M_MMAP_THRESHOLD, MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD),
            (_M_TOP_PAD, TOP_PAD)))
        _tuned = ok
        return ok


def release_free_memory() -> bool:
    """Return the heap's free pages to the OS (``malloc_trim(0)``); True if any were."""
    libc = _libc()
    return bool(libc.malloc_trim(ctypes.c_size_t(0))) if libc is not None else False
