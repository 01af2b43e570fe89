"""RunOptions stop a run between nodes; session keyword arguments, provider options and
SessionOptions attributes are checked, never silently ignored."""

import logging
import threading

import numpy as np
import pytest
from onnx import helper

import ai_engine
from ai_engine import InferenceSession, RunOptions, SessionOptions
from builders import adding_loop_model, make_model, tensor_info


def two_output_model():
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Neg", ["x"], ["b"])]
    return make_model(nodes, [tensor_info("x", shape=[2])],
                      [tensor_info("a", shape=[2]), tensor_info("b", shape=[2])])


def test_deadline_stops_an_endless_loop_and_the_session_stays_usable():
    session = InferenceSession(adding_loop_model(10**12))
    x = np.zeros(1, np.float32)
    with pytest.raises(ai_engine.RunTimeoutError, match="deadline of 0.05 s"):
        session.run(None, {"x": x}, RunOptions(timeout_s=0.05))
    # the same session, a fresh deadline: still stops, still names where it stopped
    with pytest.raises(ai_engine.RunTimeoutError, match="Loop iteration|node"):
        session.run(None, {"x": x}, RunOptions(timeout_s=0.01))


def test_terminate_from_another_thread_stops_the_run():
    session = InferenceSession(adding_loop_model(10**12))
    options = RunOptions()
    started = threading.Timer(0.05, lambda: setattr(options, "terminate", True))
    started.start()
    with pytest.raises(ai_engine.RunTerminatedError, match="terminate"):
        session.run(None, {"x": np.zeros(1, np.float32)}, options)
    started.join()
    both = InferenceSession(two_output_model())
    assert len(both.run(None, {"x": np.ones(2, np.float32)}, RunOptions())) == 2


def test_run_errors_are_engine_errors():
    assert issubclass(ai_engine.RunTimeoutError, ai_engine.EngineError)
    assert issubclass(ai_engine.RunTerminatedError, ai_engine.RunAbortedError)


def test_run_options_must_be_run_options():
    session = InferenceSession(two_output_model())
    with pytest.raises(TypeError, match="RunOptions"):
        session.run(None, {"x": np.ones(2, np.float32)}, {"timeout": 1})
    with pytest.raises(ValueError, match="timeout_s"):
        session.run(None, {"x": np.ones(2, np.float32)}, RunOptions(timeout_s=-1))


def test_run_config_entries():
    options = RunOptions()
    options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    assert options.get_run_config_entry("memory.enable_memory_arena_shrinkage") == "cpu:0"
    with pytest.raises(KeyError):
        options.get_run_config_entry("nope")
    with pytest.raises(AttributeError):
        options.timeout = 3   # a misspelt option is an error, not a silent no-op


def test_a_subset_of_outputs_runs_only_the_nodes_it_needs():
    session = InferenceSession(two_output_model())
    x = np.array([-1, 2], np.float32)
    (b,) = session.run(["b"], {"x": x})
    np.testing.assert_array_equal(b, -x)
    plan = session._plan_for([1])
    assert [n.op_type for n in plan.nodes] == ["Neg"]
    a, b = session.run(["a", "b"], {"x": x})
    np.testing.assert_array_equal(a, [0, 2])


def test_unknown_session_keyword_is_a_type_error():
    with pytest.raises(TypeError, match="provders"):
        InferenceSession(two_output_model(), provders=["CPUExecutionProvider"])


def test_onnxruntime_parameter_names_work():
    model = two_output_model().SerializeToString()
    session = InferenceSession(path_or_bytes=model, sess_options=SessionOptions(),
                               providers=["CPUExecutionProvider"], provider_options=[{}])
    assert session.get_providers() == ["CPUExecutionProvider"]


def test_session_options_reject_unknown_attributes():
    options = SessionOptions()
    with pytest.raises(AttributeError):
        options.intra_op_threads = 2
    options.inter_op_num_threads = 2      # exists in onnxruntime: accepted (documented)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_provider_options_are_checked():
    model = two_output_model()
    with pytest.raises(ValueError, match="unknown CPUExecutionProvider option"):
        InferenceSession(model, providers=["CPUExecutionProvider"],
                         provider_options=[{"arena_extend_strateg": "x"}])
    with pytest.raises(ValueError, match="one dict per provider"):
        InferenceSession(model, providers=["CPUExecutionProvider"], provider_options=[{}, {}])
    with pytest.raises(ValueError, match="unknown execution provider"):
        InferenceSession(model, providers=["TensorRTProvider"])  # onnxruntime's are skipped
    s = InferenceSession(model, providers=[("CPUExecutionProvider",
                                            {"arena_extend_strategy": "kSameAsRequested"})])
    assert s.get_provider_options()["CPUExecutionProvider"] == {
        "arena_extend_strategy": "kSameAsRequested"}


def test_cuda_without_a_gpu_falls_back_or_raises_when_strict():
    pytest.importorskip("numpy")
    from ai_engine.gpu import cupy_or_none

    if cupy_or_none() is not None:
        pytest.skip("a GPU is present")
    model = two_output_model()
    s = InferenceSession(model, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert s.get_providers() == ["CPUExecutionProvider"]
    with pytest.raises(RuntimeError, match="strict"):
        InferenceSession(model, providers=[("CUDAExecutionProvider", {"strict": "1"})])
    strict = SessionOptions()
    strict.add_session_config_entry("session.strict_providers", "1")
    with pytest.raises(RuntimeError, match="strict"):
        InferenceSession(model, strict, providers=["CUDAExecutionProvider"])


def test_disabled_optimizers_by_name():
    w = np.random.default_rng(0).standard_normal((2, 2, 1, 1)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]), helper.make_node("Relu", ["c"], ["y"])]
    model = make_model(nodes, [tensor_info("x", shape=[1, 2, 3, 3])],
                       [tensor_info("y", shape=None)], initializers={"w": w})
    fused = InferenceSession(model)
    assert [n.op_type for n in fused.graph.nodes] == ["FusedConv"]
    plain = InferenceSession(model, disabled_optimizers=["fuse_conv_activation"])
    assert "fuse_conv_activation" not in plain.passes_run
    assert [n.op_type for n in plain.graph.nodes] == ["Conv", "Relu"]
    options = SessionOptions()
    options.add_session_config_entry("optimization.disable_specified_optimizers",
                                     "fuse_conv_activation")
    assert "fuse_conv_activation" not in InferenceSession(model, options).passes_run
    with pytest.raises(ValueError, match="unknown optimizer pass"):
        InferenceSession(model, disabled_optimizers=["fuse_everything"])


def test_log_severity_level_decides_what_is_logged(caplog):
    model = two_output_model()
    verbose = SessionOptions(log_severity_level=1, logid="mine")
    with caplog.at_level(logging.DEBUG, logger="ai_engine"):
        InferenceSession(model, verbose)
        assert any("[mine] session ready" in r.getMessage() for r in caplog.records)
        caplog.clear()
        InferenceSession(model, SessionOptions(log_severity_level=3))
        assert not any("session ready" in r.getMessage() for r in caplog.records)
    with pytest.raises(ValueError, match="severity"):
        InferenceSession(model, SessionOptions(log_severity_level=7))
