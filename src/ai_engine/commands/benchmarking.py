"""The measurement core shared by ``ai-engine bench`` and ``benchmarks/run_all.py``.

How one model is measured on several engines (see docs/PERFORMANCE.md, "Measuring honestly"):

1. Each engine runs in a fresh worker process of its own (``bench_engines``), started one
   after the other: it loads the model, runs it once and reports the session-creation time,
   the first run's time and its peak RSS above its RSS after the imports. Those first outputs
   are checked against the reference engine's (onnxruntime when it runs the model).
   Separate processes, because engines in one process change each other's speed: importing
   OpenVINO starts a Python thread (its telemetry sender), and with another thread alive
   ai-engine stops switching small GEMMs to one BLAS thread: 0.6 ms became 40 ms on a tiny CNN.
2. Timing: one timed call per engine sizes its blocks; then ``rounds`` rounds, in each of
   which every engine in turn runs one block: two untimed calls, then its timed calls.
   onnxruntime's and OpenBLAS's worker threads keep spinning for a while after a call; on 2
   cores a peer's spinning threads slowed the next engine's call by up to 10x, so no timed
   call directly follows another engine's call, and blocks alternate so every engine sees the
   same drift of a shared machine. Reported: median and p90 of the timed calls.
3. ai-engine is also loaded once with an empty ``NUMBA_CACHE_DIR``: its first ever load,
   before any compiled kernel is cached.
"""

from __future__ import annotations

import json
import math
import os
import select
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

REFERENCE = "onnxruntime"


@dataclass(frozen=True)
class RunCounts:
    """How many calls to time. ``per_block`` fixes the timed calls per block; otherwise each
    engine gets ``block_seconds`` worth (1 to ``max_per_block``), and slow models get fewer
    rounds so one engine spends about ``engine_seconds`` (never fewer than ``min_rounds``)."""

    rounds: int = 5
    warmup: int = 2
    block_seconds: float = 0.5
    max_per_block: int = 20
    engine_seconds: float = 60.0
    min_rounds: int = 3
    per_block: int | None = None

    def calls_per_block(self, call_s: float) -> int:
        if self.per_block is not None:
            return self.per_block
        fits = math.floor(self.block_seconds / max(call_s, 1e-9) + 1e-9)
        return int(min(self.max_per_block, max(1, fits)))

    def rounds_for(self, slowest_call_s: float) -> int:
        if self.per_block is not None:
            return self.rounds
        affordable = math.floor(
            self.engine_seconds / max(slowest_call_s * (self.warmup + 1), 1e-9) + 1e-9)
        return int(max(self.min_rounds, min(self.rounds, affordable)))


FULL = RunCounts()
QUICK = RunCounts(rounds=3, block_seconds=0.2, max_per_block=10, engine_seconds=20.0,
                  min_rounds=2)


@dataclass
class Agreement:
    ok: bool
    max_rel_err: float           # max over outputs of max|out - ref| / max|ref|
    detail: str = ""             # what differed, when not ok


@dataclass
class LoadProbe:
    create_s: float | None = None
    first_run_s: float | None = None
    peak_rss_mib: float | None = None
    error: str | None = None


@dataclass
class EngineResult:
    engine: str
    times_s: list[float] = field(default_factory=list)
    agreement: Agreement | None = None
    load: LoadProbe | None = None
    cold_load: LoadProbe | None = None   # ai-engine with an empty compiled-kernel cache
    error: str | None = None

    @property
    def median_s(self) -> float | None:
        return float(np.median(self.times_s)) if self.times_s else None

    @property
    def p90_s(self) -> float | None:
        return percentile(self.times_s, 90) if self.times_s else None


