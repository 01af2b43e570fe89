"""Profiling and memory tracking run the same generated plan as plain runs (through its
run-control hooks): same results, views counted at their base, nested bodies timed."""

import numpy as np
from onnx import helper

from ai_engine import InferenceSession, RunOptions, SessionOptions
from builders import adding_loop_model, make_model, tensor_info


def view_chain_model():
    """Relu makes one (256, 256) array; Reshape and Transpose only view it."""
    shape = np.array([65536], np.int64)
    nodes = [helper.make_node("Relu", ["x"], ["r"]),
             helper.make_node("Reshape", ["r", "shape"], ["flat"]),
             helper.make_node("Transpose", ["r"], ["t"]),
             helper.make_node("Add", ["t", "t"], ["y"]),
             helper.make_node("ReduceSum", ["flat"], ["s"], keepdims=0)]
    return make_model(nodes, [tensor_info("x", shape=[256, 256])],
                      [tensor_info("y", shape=[256, 256]), tensor_info("s")],
                      initializers={"shape": shape})


def test_views_count_at_their_base():
    model = view_chain_model()
    s = InferenceSession(model, SessionOptions(track_memory=True,
                                               graph_optimization_level=0))
    x = np.ones((256, 256), np.float32)
    y, total = s.run(None, {"x": x})
    one = 256 * 256 * 4
    stats = s.last_run_memory
    # alive at once at most: x, r (with its two views), y -> 3 arrays, never 5
    assert 3 * one <= stats["peak_bytes"] <= 3 * one + 64
    assert stats["allocations"] == 3 + 1                 # x, r, y and the scalar sum
    plain = InferenceSession(model, SessionOptions(graph_optimization_level=0))
    np.testing.assert_array_equal(y, plain.run(None, {"x": x})[0])
    assert total == 65536


def test_profiling_times_loop_bodies_and_the_loop():
    s = InferenceSession(adding_loop_model(3), SessionOptions(enable_profiling=True))
    (y,) = s.run(None, {"x": np.zeros(1, np.float32)})
    assert y.tolist() == [3.0]
    ops = [node.op_type for node, _start, _dur in s._profile_events]
    assert ops.count("Add") == 3 and ops.count("Loop") == 1
    loop = next(e for e in s._profile_events if e[0].op_type == "Loop")
    adds = [e for e in s._profile_events if e[0].op_type == "Add"]
    assert all(loop[1] <= a[1] and a[1] + a[2] <= loop[1] + loop[2] for a in adds)


def test_instrumented_runs_honour_run_options():
    import pytest

    import ai_engine

    s = InferenceSession(adding_loop_model(10**12), SessionOptions(enable_profiling=True,
                                                            track_memory=True))
    with pytest.raises(ai_engine.RunTimeoutError):
        s.run(None, {"x": np.zeros(1, np.float32)}, RunOptions(timeout_s=0.02))
