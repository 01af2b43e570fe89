"""Liveness: after which step each intermediate value is dead and can be released.

Given the steps' input and output slots in execution order, a slot dies after its last
reader; slots that are held (graph inputs, outputs, constants) never die inside a run. Freeing
at the last use keeps a run's peak memory at the size of its live set, not of all values.
"""

from __future__ import annotations


def release_points(step_inputs: list[tuple[int, ...]], step_outputs: list[tuple[int, ...]],
                   held: set[int]) -> list[tuple[int, ...]]:
    """For each step, the slots to drop right after it runs."""
    last_use: dict[int, int] = {}
    for k, (ins, outs) in enumerate(zip(step_inputs, step_outputs)):
        for slot in outs:
            last_use[slot] = k  # an output nobody reads dies at once
        for slot in ins:
            last_use[slot] = k
    frees: list[list[int]] = [[] for _ in step_inputs]
    for slot, k in last_use.items():
        if slot not in held:
            frees[k].append(slot)
    return [tuple(sorted(f)) for f in frees]