@dataclass
class ModelResult:
    model: str
    batch: int
    gflop: float | None
    engines: dict[str, EngineResult]
    reference: str | None

    def ratio(self, engine: str, over: str = REFERENCE) -> float | None:
        a, b = self.engines.get(engine), self.engines.get(over)
        if not a or not b or a.median_s is None or not b.median_s:
            return None
        return a.median_s / b.median_s


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile, nearest rank (a value that was measured, not interpolated)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def geomean(values: list[float]) -> float | None:
    values = [v for v in values if v]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def block_schedule(engines: list[str], rounds: int) -> list[str]:
    """The engine of each timed block, in order: every round visits every engine once."""
    return [name for _ in range(rounds) for name in engines]


def time_blocks(blocks: dict[str, Callable[[int, int], list[float]]], calls: dict[str, int],
                rounds: int, warmup: int = 2) -> dict[str, list[float]]:
    """Seconds of each timed call per engine, in alternating blocks (module docstring):
    ``blocks[name](warmup, timed)`` runs one block and returns its timed calls' seconds."""
    times: dict[str, list[float]] = {name: [] for name in blocks}
    for name in block_schedule(list(blocks), rounds):
        times[name] += blocks[name](warmup, calls[name])
    return times


def compare_outputs(reference: list, outputs: list, rtol: float) -> Agreement:
    """Do ``outputs`` match ``reference``? Floats within ``rtol`` of the output's largest
    magnitude (elementwise relative error is meaningless near zero), NaNs in the same places,
    everything else (integers, bools, strings) exactly."""
    if len(outputs) != len(reference):
        return Agreement(False, math.inf, f"{len(outputs)} outputs, reference has "
                                          f"{len(reference)}")
    worst = 0.0
    for i, (got, ref) in enumerate(zip(outputs, reference)):
        got, ref = np.asarray(got), np.asarray(ref)
        if got.shape != ref.shape:
            return Agreement(False, math.inf, f"output {i}: shape {list(got.shape)}, "
                                              f"reference {list(ref.shape)}")
        if ref.dtype.kind not in "fc" or got.dtype.kind not in "fc":
            if not np.array_equal(got, ref):
                mismatched = int(np.sum(got != ref))
                return Agreement(False, math.inf, f"output {i}: {mismatched} of {ref.size} "
                                                  "values differ")
            continue
        wide = np.complex128 if "c" in (got.dtype.kind, ref.dtype.kind) else np.float64
        got64, ref64 = got.astype(wide), ref.astype(wide)
        nan_got, nan_ref = np.isnan(got64), np.isnan(ref64)
        if not np.array_equal(nan_got, nan_ref):
            return Agreement(False, math.inf, f"output {i}: NaN in different places")
        infinite = np.isinf(ref64) | np.isinf(got64)
        if not np.array_equal(got64[infinite], ref64[infinite]):
            return Agreement(False, math.inf, f"output {i}: infinities differ")
        finite = ~(nan_ref | infinite)
        if not finite.any():
            continue
        scale = max(float(np.max(np.abs(ref64[finite]))), 1e-30)
        err = float(np.max(np.abs(got64[finite] - ref64[finite]))) / scale
        if err > worst:
            worst = err
        if err > rtol:
            return Agreement(False, err, f"output {i}: max error {err:.2e} of its largest "
                                         f"magnitude, allowed {rtol:.0e}")
    return Agreement(True, worst)


