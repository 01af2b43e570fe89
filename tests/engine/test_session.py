"""InferenceSession: onnxruntime-shaped API, feed validation, options, threads, memory."""

import threading

import numpy as np
import pytest
from onnx import TensorProto, helper

import ai_engine
from ai_engine import InferenceSession, InvalidInputError, KernelError, SessionOptions
from builders import make_model, tensor_info


def mlp_model():
    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((4, 8)).astype(np.float32)
    w2 = rng.standard_normal((8, 3)).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"]),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("MatMul", ["r", "w2"], ["y"])]
    model = make_model(nodes, [tensor_info("x", shape=["batch", 4])],
                       [tensor_info("y", shape=["batch", 3])],
                       initializers={"w1": w1, "w2": w2})
    return model, lambda x: np.maximum(x @ w1, 0) @ w2


def test_metadata_like_onnxruntime():
    model, _ = mlp_model()
    s = InferenceSession(model)
    (inp,) = s.get_inputs()
    assert (inp.name, inp.shape, inp.type) == ("x", ["batch", 4], "tensor(float)")
    assert s.get_outputs()[0].name == "y"
    assert s.get_providers() == ["CPUExecutionProvider"]
    assert InferenceSession(model, providers=["cpu"]).get_providers() == ["CPUExecutionProvider"]


def test_run_all_and_named_outputs():
    model, ref = mlp_model()
    s = InferenceSession(model)
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(s.run(None, {"x": x})[0], ref(x), rtol=1e-5)
    np.testing.assert_allclose(s.run(["y"], {"x": x})[0], ref(x), rtol=1e-5)
    with pytest.raises(InvalidInputError, match="unknown output 'z'"):
        s.run(["z"], {"x": x})


@pytest.mark.parametrize("feeds,match", [
    ({}, "input 'x' is missing"),
    ({"x": np.zeros((1, 4), np.float32), "q": np.zeros(1)}, "unknown input"),
    ({"x": np.zeros((1, 4), np.float64)}, "input 'x' expects element type float32.*float64"),
    ({"x": np.zeros((4,), np.float32)}, "input 'x' expects rank 2"),
    ({"x": np.zeros((1, 5), np.float32)}, "input 'x' expects dimension 1 to be 4"),
])
def test_bad_feeds_are_named(feeds, match):
    model, _ = mlp_model()
    with pytest.raises(InvalidInputError, match=match):
        InferenceSession(model).run(None, feeds)


