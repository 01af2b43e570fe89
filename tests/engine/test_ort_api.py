"""onnxruntime's module API on ai-engine: functions, capi modules, exception classes,
SessionOptions' attributes, ModelMetadata, set_seed, optimized_model_filepath."""

import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import ai_engine
from ai_engine import InferenceSession, SessionOptions
from builders import make_model, tensor_info
from test_session import mlp_model

ORT_SESSION_OPTION_ATTRIBUTES = [
    "enable_cpu_mem_arena", "enable_mem_pattern", "enable_mem_reuse", "enable_profiling",
    "execution_mode", "execution_order", "graph_optimization_level", "inter_op_num_threads",
    "intra_op_num_threads", "log_severity_level", "log_verbosity_level", "logid",
    "optimized_model_filepath", "profile_file_prefix", "use_deterministic_compute",
    "use_per_session_threads"]


def test_module_functions_answer_like_onnxruntime():
    assert ai_engine.get_available_providers() == ["CPUExecutionProvider"]  # no GPU here
    assert set(ai_engine.get_all_providers()) <= set(ort.get_all_providers())
    assert ai_engine.get_all_providers()[-1] == "CPUExecutionProvider"
    assert ai_engine.get_device() == ort.get_device() == "CPU"
    assert ai_engine.get_version_string() == ai_engine.__version__ == ai_engine.version
    assert "numpy" in ai_engine.get_build_info() and "BLAS" in ai_engine.get_build_info()
    assert ai_engine.enable_telemetry_events() is None
    assert ai_engine.disable_telemetry_events() is None
    with pytest.raises(ValueError, match="logger verbosity"):
        ai_engine.set_default_logger_verbosity(-1)
    ai_engine.set_default_logger_verbosity(0)


def test_default_logger_severity_is_the_sessions_default(caplog):
    model, _ = mlp_model()
    with pytest.raises(ValueError, match="0 .verbose. to 4"):
        ai_engine.set_default_logger_severity(7)
    try:
        ai_engine.set_default_logger_severity(1)
        with caplog.at_level("INFO", logger="ai_engine"):
            InferenceSession(model)
        assert any("session ready" in r.getMessage() for r in caplog.records)
    finally:
        ai_engine.set_default_logger_severity(2)
    caplog.clear()
    InferenceSession(model)
    assert not any("session ready" in r.getMessage() for r in caplog.records)


def test_enums_have_onnxruntimes_members_and_values():
    for ours, theirs in ((ai_engine.GraphOptimizationLevel, ort.GraphOptimizationLevel),
                         (ai_engine.ExecutionMode, ort.ExecutionMode),
                         (ai_engine.ExecutionOrder, ort.ExecutionOrder)):
        assert {k: int(v) for k, v in ours.__members__.items()} == \
            {k: int(v) for k, v in theirs.__members__.items()}


def test_session_options_have_onnxruntimes_attributes_and_reject_others():
    ours, theirs = SessionOptions(), ort.SessionOptions()
    for name in ORT_SESSION_OPTION_ATTRIBUTES:
        assert hasattr(theirs, name), name  # the list is onnxruntime's
        setattr(ours, name, getattr(ours, name))
    for theirs_value, ours_value in ((theirs.intra_op_num_threads, ours.intra_op_num_threads),
                                     (theirs.log_severity_level, ours.log_severity_level),
                                     (theirs.enable_cpu_mem_arena, ours.enable_cpu_mem_arena),
                                     (theirs.optimized_model_filepath,
                                      ours.optimized_model_filepath)):
        assert theirs_value == ours_value
    with pytest.raises(AttributeError):
        ours.enable_cpu_memory_arena = False  # a misspelling
    with pytest.raises(AttributeError):
        theirs.enable_cpu_memory_arena = False


