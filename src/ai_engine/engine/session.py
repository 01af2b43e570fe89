"""InferenceSession: the public entry point, shaped like onnxruntime's.

``InferenceSession(path_or_bytes, sess_options=None, providers=None, provider_options=None)``
loads, checks, optimizes and compiles the model once; ``run(output_names, feeds,
run_options=None)`` validates the feeds and runs the plan (only the nodes the requested
outputs need). A session is safe to use from several threads at once: each run owns its
values.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass

import numpy as np

from ai_engine.core import dtypes
from ai_engine.engine import optimizer
from ai_engine.engine.binding import check_supported
from ai_engine.engine.executor import Plan
from ai_engine.engine.graph import Graph, Value
from ai_engine.engine import providers as execution_providers
from ai_engine.engine.instrumentation import Instrumentation
from ai_engine.engine.io_binding import IOBinding
from ai_engine.engine.logs import SessionLog
from ai_engine.engine.options import SessionOptions
from ai_engine.engine.ort_values import OrtValue
from ai_engine.engine.run_options import RunControl, RunOptions, activate, deactivate
from ai_engine.engine.thread_tuner import tuner_for
from ai_engine.engine.threads import apply_intra_op_threads
from ai_engine.engine.validation import FeedValidator
from ai_engine.errors import InvalidInputError
from ai_engine.formats.onnx import writer
from ai_engine.formats.onnx.loader import LoadedModel, load_model
from ai_engine.memory.allocator import tune_malloc

_SESSION_KWARGS = ("disabled_optimizers",)   # the keyword arguments onnxruntime's takes too
_MAX_OUTPUT_PLANS = 16                       # plans kept for subsets of the outputs


@dataclass(frozen=True)
class NodeArg:
    """An input or output of the model, as onnxruntime's ``NodeArg``."""

    name: str
    shape: list
    type: str

    @classmethod
    def from_value(cls, v: Value) -> "NodeArg":
        shape = [] if v.shape is None else list(v.shape)
        if v.kind != "tensor":
            return cls(v.name, shape, f"{v.kind}")
        type_str = dtypes.ort_type_string(v.elem_type) if v.elem_type else "tensor(unknown)"
        return cls(v.name, shape, type_str)


