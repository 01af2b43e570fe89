"""The dynamic batcher: an asyncio queue of requests and a future per request.

Triton "Dynamic Batcher": requests for one model wait in a queue; a batch is flushed when it
reaches ``max_batch_size`` rows, a preferred batch size, or when the oldest request has waited
``max_queue_delay_microseconds``. Requests are merged along axis 0 only when every input has
the same dtype and trailing dims (the model's first dim must be dynamic: the caller decides
that and passes ``batchable``). One ``run`` executes in a worker thread, never on the event
loop, so health checks and other models keep answering; results are split back per request.

Deadlines (KServe/Triton ``timeout`` parameter) bound the whole request: a request still
queued at its deadline is dropped unrun, one that is executing is answered at its deadline
and its run is stopped between nodes once no request of it is still waiting (see
:mod:`execution`, which also applies the server's execution limit to requests without a
timeout). Both answers are :class:`DeadlineExceededError`, naming the phase. A caller that
goes away (its awaiting task is cancelled, e.g. the HTTP client disconnected) cancels its
future: queued work whose future is done is skipped, and a run that nobody waits for any more
is stopped the same way. The queue is bounded: beyond ``max_queue_size`` waiting requests,
:class:`QueueFullError` (429) instead of unbounded memory. :meth:`DynamicBatcher.close` drains
within a grace period, then stops the runs still going.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ai_engine.engine.run_options import RunOptions
from ai_engine.errors import RunAbortedError
from ai_engine.scheduler.errors import QueueFullError, SchedulerClosedError
from ai_engine.scheduler.execution import Execution, expired_in_execution, expired_in_queue, \
    request_error
from ai_engine.scheduler.stats import ModelStats


@dataclass(frozen=True)
class BatchPolicy:
    """What the batcher enforces; ``GET /v2/models/M/config`` reports this same object."""

    max_batch_size: int = 8          # rows per run (Triton max_batch_size)
    dynamic_batching: bool = True    # merge requests; off, or max_batch_size <= 1: one by one
    max_queue_delay_us: int = 0      # 0: take what is queued now, never wait for more
    preferred_batch_sizes: tuple = ()
    max_queue_size: int = 256
    instances: int = 1               # concurrent runs of this model
    execution_timeout_s: float = 0.0  # run limit for requests without a timeout; 0: none


class _Work:
    __slots__ = ("feeds", "rows", "key", "future", "enqueued_ns", "timeout_us", "deadline",
                 "timer", "execution")

    def __init__(self, feeds, rows, key, future, timeout_us):
        self.feeds, self.rows, self.key, self.future = feeds, rows, key, future
        self.enqueued_ns = time.perf_counter_ns()
        self.timeout_us = timeout_us
        # time.monotonic(), the clock RunOptions deadlines use (not loop.time(): uvloop's
        # is cached per loop iteration, in milliseconds)
        self.deadline = time.monotonic() + timeout_us / 1e6 if timeout_us else None
        self.timer = None
        self.execution: Execution | None = None  # set when its run starts

    @property
    def started(self) -> bool:
        return self.execution is not None


class DynamicBatcher:
    """Batches ``run(feeds) -> list[array]`` calls for one model version."""

    def __init__(self, run: Callable[[dict, RunOptions], list], policy: BatchPolicy, executor,
                 stats: ModelStats, batchable: bool):
        self._run = run
        self.policy = policy
        self._executor = executor
        self.stats = stats
        self._batchable = batchable and policy.dynamic_batching and policy.max_batch_size > 1
        self._preferred = frozenset(policy.preferred_batch_sizes)
        self._queue: deque[_Work] = deque()
        self._forming: list[list[_Work]] = []
        self._wake = asyncio.Event()
        self._closed = False
        self._closing_reason: str | None = None  # set when running work is being stopped
        self._running: set[Execution] = set()
        self._workers: list[asyncio.Task] = []

    def start(self) -> None:
        for _ in range(max(1, self.policy.instances)):
            forming: list[_Work] = []
            self._forming.append(forming)
            self._workers.append(asyncio.get_running_loop().create_task(self._worker(forming)))

    @property
    def queued(self) -> int:
        return len(self._queue) + sum(len(f) for f in self._forming)

    async def submit(self, feeds: dict, timeout_us: int | None = None) -> list:
        """The model's outputs for ``feeds``, as an unbatched run would give them.

        ``timeout_us`` bounds the whole request (queue and execution), in microseconds.
        """
        if self._closed:
            raise SchedulerClosedError("the model is unloading and takes no new requests")
        if self.queued >= self.policy.max_queue_size:
            raise QueueFullError(f"the queue of model {self.stats.name!r} is full "
                                 f"({self.policy.max_queue_size} requests waiting); retry later")
        loop = asyncio.get_running_loop()
        work = _Work(feeds, *self._rows_and_key(feeds), loop.create_future(), timeout_us)
        if work.deadline is not None:
            work.timer = loop.call_later(work.deadline - time.monotonic(), self._expire, work)
        self._queue.append(work)
        self._wake.set()
        try:
            return await work.future
        except asyncio.CancelledError:
            self.stats.add("cancel", time.perf_counter_ns() - work.enqueued_ns)
            if work.started:
                work.execution.release_if_abandoned()
            else:
                self._discard(work)
            raise
        finally:
            if work.timer is not None:
                work.timer.cancel()

    def _rows_and_key(self, feeds: dict):
        if not self._batchable:
            return 1, None
        arrays = list(feeds.values())
        if not arrays or any(a.ndim == 0 for a in arrays):
            return 1, None
        rows = arrays[0].shape[0]
        if any(a.shape[0] != rows for a in arrays):
            return 1, None  # inconsistent dim 0: run alone, the model decides
        return rows, tuple((n, a.dtype.str, a.shape[1:]) for n, a in sorted(feeds.items()))

    def _expire(self, work: _Work) -> None:
        if work.future.done():
            return
        if work.started:
            work.future.set_exception(expired_in_execution(self.stats.name, work.timeout_us))
            work.execution.release_if_abandoned()
        else:
            work.future.set_exception(expired_in_queue(self.stats.name, work.timeout_us))
            self._discard(work)

    def _discard(self, work: _Work) -> None:
        try:
            self._queue.remove(work)
        except ValueError:
            pass  # already taken into a forming batch: skipped there

    async def close(self, grace_s: float | None = None,
                    reason: str = "the model is unloading") -> None:
        """Take no new work and finish what was accepted; after ``grace_s`` seconds (never,
        when ``None``) stop what is still queued or running (:meth:`terminate`)."""
        self._closed = True
        self._wake.set()
        if grace_s is not None and self._workers:
            _, pending = await asyncio.wait(self._workers, timeout=grace_s)
            if pending:
                self.terminate(reason)
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()

    def terminate(self, reason: str) -> None:
        """Answer every queued request 503 with ``reason`` and stop the running runs between
        nodes (their requests get the same answer)."""
        self._closed = True
        self._closing_reason = reason
        for work in [*self._queue, *(w for f in self._forming for w in f)]:
            if not work.future.done():
                work.future.set_exception(SchedulerClosedError(
                    f"{reason}; request dropped before running (phase: queue)"))
        self._queue.clear()
        for execution in self._running:
            execution.terminate()
        self._wake.set()

    # -- the worker side -------------------------------------------------------------------
    async def _worker(self, forming: list) -> None:
        while True:
            first = await self._next()
            if first is None:
                return
            forming.append(first)
            if first.key is not None:
                await self._fill(forming, first)
            batch = forming[:]
            forming.clear()
            try:
                await self._execute(batch)
            except Exception as exc:  # noqa: BLE001 - a bug here must not kill the model
                for w in batch:
                    if not w.future.done():
                        w.future.set_exception(exc)

    def _pop(self) -> _Work | None:
        while self._queue:
            work = self._queue.popleft()
            if not work.future.done():
                return work
        return None

    async def _next(self) -> _Work | None:
        while True:
            work = self._pop()
            if work is not None or self._closed:
                return work
            self._wake.clear()
            await self._wake.wait()

    async def _fill(self, forming: list, first: _Work) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.policy.max_queue_delay_us / 1e6
        rows, limit = first.rows, self.policy.max_batch_size
        while rows < limit and rows not in self._preferred:
            work = self._pop()
            if work is None:
                remaining = deadline - loop.time()
                if remaining <= 0 or self._closed:
                    return
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), remaining)
                except asyncio.TimeoutError:
                    return
                continue
            if work.key != first.key or rows + work.rows > limit:
                self._queue.appendleft(work)  # it starts the next batch
                return
            forming.append(work)
            rows += work.rows

    async def _execute(self, batch: list) -> None:
        live = [w for w in batch if not w.future.done()]
        if not live:
            return
        now_ns = time.perf_counter_ns()
        for w in live:
            self.stats.queue_wait(now_ns - w.enqueued_ns)
        if len(live) == 1:
            await self._run_one(live[0], now_ns)
            return
        feeds = {n: np.concatenate([w.feeds[n] for w in live]) for n in live[0].feeds}
        t1 = time.perf_counter_ns()
        try:
            outs = await self._call(live, feeds)
        except RunAbortedError as exc:
            self._answer_stopped(live, exc)
            return
        except Exception:  # one bad request must not fail the others: run each alone
            await self._run_each(live)
            return
        t2 = time.perf_counter_ns()
        parts = _split(outs, [w.rows for w in live])
        if parts is None:  # an output without the batch axis: batching cannot apply
            await self._run_each(live)
            return
        self.stats.execution(sum(w.rows for w in live), t1 - now_ns, t2 - t1,
                             time.perf_counter_ns() - t2)
        for w, part in zip(live, parts):
            if not w.future.done():
                w.future.set_result(part)

    async def _call(self, works: list, feeds: dict) -> list:
        """Run ``feeds`` for ``works`` in a worker thread, under their common deadline."""
        execution = Execution(works, self.policy.execution_timeout_s)
        for w in works:
            w.execution = execution
        if self._closing_reason is not None:
            execution.terminate()
        self._running.add(execution)
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._executor, execution.call, self._run, feeds)
        finally:
            self._running.discard(execution)

    def _answer_stopped(self, works: list, exc: RunAbortedError) -> None:
        for w in works:
            if not w.future.done():
                w.future.set_exception(request_error(exc, w, self.stats.name,
                                                     self.policy.execution_timeout_s,
                                                     self._closing_reason))

    async def _run_each(self, works: list) -> None:
        for w in works:
            if not w.future.done():
                await self._run_one(w, time.perf_counter_ns())

    async def _run_one(self, work: _Work, t0: int) -> None:
        try:
            outs = await self._call([work], work.feeds)
        except RunAbortedError as exc:
            self._answer_stopped([work], exc)
            return
        except Exception as exc:
            if not work.future.done():
                work.future.set_exception(exc)
            return
        t1 = time.perf_counter_ns()
        self.stats.execution(work.rows, 0, t1 - t0, 0)
        if not work.future.done():
            work.future.set_result(outs)


def _split(outs: list, rows: list[int]) -> list[list] | None:
    total = sum(rows)
    if any(getattr(o, "ndim", 0) == 0 or o.shape[0] != total for o in outs):
        return None
    cuts = np.cumsum(rows)[:-1]
    per_output = [np.split(o, cuts) for o in outs]
    return [list(parts) for parts in zip(*per_output)]
