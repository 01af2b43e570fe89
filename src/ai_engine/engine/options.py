"""SessionOptions, with onnxruntime's names and meanings.

Every attribute does what onnxruntime's does, or is accepted for compatibility with the
reason written beside it; setting an attribute that onnxruntime's SessionOptions does not
have either (a misspelling) raises ``AttributeError``, as in onnxruntime.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class GraphOptimizationLevel(enum.IntEnum):
    ORT_DISABLE_ALL = 0
    ORT_ENABLE_BASIC = 1
    ORT_ENABLE_EXTENDED = 2
    ORT_ENABLE_ALL = 99


class ExecutionMode(enum.IntEnum):
    ORT_SEQUENTIAL = 0
    ORT_PARALLEL = 1


# onnxruntime's session config key that disables optimizer passes by name (comma-separated)
DISABLE_OPTIMIZERS_KEY = "optimization.disable_specified_optimizers"


@dataclass(slots=True)
class SessionOptions:
    """Options of one InferenceSession.

    ``intra_op_num_threads``: BLAS threads for this session's runs (0: the cores this process
    may use). ``graph_optimization_level``: the optimizer passes (0 none, 1 basic, 2/99 all).
    ``enable_profiling`` / ``profile_file_prefix``: per-node timings, written by
    ``end_profiling()``. ``track_memory`` (ai-engine's own): current and peak bytes of each run
    in ``session.last_run_memory``. ``log_severity_level`` (0 verbose .. 4 fatal) and
    ``logid``: which of the session's log lines are emitted, tagged with ``logid``.

    Accepted for compatibility, with no effect by design:
    ``inter_op_num_threads`` and ``execution_mode``: onnxruntime uses them to run independent
    nodes in parallel (ORT_PARALLEL); ai-engine runs nodes in order, with BLAS threads inside
    each node, so there is no inter-op pool to size. ``log_verbosity_level``: onnxruntime's
    VLOG level, which only debug builds of onnxruntime read.
    """

    intra_op_num_threads: int = 0
    inter_op_num_threads: int = 0
    execution_mode: int = ExecutionMode.ORT_SEQUENTIAL
    graph_optimization_level: int = GraphOptimizationLevel.ORT_ENABLE_ALL
    enable_profiling: bool = False
    profile_file_prefix: str = "ai_engine_profile"
    track_memory: bool = False
    log_severity_level: int = -1   # -1: the process default (set_default_logger_severity)
    log_verbosity_level: int = 0
    logid: str = ""
    _config: dict = field(default_factory=dict, repr=False)

    def add_session_config_entry(self, key: str, value: str) -> None:
        """Set a session config entry (onnxruntime's ``key=value`` session settings);
        ai-engine reads ``optimization.disable_specified_optimizers``."""
        self._config[str(key)] = str(value)

    def get_session_config_entry(self, key: str) -> str:
        if key not in self._config:
            raise KeyError(f"session config entry {key!r} is not set")
        return self._config[key]

    def disabled_optimizers(self) -> set[str]:
        """The pass names listed in ``optimization.disable_specified_optimizers``."""
        listed = self._config.get(DISABLE_OPTIMIZERS_KEY, "")
        return {name.strip() for name in listed.split(",") if name.strip()}
