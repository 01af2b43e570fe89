"""The dynamic batcher with plain asyncio: no HTTP, a fake model that records its runs."""

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from ai_engine.errors import KernelError
from ai_engine.scheduler import (BatchPolicy, DeadlineExceededError, DynamicBatcher,
                                 ModelStats, QueueFullError, SchedulerClosedError)


class FakeModel:
    """y = 2x (+ a per-row id); fails on any row holding a negative value."""

    def __init__(self, delay=0.0):
        self.runs: list[int] = []
        self.delay = delay
        self.threads = set()

    def __call__(self, feeds):
        self.threads.add(threading.get_ident())
        x = feeds["x"]
        self.runs.append(len(x))
        time.sleep(self.delay)
        if (x < 0).any():
            raise KernelError("negative input")
        return [x * 2, x.sum(axis=1)]


def run(coro):
    return asyncio.run(coro)


async def make(model, **policy):
    b = DynamicBatcher(model, BatchPolicy(**policy), ThreadPoolExecutor(2), ModelStats("m", "1"),
                       batchable=True)
    b.start()
    return b


def test_concurrent_requests_merge_and_split_exactly():
    async def main():
        model = FakeModel()
        b = await make(model, max_batch_size=16, max_queue_delay_us=50_000)
        xs = [np.full((i % 3 + 1, 2), i, np.float32) for i in range(8)]
        outs = await asyncio.gather(*(b.submit({"x": x}) for x in xs))
        await b.close()
        return model, xs, outs, b

    model, xs, outs, b = run(main())
    assert model.runs == [sum(len(x) for x in xs)]
    assert threading.main_thread().ident not in model.threads  # never on the event loop
    for x, (y, s) in zip(xs, outs, strict=True):
        np.testing.assert_array_equal(y, x * 2)
        np.testing.assert_array_equal(s, x.sum(axis=1))
    assert b.stats.as_dict()["batch_stats"][0]["batch_size"] == model.runs[0]


def test_max_batch_size_and_preferred_sizes_cut_batches():
    async def main():
        model = FakeModel()
        b = await make(model, max_batch_size=4, max_queue_delay_us=100_000,
                       preferred_batch_sizes=(2,))
        await asyncio.gather(*(b.submit({"x": np.ones((1, 2), np.float32)}) for _ in range(6)))
        await b.close()
        return model

    assert run(main()).runs == [2, 2, 2]


def test_incompatible_shapes_run_separately():
    async def main():
        model = FakeModel()
        b = await make(model, max_batch_size=8, max_queue_delay_us=20_000)
        await asyncio.gather(b.submit({"x": np.ones((1, 2), np.float32)}),
                             b.submit({"x": np.ones((1, 3), np.float32)}))
        await b.close()
        return model

    assert sorted(run(main()).runs) == [1, 1]


def test_a_failing_request_does_not_fail_its_batch():
    async def main():
        b = await make(FakeModel(), max_batch_size=8, max_queue_delay_us=20_000)
        results = await asyncio.gather(b.submit({"x": np.ones((1, 2), np.float32)}),
                                       b.submit({"x": -np.ones((1, 2), np.float32)}),
                                       return_exceptions=True)
        await b.close()
        return results

    good, bad = run(main())
    np.testing.assert_array_equal(good[0], [[2, 2]])
    assert isinstance(bad, KernelError)


def test_queue_bound_timeout_and_cancellation():
    async def main():
        model = FakeModel()
        b = await make(model, max_batch_size=8, max_queue_delay_us=300_000, max_queue_size=2)
        x = {"x": np.ones((1, 2), np.float32)}
        timed = asyncio.ensure_future(b.submit(x, timeout_us=20_000))
        cancelled = asyncio.ensure_future(b.submit(x))
        await asyncio.sleep(0)
        with pytest.raises(QueueFullError):
            await b.submit(x)
        with pytest.raises(DeadlineExceededError):
            await timed
        cancelled.cancel()
        await asyncio.sleep(0.4)
        await b.close()
        with pytest.raises(SchedulerClosedError):
            await b.submit(x)
        return model, b.stats

    model, stats = run(main())
    assert model.runs == []  # neither the expired nor the cancelled request ever ran
    assert stats.count["cancel"] == 1


def test_close_finishes_accepted_work():
    async def main():
        b = await make(FakeModel(delay=0.05), max_batch_size=1)
        pending = [asyncio.ensure_future(b.submit({"x": np.ones((1, 2), np.float32)}))
                   for _ in range(3)]
        await asyncio.sleep(0)
        await b.close()
        return [p.result()[0] for p in pending]

    assert all((y == 2).all() for y in run(main()))
