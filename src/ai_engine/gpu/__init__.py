"""GPU backend on CuPy: the same kernels run with ``xp = cupy`` when a GPU is usable."""

from __future__ import annotations


def cupy_or_none():
    """The ``cupy`` module when it imports and sees at least one CUDA device, else ``None``."""
    try:
        import cupy
    except Exception:  # noqa: BLE001 - any import failure means no GPU backend
        return None
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
    except Exception:  # noqa: BLE001 - driver missing or broken
        return None
    return cupy