def test_missing_config_entry_is_a_runtime_error_as_in_onnxruntime():
    with pytest.raises(RuntimeError):
        ort.SessionOptions().get_session_config_entry("nope")
    with pytest.raises(RuntimeError, match="nope"):
        SessionOptions().get_session_config_entry("nope")
    with pytest.raises(KeyError):
        ai_engine.RunOptions().get_run_config_entry("nope")


def test_capi_imports_and_exception_classes(tmp_path):
    from ai_engine.capi import _pybind_state as C
    from ai_engine.capi.onnxruntime_pybind11_state import (Fail, InvalidArgument,
                                                           InvalidProtobuf, NoSuchFile,
                                                           NotImplemented)

    assert C.get_available_providers() == ai_engine.get_available_providers()
    assert C.InvalidArgument is InvalidArgument and C.EngineError is ai_engine.EngineError
    model, _ = mlp_model()
    session = InferenceSession(model)
    with pytest.raises(InvalidArgument):
        session.run(None, {"x": np.zeros((1, 4), np.float64)})
    with pytest.raises(NoSuchFile):
        InferenceSession(str(tmp_path / "missing.onnx"))
    with pytest.raises(InvalidProtobuf):
        InferenceSession(b"not a model")
    bad = make_model([helper.make_node("NoSuchOp", ["x"], ["y"])], [tensor_info("x")],
                     [tensor_info("y")])
    with pytest.raises(NotImplemented):
        InferenceSession(bad)
    run_options = ai_engine.RunOptions()
    run_options.terminate = True
    with pytest.raises(Fail):
        session.run(None, {"x": np.zeros((1, 4), np.float32)}, run_options)


