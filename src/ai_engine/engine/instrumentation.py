"""Profiling and memory tracking through the run-control hooks of the generated plan.

An :class:`Instrumentation` is a :class:`RunControl` (so it also honours the run's
RunOptions) whose ``step`` hook times each step (from one hook to the next) and, when
tracking memory, counts the values alive in the generated function's frame (every value
there is a run value: kernels and constants are globals). Nested graphs (If/Loop/Scan
bodies) keep their own timing frames, so an outer node's time includes its bodies'.
"""

from __future__ import annotations

import sys
import time

from ai_engine.engine.run_options import RunControl, RunOptions
from ai_engine.memory.tracker import MemoryTracker


class Instrumentation(RunControl):
    """``events``: ``(node, start_ns, duration_ns)`` per step when profiling (else None);
    ``tracker``: a MemoryTracker when tracking memory (else None)."""

    __slots__ = ("events", "tracker", "_frames")

    def __init__(self, options: RunOptions | None, profile: bool, track_memory: bool):
        super().__init__(options)
        self.events = [] if profile else None
        self.tracker = MemoryTracker() if track_memory else None
        self._frames: list[list] = []        # [plan, step, start_ns] per nested graph run

    def enter(self, plan) -> None:
        self._frames.append([plan, None, 0])

    def step(self, plan, k: int) -> None:
        self.check(plan.step_names[k])
        self._close_step(sys._getframe(1))
        frame = self._frames[-1]
        frame[1], frame[2] = k, time.perf_counter_ns()

    def leave(self, plan) -> None:
        self._close_step(sys._getframe(1))
        self._frames.pop()

    def _close_step(self, caller) -> None:
        plan, k, start = self._frames[-1]
        if k is not None and self.events is not None:
            self.events.append((plan.nodes[k], start, time.perf_counter_ns() - start))
        if self.tracker is not None:
            self.tracker.observe(caller.f_locals.values(), len(self._frames) - 1)
