"""Deadlines and cancellation reach into the run: the batcher with the real engine, in process.

The model is a Loop of trip count 10**12 counting to its input ``stop`` (server_harness):
with a huge ``stop`` only RunOptions can end the run. No wall-clock thresholds: each test
asserts what was answered, in which order, and how the run ended.
"""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import ai_engine
from ai_engine.scheduler import (BatchPolicy, DeadlineExceededError, DynamicBatcher, ModelStats,
                                 SchedulerClosedError)
from ai_engine.scheduler.execution import Execution
from server_harness import counting_loop_model

FOREVER = np.array([10 ** 15], np.int64)


class RecordingModel:
    """The real session; records how each run ended ("ok" or the error class)."""

    def __init__(self, batch_dim: bool):
        self.session = ai_engine.InferenceSession(counting_loop_model(batch_dim))
        self.ends: list[str] = []

    def __call__(self, feeds, run_options):
        try:
            out = self.session.run(None, feeds, run_options)
        except Exception as exc:
            self.ends.append(type(exc).__name__)
            raise
        self.ends.append("ok")
        return out


async def make(model, batchable=False, **policy):
    b = DynamicBatcher(model, BatchPolicy(**policy), ThreadPoolExecutor(2), ModelStats("loop", "1"),
                       batchable=batchable)
    b.start()
    return b


def test_timeout_stops_the_run_and_the_model_answers_the_next_request():
    async def main():
        model = RecordingModel(batch_dim=False)
        b = await make(model)
        with pytest.raises(DeadlineExceededError, match=r"200 ms expired during the execution "
                                                        r".*phase: execution"):
            await b.submit({"stop": FOREVER}, timeout_us=200_000)
        (count,) = await b.submit({"stop": np.array([7], np.int64)})
        await b.close()
        return model.ends, count

    ends, count = asyncio.run(main())
    assert ends[0] in ("RunTerminatedError", "RunTimeoutError")  # stopped, not finished
    assert ends[1:] == ["ok"] and count.tolist() == [7]


def test_queue_and_execution_expiry_name_their_phase():
    async def main():
        b = await make(RecordingModel(batch_dim=False))
        running = asyncio.ensure_future(b.submit({"stop": FOREVER}, timeout_us=300_000))
        await asyncio.sleep(0.05)
        queued = asyncio.ensure_future(b.submit({"stop": FOREVER}, timeout_us=100_000))
        results = await asyncio.gather(running, queued, return_exceptions=True)
        await b.close()
        return results

    running, queued = asyncio.run(main())
    assert isinstance(running, DeadlineExceededError) and "phase: execution" in str(running)
    assert isinstance(queued, DeadlineExceededError) and "phase: queue" in str(queued)
    assert running.http_status == queued.http_status == 503


def test_server_execution_limit_bounds_requests_without_a_timeout():
    async def main():
        model = RecordingModel(batch_dim=False)
        b = await make(model, execution_timeout_s=0.2)
        with pytest.raises(DeadlineExceededError, match=r"execution limit of 0.2 s"):
            await b.submit({"stop": FOREVER})
        await b.close()
        return model.ends

    assert asyncio.run(main()) == ["RunTimeoutError"]


def test_batch_runs_until_its_last_deadline_and_answers_each_at_its_own():
    async def main():
        model = RecordingModel(batch_dim=True)
        b = await make(model, batchable=True, max_batch_size=4, max_queue_delay_us=100_000)
        answered = []

        async def one(timeout_us, tag):
            try:
                await b.submit({"stop": FOREVER}, timeout_us=timeout_us)
            except DeadlineExceededError as exc:
                answered.append((tag, str(exc), list(model.ends)))

        await asyncio.gather(one(150_000, "short"), one(600_000, "long"))
        await b.close()
        return model.ends, answered

    ends, answered = asyncio.run(main())
    assert len(ends) == 1 and ends[0] != "ok"  # one merged run, stopped
    assert [tag for tag, _, _ in answered] == ["short", "long"]
    assert all("phase: execution" in msg for _, msg, _ in answered)
    assert answered[0][2] == []  # when "short" was answered, the run was still going


def test_run_stops_once_no_request_of_its_batch_is_waiting():
    async def main():
        model = RecordingModel(batch_dim=True)
        b = await make(model, batchable=True, max_batch_size=4, max_queue_delay_us=100_000)
        first = asyncio.ensure_future(b.submit({"stop": FOREVER}))
        second = asyncio.ensure_future(b.submit({"stop": FOREVER}))
        await asyncio.sleep(0.3)  # past the batching delay: the merged run is going
        first.cancel()            # a client went away; the other still waits
        await asyncio.sleep(0.1)
        still_running = list(model.ends)
        second.cancel()           # nobody waits now: the run is terminated
        while not model.ends:
            await asyncio.sleep(0.01)
        (count,) = await b.submit({"stop": np.array([3], np.int64)})
        await b.close()
        return still_running, model.ends, count, b.stats

    still_running, ends, count, stats = asyncio.run(main())
    assert still_running == []
    assert ends == ["RunTerminatedError", "ok"] and count.tolist() == [3]
    assert stats.count["cancel"] == 2


def test_close_with_grace_stops_runs_and_answers_503():
    async def main():
        model = RecordingModel(batch_dim=False)
        b = await make(model)
        running = asyncio.ensure_future(b.submit({"stop": FOREVER}))
        queued = asyncio.ensure_future(b.submit({"stop": FOREVER}))
        await asyncio.sleep(0.05)
        await b.close(grace_s=0.2, reason="the server is shutting down")
        return model.ends, await asyncio.gather(running, queued, return_exceptions=True)

    ends, (running, queued) = asyncio.run(main())
    assert ends == ["RunTerminatedError"]
    assert isinstance(running, SchedulerClosedError) and "phase: execution" in str(running)
    assert isinstance(queued, SchedulerClosedError) and "phase: queue" in str(queued)
    assert "shutting down" in str(running) and running.http_status == 503


_LOOP = asyncio.new_event_loop()  # futures only; never run


class _Work:  # what Execution reads from the batcher's work items
    def __init__(self, deadline, done=False):
        self.deadline = deadline
        self.future = _LOOP.create_future()
        if done:
            self.future.cancel()


def test_execution_deadline_is_the_latest_and_the_limit_fills_in():
    now = time.monotonic()
    assert Execution([_Work(now + 1), _Work(now + 5)], 0.0).deadline == now + 5
    assert Execution([_Work(now + 1), _Work(None)], 0.0).deadline is None
    limited = Execution([_Work(now + 1), _Work(None)], 1000.0).deadline
    assert now + 1000 <= limited <= time.monotonic() + 1000
    assert Execution([_Work(now + 5000), _Work(None)], 1000.0).deadline == now + 5000


def test_execution_is_terminated_only_when_all_its_requests_are_gone():
    waiting, gone = _Work(None), _Work(None, done=True)
    e = Execution([waiting, gone], 0.0)
    e.release_if_abandoned()
    assert e.options.terminate is False
    waiting.future.cancel()
    e.release_if_abandoned()
    assert e.options.terminate is True

