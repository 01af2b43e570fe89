"""SessionOptions, with onnxruntime's names and meanings.

Every attribute does what onnxruntime's does, or is accepted for compatibility with the
reason written beside it; setting an attribute that onnxruntime's SessionOptions does not
have either (a misspelling) raises ``AttributeError``, as in onnxruntime.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from ai_engine.errors import InvalidInputError


class GraphOptimizationLevel(enum.IntEnum):
    ORT_DISABLE_ALL = 0
    ORT_ENABLE_BASIC = 1
    ORT_ENABLE_EXTENDED = 2
    ORT_ENABLE_LAYOUT = 3
    ORT_ENABLE_ALL = 99


class ExecutionMode(enum.IntEnum):
    ORT_SEQUENTIAL = 0
    ORT_PARALLEL = 1


class ExecutionOrder(enum.IntEnum):
    DEFAULT = 0
    PRIORITY_BASED = 1
    MEMORY_EFFICIENT = 2


class MissingConfigEntry(KeyError, RuntimeError):
    """A config entry that was never set: a ``KeyError``, and the ``RuntimeError`` that
    onnxruntime raises for it."""


# onnxruntime's session config key that disables optimizer passes by name (comma-separated)
DISABLE_OPTIMIZERS_KEY = "optimization.disable_specified_optimizers"


@dataclass(slots=True)
class SessionOptions:
    """Options of one InferenceSession.

    ``intra_op_num_threads``: BLAS threads for this session's runs (0: the cores this process
    may use, from its CPU affinity and cgroup quota: engine/threads.py).
    ``graph_optimization_level``: the optimizer passes (0 none, 1 basic, 2/3/99 all).
    ``optimized_model_filepath``: when set, the optimized graph is written there as ONNX at
    session creation (fused nodes are in the ``ai_engine`` domain, which only ai-engine runs,
    as onnxruntime's fused nodes are in ``com.microsoft``). ``enable_profiling`` /
    ``profile_file_prefix``: per-node timings, written by ``end_profiling()``.
    ``track_memory`` (ai-engine's own): current and peak bytes of each run in
    ``session.last_run_memory``. ``log_severity_level`` (0 verbose .. 4 fatal) and ``logid``:
    which of the session's log lines are emitted, tagged with ``logid``.
    ``add_initializer`` / ``add_free_dimension_override_by_name``: as in onnxruntime, applied
    when the session loads the model.

    Accepted for compatibility, with no effect by design:
    ``inter_op_num_threads`` and ``execution_mode``: onnxruntime uses them to run independent
    nodes in parallel (ORT_PARALLEL); ai-engine runs nodes in order, with BLAS threads inside
    each node, so there is no inter-op pool to size. ``execution_order``: nodes always run in
    the graph's topological order (the order of the model file). ``enable_cpu_mem_arena``,
    ``enable_mem_pattern``: onnxruntime's arena and its allocation plan from the first run's
    shapes; ai-engine has no arena, arrays come from NumPy and malloc (tuned by
    ``ai_engine.memory.allocator``). ``enable_mem_reuse``: every value is dropped right after
    its last use, so malloc reuses the memory; there is no separate reuse plan to switch off.
    ``use_deterministic_compute``: the CPU kernels use no nondeterministic algorithms (no
    atomics, no algorithm search), so results repeat run to run for a given thread count.
    ``use_per_session_threads``: the BLAS pool is process-wide in any case.
    ``log_verbosity_level``: onnxruntime's VLOG level, which only debug builds of
    onnxruntime read.
    """

    intra_op_num_threads: int = 0
    inter_op_num_threads: int = 0
    execution_mode: int = ExecutionMode.ORT_SEQUENTIAL
    execution_order: int = ExecutionOrder.DEFAULT
    graph_optimization_level: int = GraphOptimizationLevel.ORT_ENABLE_ALL
    optimized_model_filepath: str = ""
    enable_profiling: bool = False
    profile_file_prefix: str = "ai_engine_profile"
    track_memory: bool = False
    log_severity_level: int = -1   # -1: the process default (set_default_logger_severity)
    log_verbosity_level: int = 0
    logid: str = ""
    enable_cpu_mem_arena: bool = True
    enable_mem_pattern: bool = True
    enable_mem_reuse: bool = True
    use_deterministic_compute: bool = False
    use_per_session_threads: bool = True
    _config: dict = field(default_factory=dict, repr=False)
    _initializers: dict = field(default_factory=dict, repr=False)
    _dim_overrides: dict = field(default_factory=dict, repr=False)

    def add_session_config_entry(self, key: str, value: str) -> None:
        """Set a session config entry (onnxruntime's ``key=value`` session settings);
        ai-engine reads ``optimization.disable_specified_optimizers`` and
        ``session.strict_providers``."""
        self._config[str(key)] = str(value)

    def get_session_config_entry(self, key: str) -> str:
        if key not in self._config:
            raise MissingConfigEntry(f"SessionOptions has no config entry {key!r}")
        return self._config[key]

    def disabled_optimizers(self) -> set[str]:
        """The pass names listed in ``optimization.disable_specified_optimizers``."""
        listed = self._config.get(DISABLE_OPTIMIZERS_KEY, "")
        return {name.strip() for name in listed.split(",") if name.strip()}

    def add_initializer(self, name: str, value) -> None:
        """Replace the model's initializer ``name`` with ``value`` (an ``OrtValue`` or an
        array) in the sessions created with these options; its element type and shape must
        be the initializer's. Held by reference, as onnxruntime does: keep it unchanged."""
        array = value.numpy() if hasattr(value, "is_tensor") else np.asarray(value)
        self._initializers[str(name)] = array

    def add_free_dimension_override_by_name(self, dim_name: str, dim_value: int) -> None:
        """Fix the symbolic input dimension ``dim_name`` (``"batch"``) to ``dim_value``:
        feeds must then have that size, and shape-dependent work is folded at load."""
        if isinstance(dim_value, bool) or int(dim_value) != dim_value or dim_value < 0:
            raise ValueError(f"free dimension {dim_name!r} override must be an int >= 0, "
                             f"got {dim_value!r}")
        self._dim_overrides[str(dim_name)] = int(dim_value)

    def apply_to_graph(self, graph) -> None:
        """Apply ``add_initializer`` and the free dimension overrides to a loaded graph."""
        for name, array in self._initializers.items():
            value = graph.values.get(name)
            if value is None or value.const is None:
                raise InvalidInputError(f"add_initializer: the model has no initializer "
                                        f"{name!r}")
            old = value.const
            if array.dtype != old.dtype or array.shape != old.shape:
                raise InvalidInputError(
                    f"add_initializer: {name!r} is {old.dtype}{list(old.shape)} in the model, "
                    f"got {array.dtype}{list(array.shape)}")
            value.const = array
        if self._dim_overrides:
            for value in graph.inputs:
                if value.shape is not None:
                    value.shape = tuple(self._dim_overrides.get(d, d) if isinstance(d, str)
                                        else d for d in value.shape)
