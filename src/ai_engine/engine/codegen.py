"""Turn a Plan's steps into one straight-line Python function.

``v7 = f3(xp, v1, c2, **k3)`` per step, with values in local variables and constants and
kernels bound as globals of the generated code: no list indexing, no argument lists built at
run time, no loop. On this machine that halves the executor's cost per node against the plan
loop (see PERFORMANCE.md: ~0.64 us vs ~0.8 us per step for the dispatch alone). Values are
dropped (``v1 = None``) right after their last use, as the plan's liveness says. Before each
step, ``if ctl is not None: ctl.check(...)`` stops a run whose RunOptions asked for it
(run_options.py): one ``is not None`` test per node when no run options are given.

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
    """The generated function plus what is needed to explain a failure."""

    def __init__(self, steps, input_slots, output_slots, template, none_slot, xp,
                 step_names=()):
        const = {i for i, v in enumerate(template) if v is not None}

        def name(slot: int) -> str:
            if slot == none_slot:
                return "None"
            return f"c{slot}" if slot in const else f"v{slot}"

        env = {"xp": xp, "ndarray": xp.ndarray, "fix": _fix_single, "split": _split,
               "current": current}
        env.update({f"c{i}": template[i] for i in const})
        lines = ["def run(inputs):", "    ctl = current()"]
        if input_slots:
            lines.append(f"    {', '.join(name(s) for s in input_slots)}, = inputs")
        self.line_to_step: dict[int, int] = {}
        self.input_names = []
        for k, (fn, ins, outs, kwargs, frees) in enumerate(steps):
            env[f"f{k}"] = fn
            args = ", ".join(["xp"] + [name(s) for s in ins])
            if kwargs:
                env[f"k{k}"] = kwargs
                args += f", **k{k}"
            self.input_names.append([name(s) for s in ins])
            env[f"w{k}"] = step_names[k] if k < len(step_names) else f"step {k}"
            lines.append(f"    if ctl is not None: ctl.check(w{k})")
            self.line_to_step[len(lines) + 1] = k
            if type(outs) is int:
                target = name(outs) if outs != none_slot else "_"
                lines.append(f"    {target} = f{k}({args})")
                lines.append(f"    if {target}.__class__ is not ndarray: {target} = fix({target})")
            else:
                targets = ", ".join(name(s) if s != none_slot else "_" for s in outs)
                lines.append(f"    {targets}, = split(f{k}({args}), {len(outs)})")
            if frees:
                lines.append("    " + " = ".join(name(s) for s in frees) + " = None")
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
