"""Pick BLAS threads per session from measured latency: all usable cores, or one.

Why: a multi-threaded OpenBLAS call splits its work evenly and waits at the end for every
thread; when other processes hold the cores, one preempted thread stalls the call for a
scheduler time slice, at every GEMM of the run. Measured on the shared 2-vCPU machine (load
average about 6, SqueezeNet): 61 ms per run with 2 BLAS threads against 7.4 ms with one, and
1004 against 52 ms with a busy-loop process per core added; on a quiet machine two threads
are faster (docs/PERFORMANCE.md: 1.3-1.6x). No fixed count is right for both, so a session
whose ``intra_op_num_threads`` is 0 measures both and keeps the faster.

How: a mean of the run time per thread count; each run uses the count with the lower mean
(an exponential mean of its runs), and every ``EXPLORE_EVERY``-th run the other one, whose
mean that run replaces (its old value is 32 runs stale), so a change of load is acted on
within one exploration (the cost: one run in 32 at the slower count). Runs of the session
feed only its own means: models differ.

Safety: OpenBLAS's pool is process-wide and resizing it while another thread is inside a BLAS
call is not safe, so the pool is only resized when no other run of any session is in flight
(a process-wide count under a lock), and only while it still has the size this module (or
the default cap of threads.py) gave it: a size set by the user, the server or
``intra_op_num_threads`` is never overridden.
"""

from __future__ import annotations

import threading

from ai_engine.engine import threads

EXPLORE_EVERY = 32
SMOOTHING = 0.25  # weight of the newest run in the mean

_lock = threading.Lock()
_active_runs = 0


class ThreadTuner:
    """The BLAS thread choice of one session."""

    __slots__ = ("counts", "mean", "runs")

    def __init__(self, cores: int):
        self.counts = (cores, 1)
        self.mean: dict[int, float | None] = {cores: None, 1: None}
        self.runs = 0

    def _best(self) -> int:
        many, one = self.counts
        return many if self.mean[many] <= self.mean[one] else one

    def _pick(self) -> int:
        for count in self.counts:  # try each once first
            if self.mean[count] is None:
                return count
        best = self._best()
        if self.runs % EXPLORE_EVERY == EXPLORE_EVERY - 1:
            return self.counts[1] if best == self.counts[0] else self.counts[0]
        return best

    def begin(self) -> int | None:
        """Before a run: the thread count it runs with, or ``None`` when the pool cannot be
        resized now (another run in flight, or the pool is not ours)."""
        global _active_runs
        with _lock:
            _active_runs += 1
            if _active_runs != 1:
                return None
            count = self._pick()
            return count if threads.resize_owned_pool(count) else None

    def end(self, count: int | None, seconds: float | None) -> None:
        """After a run that used ``count`` threads and took ``seconds`` (``None``: failed)."""
        global _active_runs
        with _lock:
            _active_runs -= 1
            if count is None or seconds is None:
                return
            self.runs += 1
            old = self.mean[count]
            explored = None not in self.mean.values() and count != self._best()
            self.mean[count] = seconds if old is None or explored else \
                (1 - SMOOTHING) * old + SMOOTHING * seconds


def tuner_for(intra_op_num_threads: int) -> ThreadTuner | None:
    """A tuner for a session with these options, or ``None`` when the count is the user's
    (``intra_op_num_threads`` > 0) or there is one usable core."""
    if intra_op_num_threads > 0:
        return None
    cores = threads.usable_cores()
    return ThreadTuner(cores) if cores > 1 else None
