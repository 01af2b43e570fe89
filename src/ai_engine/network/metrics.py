"""Prometheus ``/metrics`` with Triton's metric names, rendered from the model statistics.

Triton "Metrics": ``nv_inference_request_success``, ``nv_inference_request_failure``,
``nv_inference_count``, ``nv_inference_exec_count`` (counters) and the cumulative
``nv_inference_request_duration_us``, ``nv_inference_queue_duration_us``,
``nv_inference_compute_{input,infer,output}_duration_us``, labelled ``model`` and
``version``. Triton's names carry no ``_total`` suffix, which prometheus-client's Counter
would add, so those lines are written here. Two histograms that Triton lacks go through
prometheus-client: ``ai_engine_batch_size`` (rows per execution: does batching really
happen?) and ``ai_engine_queue_duration_seconds`` (per request, the time between its arrival
in the model's queue and the start of the execution that ran it: the distribution that the
cumulative ``nv_inference_queue_duration_us`` hides).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import HistogramMetricFamily

from ai_engine.scheduler import ModelStats
from ai_engine.scheduler.stats import QUEUE_BUCKETS_S

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_COUNTERS = [
    ("nv_inference_request_success", "Number of successful inference requests",
     lambda s: s.count["success"]),
    ("nv_inference_request_failure", "Number of failed inference requests",
     lambda s: s.count["fail"]),
    ("nv_inference_count", "Number of inferences performed (batch rows)",
     lambda s: s.inference_count),
    ("nv_inference_exec_count", "Number of model executions performed",
     lambda s: s.execution_count),
    ("nv_inference_request_duration_us", "Cumulative request duration in microseconds",
     lambda s: (s.ns["success"] + s.ns["fail"]) // 1000),
    ("nv_inference_queue_duration_us", "Cumulative queue duration in microseconds",
     lambda s: s.ns["queue"] // 1000),
    ("nv_inference_compute_input_duration_us", "Cumulative compute input duration in "
     "microseconds", lambda s: s.ns["compute_input"] // 1000),
    ("nv_inference_compute_infer_duration_us", "Cumulative compute infer duration in "
     "microseconds", lambda s: s.ns["compute_infer"] // 1000),
    ("nv_inference_compute_output_duration_us", "Cumulative compute output duration in "
     "microseconds", lambda s: s.ns["compute_output"] // 1000),
    ("ai_engine_request_cancel", "Requests cancelled by their client while queued",
     lambda s: s.count["cancel"]),
]

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


def _labels(s: ModelStats) -> str:
    name = s.name.replace("\\", "\\\\").replace('"', '\\"')
    return f'model="{name}",version="{s.version}"'


class _BatchHistogram:
    """prometheus-client collector of realised batch sizes per model version."""

    def __init__(self, stats: list[ModelStats]):
        self.stats = stats

    def collect(self):
        h = HistogramMetricFamily("ai_engine_batch_size", "Realised batch size (rows) per "
                                  "model execution", labels=["model", "version"])
        for s in self.stats:
            buckets = []
            for bound in BATCH_BUCKETS:
                buckets.append((str(bound), sum(b[0] for size, b in s.batches.items()
                                                if size <= bound)))
            buckets.append(("+Inf", s.execution_count))
            total_rows = sum(size * b[0] for size, b in s.batches.items())
            h.add_metric([s.name, s.version], buckets, total_rows)
        yield h


class _QueueHistogram:
    """prometheus-client collector of per-request queue time per model version."""

    def __init__(self, stats: list[ModelStats]):
        self.stats = stats

    def collect(self):
        h = HistogramMetricFamily("ai_engine_queue_duration_seconds", "Time a request waited "
                                  "in the model's queue before its execution started",
                                  labels=["model", "version"])
        for s in self.stats:
            buckets, seen = [], 0
            for bound, count in zip(QUEUE_BUCKETS_S, s.queue_buckets):
                seen += count
                buckets.append((repr(bound), seen))
            buckets.append(("+Inf", seen + s.queue_buckets[-1]))
            h.add_metric([s.name, s.version], buckets, s.ns["queue"] / 1e9)
        yield h


def render(stats: list[ModelStats], queued: dict[tuple[str, str], int]) -> bytes:
    lines = []
    for name, doc, get in _COUNTERS:
        lines += [f"# HELP {name} {doc}", f"# TYPE {name} counter"]
        lines += [f"{name}{{{_labels(s)}}} {get(s)}" for s in stats]
    gauge = "nv_inference_pending_request_count"
    lines += [f"# HELP {gauge} Requests waiting in the model's queue", f"# TYPE {gauge} gauge"]
    lines += [f"{gauge}{{{_labels(s)}}} {queued.get((s.name, s.version), 0)}" for s in stats]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_BatchHistogram(stats))
    registry.register(_QueueHistogram(stats))
    return ("\n".join(lines) + "\n").encode() + generate_latest(registry)
