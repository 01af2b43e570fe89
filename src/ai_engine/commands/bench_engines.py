"""The engines a benchmark compares, behind one interface: ``open(path, threads) -> run(feeds)``.

``run(feeds)`` returns the model's outputs as NumPy arrays in the model's output order.

- ai-engine: ``SessionOptions(intra_op_num_threads=threads)``, default optimization level;
- onnxruntime: CPU execution provider, ``ORT_ENABLE_ALL``, ``intra_op_num_threads``;
- OpenVINO: CPU plugin, the LATENCY performance hint, ``INFERENCE_NUM_THREADS``, and float32
  inference precision: on CPUs with AMX or AVX-512 BF16 the plugin's default is bfloat16,
  which would time a different (lower-precision) computation than the other two.

The peers are imported lazily, here only: they are what ai-engine is measured against, never
used to compute anything ai-engine returns.

Run as ``python -m ai_engine.commands.bench_engines ENGINE MODEL FEEDS.npz THREADS OUT.npz``,
this module is the benchmark's worker: a fresh process holding one engine. It loads the model,
runs it once, saves those outputs to OUT.npz and reports (one JSON line) the session-creation
time, the first run's time and the peak RSS above its RSS after the imports; then it runs
timed blocks on request (``{"warmup": 2, "timed": 10}`` on stdin -> ``{"times": [...]}``) until
stdin closes. Each engine in a process of its own: a peer's imports and process-wide settings
(thread pools, BLAS thread counts, the helper threads some start) cannot change another
engine's speed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from typing import Callable

import numpy as np

Runner = Callable[[dict], list]

MODULES = {"ai-engine": "ai_engine", "onnxruntime": "onnxruntime", "openvino": "openvino"}


def open_ai_engine(path: str, threads: int) -> Runner:
    import ai_engine

    session = ai_engine.InferenceSession(
        path, ai_engine.SessionOptions(intra_op_num_threads=threads))
    return lambda feeds: session.run(None, feeds)


def open_onnxruntime(path: str, threads: int) -> Runner:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return lambda feeds: session.run(None, feeds)


def open_openvino(path: str, threads: int) -> Runner:
    import openvino as ov

    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    compiled = ov.Core().compile_model(path, "CPU", config)
    request = compiled.create_infer_request()
    outputs = list(compiled.outputs)

    def run(feeds):
        result = request.infer(feeds)  # copies the outputs out of the request's buffers
        return [result[port] for port in outputs]
    return run


OPENERS: dict[str, Callable[[str, int], Runner]] = {
    "ai-engine": open_ai_engine, "onnxruntime": open_onnxruntime, "openvino": open_openvino}


def installed(name: str) -> bool:
    return name in MODULES and importlib.util.find_spec(MODULES[name]) is not None


def version(name: str) -> str:
    module = importlib.import_module(MODULES[name])
    return str(getattr(module, "__version__", "?")).split("-")[0]


def _rss_bytes(field: str) -> int:
    """``VmRSS`` or ``VmHWM`` (peak) of this process, from /proc (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise OSError(f"/proc/self/status has no {field} line")


def _reset_peak_rss() -> None:
    """Restart VmHWM from the current RSS (Linux >= 4.0, "5" to clear_refs), so the peak read
    later is the engine's, not a transient of the imports (where refused, it includes them)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def run_block(run: Runner, feeds: dict, warmup: int, timed: int,
              clock: Callable[[], float] = time.perf_counter) -> list[float]:
    """``warmup`` untimed calls, then ``timed`` calls; the seconds of each timed call."""
    for _ in range(warmup):
        run(feeds)
    times = []
    for _ in range(timed):
        start = clock()
        run(feeds)
        times.append(clock() - start)
    return times


def worker_main(argv: list[str]) -> int:
    name, path, feeds_path, threads, outputs_path = argv[0], argv[1], argv[2], int(argv[3]), \
        argv[4]
    # Replies go to the original stdout; whatever the engines print goes to stderr instead.
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)

    def reply(message: dict) -> None:
        replies.write(json.dumps(message) + "\n")

    try:
        importlib.import_module(MODULES[name])
        with np.load(feeds_path, allow_pickle=False) as data:
            feeds = {key: data[key] for key in data.files}
        baseline = _rss_bytes("VmRSS")
        _reset_peak_rss()
        start = time.perf_counter()
        run = OPENERS[name](path, threads)
        created = time.perf_counter()
        outputs = run(feeds)
        finished = time.perf_counter()
        peak = _rss_bytes("VmHWM")
        np.savez(outputs_path, *[np.asarray(o) for o in outputs])
        del outputs
    except Exception as exc:  # noqa: BLE001 - an engine failing a model is a result
        lines = str(exc).strip().splitlines()
        reply({"error": f"{type(exc).__name__}: {lines[0][:300] if lines else ''}"})
        return 1
    reply({"create_s": created - start, "first_run_s": finished - created,
           "peak_rss_bytes": peak - baseline})
    for line in sys.stdin:
        request = json.loads(line)
        reply({"times": run_block(run, feeds, request["warmup"], request["timed"])})
    return 0


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1:]))
