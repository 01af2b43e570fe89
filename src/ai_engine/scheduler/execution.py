"""One model execution for one request or a merged batch, with its deadline and stop switch.

A request's ``timeout`` (KServe/Triton parameter, or ``/api/v1``'s ``timeout_us``) bounds the
whole request, execution included. The run gets an :class:`ai_engine.RunOptions` whose
``timeout_s`` is set, in the worker thread just before ``session.run``, to the time left until
the execution's deadline, so waiting for a free worker thread counts too. The generated plan
checks it between nodes and at every Loop/Scan iteration (engine/run_options.py).

A batch's deadline is the latest of its requests' deadlines: the run must not be cut short
for a request that still has time. A request without a timeout of its own gets the server's
execution limit (``execution_timeout_s``), counted from the start of the execution; with no
limit either, the run has no deadline. Requests whose own deadline passes while the batch
still runs are answered with the timeout at once (their timers fire); once no request of the
execution is waiting for it (expired, or its client went away), ``RunOptions.terminate`` is
set and the run stops between two nodes, freeing the model for the next request.
"""

from __future__ import annotations

import time

from ai_engine.engine.run_options import RunOptions
from ai_engine.errors import EngineError, RunAbortedError, RunTimeoutError
from ai_engine.scheduler.errors import DeadlineExceededError, SchedulerClosedError


def describe_timeout(timeout_us: int) -> str:
    return f"{timeout_us / 1000:g} ms" if timeout_us < 10_000_000 else \
        f"{timeout_us / 1e6:g} s"


def expired_in_queue(model: str, timeout_us: int) -> DeadlineExceededError:
    return DeadlineExceededError(
        f"request timeout of {describe_timeout(timeout_us)} expired in the queue of model "
        f"{model!r} (phase: queue); dropped before running")


def expired_in_execution(model: str, timeout_us: int) -> DeadlineExceededError:
    return DeadlineExceededError(
        f"request timeout of {describe_timeout(timeout_us)} expired during the execution of "
        f"model {model!r} (phase: execution); its run is stopped between nodes")


class Execution:
    """The requests (``_Work`` items of the batcher) that one run serves."""

    __slots__ = ("works", "options", "deadline")

    def __init__(self, works: list, execution_timeout_s: float):
        self.works = works
        self.options = RunOptions()
        now = time.monotonic()
        ends = [w.deadline if w.deadline is not None
                else (now + execution_timeout_s if execution_timeout_s > 0 else None)
                for w in works]
        self.deadline = None if None in ends else max(ends)

    def call(self, run, feeds: dict) -> list:
        """Runs in a worker thread: the deadline becomes the run's ``timeout_s`` now."""
        if self.deadline is not None:
            self.options.timeout_s = max(0.0, self.deadline - time.monotonic())
        return run(feeds, self.options)

    def release_if_abandoned(self) -> None:
        """Stop the run once none of its requests is waiting for the answer."""
        if all(w.future.done() for w in self.works):
            self.options.terminate = True

    def terminate(self) -> None:
        self.options.terminate = True


def request_error(exc: RunAbortedError, work, model: str, execution_timeout_s: float,
                  closing_reason: str | None) -> EngineError:
    """What a request still waiting on a stopped run is answered."""
    if closing_reason is not None:
        return SchedulerClosedError(f"{closing_reason}; the run of model {model!r} was "
                                    f"stopped (phase: execution)")
    if work.timeout_us:
        return expired_in_execution(model, work.timeout_us)
    if isinstance(exc, RunTimeoutError):
        return DeadlineExceededError(
            f"the run of model {model!r} exceeded the server's execution limit of "
            f"{execution_timeout_s:g} s (phase: execution); stopped between nodes")
    return SchedulerClosedError(f"the run of model {model!r} was stopped (phase: execution): "
                                f"{exc}")
