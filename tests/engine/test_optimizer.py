"""Optimizer passes: each rewrite keeps the model's results; the pipeline names failures."""

import numpy as np
import pytest
from onnx import helper

from ai_engine import InferenceSession, PassError, SessionOptions
from ai_engine.engine import optimizer
from builders import make_model, tensor_info


def conv_bn_model(with_bias: bool):
    rng = np.random.default_rng(0)
    inits = {"w": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
             "scale": rng.uniform(0.5, 1.5, 4).astype(np.float32),
             "beta": rng.uniform(-1, 1, 4).astype(np.float32),
             "mean": rng.uniform(-1, 1, 4).astype(np.float32),
             "var": rng.uniform(0.5, 2, 4).astype(np.float32)}
    conv_in = ["x", "w"]
    if with_bias:
        inits["b"] = rng.standard_normal(4).astype(np.float32)
        conv_in.append("b")
    nodes = [helper.make_node("Conv", conv_in, ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "scale", "beta", "mean", "var"],
                              ["y"], epsilon=1e-3)]
    return make_model(nodes, [tensor_info("x", shape=[1, 3, 8, 8])],
                      [tensor_info("y", shape=[1, 4, 8, 8])], initializers=inits)


@pytest.mark.parametrize("with_bias", [False, True])
def test_conv_bn_folding_keeps_results(with_bias):
    model = conv_bn_model(with_bias)
    plain = InferenceSession(model, SessionOptions(graph_optimization_level=0))
    fused = InferenceSession(model)
    assert [n.op_type for n in fused.graph.nodes] == ["Conv"]
    x = np.random.default_rng(1).standard_normal((1, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(fused.run(None, {"x": x})[0], plain.run(None, {"x": x})[0],
                               rtol=1e-5, atol=1e-5)


def test_failing_pass_raises_pass_error_naming_it(monkeypatch):
    def broken_pass(graph):
        raise RuntimeError("boom")

    monkeypatch.setitem(optimizer.LEVELS, 1, optimizer.BASIC_PASSES + (broken_pass,))
    model = conv_bn_model(False)
    with pytest.raises(PassError, match="broken_pass.*eliminate_identity.*boom"):
        InferenceSession(model, SessionOptions(graph_optimization_level=1))


def test_the_suite_checks_the_graph_after_every_pass():
    assert optimizer.CHECK_EACH_PASS, "tests/conftest.py sets AI_ENGINE_CHECK_PASSES=1"


def test_a_pass_that_corrupts_links_is_named(monkeypatch):
    def forgets_a_use(graph):
        graph.nodes[-1].inputs[0].uses.clear()   # the node still reads it: links now lie
        return False

    monkeypatch.setitem(optimizer.LEVELS, 1, (forgets_a_use,))
    with pytest.raises(PassError, match="forgets_a_use left an inconsistent graph.*reads"):
        InferenceSession(conv_bn_model(False), SessionOptions(graph_optimization_level=1))


def test_a_pass_that_leaves_a_value_undefined_is_named(monkeypatch):
    def drops_the_producer(graph):
        graph.remove_node(graph.nodes[0])        # Conv goes; BatchNormalization reads 'c'
        return False

    monkeypatch.setitem(optimizer.LEVELS, 1, (drops_the_producer,))
    with pytest.raises(PassError, match="drops_the_producer.*'c', which no node"):
        InferenceSession(conv_bn_model(False), SessionOptions(graph_optimization_level=1))


def test_unknown_pass_name_in_disabled_optimizers_is_refused():
    with pytest.raises(ValueError, match="unknown optimizer pass.*no_such_pass"):
        optimizer.optimize(InferenceSession(conv_bn_model(False)).graph, 99, {"no_such_pass"})
