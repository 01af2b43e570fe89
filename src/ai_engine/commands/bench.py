"""``ai-engine bench MODEL``: ai-engine side by side with onnxruntime and OpenVINO (when
installed) on one model, in the table ``benchmarks/run_all.py`` writes for the whole corpus.

The measurement is ``benchmarking.measure``: alternating timed blocks with two untimed calls
before each, medians and p90, the outputs checked against onnxruntime's, and a fresh process
per engine for the session-creation time and the peak RSS. Exit status 1 when an engine's
outputs disagree with the reference. ``--profile`` adds where ai-engine's time goes, by op type.
"""

from __future__ import annotations

from collections import defaultdict


def add_bench(sub) -> None:
    p = sub.add_parser("bench", help="time a model, side by side with onnxruntime/OpenVINO")
    p.add_argument("model", nargs="?", help="path of an .onnx model (demo model if omitted)")
    p.add_argument("--runs", type=int, default=None,
                   help="timed runs per engine, over 5 blocks (default: sized to the model)")
    p.add_argument("--quick", action="store_true", help="fewer, shorter blocks")
    p.add_argument("--batch", type=int, default=1, help="size of symbolic dimensions")
    p.add_argument("--shape", action="append", default=[], metavar="NAME=D1xD2...",
                   help="concrete shape of an input, e.g. tokens=1x128 (repeatable)")
    p.add_argument("--threads", type=int, default=0,
                   help="intra-op threads of every engine (0: each engine's default)")
    p.add_argument("--engines", default="ai-engine,onnxruntime,openvino",
                   help="comma-separated engines to compare (those not installed are skipped)")
    p.add_argument("--no-ort", action="store_true", help="do not compare with onnxruntime")
    p.add_argument("--rtol", type=float, default=1e-3,
                   help="allowed output error, relative to each output's largest magnitude")
    p.add_argument("--profile", action="store_true", help="per-op-type time table")
    p.set_defaults(handler=bench_command)


def _engines(args) -> list[str]:
    from ai_engine.commands import bench_engines

    wanted = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in wanted if e not in bench_engines.OPENERS]
    if unknown:
        raise ValueError(f"--engines: unknown engine(s) {', '.join(unknown)}; known: "
                         + ", ".join(bench_engines.OPENERS))
    if args.no_ort:
        wanted = [e for e in wanted if e != "onnxruntime"]
    skipped = [e for e in wanted if not bench_engines.installed(e)]
    if skipped:
        print(f"(not installed, skipped: {', '.join(skipped)})")
    return ["ai-engine"] + [e for e in wanted if e != "ai-engine" and e not in skipped]


def _counts(args):
    from dataclasses import replace

    from ai_engine.commands import benchmarking

    counts = benchmarking.QUICK if args.quick else benchmarking.FULL
    if args.runs is not None:
        if args.runs < 1:
            raise ValueError(f"--runs must be >= 1, got {args.runs}")
        counts = replace(counts, per_block=max(1, args.runs // counts.rounds))
    return counts


def bench_command(args) -> int:
    import ai_engine
    from ai_engine import demo
    from ai_engine.commands import bench_report, benchmarking
    from ai_engine.commands.feeds import random_feeds

    path = args.model or demo.MODEL_PATH
    engines = _engines(args)
    feeds = random_feeds(ai_engine.load(path).graph.inputs, shapes=_parse_shapes(args.shape),
                         default_dim=args.batch)
    print(f"model {path}, inputs " + ", ".join(f"{k}{list(v.shape)}" for k, v in feeds.items())
          + f", threads {args.threads or 'default'}")
    result = benchmarking.measure(path, feeds, engines, threads=args.threads,
                                  counts=_counts(args), rtol=args.rtol, batch=args.batch,
                                  cold=True)
    ours = result.engines["ai-engine"]
    if ours.error:
        raise ai_engine.EngineError(f"ai-engine cannot run {path}: {ours.error}")
    print("\n".join(["", *bench_report.latency_table([result], engines), "",
                     *bench_report.loading_table([result], engines)]))
    problems = bench_report.problems([result])
    if problems:
        print("\n".join(["", *problems]))
    _print_memory(path, feeds)
    if args.profile:
        _print_profile(path, feeds, args.threads)
    disagree = any(r.agreement and not r.agreement.ok for r in result.engines.values())
    return 1 if disagree else 0


def _print_memory(path, feeds) -> None:
    import ai_engine

    session = ai_engine.InferenceSession(path, ai_engine.SessionOptions(track_memory=True))
    session.run(None, feeds)
    m = session.last_run_memory
    print(f"\nai-engine memory: peak {m['peak_bytes'] / 2**20:.2f} MiB of live values (inputs, "
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


def _print_profile(path, feeds, threads) -> None:
    import ai_engine

    prof = ai_engine.SessionOptions(intra_op_num_threads=threads, enable_profiling=True)
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
