"""Work sharing for the fused MatMulNBits kernels: ``fn(start, stop)`` over ``[0, n)`` in
chunks, taken on demand by the calling thread and by helper threads.

Why not numba's own ``prange`` threads: its OpenMP team splits the range statically and the
call returns only when every thread has finished its share, so on a machine whose other
vCPU is busy (this project's shared 2-vCPU machines) a decode step waited for a descheduled
thread: medians of 10-25 ms for a 0.3 ms GEMV. Here the caller keeps taking chunks and waits
only for chunks a helper has actually started, so a busy helper costs nothing but its own
chunk. ``fn`` must release the GIL (numba ``nogil=True``).
"""

from __future__ import annotations

import itertools
import os
import queue
import threading

_helpers: list[queue.SimpleQueue] = []
_lock = threading.Lock()


def thread_count() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:                      # not on Linux
        return os.cpu_count() or 1


def _helper_loop(jobs: queue.SimpleQueue, setup) -> None:
    setup()
    while True:
        jobs.get()()


def _ensure_helpers(count: int, setup) -> list[queue.SimpleQueue]:
    with _lock:
        while len(_helpers) < count:
            jobs: queue.SimpleQueue = queue.SimpleQueue()
            threading.Thread(target=_helper_loop, args=(jobs, setup), daemon=True,
                             name=f"ai-engine-nbits-{len(_helpers)}").start()
            _helpers.append(jobs)
        return _helpers[:count]


def run(fn, n: int, chunks_per_thread: int = 4, setup=lambda: None) -> None:
    """Call ``fn(start, stop)`` for consecutive chunks covering ``[0, n)``; ``setup`` runs
    once in each helper thread when it starts."""
    threads = min(thread_count(), n)
    if threads <= 1:
        fn(0, n)
        return
    n_chunks = min(n, threads * chunks_per_thread)
    size = -(-n // n_chunks)
    n_chunks = -(-n // size)
    claims = itertools.count()           # next() on a count is atomic under the GIL
    pending = [n_chunks]
    errors: list[BaseException] = []
    finished = threading.Event()
    counter_lock = threading.Lock()

    def work():
        while True:
            i = next(claims)
            if i >= n_chunks:
                return
            try:
                fn(i * size, min(n, (i + 1) * size))
            except BaseException as exc:     # re-raised in the caller
                errors.append(exc)
            with counter_lock:
                pending[0] -= 1
                if pending[0] == 0:
                    finished.set()

    for jobs in _ensure_helpers(threads - 1, setup):
        jobs.put(work)
    work()
    finished.wait()
    if errors:
        raise errors[0]
