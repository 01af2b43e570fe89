#!/usr/bin/env python3
"""MatMulNBits decode steps: ai-engine vs onnxruntime, same-run ratios.

Two models, both int4 (block 32, packed uint8 zero points, float32 activations, batch 1, one
token): a single MatMulNBits ``1 x 2048 @ 2048 x 2048``, and a chain of eight such layers (the
projections a small LLM runs per token; onnxruntime runs a node faster inside a graph than
alone). Prints medians of alternating blocks (two untimed calls before each), the ratio, the
largest relative difference, which ai-engine kernel ran (numba fused GEMV or NumPy tiles), and
the bytes of the weight initializers ai-engine holds (4 bits a weight) against what a float32
copy would take. onnxruntime runs at accuracy_level 0 (float32 A, as ai-engine computes) and,
for reference, at 4 (it may quantize A to int8). Run with the BLAS settings unset:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/matmul_nbits_speed.py
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np
from onnx import TensorProto, helper, numpy_helper

K = N = 2048
BLOCK = 32


def nbits_model(layers: int, accuracy_level: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    n_blocks = K // BLOCK
    nodes, inits = [], []
    x = "a"
    for i in range(layers):
        b = rng.integers(0, 256, (N, n_blocks, BLOCK // 2), dtype=np.uint8)
        s = (rng.random((N, n_blocks), dtype=np.float32) * 0.004 + 0.001).astype(np.float32)
        z = rng.integers(0, 256, (N, (n_blocks + 1) // 2), dtype=np.uint8)
        inits += [numpy_helper.from_array(b, f"B{i}"), numpy_helper.from_array(s, f"S{i}"),
                  numpy_helper.from_array(z, f"Z{i}")]
        y = "y" if i == layers - 1 else f"h{i}"
        nodes.append(helper.make_node("MatMulNBits", [x, f"B{i}", f"S{i}", f"Z{i}"], [y],
                                      domain="com.microsoft", K=K, N=N, bits=4,
                                      block_size=BLOCK, accuracy_level=accuracy_level))
        x = y
    graph = helper.make_graph(
        nodes, "nbits", [helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, K])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, N])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8
    return model


def _median(fn, runs):
    fn()
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def compare(layers: int, runs: int):
    import onnxruntime as ort

    import ai_engine
    from ai_engine.engine.operators.contrib import nbits_kernels

    model = nbits_model(layers, 0)
    ours = ai_engine.InferenceSession(model)
    theirs = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    int8_a = ort.InferenceSession(nbits_model(layers, 4).SerializeToString(),
                                  providers=["CPUExecutionProvider"])
    # Unit-norm activations (as after RMSNorm) keep the chain's values in range.
    a = (np.random.default_rng(1).standard_normal((1, K)) / np.sqrt(K)).astype(np.float32)
    feeds = {"a": a}
    y_ours, y_ort = ours.run(None, feeds)[0], theirs.run(None, feeds)[0]
    err = float(np.max(np.abs(y_ours - y_ort)) / np.max(np.abs(y_ort)))
    t_ours, t_ort, t_int8 = [], [], []
    for _ in range(5):
        t_ours.append(_median(lambda: ours.run(None, feeds), runs))
        t_ort.append(_median(lambda: theirs.run(None, feeds), runs))
        t_int8.append(_median(lambda: int8_a.run(None, feeds), runs))
    held = sum(v.const.nbytes for v in ours.graph.values.values()
               if v.const is not None and v.name.startswith("B"))
    kernel = "numba fused" if nbits_kernels.fused_available() else "NumPy tiles"
    return (statistics.median(t_ours), statistics.median(t_ort), statistics.median(t_int8),
            err, held, kernel)


def main(argv):
    runs = int(argv[1]) if len(argv) > 1 else 50
    print("| model | ai-engine (ms) | onnxruntime acc 0 (ms) | ratio | onnxruntime acc 4 (ms) "
          "| max rel diff | kernel | B held (bytes) | float32 copy (bytes) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for layers in (1, 8):
        ours, ort_ms, int8_ms, err, held, kernel = compare(layers, runs)
        print(f"| {layers} x MatMulNBits 1x{K}@{K}x{N} int4 b{BLOCK} | {ours * 1e3:.3f} | "
              f"{ort_ms * 1e3:.3f} | {ours / ort_ms:.2f} | {int8_ms * 1e3:.3f} | {err:.1e} | "
              f"{kernel} | {held} | {layers * K * N * 4} |")


if __name__ == "__main__":
    main(sys.argv)
