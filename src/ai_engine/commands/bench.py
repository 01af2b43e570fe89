"""``ai-engine bench MODEL``: latency of ai-engine, side by side with onnxruntime if installed.

Runs alternate between the two engines on the same inputs (two untimed calls before each
timed block, since both keep BLAS/worker threads spinning after a call) and report medians and
the ratio. ``--profile`` adds a per-op-type table of where ai-engine's time goes.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict


def add_bench(sub) -> None:
    p = sub.add_parser("bench", help="time a model, side by side with onnxruntime")
    p.add_argument("model", nargs="?", help="path of an .onnx model (demo model if omitted)")
    p.add_argument("--runs", type=int, default=50, help="timed runs per engine")
    p.add_argument("--batch", type=int, default=1, help="size of symbolic dimensions")
    p.add_argument("--shape", action="append", default=[], metavar="NAME=D1xD2...",
                   help="concrete shape of an input, e.g. tokens=1x128 (repeatable)")
    p.add_argument("--threads", type=int, default=0, help="intra-op threads (0: default)")
    p.add_argument("--no-ort", action="store_true", help="do not compare with onnxruntime")
    p.add_argument("--profile", action="store_true", help="per-op-type time table")
    p.set_defaults(handler=bench_command)


def _time_runs(fn, runs: int, block: int = 5) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def bench_command(args) -> int:
    import ai_engine
    from ai_engine import demo
    from ai_engine.commands.feeds import random_feeds

    path = args.model or demo.MODEL_PATH
    opts = ai_engine.SessionOptions(intra_op_num_threads=args.threads)
    session = ai_engine.InferenceSession(path, sess_options=opts)
    feeds = random_feeds(session.graph.inputs, shapes=_parse_shapes(args.shape),
                         default_dim=args.batch)
    ort_session = None if args.no_ort else _ort_session(path, args.threads)
    engines = [("ai-engine", lambda: session.run(None, feeds))]
    if ort_session is not None:
        engines.append(("onnxruntime", lambda: ort_session.run(None, feeds)))
    results = defaultdict(list)
    rounds = 5
    per_round = max(1, args.runs // rounds)
    for _ in range(rounds):
        for name, fn in engines:
            fn(), fn()
            results[name] += _time_runs(fn, per_round)
    print(f"model {path}, inputs " + ", ".join(f"{k}{list(v.shape)}" for k, v in feeds.items()))
    medians = {name: statistics.median(ts) for name, ts in results.items()}
    for name, med in medians.items():
        ts = sorted(results[name])
        p90 = ts[int(0.9 * (len(ts) - 1))]
        print(f"  {name:<12} median {med * 1e3:9.3f} ms   p90 {p90 * 1e3:9.3f} ms   "
              f"({len(ts)} runs)")
    if "onnxruntime" in medians:
        ratio = medians["ai-engine"] / medians["onnxruntime"]
        print(f"  ratio ai-engine / onnxruntime: {ratio:.2f}x")
    _print_memory(path, feeds)
    if args.profile:
        _print_profile(path, feeds, opts)
    return 0


def _print_memory(path, feeds) -> None:
    import ai_engine

    session = ai_engine.InferenceSession(path, ai_engine.SessionOptions(track_memory=True))
    session.run(None, feeds)
    m = session.last_run_memory
    print(f"  memory: peak {m['peak_bytes'] / 2**20:.2f} MiB of live values (inputs, "
          f"intermediates, outputs) vs {m['unreleased_peak_bytes'] / 2**20:.2f} MiB if none "
          "were released after their last use")


def _parse_shapes(specs: list[str]) -> dict[str, tuple[int, ...]]:
    shapes = {}
    for spec in specs:
        name, sep, dims = spec.partition("=")
        try:
            shapes[name] = tuple(int(d) for d in dims.lower().split("x"))
        except ValueError:
            raise ValueError(f"--shape {spec!r}: expected NAME=D1xD2..., e.g. x=1x3x224x224") \
                from None
        if not sep or not name:
            raise ValueError(f"--shape {spec!r}: expected NAME=D1xD2...")
    return shapes


def _ort_session(path: str, threads: int):
    try:
        import onnxruntime as ort
    except ImportError:
        print("  (onnxruntime not installed: no comparison)")
        return None
    so = ort.SessionOptions()
    if threads:
        so.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - the peer may reject a model we run
        print(f"  (onnxruntime cannot run this model: {str(exc).splitlines()[0]})")
        return None


def _print_profile(path, feeds, opts) -> None:
    import ai_engine

    prof = ai_engine.SessionOptions(intra_op_num_threads=opts.intra_op_num_threads,
                                    enable_profiling=True)
    session = ai_engine.InferenceSession(path, sess_options=prof)
    for _ in range(3):
        session.run(None, feeds)
    session._profile_events.clear()
    runs = 10
    for _ in range(runs):
        session.run(None, feeds)
    by_op: dict[str, list] = defaultdict(lambda: [0, 0])
    for node, _start, dur in session._profile_events:
        by_op[node.op_type][0] += dur
        by_op[node.op_type][1] += 1
    total = sum(v[0] for v in by_op.values()) or 1
    print(f"\nper-op time (ai-engine, mean of {runs} runs)")
    for op, (ns, count) in sorted(by_op.items(), key=lambda kv: -kv[1][0]):
        print(f"  {op:<24} {ns / runs / 1e6:9.3f} ms  {100 * ns / total:5.1f}%  "
              f"{count // runs} node(s)")
