"""onnxruntime's process-wide functions: providers, device, version, logging, seed, telemetry.

Each does what onnxruntime's does for ai-engine, or the equivalent written beside it
(https://onnxruntime.ai/docs/api/python/api_summary.html).
"""

from __future__ import annotations

from ai_engine.engine import logs
from ai_engine.engine.operators import random_ops
from ai_engine.engine.providers import CPU, CUDA


def _gpu_usable() -> bool:
    from ai_engine.gpu import cupy_or_none

    return cupy_or_none() is not None


def get_all_providers() -> list[str]:
    """Every execution provider ai-engine knows, most preferred first (onnxruntime lists
    the ~20 its sources know of; ai-engine has two)."""
    return [CUDA, CPU]


def get_available_providers() -> list[str]:
    """The providers usable in this process: CUDA only when CuPy sees a CUDA device."""
    return [CUDA, CPU] if _gpu_usable() else [CPU]


def get_device() -> str:
    """``"GPU"`` when CUDA is usable here, else ``"CPU"``. onnxruntime reports what its
    build targets; ai-engine is one build for both, so this reports what a session with
    ``providers=["CUDAExecutionProvider"]`` would run on."""
    return "GPU" if _gpu_usable() else "CPU"


def get_version_string() -> str:
    """ai-engine's version (not an onnxruntime version)."""
    from ai_engine import __version__

    return __version__


def get_build_info() -> str:
    """What this ai-engine runs on: NumPy, its BLAS (library, version, kernel, threads)
    and the GPU, in one line as onnxruntime's ``ORT Build Info: ...``."""
    from ai_engine.core import cpu

    blas = "; ".join(f"{b['library']} {b['version']} ({b['kernel']}, {b['threads']} threads)"
                     for b in cpu.blas_info()) or "unknown"
    import numpy as np

    return (f"ai-engine {get_version_string()}: numpy {np.__version__}, BLAS {blas}, "
            f"GPU {cpu.gpu_info()}")


def set_default_logger_severity(severity: int) -> None:
    """The minimum severity (0 verbose, 1 info, 2 warning, 3 error, 4 fatal) of the log
    lines of sessions whose ``log_severity_level`` is left at -1."""
    logs.set_default_severity(severity)


def set_default_logger_verbosity(verbosity: int) -> None:
    """onnxruntime's VLOG level, which only its debug builds read; ai-engine has no VLOG
    lines (its verbose lines are severity 0), so the level is checked (an int >= 0) and
    changes no output, as in a release build of onnxruntime."""
    if isinstance(verbosity, bool) or int(verbosity) != verbosity or verbosity < 0:
        raise ValueError(f"logger verbosity must be an int >= 0, got {verbosity!r}")


def set_seed(seed: int) -> None:
    """Seed the random operators that have no ``seed`` attribute (RandomNormal, Bernoulli,
    Multinomial...): after ``set_seed(n)`` the same program draws the same numbers."""
    if isinstance(seed, bool) or int(seed) != seed:
        raise ValueError(f"seed must be an int, got {seed!r}")
    random_ops.set_process_seed(int(seed) & 0xFFFFFFFFFFFFFFFF)


def enable_telemetry_events() -> None:
    """No-op: ai-engine collects and sends no telemetry (onnxruntime's Windows builds
    send ETW events, which this switches on)."""


def disable_telemetry_events() -> None:
    """No-op: ai-engine collects and sends no telemetry, so there is nothing to disable."""
