#!/usr/bin/env python3
"""An onnxruntime-optimized BERT vs the same BERT unoptimized, both run by ai-engine.

The model is tests/models/ort_tool_models.bert (Hugging Face BertModel's export pattern) at
4 layers, hidden 256, 4 heads, FFN 1024, batch 1, sequence 128. onnxruntime's transformers
optimizer (``optimize_model``, model_type bert) rewrites it into EmbedLayerNormalization,
Attention, SkipLayerNormalization and BiasGelu; the issue requires ai-engine to run that
model at least as fast as the original (ratio optimized / original <= 1).

Prints the median latency of each (the two alternating call by call on the same inputs, two
untimed calls first), the ratio of the medians and the median of the paired ratios, at
ai-engine's default optimization level. Needs onnxruntime (for its optimizer only). Run
with the BLAS settings unset, as the docs say:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/contrib_speed.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "models"))

import ort_tool_models as models  # noqa: E402 - found through the path above

LAYERS, HIDDEN, HEADS, FFN, SEQ = 4, 256, 4, 1024, 128


def _optimized(model, tmp):
    import onnx
    from onnxruntime.transformers.optimizer import optimize_model

    src, dst = os.path.join(tmp, "bert.onnx"), os.path.join(tmp, "bert_opt.onnx")
    onnx.save(model, src)
    optimize_model(src, model_type="bert", num_heads=HEADS, hidden_size=HIDDEN,
                   opt_level=0).save_model_to_file(dst)
    return onnx.load(dst)


def _timed(sessions, feeds, rounds=60):
    """Per-call latencies, the sessions alternating call by call (so load from other
    processes hits both alike), after two untimed calls each."""
    times = {name: [] for name in sessions}
    for sess in sessions.values():
        for _ in range(2):
            sess.run(None, feeds)
    for _ in range(rounds):
        for name, sess in sessions.items():
            t = time.perf_counter()
            sess.run(None, feeds)
            times[name].append((time.perf_counter() - t) * 1e3)
    return times


def main():
    from ai_engine import InferenceSession

    original = models.bert(layers=LAYERS, hidden=HIDDEN, heads=HEADS, ffn=FFN, vocab=1000,
                           max_pos=SEQ)
    with tempfile.TemporaryDirectory() as tmp:
        optimized = _optimized(original, tmp)
    fused = sorted({n.op_type for n in optimized.graph.node if n.domain == "com.microsoft"})
    feeds = models.bert_feeds(batch=1, seq=SEQ, vocab=1000)
    sessions = {"original": InferenceSession(original),
                "ort-optimized": InferenceSession(optimized)}
    a, b = (s.run(None, feeds)[0] for s in sessions.values())
    err = float(np.abs(a - b).max() / np.abs(a).max())
    times = _timed(sessions, feeds)
    med = {name: statistics.median(ts) for name, ts in times.items()}
    paired = statistics.median(o / a for o, a in zip(times["ort-optimized"], times["original"]))
    print(f"BERT {LAYERS}x{HIDDEN}, seq {SEQ}, batch 1; contrib ops: {', '.join(fused)}")
    print("| model (ai-engine) | median ms |")
    print("|---|---|")
    for name, ms in med.items():
        print(f"| {name} | {ms:.2f} |")
    print(f"ratio ort-optimized / original: {med['ort-optimized'] / med['original']:.2f} of "
          f"medians, {paired:.2f} median of paired calls (outputs agree to {err:.1e} "
          "relative)")


if __name__ == "__main__":
    main()
