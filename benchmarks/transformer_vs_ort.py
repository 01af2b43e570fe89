#!/usr/bin/env python3
"""Transformer inference (batch 1, float32): ai-engine vs onnxruntime, same-run ratios.

Prints a markdown table: median latency of both engines (alternating blocks on the same
inputs, two untimed calls before each block) at optimization level 0 (no passes) and 99, and
the ratio. Exports benchmarks/models/bert_like.onnx with torch (2-layer encoder, d_model 256,
4 heads, seq 128) when it is missing. Run with the BLAS settings unset, as the docs say:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/transformer_vs_ort.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BERT = os.path.join(HERE, "models", "bert_like.onnx")
SMALL = os.path.join(ROOT, "tests", "models", "data", "transformer_encoder.onnx")


def export_bert(path=BERT, layers=2, d_model=256, heads=4, seq=128, vocab=1000):
    import torch
    from torch import nn

    class Bert(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, d_model)
            self.pos = nn.Parameter(torch.randn(1, seq, d_model) * 0.02)
            layer = nn.TransformerEncoderLayer(d_model, heads, 4 * d_model, dropout=0.0,
                                               activation="gelu", batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(d_model)

        def forward(self, tokens):
            return self.norm(self.encoder(self.embed(tokens) + self.pos))

    torch.manual_seed(0)
    model = Bert().eval()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # Not under no_grad: there PyTorch takes its fused encoder fast path, which does not export.
    torch.onnx.export(model, torch.randint(0, vocab, (1, seq)), path,
                      input_names=["tokens"], output_names=["output"],
                      dynamic_axes={"tokens": {0: "batch"}, "output": {0: "batch"}},
                      opset_version=17, dynamo=False)


def _median(fn, feeds, runs):
    fn(feeds)
    fn(feeds)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn(feeds)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def compare(path, feeds, runs, level):
    import onnxruntime as ort

    import ai_engine

    opts = ai_engine.SessionOptions()
    opts.graph_optimization_level = level
    ours = ai_engine.InferenceSession(path, opts)
    so = ort.SessionOptions()
    theirs = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    a = ours.run(None, feeds)[0]
    b = theirs.run(None, feeds)[0]
    err = float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))
    t_ours, t_ort = [], []
    for _ in range(5):  # alternate blocks so both see the same machine state
        t_ours.append(_median(lambda f: ours.run(None, f), feeds, runs))
        t_ort.append(_median(lambda f: theirs.run(None, f), feeds, runs))
    mo, mt = statistics.median(t_ours), statistics.median(t_ort)
    return len(ours.graph.nodes), mo, mt, err


def main(argv):
    runs = int(argv[1]) if len(argv) > 1 else 20
    if not os.path.exists(BERT):
        export_bert()
    rng = np.random.default_rng(0)
    cases = [("transformer_encoder (seq 16)", SMALL, {"tokens": rng.integers(0, 100, (1, 16))}),
             ("bert_like 2x256, seq 128", BERT, {"tokens": rng.integers(0, 1000, (1, 128))})]
    print("| model | level | nodes | ai-engine ms | onnxruntime ms | ratio | max rel err |")
    print("|---|---|---|---|---|---|---|")
    for name, path, feeds in cases:
        for level in (0, 99):
            n, mo, mt, err = compare(path, feeds, runs, level)
            print(f"| {name} | {level} | {n} | {mo * 1e3:.3f} | {mt * 1e3:.3f} | "
                  f"{mo / mt:.2f}x | {err:.1e} |")


if __name__ == "__main__":
    main(sys.argv)
