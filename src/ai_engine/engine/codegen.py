"""Turn a Plan's steps into one straight-line Python function.

``v7 = f3(xp, v1, c2, **k3)`` per step, with values in local variables and constants and
kernels bound as globals of the generated code: no list indexing, no argument lists built at
run time, no loop (measured: about 20% less dispatch cost per node than a loop over prepared
steps, ~0.64 us against ~0.8 us). A value is dropped (``v1 = None``) after its last use, as
the plan's liveness says.

Every run, plain or not, runs this one function. It reads the run's control once
(``ctl = current()``, see run_options.py) and, when there is one, calls ``ctl.enter(P)``,
``ctl.step(P, k)`` before each step and ``ctl.leave(P)`` at the end (``P``: the plan). A
:class:`RunControl` uses ``step`` to stop a terminated or late run; the profiler and the
memory tracker (instrumentation.py) use the same hooks to time each step and to count the
live values in the frame. Without a control a run pays one ``is not None`` test per node.
The values that die at step k are dropped right after the hook that precedes step k + 1,
so the hook sees each step's outputs next to its inputs: the step's peak.

A failing step is found from the traceback's line number, and its inputs from the frame's
locals, so error reporting costs nothing while all goes well.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.run_options import current

FILENAME = "<ai_engine plan>"


def _fix_single(value):
    # A kernel returned a tuple for a one-output node, or a NumPy scalar for a 0-d result.
    if type(value) is tuple:
        value = value[0]
    return np.asarray(value) if isinstance(value, np.generic) else value


def _split(value, n: int):
    if type(value) is not tuple:
        value = (value,)
    out = [np.asarray(v) if isinstance(v, np.generic) else v for v in value[:n]]
    return out + [None] * (n - len(out))


class GeneratedRun:
    """The generated function plus what is needed to explain a failure.

    ``plan`` is what the hooks receive as ``P`` (the Plan: its ``nodes`` and
    ``step_names``).
    """

    def __init__(self, steps, input_slots, output_slots, template, none_slot, xp, plan=None):
        const = {i for i, v in enumerate(template) if v is not None}

        def name(slot: int) -> str:
            if slot == none_slot:
                return "None"
            return f"c{slot}" if slot in const else f"v{slot}"

        env = {"xp": xp, "ndarray": xp.ndarray, "fix": _fix_single, "split": _split,
               "current": current, "P": plan}
        env.update({f"c{i}": template[i] for i in const})
        lines = ["def run(inputs):"]
        if input_slots:
            lines.append(f"    {', '.join(name(s) for s in input_slots)}, = inputs")
        lines += ["    ctl = current()", "    if ctl is not None: ctl.enter(P)"]
        self.line_to_step: dict[int, int] = {}
        self.input_names = []
        pending_frees: tuple = ()

        def drop(frees):
            if frees:
                lines.append("    " + " = ".join(name(s) for s in frees) + " = None")

        for k, (fn, ins, outs, kwargs, frees) in enumerate(steps):
            env[f"f{k}"] = fn
            args = ", ".join(["xp"] + [name(s) for s in ins])
            if kwargs:
                env[f"k{k}"] = kwargs
                args += f", **k{k}"
            self.input_names.append([name(s) for s in ins])
            lines.append(f"    if ctl is not None: ctl.step(P, {k})")
            drop(pending_frees)
            self.line_to_step[len(lines) + 1] = k
            if type(outs) is int:
                target = name(outs) if outs != none_slot else "_"
                lines.append(f"    {target} = f{k}({args})")
                lines.append(f"    if {target}.__class__ is not ndarray: {target} = fix({target})")
            else:
                targets = ", ".join(name(s) if s != none_slot else "_" for s in outs)
                lines.append(f"    {targets}, = split(f{k}({args}), {len(outs)})")
            pending_frees = frees
        lines.append("    if ctl is not None: ctl.leave(P)")
        drop(pending_frees)
        lines.append(f"    return [{', '.join(name(s) for s in output_slots)}]")
        source = "\n".join(lines) + "\n"
        exec(compile(source, FILENAME, "exec"), env)  # noqa: S102 - our own generated code
        self.run = env["run"]
        self.source = source

    def failed_step(self, tb):
        """(step index, {variable name: value}) of the generated frame in ``tb``, or None."""
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == FILENAME:
                k = self.line_to_step.get(tb.tb_lineno)
                if k is not None:
                    frame = tb.tb_frame
                    return k, {**frame.f_globals, **frame.f_locals}
            tb = tb.tb_next
        return None
