"""Side-by-side CNN benchmark: ai-engine vs onnxruntime, batch 1, float32, same process.

Usage (unset the CI BLAS overrides for the command only, as docs/PERFORMANCE.md says):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/cnn_vs_ort.py [--runs 30]
        [--models tiny_resnet tiny_mobilenet resnet50 squeezenet densenet121]

With ``--before``, also times ai-engine with this work switched off (no Conv+activation
fusion, no BLAS-accumulating conv paths: the generic im2col Conv), in the same run.

Engines alternate in blocks on the same input, with two untimed calls before each block
(both thread pools keep spinning for a while after a call). Prints a markdown table of
medians and the ai-engine / onnxruntime ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import onnx
import onnxruntime as ort

import ai_engine

HERE = os.path.dirname(os.path.abspath(__file__))
TINY = os.path.join(HERE, os.pardir, "tests", "models", "data")
LIGHT = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
MODELS = {
    "tiny_resnet": os.path.join(TINY, "tiny_resnet.onnx"),
    "tiny_mobilenet": os.path.join(TINY, "tiny_mobilenet.onnx"),
    "resnet50": os.path.join(LIGHT, "light_resnet50.onnx"),
    "squeezenet": os.path.join(LIGHT, "light_squeezenet.onnx"),
    "densenet121": os.path.join(LIGHT, "light_densenet121.onnx"),
}


def _feeds(session):
    rng = np.random.default_rng(0)
    feeds = {}
    for arg in session.get_inputs():
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in arg.shape]
        feeds[arg.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def _before_session(path):
    """ai-engine as it was before the CNN work: no fusion pass, generic Conv kernel."""
    from ai_engine.engine import optimizer
    from ai_engine.engine.operators import _conv_utils

    saved = dict(optimizer.LEVELS)
    optimizer.LEVELS[99] = tuple(p for p in optimizer.LEVELS[99]
                                 if p.__name__ != "fuse_conv_activation")
    try:
        session = ai_engine.InferenceSession(path)
    finally:
        optimizer.LEVELS.update(saved)

    def run(feeds):
        fast = _conv_utils.sgemm_acc()
        _conv_utils._SGEMM = None   # fast_conv() then declines: the generic path runs
        try:
            return session.run(None, feeds)
        finally:
            _conv_utils._SGEMM = fast
    return run


def bench(path: str, runs: int, before: bool = False, rounds: int = 5) -> dict[str, float]:
    ours = ai_engine.InferenceSession(path)
    so = ort.SessionOptions()
    so.log_severity_level = 3
    peer = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    feeds = _feeds(ours)
    engines = {"ai-engine": lambda: ours.run(None, feeds),
               "onnxruntime": lambda: peer.run(None, feeds)}
    if before:
        old = _before_session(path)
        engines["before"] = lambda: old(feeds)
    times: dict[str, list[float]] = {k: [] for k in engines}
    per_round = max(1, runs // rounds)
    for _ in range(rounds):
        for name, fn in engines.items():
            fn(), fn()
            for _ in range(per_round):
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) * 1e3 for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--models", nargs="*", default=list(MODELS))
    ap.add_argument("--before", action="store_true",
                    help="also time ai-engine without the CNN fast paths")
    args = ap.parse_args()
    if args.before:
        print("| model | before (ms) | ai-engine (ms) | onnxruntime (ms) | before ratio | ratio |")
        print("|---|---:|---:|---:|---:|---:|")
    else:
        print("| model | ai-engine (ms) | onnxruntime (ms) | ratio |")
        print("|---|---:|---:|---:|")
    for name in args.models:
        med = bench(MODELS.get(name, name), args.runs, args.before)
        ort_ms = med["onnxruntime"]
        ratio = med["ai-engine"] / ort_ms
        if args.before:
            print(f"| {name} | {med['before']:.3f} | {med['ai-engine']:.3f} | {ort_ms:.3f} | "
                  f"{med['before'] / ort_ms:.2f}x | {ratio:.2f}x |", flush=True)
        else:
            print(f"| {name} | {med['ai-engine']:.3f} | {ort_ms:.3f} | {ratio:.2f}x |",
                  flush=True)


if __name__ == "__main__":
    main()