class InferenceSession:
    """Load an ONNX model and run it with ai-engine's kernels."""

    def __init__(self, path_or_bytes, sess_options: SessionOptions | None = None,
                 providers=None, provider_options=None, **kwargs):
        unknown = sorted(set(kwargs) - set(_SESSION_KWARGS))
        if unknown:
            raise TypeError(f"InferenceSession() got unexpected keyword argument(s) "
                            f"{unknown}; it takes {list(_SESSION_KWARGS)}")
        options = sess_options if sess_options is not None else SessionOptions()
        if not isinstance(options, SessionOptions):
            raise TypeError(f"sess_options must be an ai_engine.SessionOptions, not "
                            f"{type(options).__name__}")
        self._init(path_or_bytes, options, providers, provider_options,
                   set(kwargs.get("disabled_optimizers") or ()), frozenset())

    def _init(self, model, options, providers, provider_options, disabled, fed):
        start = time.perf_counter()
        self._options = options
        self._log = SessionLog(options.log_severity_level, options.logid)
        self._provider_args = (providers, provider_options)
        self._disabled = disabled
        strict = options._config.get(execution_providers.STRICT_KEY, "0")
        self._choice = execution_providers.resolve(providers, provider_options,
                                                   execution_providers.truthy(strict))
        self.xp = self._choice.xp
        apply_intra_op_threads(options.intra_op_num_threads)
        # GPU sessions do no BLAS on the host: nothing to tune there.
        self._tuner = tuner_for(options.intra_op_num_threads) if self.xp is np else None
        tune_malloc()
        self._model: LoadedModel = load_model(model, fed)
        graph = self._model.graph
        options.apply_to_graph(graph)
        self._overridable = [NodeArg.from_value(v) for v in graph.overridable]
        self._source = model if self._overridable else None
        self._override_sessions: dict[frozenset, InferenceSession] = {}
        check_supported(graph)
        self.passes_run = optimizer.optimize(graph, options.graph_optimization_level,
                                             disabled | options.disabled_optimizers())
        self._graph: Graph = graph
        if options.optimized_model_filepath and not fed:
            writer.save(graph, options.optimized_model_filepath, self._model.ir_version)
        self._plan = Plan(graph, self.xp)
        self._output_plans: dict[tuple, Plan] = {}
        self._inputs = [NodeArg.from_value(v) for v in graph.inputs]
        self._outputs = [NodeArg.from_value(v) for v in graph.outputs]
        self._output_index = {o.name: i for i, o in enumerate(self._outputs)}
        self._const_outputs = {i for i, v in enumerate(graph.outputs) if v.is_const}
        self._validator = FeedValidator(graph.inputs)
        self._lock = threading.Lock()
        self._profile_events: list = []
        self._profile_start = time.perf_counter_ns()
        self.last_run_memory: dict | None = None
        self._log.log(1, "session ready in %.1f ms: %d nodes after passes %s on %s",
                      1000 * (time.perf_counter() - start), len(graph.nodes),
                      sorted(set(self.passes_run)), self._choice.names[0])

    # -- metadata -------------------------------------------------------------------------
    def get_inputs(self) -> list[NodeArg]:
        return list(self._inputs)

    def get_outputs(self) -> list[NodeArg]:
        return list(self._outputs)

    def get_overridable_initializers(self) -> list[NodeArg]:
        """Initializers the graph also lists as inputs: a feed may replace them."""
        return list(self._overridable)

    def get_providers(self) -> list[str]:
        return list(self._choice.names)

    def get_provider_options(self) -> dict[str, dict]:
        """The options given per provider in use (onnxruntime returns its own defaults too)."""
        return {name: dict(self._choice.options.get(name, {})) for name in self._choice.names}

    def get_session_options(self) -> SessionOptions:
        return self._options

    def get_modelmeta(self):
        return ModelMetadata(self._model)

    @property
    def graph(self) -> Graph:
        return self._graph

    # -- running --------------------------------------------------------------------------
    def run(self, output_names, input_feed: dict, run_options: RunOptions | None = None
            ) -> list:
        """Outputs named by ``output_names`` (all when ``None``) for the feeds given.

        ``run_options`` (:class:`ai_engine.RunOptions`) can stop the run between nodes:
        ``terminate`` from another thread, ``timeout_s`` as a deadline.
        """
        results = self._run_on_device(output_names, input_feed, run_options)
        if self.xp is not np:  # like onnxruntime: outputs come back as NumPy arrays
            results = [self.xp.asnumpy(r) if isinstance(r, self.xp.ndarray) else r
                       for r in results]
        return results

    def run_with_ort_values(self, output_names, input_dict_ort_values: dict,
                            run_options: RunOptions | None = None) -> list[OrtValue]:
        """``run`` with OrtValue feeds; returns OrtValues on the session's device (a GPU
        session's outputs stay on the GPU)."""
        if not isinstance(input_dict_ort_values, dict):
            raise InvalidInputError(f"feeds must be a dict of input name -> OrtValue, not "
                                    f"{type(input_dict_ort_values).__name__}")
        feeds = {}
        for name, value in input_dict_ort_values.items():
            if not isinstance(value, OrtValue):
                raise InvalidInputError(f"input {name!r}: run_with_ort_values takes "
                                        f"OrtValues, got {type(value).__name__}")
            feeds[name] = value._value
        results = self._run_on_device(output_names, feeds, run_options)
        return [OrtValue(r, self._device) for r in results]

    def io_binding(self) -> IOBinding:
        """A new :class:`IOBinding` of this session (onnxruntime's ``io_binding()``)."""
        return IOBinding(self)

    def run_with_iobinding(self, iobinding: IOBinding, run_options: RunOptions | None = None
                           ) -> None:
        """Run with the inputs bound in ``iobinding``; the outputs go where it binds them."""
        if not isinstance(iobinding, IOBinding) or iobinding._session is not self:
            raise InvalidInputError("run_with_iobinding takes an IOBinding made by this "
                                    "session's io_binding()")
        names = iobinding.output_names()
        iobinding.store(self._run_on_device(names, iobinding.feeds(), run_options))

    @property
    def _device(self) -> tuple[str, int]:
        return ("cpu", 0) if self.xp is np else ("cuda", self._choice.device_id)

    def _run_on_device(self, output_names, input_feed: dict, run_options) -> list:
        """The outputs as the session's array module holds them (CuPy on a GPU)."""
        if self._overridable and isinstance(input_feed, dict):
            fed = frozenset(input_feed) & {a.name for a in self._overridable}
            if fed:
                return self._override_session(fed)._run_on_device(output_names, input_feed,
                                                                  run_options)
        if isinstance(input_feed, dict) and self.xp is np:
            input_feed = {k: v.get() if _on_gpu(v) else v for k, v in input_feed.items()}
        if run_options is not None and not isinstance(run_options, RunOptions):
            raise TypeError(f"run_options must be an ai_engine.RunOptions, not "
                            f"{type(run_options).__name__}")
        picks = self._pick_outputs(output_names)
        inputs = self._validator.check(input_feed, self.xp)
        tuner = self._tuner
        threads = tuner.begin() if tuner is not None else None
        start, elapsed = time.perf_counter(), None
        try:
            if run_options is None:
                results = self._execute(picks, inputs)
            else:
                results = self._run_controlled(picks, inputs, run_options)
            elapsed = time.perf_counter() - start
        finally:
            if tuner is not None:
                tuner.end(threads, elapsed)
        # A folded constant is shared between runs: hand out a copy.
        return [r.copy() if i in self._const_outputs else r for i, r in zip(picks, results)]

    def _run_controlled(self, picks, inputs, run_options: RunOptions | None) -> list:
        """A run with hooks: RunOptions checks, and the profiler / memory tracker."""
        options = self._options
        if options.enable_profiling or options.track_memory:
            control = Instrumentation(run_options, options.enable_profiling,
                                      options.track_memory)
        else:
            control = RunControl(run_options)
        log = SessionLog(control.options.log_severity_level,
                         control.options.logid or options.logid)
        token = activate(control)
        try:
            log.log(0, "run started")
            results = self._plan_for(picks).run(inputs)
            log.log(0, "run finished in %.3f ms", 1000 * (time.monotonic() - control.start))
        finally:
            deactivate(token)
        if isinstance(control, Instrumentation):
            self._keep_instrumentation(control)
        return results

    def _execute(self, picks: list[int], inputs: list) -> list:
        if self._options.enable_profiling or self._options.track_memory:
            return self._run_controlled(picks, inputs, None)
        return self._plan_for(picks).run(inputs)

    def _plan_for(self, picks: list[int]) -> Plan:
        """The whole plan, or one that computes only the outputs ``picks``."""
        if len(picks) == len(self._outputs) and picks == list(range(len(picks))):
            return self._plan
        key = tuple(picks)
        plan = self._output_plans.get(key)
        if plan is None:
            plan = Plan(self._graph, self.xp,
                        outputs=[self._graph.outputs[i] for i in picks])
            with self._lock:
                if len(self._output_plans) >= _MAX_OUTPUT_PLANS:
                    self._output_plans.clear()
                self._output_plans[key] = plan
        return plan

    def _override_session(self, fed: frozenset) -> "InferenceSession":
        # Replacing an initializer changes what may be folded at load: compile once per set
        # of overridden names, with those initializers as real inputs.
        with self._lock:
            session = self._override_sessions.get(fed)
            if session is None:
                session = InferenceSession.__new__(InferenceSession)
                session._init(self._source, self._options, *self._provider_args,
                              self._disabled, fed)
                self._override_sessions[fed] = session
        return session

    def _keep_instrumentation(self, control: Instrumentation) -> None:
        if control.tracker is not None:
            self.last_run_memory = control.tracker.as_dict()
        if control.events is not None:
            with self._lock:
                self._profile_events.extend(control.events)

    def _pick_outputs(self, output_names) -> list[int]:
        if output_names is None:
            return list(range(len(self._outputs)))
        if isinstance(output_names, str):
            output_names = [output_names]
        picks = []
        for name in output_names:
            if name not in self._output_index:
                raise InvalidInputError(f"unknown output {name!r}; the model's outputs are "
                                        f"{[o.name for o in self._outputs]}")
            picks.append(self._output_index[name])
        return picks

    def end_profiling(self) -> str:
        """Write the per-node timings as a Chrome trace (chrome://tracing) and return its path."""
        prefix = self._options.profile_file_prefix or "ai_engine_profile"
        path = os.path.abspath(f"{prefix}_{time.strftime('%Y-%m-%d_%H-%M-%S')}.json")
        with self._lock:
            events, self._profile_events = self._profile_events, []
        trace = [{"name": node.name, "cat": "Node", "ph": "X", "pid": os.getpid(), "tid": 0,
                  "ts": (start - self._profile_start) / 1000, "dur": dur / 1000,
                  "args": {"op_name": node.op_type}} for node, start, dur in events]
        with open(path, "w") as f:
            json.dump(trace, f)
        return path


def _on_gpu(value) -> bool:
    """A CuPy array (a GPU input given to a CPU session is copied to the host)."""
    return hasattr(value, "device") and hasattr(value, "get") and not isinstance(value,
                                                                                np.ndarray)


class ModelMetadata:
    """onnxruntime's ``ModelMetadata``: the model's producer, graph name and description,
    domain, ``version`` (the ModelProto's ``model_version``) and custom metadata."""

    def __init__(self, model: LoadedModel):
        self.producer_name = model.producer
        self.graph_name = model.graph.name
        self.graph_description = model.graph_doc
        self.description = model.doc
        self.domain = model.domain
        self.version = model.model_version
        self.custom_metadata_map = dict(model.metadata)


__all__ = ["InferenceSession", "NodeArg", "ModelMetadata", "SessionOptions", "RunOptions"]
