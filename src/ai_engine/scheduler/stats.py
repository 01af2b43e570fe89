"""Per-model-version counters in the shape of Triton's statistics extension.

Triton "Statistics Extension": ``inference_count`` counts inferences (rows of a batch),
``execution_count`` model executions; ``inference_stats`` holds ``success``, ``fail``,
``queue``, ``compute_input``, ``compute_infer``, ``compute_output`` and ``cancel`` as
``{"count", "ns"}``; ``batch_stats`` one entry per realised batch size. Counters only grow
and are updated on the event loop thread, so they need no lock.

Beside Triton's cumulative queue time, :attr:`ModelStats.queue_buckets` counts how long each
request waited in the queue before its execution started, in the buckets of
:data:`QUEUE_BUCKETS_S` (exported as a Prometheus histogram by ``network/metrics.py``): a sum
hides whether every request waits a little or a few wait very long.
"""

from __future__ import annotations

import time
from collections import defaultdict

DURATIONS = ("success", "fail", "queue", "compute_input", "compute_infer", "compute_output",
             "cancel")

# Upper bounds (seconds) of the queue-time histogram: from a queue that is never waited on
# (tens of microseconds of event-loop hand-over) to requests that sat behind long runs.
QUEUE_BUCKETS_S = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                   0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ModelStats:
    def __init__(self, name: str, version: str):
        self.name = name
        self.version = version
        self.inference_count = 0
        self.execution_count = 0
        self.last_inference_ms = 0
        self.count = dict.fromkeys(DURATIONS, 0)
        self.ns = dict.fromkeys(DURATIONS, 0)
        # batch size -> [executions, input ns, infer ns, output ns]
        self.batches: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        # Requests per queue-time bucket (not cumulative); the last one is "+Inf".
        self.queue_buckets = [0] * (len(QUEUE_BUCKETS_S) + 1)

    def add(self, what: str, ns: int, n: int = 1) -> None:
        self.count[what] += n
        self.ns[what] += ns

    def queue_wait(self, ns: int) -> None:
        """A request waited ``ns`` in the queue and now starts executing."""
        self.add("queue", ns)
        seconds = ns / 1e9
        for i, bound in enumerate(QUEUE_BUCKETS_S):
            if seconds <= bound:
                self.queue_buckets[i] += 1
                return
        self.queue_buckets[-1] += 1

    def execution(self, batch_size: int, input_ns: int, infer_ns: int, output_ns: int) -> None:
        self.execution_count += 1
        self.inference_count += batch_size
        self.last_inference_ms = int(time.time() * 1000)
        b = self.batches[batch_size]
        b[0] += 1
        b[1] += input_ns
        b[2] += infer_ns
        b[3] += output_ns
        self.add("compute_input", input_ns, batch_size)
        self.add("compute_infer", infer_ns, batch_size)
        self.add("compute_output", output_ns, batch_size)

    def as_dict(self) -> dict:
        def pair(count, ns):
            return {"count": count, "ns": ns}

        return {
            "name": self.name, "version": self.version,
            "last_inference": self.last_inference_ms,
            "inference_count": self.inference_count, "execution_count": self.execution_count,
            "inference_stats": {k: pair(self.count[k], self.ns[k]) for k in DURATIONS},
            "batch_stats": [{"batch_size": size,
                             "compute_input": pair(b[0], b[1]),
                             "compute_infer": pair(b[0], b[2]),
                             "compute_output": pair(b[0], b[3])}
                            for size, b in sorted(self.batches.items())],
        }
