"""Per-model-version counters in the shape of Triton's statistics extension.

Triton "Statistics Extension": ``inference_count`` counts inferences (rows of a batch),
``execution_count`` model executions; ``inference_stats`` holds ``success``, ``fail``,
``queue``, ``compute_input``, ``compute_infer``, ``compute_output`` and ``cancel`` as
``{"count", "ns"}``; ``batch_stats`` one entry per realised batch size. Counters only grow
and are updated on the event loop thread, so they need no lock.
"""

from __future__ import annotations

import time
from collections import defaultdict

DURATIONS = ("success", "fail", "queue", "compute_input", "compute_infer", "compute_output",
             "cancel")


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

    def add(self, what: str, ns: int, n: int = 1) -> None:
        self.count[what] += n
        self.ns[what] += ns

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
