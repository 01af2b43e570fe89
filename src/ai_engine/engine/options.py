"""SessionOptions and execution providers, with onnxruntime's names and meanings.

Only knobs that do something exist here: ``intra_op_num_threads`` limits the BLAS threads
(through threadpoolctl), ``graph_optimization_level`` picks the optimizer passes,
``enable_profiling`` records per-node timings, ``track_memory`` records a run's current and
peak bytes.
"""

from __future__ import annotations

import enum
import warnings
from dataclasses import dataclass

import numpy as np


class GraphOptimizationLevel(enum.IntEnum):
    ORT_DISABLE_ALL = 0
    ORT_ENABLE_BASIC = 1
    ORT_ENABLE_EXTENDED = 2
    ORT_ENABLE_ALL = 99


@dataclass
class SessionOptions:
    intra_op_num_threads: int = 0  # 0: leave the BLAS default (all cores)
    inter_op_num_threads: int = 0  # accepted for compatibility; steps run in order
    graph_optimization_level: int = GraphOptimizationLevel.ORT_ENABLE_ALL
    enable_profiling: bool = False
    profile_file_prefix: str = "ai_engine_profile"
    track_memory: bool = False
    log_severity_level: int = 2

    def apply_threads(self) -> None:
        """Limit the BLAS thread pools to ``intra_op_num_threads`` when it is set.

        BLAS thread pools are process-wide, so the last session that sets this wins.
        """
        if self.intra_op_num_threads and self.intra_op_num_threads > 0:
            from threadpoolctl import threadpool_limits

            threadpool_limits(limits=int(self.intra_op_num_threads), user_api="blas")


_CPU = ("CPUExecutionProvider", "cpu")
_CUDA = ("CUDAExecutionProvider", "cuda", "gpu")


def resolve_providers(providers) -> tuple[list[str], object]:
    """The providers in use (onnxruntime names) and the array module they run on."""
    if not providers:
        return ["CPUExecutionProvider"], np
    names = [p[0] if isinstance(p, tuple) else p for p in providers]
    for name in names:
        if name in _CUDA:
            from ai_engine.gpu import cupy_or_none

            cp = cupy_or_none()
            if cp is not None:
                return ["CUDAExecutionProvider", "CPUExecutionProvider"], cp
            warnings.warn("CUDAExecutionProvider was asked for but no usable GPU/CuPy was "
                          "found; running on the CPU", RuntimeWarning, stacklevel=3)
        elif name in _CPU:
            return ["CPUExecutionProvider"], np
        else:
            raise ValueError(f"unknown execution provider {name!r}; use "
                             "CPUExecutionProvider or CUDAExecutionProvider")
    return ["CPUExecutionProvider"], np