class EngineProcess:
    """One engine in a worker process (``bench_engines``): its load report, then timed blocks."""

    def __init__(self, engine: str, path: str, feeds_path: str, threads: int, workdir: str,
                 env: dict | None = None, timeout_s: float = 900.0):
        self.engine, self.timeout_s = engine, timeout_s
        self.outputs_path = os.path.join(workdir, f"{engine}-outputs.npz")
        self._stderr = open(os.path.join(workdir, f"{engine}-stderr.txt"), "w+")
        cmd = [sys.executable, "-m", "ai_engine.commands.bench_engines", engine, path,
               feeds_path, str(threads), self.outputs_path]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self._stderr, text=True,
                                      env={**os.environ, **(env or {})})
        report = self._read()
        self.load = LoadProbe(error=report["error"]) if "error" in report else LoadProbe(
            report["create_s"], report["first_run_s"], report["peak_rss_bytes"] / 2**20)

    def _read(self) -> dict:
        ready, _, _ = select.select([self._proc.stdout], [], [], self.timeout_s)
        line = self._proc.stdout.readline() if ready else ""
        if line:
            return json.loads(line)
        if ready:  # the worker died without a word: its last stderr line says why
            self._proc.wait()
            self._stderr.seek(0)
            tail = (self._stderr.read().strip().splitlines() or ["no output"])[-1]
            return {"error": f"worker exited {self._proc.returncode}: {tail[:300]}"}
        self.close()
        return {"error": f"no answer from the worker within {self.timeout_s:.0f} s"}

    def outputs(self) -> list[np.ndarray]:
        with np.load(self.outputs_path, allow_pickle=False) as data:
            return [data[f"arr_{i}"] for i in range(len(data.files))]

    def block(self, warmup: int, timed: int) -> list[float]:
        self._proc.stdin.write(json.dumps({"warmup": warmup, "timed": timed}) + "\n")
        self._proc.stdin.flush()
        answer = self._read()
        if "error" in answer:
            raise RuntimeError(f"{self.engine}: {answer['error']}")
        return answer["times"]

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._stderr.close()


def measure(path: str, feeds: dict, engines: list[str], *, threads: int = 2,
            counts: RunCounts = FULL, rtol: float = 1e-3, gflop: float | None = None,
            name: str | None = None, batch: int = 1, cold: bool = False) -> ModelResult:
    """Measure one model on ``engines`` (module docstring); a failing engine is recorded in
    its result's ``error`` and left out of timing, never raised."""
    results = {e: EngineResult(e) for e in engines}
    with tempfile.TemporaryDirectory(prefix="ai-engine-bench-") as workdir:
        feeds_path = os.path.join(workdir, "feeds.npz")
        np.savez(feeds_path, **feeds)
        workers = {}
        try:
            for engine in engines:
                worker = EngineProcess(engine, path, feeds_path, threads, workdir)
                results[engine].load = worker.load
                if worker.load.error:
                    results[engine].error = worker.load.error
                    worker.close()
                else:
                    workers[engine] = worker
            reference = _check_outputs(workers, results, rtol)
            _time_workers(workers, results, counts)
        finally:
            for worker in workers.values():
                worker.close()
        if cold and "ai-engine" in workers:
            empty = os.path.join(workdir, "empty-numba-cache")
            os.makedirs(empty)
            first = EngineProcess("ai-engine", path, feeds_path, threads, workdir,
                                  env={"NUMBA_CACHE_DIR": empty})
            first.close()
            results["ai-engine"].cold_load = first.load
    return ModelResult(name or os.path.basename(path), batch, gflop, results, reference)


def _check_outputs(workers: dict, results: dict, rtol: float) -> str | None:
    """Compare every engine's first outputs with the reference's; returns the reference."""
    reference = REFERENCE if REFERENCE in workers else next(iter(workers), None)
    if reference is None:
        return None
    expected = workers[reference].outputs()
    for engine, worker in workers.items():
        if engine != reference:
            results[engine].agreement = compare_outputs(expected, worker.outputs(), rtol)
    return reference


def _time_workers(workers: dict, results: dict, counts: RunCounts) -> None:
    if not workers:
        return
    try:
        call_s = {e: w.block(0, 1)[0] for e, w in workers.items()}
        rounds = counts.rounds_for(max(call_s.values()))
        calls = {e: counts.calls_per_block(call_s[e]) for e in workers}
        times = time_blocks({e: w.block for e, w in workers.items()}, calls, rounds,
                            counts.warmup)
    except RuntimeError as exc:  # a worker died or hung mid-timing: no times for anyone
        for result in results.values():
            result.error = result.error or f"timing stopped: {exc}"
        return
    for engine, engine_times in times.items():
        results[engine].times_s = engine_times
