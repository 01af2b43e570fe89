"""Latency on a busy machine: ai-engine and onnxruntime on a small CNN (SqueezeNet), with
the cores idle and with every core held by a busy-loop process (bounded: each exits by
itself after the phase's deadline).

Usage (about 40 s with the defaults):

    python benchmarks/busy_machine.py [--model tiny_resnet] [--seconds 8] [--load 1.0]

``--load`` is busy processes per usable core (affinity and cgroup quota). Both engines run
with their defaults (onnxruntime: a thread per core, spinning; ai-engine: BLAS threads =
usable cores, OpenBLAS's idle spin shortened by ``ai_engine`` at import, before NumPy loads:
see ``ai_engine/__init__.py``). Engines alternate in short blocks inside each phase, with two
untimed calls first, so both see the same load. Prints medians, each engine's busy/idle
slowdown, and ai-engine/onnxruntime in each phase.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import ai_engine  # first: it sets OpenBLAS's spin time before NumPy loads OpenBLAS

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402

from ai_engine.engine.threads import usable_cores  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TINY = os.path.join(HERE, os.pardir, "tests", "models", "data")
LIGHT = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
MODELS = {"tiny_resnet": os.path.join(TINY, "tiny_resnet.onnx"),
          "tiny_mobilenet": os.path.join(TINY, "tiny_mobilenet.onnx"),
          "squeezenet": os.path.join(LIGHT, "light_squeezenet.onnx"),
          "resnet50": os.path.join(LIGHT, "light_resnet50.onnx")}
BUSY_LOOP = ("import time, sys\nend = time.time() + float(sys.argv[1])\n"
             "while time.time() < end: pass\n")


def _feeds(session):
    rng = np.random.default_rng(0)
    return {a.name: rng.standard_normal([d if isinstance(d, int) else 1 for d in a.shape])
            .astype(np.float32) for a in session.get_inputs()}


def _block(session, feeds, runs: int) -> list[float]:
    for _ in range(2):  # both thread pools wake up and spin for a while after a call
        session.run(None, feeds)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feeds)
        times.append(time.perf_counter() - start)
    return times


def _phase(sessions: dict, feeds, seconds: float, runs_per_block: int) -> dict:
    times = {name: [] for name in sessions}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for name, session in sessions.items():
            times[name] += _block(session, feeds, runs_per_block)
    return {name: statistics.median(t) * 1000 for name, t in times.items()}


def _start_load(count: int, seconds: float) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", BUSY_LOOP, str(seconds)])
            for _ in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="squeezenet", choices=sorted(MODELS))
    parser.add_argument("--seconds", type=float, default=8.0, help="per phase")
    parser.add_argument("--load", type=float, default=1.0, help="busy processes per core")
    parser.add_argument("--runs-per-block", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0,
                        help="intra_op_num_threads of both engines (0: their defaults)")
    args = parser.parse_args()

    path = MODELS[args.model]
    ours, theirs = ai_engine.SessionOptions(), ort.SessionOptions()
    ours.intra_op_num_threads = theirs.intra_op_num_threads = args.threads
    sessions = {"ai-engine": ai_engine.InferenceSession(path, ours),
                "onnxruntime": ort.InferenceSession(path, theirs,
                                                    providers=["CPUExecutionProvider"])}
    feeds = _feeds(sessions["ai-engine"])
    cores = usable_cores()
    busy = max(1, round(args.load * cores))
    print(f"model {args.model}, threads {args.threads or 'default'}, usable cores {cores}, "
          f"OPENBLAS_THREAD_TIMEOUT="
          f"{os.environ.get('OPENBLAS_THREAD_TIMEOUT', 'unset')}, busy processes {busy}, "
          f"{args.seconds:g} s per phase")

    idle = _phase(sessions, feeds, args.seconds, args.runs_per_block)
    load = _start_load(busy, args.seconds + 5)
    try:
        time.sleep(0.5)  # let the busy loops start
        loaded = _phase(sessions, feeds, args.seconds, args.runs_per_block)
    finally:
        for proc in load:
            proc.kill()
            proc.wait()

    print("\n| engine | idle ms | busy ms | busy / idle |")
    print("|---|---|---|---|")
    for name in sessions:
        print(f"| {name} | {idle[name]:.2f} | {loaded[name]:.2f} | "
              f"{loaded[name] / idle[name]:.2f}x |")
    print(f"| ai-engine / onnxruntime | {idle['ai-engine'] / idle['onnxruntime']:.2f}x | "
          f"{loaded['ai-engine'] / loaded['onnxruntime']:.2f}x | |")


if __name__ == "__main__":
    main()
