#!/usr/bin/env python3
"""The benchmark corpus on ai-engine, onnxruntime and OpenVINO side by side -> RESULTS.md.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/run_all.py \\
        [--quick] [--models resnet50,bert_base] [--batch 1,8] [--threads 2]

Builds what the corpus lacks first (``corpus/build.py``, in its own process so torch never
loads in this one), then measures each model at each batch size with
``ai_engine.commands.benchmarking.measure`` (the same code as ``ai-engine bench``) and rewrites
``benchmarks/RESULTS.md`` after every model, so an interrupted run keeps what it measured.
onnxruntime runs with 2 intra-op threads and ORT_ENABLE_ALL, OpenVINO on its CPU plugin with
the LATENCY hint, 2 threads and float32 precision, ai-engine with 2 intra-op threads. Unset
the machines' OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE for this command (docs/PERFORMANCE.md): they
force a slower BLAS kernel than the CPU has.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from corpus import catalog  # noqa: E402

from ai_engine import __version__  # noqa: E402
from ai_engine.commands import bench_engines, bench_report, benchmarking  # noqa: E402
from ai_engine.commands.info import kernel_tiers  # noqa: E402
from ai_engine.core import cpu  # noqa: E402

RESULTS = os.path.join(HERE, "RESULTS.md")


def _cpu_kind() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
        name = fields.get("Model name", "").strip()
    except (OSError, subprocess.CalledProcessError):
        name = ""
    summary = cpu.summary()
    simd = summary["simd"]
    widest = next((f for f in ("avx512f", "avx2", "avx", "neon", "asimd") if f in simd), "?")
    extras = [f for f in ("avx512_vnni", "avx512_bf16", "amx_tile") if f in simd]
    return (f"{name or summary['cpu']}, {summary['cores']} vCPUs, widest SIMD {widest}"
            + (f" (+{', '.join(extras)})" if extras else ""))


def _header(engines, args, counts, started) -> list[str]:
    tiers = kernel_tiers(cpu.summary())
    forced = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
              if k in os.environ}
    versions = ", ".join(f"{e} {bench_engines.version(e)}" for e in engines)
    return [
        "# Benchmark results: ai-engine vs onnxruntime and OpenVINO",
        "",
        f"Written by `{' '.join(['python', 'benchmarks/run_all.py', *sys.argv[1:]])}`.",
        "Models: built by `benchmarks/corpus/build.py` (random weights, no downloads).",
        "",
        f"- date: {started:%Y-%m-%d %H:%M} UTC; CPU: {_cpu_kind()}; "
        f"{platform.system()} {platform.machine()}, Python {platform.python_version()}; "
        f"load average at the start {os.getloadavg()[0]:.1f} (a shared machine: read ratios)",
        f"- BLAS kernel (threadpoolctl): {tiers['blas']}"
        + (f"; environment forces {forced}" if forced else
           "; OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset"),
        f"- ai-engine {__version__} kernel tiers: numba {tiers['numba']}; cupy {tiers['cupy']}",
        f"- engines: {versions}; {args.threads} intra-op threads each",
        f"- timing: {counts.rounds} rounds of alternating blocks (fewer, >= {counts.min_rounds},"
        f" for slow models), {counts.warmup} untimed calls before each block, timed calls "
        f"per block sized to ~{counts.block_seconds} s (1 to {counts.max_per_block}); "
        "cells: median (p90) ms",
        "- peak RSS: a fresh process per engine loads the model and runs it once, minus its "
        "RSS after the imports; creation and first-run times come from the same process",
        "- ratios: engine / onnxruntime median latency, same run, same inputs; geomeans split "
        f"at {bench_report.BIG_GFLOP} GFLOP (batch 1)",
        "",
    ]


def _write(path, header, results, engines, titles, finished) -> None:
    lines = list(header)
    if not finished:
        lines += ["**Run in progress or interrupted: the tables hold what was measured.**", ""]
    for batch in sorted({r.batch for r in results}):
        rows = [r for r in results if r.batch == batch]
        lines += [f"## Batch {batch}", "", *bench_report.latency_table(rows, engines, titles),
                  "", *bench_report.summary_lines(rows, engines), ""]
    first = [r for r in results if r.batch == min(r.batch for r in results)] if results else []
    if first:
        lines += [f"## Loading (batch {first[0].batch}, fresh process per engine)", "",
                  *bench_report.loading_table(first, engines, titles), ""]
    problems = bench_report.problems(results)
    lines += ["## Errors and disagreements", "", *(problems or ["none"]), ""]
    _replace_section(path, "\n".join(lines))


BEGIN, END = "<!-- run_all.py: begin -->", "<!-- run_all.py: end -->"


def _replace_section(path: str, text: str) -> None:
    """Write ``text`` between this runner's markers in ``path``, keeping the sections other
    benchmarks wrote there (busy machine, MatMulNBits, soak...); the corpus tables go first."""
    old = open(path).read() if os.path.exists(path) else ""
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
    else:
        head, tail = "", ("\n" + old if old else "")
    with open(path + ".tmp", "w") as f:
        f.write(f"{head}{BEGIN}\n{text}\n{END}{tail}")
    os.replace(path + ".tmp", path)


def _progress(res: benchmarking.ModelResult, seconds: float) -> str:
    parts = []
    for engine, r in res.engines.items():
        value = f"error ({r.error[:60]})" if r.error else f"{(r.median_s or 0) * 1e3:.2f} ms"
        parts.append(f"{engine} {value}")
    ratio = res.ratio("ai-engine")
    return (f"{res.model} b{res.batch}: " + ", ".join(parts)
            + (f", ratio {ratio:.2f}x" if ratio else "") + f" [{seconds:.0f} s]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer, shorter timed blocks")
    ap.add_argument("--models", default="", help="comma-separated corpus names (default: all)")
    ap.add_argument("--batch", default="1,8", help="comma-separated batch sizes")
    ap.add_argument("--threads", type=int, default=2, help="intra-op threads of every engine")
    ap.add_argument("--out", default=RESULTS, help="where to write the markdown")
    args = ap.parse_args()
    entries = catalog.select([n for n in args.models.split(",") if n])
    batches = sorted({int(b) for b in args.batch.split(",") if b})
    subprocess.run([sys.executable, os.path.join(HERE, "corpus", "build.py"),
                    "--models", ",".join(e.name for e in entries)], check=True)
    engines = [e for e in bench_engines.OPENERS if bench_engines.installed(e)]
    counts = benchmarking.QUICK if args.quick else benchmarking.FULL
    started = datetime.datetime.now(datetime.timezone.utc)
    header = _header(engines, args, counts, started)
    titles = {e.name: e.title for e in entries}
    results = []
    for batch in batches:
        for entry in (e for e in entries if batch in e.batches):
            start = time.perf_counter()
            res = benchmarking.measure(entry.path, entry.feeds(batch, 0), engines,
                                       threads=args.threads, counts=counts, rtol=entry.rtol,
                                       gflop=entry.meta()["gflop"], name=entry.name,
                                       batch=batch, cold=batch == batches[0])
            results.append(res)
            print(_progress(res, time.perf_counter() - start), flush=True)
            _write(args.out, header, results, engines, titles, finished=False)
    _write(args.out, header, results, engines, titles, finished=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
