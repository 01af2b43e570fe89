"""InferenceSession: the public entry point, shaped like onnxruntime's.

``InferenceSession(model, sess_options=None, providers=None)`` loads, checks, optimizes and
compiles the model once; ``run(output_names, feeds)`` validates the feeds and runs the plan.
A session is safe to use from several threads at once: each run owns its values.
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
from ai_engine.engine.options import SessionOptions, resolve_providers
from ai_engine.engine.validation import FeedValidator
from ai_engine.errors import InvalidInputError
from ai_engine.formats.onnx.loader import LoadedModel, load_model
from ai_engine.memory.allocator import tune_malloc
from ai_engine.memory.tracker import MemoryTracker


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

    def __init__(self, model, sess_options: SessionOptions | None = None, providers=None,
                 provider_options=None, *, _fed_initializers: frozenset = frozenset(),
                 **_ignored):
        self._options = sess_options or SessionOptions()
        self._providers, self.xp = resolve_providers(providers)
        self._options.apply_threads()
        tune_malloc()
        self._model: LoadedModel = load_model(model, _fed_initializers)
        graph = self._model.graph
        self._overridable = [NodeArg.from_value(v) for v in graph.overridable]
        self._source = model if self._overridable else None
        self._override_sessions: dict[frozenset, InferenceSession] = {}
        check_supported(graph)
        self.passes_run = optimizer.optimize(graph, self._options.graph_optimization_level)
        self._graph: Graph = graph
        self._plan = Plan(graph, self.xp)
        self._inputs = [NodeArg.from_value(v) for v in graph.inputs]
        self._outputs = [NodeArg.from_value(v) for v in graph.outputs]
        self._output_index = {o.name: i for i, o in enumerate(self._outputs)}
        self._const_outputs = {i for i, v in enumerate(graph.outputs) if v.is_const}
        self._validator = FeedValidator(graph.inputs)
        self._lock = threading.Lock()
        self._profile_events: list = []
        self._profile_start = time.perf_counter_ns()
        self.last_run_memory: dict | None = None

    # -- metadata -------------------------------------------------------------------------
    def get_inputs(self) -> list[NodeArg]:
        return list(self._inputs)

    def get_outputs(self) -> list[NodeArg]:
        return list(self._outputs)

    def get_overridable_initializers(self) -> list[NodeArg]:
        """Initializers the graph also lists as inputs: a feed may replace them."""
        return list(self._overridable)

    def get_providers(self) -> list[str]:
        return list(self._providers)

    def get_session_options(self) -> SessionOptions:
        return self._options

    def get_modelmeta(self):
        return ModelMetadata(self._model)

    @property
    def graph(self) -> Graph:
        return self._graph

    # -- running --------------------------------------------------------------------------
    def run(self, output_names, input_feed: dict, run_options=None) -> list:
        """Outputs named by ``output_names`` (all when ``None``) for the feeds given."""
        if self._overridable and isinstance(input_feed, dict):
            fed = frozenset(input_feed) & {a.name for a in self._overridable}
            if fed:
                return self._override_session(fed).run(output_names, input_feed, run_options)
        picks = self._pick_outputs(output_names)
        inputs = self._validator.check(input_feed, self.xp)
        if self._options.enable_profiling or self._options.track_memory:
            results = self._run_instrumented(inputs)
        else:
            results = self._plan.run(inputs)
        out = []
        for i in picks:
            r = results[i]
            if self.xp is not np and isinstance(r, self.xp.ndarray):
                r = self.xp.asnumpy(r)  # like onnxruntime: outputs come back as NumPy arrays
            elif i in self._const_outputs:
                r = r.copy()  # a folded constant is shared between runs: hand out a copy
            out.append(r)
        return out

    def _override_session(self, fed: frozenset) -> "InferenceSession":
        # Replacing an initializer changes what may be folded at load: compile once per set
        # of overridden names, with those initializers as real inputs.
        with self._lock:
            session = self._override_sessions.get(fed)
            if session is None:
                session = InferenceSession(self._source, self._options, self._providers,
                                           _fed_initializers=fed)
                self._override_sessions[fed] = session
        return session

    def _run_instrumented(self, inputs: list) -> list:
        tracker = MemoryTracker()
        events = [] if self._options.enable_profiling else None
        results = self._plan.run_instrumented(inputs, tracker, events)
        self.last_run_memory = tracker.as_dict()
        if events is not None:
            with self._lock:
                self._profile_events.extend(events)
        return results

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


class ModelMetadata:
    """onnxruntime's ``ModelMetadata``: producer, version, custom metadata."""

    def __init__(self, model: LoadedModel):
        self.producer_name = model.producer
        self.graph_name = model.graph.name
        self.description = model.doc
        self.domain = ""
        self.version = model.ir_version
        self.custom_metadata_map = dict(model.metadata)


__all__ = ["InferenceSession", "NodeArg", "SessionOptions", "np"]