def test_kernel_error_names_node_and_shapes():
    model = make_model([helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")],
                       [tensor_info("a", shape=None), tensor_info("b", shape=None)],
                       [tensor_info("y")])
    s = InferenceSession(model)
    with pytest.raises(KernelError, match=r"MatMul node 'mm'.*\[2, 3\].*\[4, 5\]") as info:
        s.run(None, {"a": np.zeros((2, 3), np.float32), "b": np.zeros((4, 5), np.float32)})
    assert info.value.__cause__ is not None


def test_threads_share_one_session():
    model, ref = mlp_model()
    s = InferenceSession(model)
    rng = np.random.default_rng(2)
    xs = [rng.standard_normal((3, 4)).astype(np.float32) for _ in range(8)]
    errors = []

    def work(x):
        for _ in range(50):
            y = s.run(None, {"x": x})[0]
            if not np.allclose(y, ref(x), rtol=1e-5):
                errors.append("mismatch")

    threads = [threading.Thread(target=work, args=(x,)) for x in xs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_optimization_level_switches_passes():
    nodes = [helper.make_node("Add", ["c1", "c2"], ["c3"]),
             helper.make_node("Identity", ["x"], ["xi"]),
             helper.make_node("Mul", ["xi", "c3"], ["y"]),
             helper.make_node("Neg", ["x"], ["unused"])]
    model = make_model(nodes, [tensor_info("x", shape=[2])], [tensor_info("y", shape=[2])],
                       initializers={"c1": np.ones(2, np.float32), "c2": np.ones(2, np.float32)})
    off = InferenceSession(model, SessionOptions(graph_optimization_level=0))
    on = InferenceSession(model)
    assert [n.op_type for n in off.graph.nodes] == ["Add", "Identity", "Mul", "Neg"]
    assert [n.op_type for n in on.graph.nodes] == ["Mul"]
    x = np.array([1, 2], np.float32)
    np.testing.assert_array_equal(off.run(None, {"x": x})[0], on.run(None, {"x": x})[0])


def test_intra_op_threads_sets_blas_threads():
    from threadpoolctl import threadpool_info

    model, _ = mlp_model()
    InferenceSession(model, SessionOptions(intra_op_num_threads=1))
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    assert blas and all(i["num_threads"] == 1 for i in blas)
    from threadpoolctl import threadpool_limits
    threadpool_limits(limits=None)


def test_memory_tracker_reports_peak_below_total():
    # a chain of 6 big intermediates: freed after last use, the peak holds ~2 of them
    nodes = [helper.make_node("Relu", ["x"], ["v0"])]
    nodes += [helper.make_node("Neg", [f"v{i}"], [f"v{i + 1}"]) for i in range(5)]
    nodes += [helper.make_node("ReduceSum", ["v5"], ["y"], keepdims=0)]
    model = make_model(nodes, [tensor_info("x", shape=[256, 256])], [tensor_info("y")])
    s = InferenceSession(model, SessionOptions(track_memory=True))
    s.run(None, {"x": np.ones((256, 256), np.float32)})
    stats = s.last_run_memory
    one = 256 * 256 * 4
    assert 2 * one <= stats["peak_bytes"] <= 3 * one + 64
    assert stats["allocations"] >= 7
    assert stats["unreleased_peak_bytes"] >= 7 * one  # what a run without liveness would hold


def test_profiling_writes_chrome_trace(tmp_path):
    import json

    model, _ = mlp_model()
    s = InferenceSession(model, SessionOptions(enable_profiling=True,
                                               profile_file_prefix=str(tmp_path / "p")))
    s.run(None, {"x": np.ones((1, 4), np.float32)})
    with open(s.end_profiling()) as f:
        trace = json.load(f)
    assert [e["args"]["op_name"] for e in trace] == ["MatMul", "Relu", "MatMul"]


def test_public_api():
    assert ai_engine.__version__
    for name in ("InferenceSession", "SessionOptions", "load", "ModelLoadError",
                 "UnsupportedOperatorError", "InvalidInputError", "KernelError", "PassError"):
        assert hasattr(ai_engine, name)


def test_bool_and_string_inputs():
    """A bool feed and string feeds, each used by a node, each output checked."""
    model = make_model([helper.make_node("Not", ["b"], ["not_b"]),
                        helper.make_node("Where", ["b", "s", "t"], ["picked"])],
                       [tensor_info("b", TensorProto.BOOL, [3]),
                        tensor_info("s", TensorProto.STRING, [3]),
                        tensor_info("t", TensorProto.STRING, [3])],
                       [tensor_info("not_b", TensorProto.BOOL, [3]),
                        tensor_info("picked", TensorProto.STRING, [3])])
    session = InferenceSession(model)
    assert [i.type for i in session.get_inputs()] == ["tensor(bool)", "tensor(string)",
                                                      "tensor(string)"]
    b = np.array([True, False, True])
    not_b, picked = session.run(None, {"b": b, "s": np.array(["a", "b", "c"]),
                                       "t": np.array(["x", "y", "z"], dtype=object)})
    assert not_b.dtype == np.bool_ and not_b.tolist() == [False, True, False]
    assert picked.dtype == object and picked.tolist() == ["a", "y", "c"]
    with pytest.raises(InvalidInputError, match="input 'b' expects element type bool"):
        session.run(None, {"b": b.astype(np.int64), "s": np.array(["a", "b", "c"]),
                           "t": np.array(["x", "y", "z"])})
