"""Compile a Graph once into a Plan, then run the plan many times.

Compilation decides everything that does not depend on the feeds: kernel lookup, attribute
binding, a slot (list index) per value, constants placed in a template, and the slots to drop
after each step (liveness). ``Plan.run`` is then a tight loop over prepared steps: no op-name
lookups, no attribute parsing, no dicts. A run keeps its values in its own list, so one Plan
serves many threads at once.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.binding import bind
from ai_engine.engine.codegen import GeneratedRun
from ai_engine.engine.graph import Graph, Node
from ai_engine.errors import EngineError, KernelError
from ai_engine.memory.liveness import release_points

_NONE_SLOT = 0  # always holds None: where omitted optional inputs read from


def _QUIET_FLOATS():
    # ONNX float ops overflow to inf and produce nan silently; one errstate per run (not per
    # kernel) keeps NumPy from warning about it. A fresh one each run: threads.
    return np.errstate(all="ignore")


class SubgraphRunner:
    """A compiled subgraph, as If/Loop/Scan kernels receive it in their attributes.

    ``runner(inputs, outer_scope)`` runs the body with its formal inputs and the enclosing
    values it reads (a dict name -> value) and returns the list of its outputs.
    """

    def __init__(self, graph: Graph, xp):
        self.graph = graph
        self.input_names = [v.name for v in graph.inputs]
        self.output_names = [v.name for v in graph.outputs]
        self.plan = Plan(graph, xp, extra_inputs=graph.outer_names)
        self._outer = graph.outer_names

    def __call__(self, inputs, outer_scope=None) -> list:
        outer = outer_scope or {}
        return self.plan.run(list(inputs) + [outer[n] for n in self._outer])


def _outer_scope_kernel(fn, n_explicit: int, names: list[str]):
    """Adapt a control-flow kernel: trailing implicit inputs become its ``outer_scope``."""

    def call(xp, *args, **kwargs):
        scope = dict(zip(names, args[n_explicit:]))
        return fn(xp, *args[:n_explicit], outer_scope=scope, **kwargs)

    return call


def _needed(graph: Graph, outputs: list) -> list[Node]:
    """The nodes of ``graph`` that ``outputs`` depend on, in graph order."""
    if len(outputs) == len(graph.outputs):
        return list(graph.nodes)
    needed: set[int] = set()
    pending = [v.producer for v in outputs if v.producer is not None]
    while pending:
        node = pending.pop()
        if id(node) in needed:
            continue
        needed.add(id(node))
        pending.extend(v.producer for v in node.all_inputs() if v.producer is not None)
    return [n for n in graph.nodes if id(n) in needed]


class Plan:
    """The executable form of a graph: steps over numbered slots."""

    def __init__(self, graph: Graph, xp=np, extra_inputs=(), outputs=None):
        """``outputs``: the graph outputs to compute (default all); only the nodes they
        need are compiled."""
        self.xp = xp
        outputs = list(graph.outputs) if outputs is None else list(outputs)
        slot_of: dict[str, int] = {}
        template: list = [None]

        def slot(name: str) -> int:
            if name not in slot_of:
                slot_of[name] = len(template)
                template.append(None)
            return slot_of[name]

        for name, value in graph.values.items():
            if value.const is not None:
                template[slot(name)] = xp.asarray(value.const) if xp is not np else value.const
        self.input_slots = tuple(slot(v.name) for v in graph.inputs) + \
            tuple(slot(n) for n in extra_inputs)
        self.nodes: list[Node] = _needed(graph, outputs)
        steps, step_ins, step_outs = [], [], []
        for node in self.nodes:
            fn, kwargs = self._prepare(node)
            ins = tuple(slot(v.name) if v is not None else _NONE_SLOT for v in node.inputs)
            ins += tuple(slot(v.name) for v in node.implicit_inputs)
            outs = tuple(slot(v.name) if v is not None else _NONE_SLOT for v in node.outputs)
            steps.append((fn, ins, outs, kwargs))
            step_ins.append(ins)
            step_outs.append(tuple(o for o in outs if o != _NONE_SLOT))
        self.output_slots = tuple(slot(v.name) for v in outputs)
        held = set(self.input_slots) | set(self.output_slots) | {_NONE_SLOT} | {
            i for i, v in enumerate(template) if v is not None}
        frees = release_points(step_ins, step_outs, held)
        self.steps = [(fn, ins, outs[0] if len(outs) == 1 else outs, kw, fr)
                      for (fn, ins, outs, kw), fr in zip(steps, frees)]
        self.template = template
        self.slot_of = slot_of
        self.step_names = [node.describe() for node in self.nodes]
        self._generated = GeneratedRun(self.steps, self.input_slots, self.output_slots,
                                       template, _NONE_SLOT, xp, self)

    def _prepare(self, node: Node):
        op, kwargs = bind(node)
        for key, value in kwargs.items():
            if isinstance(value, Graph):
                kwargs[key] = SubgraphRunner(value, self.xp)
            elif isinstance(value, tuple) and value and isinstance(value[0], Graph):
                kwargs[key] = tuple(SubgraphRunner(g, self.xp) for g in value)
        fn = op.fn
        if op.outer_scope:
            n_explicit = len(node.inputs)
            fn = _outer_scope_kernel(fn, n_explicit, [v.name for v in node.implicit_inputs])
        return fn, kwargs

    # -- running --------------------------------------------------------------------------
    def run(self, inputs: list) -> list:
        """Run with ``inputs`` in the order of ``input_slots``; returns the graph outputs."""
        try:
            with _QUIET_FLOATS():
                return self._generated.run(inputs)
        except Exception as exc:
            found = self._generated.failed_step(exc.__traceback__)
            if found is None:
                raise
            k, frame = found
            values = [frame.get(n) if n != "None" else None
                      for n in self._generated.input_names[k]]
            raise self._kernel_error(k, values, exc) from exc

    def _kernel_error(self, k: int, inputs: list, exc: Exception) -> Exception:
        if k >= len(self.nodes):
            return exc
        node = self.nodes[k]
        if isinstance(exc, EngineError) and not isinstance(exc, KernelError):
            return exc
        shapes = []
        for v in inputs:
            shapes.append(f"{getattr(v, 'dtype', type(v).__name__)}{list(v.shape)}"
                          if hasattr(v, "shape") else repr(type(v).__name__))
        inputs = ", ".join(shapes)
        return KernelError(f"{node.describe()} failed on inputs ({inputs}): "
                           f"{type(exc).__name__}: {exc}")
