"""What the machine offers the kernels: CPU SIMD features, the BLAS in use, a GPU.

NumPy's ufuncs and its BLAS carry the SIMD work (the seed's AVX2 dispatch lives there), so
``ai-engine info`` reports which BLAS and which of its kernels (``corename``: Haswell,
SkylakeX...) are active, as threadpoolctl sees them.
"""

from __future__ import annotations

import os
import platform

import numpy as np

SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl",
              "avx512_vnni", "avx512_bf16", "amx_tile", "neon", "asimd", "sve")


def cpu_model_and_flags() -> tuple[str, list[str]]:
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "Model") and model in ("", platform.machine()):
                    model = value.strip()
                elif key in ("flags", "Features"):
                    flags.update(value.split())
    except OSError:
        pass
    return model, [f for f in SIMD_FLAGS if f in flags]


def blas_info() -> list[dict]:
    """The BLAS libraries NumPy loaded: name, version, kernel (corename) and threads."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [{"library": i.get("internal_api"), "version": i.get("version"),
             "kernel": i.get("architecture"), "threads": i.get("num_threads"),
             "path": i.get("filepath")}
            for i in threadpool_info() if i.get("user_api") == "blas"]


def gpu_info() -> str:
    from ai_engine.gpu import cupy_or_none

    cp = cupy_or_none()
    if cp is None:
        return "none usable (CuPy not installed or no CUDA device)"
    props = cp.cuda.runtime.getDeviceProperties(0)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    return f"{name}, {props['totalGlobalMem'] / 2**30:.1f} GiB (CuPy {cp.__version__})"


def summary() -> dict:
    model, flags = cpu_model_and_flags()
    from ai_engine.engine import compiled

    return {"cpu": model, "cores": os.cpu_count(), "simd": flags, "numpy": np.__version__,
            "blas": blas_info(), "gpu": gpu_info(), "compiled": compiled.describe()}
