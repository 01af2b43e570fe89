"""``ai-engine info``: version, NumPy and its BLAS, the CPU's SIMD features, the GPU, and which
kernel tiers are available (the BLAS kernel, the numba compiled tier, CuPy)."""

from __future__ import annotations

import importlib.util
import os
import platform


def add_info(sub) -> None:
    p = sub.add_parser("info", help="show the engine version, BLAS, CPU features, kernel tiers "
                                    "and GPU")
    p.set_defaults(handler=info_command)


def blas_tier(blas: list[dict]) -> str:
    """The BLAS libraries NumPy loaded and the kernel each runs (threadpoolctl's
    ``architecture``: Haswell, SkylakeX, Zen...; OPENBLAS_CORETYPE can force one)."""
    if not blas:
        return "BLAS unknown (threadpoolctl sees none)"
    forced = os.environ.get("OPENBLAS_CORETYPE")
    parts = [" ".join(filter(None, (b["library"], b.get("version"))))
             + f" {b.get('kernel')} kernel, {b.get('threads')} threads" for b in blas]
    return "; ".join(parts) + (f" (forced by OPENBLAS_CORETYPE={forced})" if forced else "")


def numba_tier() -> str:
    """Whether the numba compiled tier can run: numba imports and JIT is not switched off."""
    if importlib.util.find_spec("numba") is None:
        return "absent (NumPy kernels only)"
    try:
        import numba
    except Exception as exc:  # noqa: BLE001 - a broken install (llvmlite mismatch) is "absent"
        return f"absent: numba fails to import ({type(exc).__name__}: {exc})"
    if os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"):
        return f"{numba.__version__}, disabled by NUMBA_DISABLE_JIT"
    cache = os.environ.get("NUMBA_CACHE_DIR")
    return numba.__version__ + (f", cache in {cache}" if cache else "")


def cupy_tier(gpu: str) -> str:
    if importlib.util.find_spec("cupy") is None:
        return "absent (CuPy not installed)"
    return gpu


def kernel_tiers(summary: dict) -> dict[str, str]:
    """Tier name -> what is active, from ``core.cpu.summary()``."""
    return {"blas": blas_tier(summary["blas"]), "numba": numba_tier(),
            "cupy": cupy_tier(summary["gpu"])}


def info_command(args) -> int:
    from ai_engine import __version__
    from ai_engine.core import cpu
    from ai_engine.engine import registry

    s = cpu.summary()
    ops = registry.registered_ops()
    print(f"ai-engine {__version__} (Python {platform.python_version()})")
    print(f"numpy       {s['numpy']}")
    for b in s["blas"] or [{"library": "unknown"}]:
        print(f"blas        {b['library']} {b.get('version') or ''} kernel={b.get('kernel')} "
              f"threads={b.get('threads')}")
    print(f"cpu         {s['cpu']} ({s['cores']} cores)")
    print(f"simd        {' '.join(s['simd']) or 'none detected'}")
    print(f"compiled    {s['compiled']}")
    print(f"gpu         {s['gpu']}")
    tiers = kernel_tiers(s)
    print("tiers       " + "; ".join(f"{name}: {what}" for name, what in tiers.items()))
    print(f"operators   {len(ops)} (domain, op) pairs registered")
    return 0
