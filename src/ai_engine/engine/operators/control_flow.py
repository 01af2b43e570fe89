"""Control flow: If, Loop, Scan, SequenceMap. Their bodies are compiled subgraphs.

Each body is a :class:`~ai_engine.engine.executor.SubgraphRunner`; ``outer_scope`` carries the
enclosing graph's values that the bodies read. Specs:
https://onnx.ai/onnx/operators/onnx__If.html, onnx__Loop.html, onnx__Scan.html,
onnx__SequenceMap.html
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.registry import register
from ai_engine.engine.run_options import current


def _truth(xp, cond) -> bool:
    value = cond if not hasattr(cond, "shape") else cond.reshape(-1)
    if hasattr(value, "size") and value.size != 1:
        raise ValueError(f"condition must hold exactly one element, got shape {cond.shape}")
    return bool(value[0] if hasattr(value, "size") else value)


@register("If", since=1, outer_scope=True)
def if_(xp, cond, *, then_branch, else_branch, outer_scope):
    branch = then_branch if _truth(xp, cond) else else_branch
    return tuple(branch([], outer_scope))


def _stack(xp, pieces: list, like=None):
    if pieces:
        return xp.stack([xp.asarray(p) for p in pieces])
    return xp.zeros((0,), dtype=np.float32 if like is None else like)


@register("Loop", since=1, outer_scope=True)
def loop(xp, max_trip_count=None, cond=None, *carried, body, outer_scope):
    """Run ``body`` while ``iteration < M`` and ``cond`` hold; scan outputs are stacked."""
    limit = None if max_trip_count is None else int(np.asarray(max_trip_count).reshape(-1)[0])
    keep_going = True if cond is None else _truth(xp, cond)
    n_carried = len(carried)
    n_scan = len(body.output_names) - 1 - n_carried
    state = list(carried)
    scans: list[list] = [[] for _ in range(n_scan)]
    i = 0
    cond_value = np.asarray(True) if cond is None else cond
    control = current()
    while keep_going and (limit is None or i < limit):
        if control is not None:
            control.check(f"Loop iteration {i}")
        outs = body([np.asarray(i, dtype=np.int64), cond_value] + state, outer_scope)
        cond_value = outs[0]
        keep_going = _truth(xp, cond_value)
        state = list(outs[1:1 + n_carried])
        for k in range(n_scan):
            scans[k].append(outs[1 + n_carried + k])
        i += 1
    return tuple(state) + tuple(_stack(xp, s) for s in scans)


@register("Scan", since=9, outer_scope=True)
def scan(xp, *inputs, body, num_scan_inputs, scan_input_axes=None,
         scan_input_directions=None, scan_output_axes=None, scan_output_directions=None,
         outer_scope):
    """Iterate ``body`` over slices of the scan inputs, carrying state (Scan-9 and later)."""
    n_state = len(inputs) - num_scan_inputs
    state = list(inputs[:n_state])
    scan_inputs = list(inputs[n_state:])
    in_axes = list(scan_input_axes or [0] * num_scan_inputs)
    in_dirs = list(scan_input_directions or [0] * num_scan_inputs)
    moved = []
    for x, axis, direction in zip(scan_inputs, in_axes, in_dirs):
        x = xp.moveaxis(x, axis % x.ndim, 0)
        moved.append(x[::-1] if direction else x)
    lengths = {x.shape[0] for x in moved}
    if len(lengths) > 1:
        raise ValueError(f"scan inputs have different sequence lengths {sorted(lengths)}")
    steps = lengths.pop() if lengths else 0
    n_scan_out = len(body.output_names) - n_state
    collected: list[list] = [[] for _ in range(n_scan_out)]
    control = current()
    for t in range(steps):
        if control is not None:
            control.check(f"Scan iteration {t}")
        outs = body(state + [x[t] for x in moved], outer_scope)
        state = list(outs[:n_state])
        for k in range(n_scan_out):
            collected[k].append(outs[n_state + k])
    out_axes = list(scan_output_axes or [0] * n_scan_out)
    out_dirs = list(scan_output_directions or [0] * n_scan_out)
    results = []
    for pieces, axis, direction in zip(collected, out_axes, out_dirs):
        if direction:
            pieces = pieces[::-1]
        y = _stack(xp, pieces)
        results.append(xp.moveaxis(y, 0, axis % y.ndim) if y.ndim else y)
    return tuple(state) + tuple(results)


@register("SequenceMap", since=17, outer_scope=True)
def sequence_map(xp, input_sequence, *additional, body, outer_scope):
    """Apply ``body`` to each element of ``input_sequence`` (and of sequence extras)."""
    n = len(input_sequence)
    for extra in additional:
        if isinstance(extra, list) and len(extra) != n:
            raise ValueError(f"additional sequence has {len(extra)} elements, the input "
                             f"sequence {n}")
    results: list[list] = [[] for _ in body.output_names]
    control = current()
    for i in range(n):
        if control is not None:
            control.check(f"SequenceMap iteration {i}")
        args = [input_sequence[i]] + [e[i] if isinstance(e, list) else e for e in additional]
        for k, out in enumerate(body(args, outer_scope)):
            results[k].append(out)
    return tuple(results)


@register("Scan", since=8, outer_scope=True)
def scan_8(xp, sequence_lens=None, *inputs, body, num_scan_inputs, directions=None,
           outer_scope):
    """Scan-8: like Scan-9 but every input has a leading batch axis, scanned per batch item
    (axis 1 is the sequence), and ``sequence_lens`` may stop items early."""
    n_state = len(inputs) - num_scan_inputs
    batch = inputs[0].shape[0] if inputs else 0
    lens = None if sequence_lens is None else np.asarray(sequence_lens).reshape(-1)
    per_item = []
    for b in range(batch):
        item = [x[b] for x in inputs]
        if lens is not None:
            item = item[:n_state] + [x[:int(lens[b])] for x in item[n_state:]]
        per_item.append(scan(xp, *item, body=body, num_scan_inputs=num_scan_inputs,
                             scan_input_directions=directions, outer_scope=outer_scope))
    return tuple(xp.stack([item[k] for item in per_item]) for k in range(len(per_item[0])))