def test_aliased_capi_modules_are_ai_engines_modules():
    # A fresh interpreter: sys.modules["onnxruntime"] = ai_engine, as a switching user does.
    code = (
        "import sys, ai_engine\n"
        "sys.modules['onnxruntime'] = ai_engine\n"
        "import onnxruntime.capi.onnxruntime_pybind11_state as S\n"
        "from onnxruntime.capi import _pybind_state as C\n"
        "from onnxruntime.capi.onnxruntime_pybind11_state import InvalidArgument\n"
        "assert S is ai_engine.capi.onnxruntime_pybind11_state\n"
        "assert C is ai_engine.capi._pybind_state\n"
        "assert sys.modules['onnxruntime.capi'] is ai_engine.capi\n"
        "assert issubclass(ai_engine.InvalidInputError, InvalidArgument)\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_model_metadata_matches_onnxruntime():
    model, _ = mlp_model()
    model.producer_name, model.domain, model.model_version = "me", "ai.test", 7
    model.doc_string, model.graph.doc_string = "a model", "its graph"
    helper.set_model_props(model, {"labels": "a,b"})
    ours = InferenceSession(model).get_modelmeta()
    theirs = ort.InferenceSession(model.SerializeToString()).get_modelmeta()
    for attr in ("producer_name", "graph_name", "graph_description", "description",
                 "domain", "version", "custom_metadata_map"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr


def test_set_seed_makes_unseeded_random_ops_repeat():
    node = helper.make_node("RandomNormal", [], ["y"], shape=[4])
    model = make_model([node], [], [tensor_info("y")])
    session = InferenceSession(model)
    ai_engine.set_seed(5)
    first = session.run(None, {})[0]
    ai_engine.set_seed(5)
    np.testing.assert_array_equal(session.run(None, {})[0], first)
    assert not np.array_equal(session.run(None, {})[0], first)  # the stream goes on


def test_add_initializer_and_free_dimension_override():
    model, ref = mlp_model()
    w1 = np.full((4, 8), 0.5, np.float32)
    options = SessionOptions()
    options.add_initializer("w1", ai_engine.OrtValue.ortvalue_from_numpy(w1))
    options.add_free_dimension_override_by_name("batch", 2)
    session = InferenceSession(model, options)
    assert session.get_inputs()[0].shape == [2, 4]
    x = np.ones((2, 4), np.float32)
    theirs_options = ort.SessionOptions()
    theirs_w1 = ort.OrtValue.ortvalue_from_numpy(w1)  # onnxruntime keeps no reference to it
    theirs_options.add_initializer("w1", theirs_w1)
    expected = ort.InferenceSession(model.SerializeToString(), theirs_options).run(
        None, {"x": x})[0]
    np.testing.assert_allclose(session.run(None, {"x": x})[0], expected, rtol=1e-6)
    with pytest.raises(ai_engine.InvalidInputError, match="dimension 0 to be 2"):
        session.run(None, {"x": np.ones((3, 4), np.float32)})
    bad = SessionOptions()
    bad.add_initializer("w1", np.zeros((3, 3), np.float32))
    with pytest.raises(ai_engine.InvalidInputError, match="'w1' is float32.4, 8."):
        InferenceSession(model, bad)


def test_optimized_model_filepath_writes_a_model_that_runs_the_same(tmp_path):
    path = tmp_path / "optimized.onnx"
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Shape", ["r"], ["s"]),
             helper.make_node("Reshape", ["r", "s"], ["y"])]
    model = make_model(nodes, [tensor_info("x", shape=[1, 3, 8, 8])],
                       [tensor_info("y", shape=[1, 4, 8, 8])], initializers={"w": w, "b": b})
    options = SessionOptions()
    options.optimized_model_filepath = str(path)
    session = InferenceSession(model, options)
    reloaded = InferenceSession(str(path))
    assert [n.op_type for n in reloaded.graph.nodes] == [n.op_type for n in session.graph.nodes]
    assert len(reloaded.graph.nodes) < len(nodes)  # the passes' work was written
    x = rng.standard_normal((1, 3, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(reloaded.run(None, {"x": x})[0],
                                  session.run(None, {"x": x})[0])
    expected = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]
    np.testing.assert_allclose(reloaded.run(None, {"x": x})[0], expected, rtol=1e-4,
                               atol=1e-5)


def test_optimized_model_with_a_subgraph_round_trips(tmp_path):
    then_out = helper.make_tensor_value_info("t", TensorProto.FLOAT, [2])
    else_out = helper.make_tensor_value_info("e", TensorProto.FLOAT, [2])
    then_g = helper.make_graph([helper.make_node("Relu", ["x"], ["t"])], "then", [],
                               [then_out])
    else_g = helper.make_graph([helper.make_node("Neg", ["x"], ["e"])], "else", [],
                               [else_out])
    node = helper.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)
    model = make_model([node], [tensor_info("c", TensorProto.BOOL, []),
                                tensor_info("x", shape=[2])], [tensor_info("y", shape=[2])])
    path = tmp_path / "if.onnx"
    options = SessionOptions()
    options.optimized_model_filepath = str(path)
    InferenceSession(model, options)
    reloaded = InferenceSession(str(path))
    x = np.array([-1.0, 2.0], np.float32)
    np.testing.assert_array_equal(reloaded.run(None, {"c": np.array(True), "x": x})[0],
                                  [0.0, 2.0])
    np.testing.assert_array_equal(reloaded.run(None, {"c": np.array(False), "x": x})[0],
                                  [1.0, -2.0])


def test_onnxruntime_only_providers_are_skipped_and_typos_raise(caplog):
    model, _ = mlp_model()
    wanted = ["TensorrtExecutionProvider", "CoreMLExecutionProvider", "CPUExecutionProvider"]
    with caplog.at_level("WARNING", logger="ai_engine.providers"):
        session = InferenceSession(model, providers=wanted)
    assert session.get_providers() == ["CPUExecutionProvider"]
    assert "TensorrtExecutionProvider" in caplog.text
    # every provider onnxruntime lists is either ai-engine's or skipped, never an error
    assert InferenceSession(model, providers=ort.get_all_providers()).get_providers()
    with pytest.raises(ValueError, match="unknown execution provider 'CPUExecutionProviderr'"):
        InferenceSession(model, providers=["CPUExecutionProviderr"])
