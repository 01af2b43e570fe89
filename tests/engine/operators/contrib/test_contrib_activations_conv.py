"""com.microsoft activation, convolution and GEMM fusions against onnxruntime and NumPy."""

import math

import numpy as np
import pytest
from contrib_helpers import check_against_peer, ours, randn, rng

from ai_engine.errors import KernelError


def _erf_gelu(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def test_gelu_family_against_onnxruntime():
    r = rng(0)
    x, b = randn(r, 2, 3, 16) * 3, randn(r, 16)
    check_against_peer("Gelu", [("x", x)], ["y"])
    check_against_peer("BiasGelu", [("x", x), ("b", b)], ["y"])
    check_against_peer("FastGelu", [("x", x), ("b", b)], ["y"])
    check_against_peer("FastGelu", [("x", x)], ["y"])
    check_against_peer("QuickGelu", [("x", x)], ["y"])
    check_against_peer("QuickGelu", [("x", x)], ["y"], {"alpha": 1.2})


def test_gelu_family_numpy_formulas():
    r = rng(1)
    x, b = randn(r, 2, 3, 16) * 3, randn(r, 16)
    np.testing.assert_allclose(ours("BiasGelu", [("x", x), ("b", b)], ["y"])[0],
                               _erf_gelu(x + b), rtol=1e-5, atol=1e-6)
    t = x + b
    fast = 0.5 * t * (1 + np.tanh(math.sqrt(2 / math.pi) * (t + 0.044715 * t ** 3)))
    np.testing.assert_allclose(ours("FastGelu", [("x", x), ("b", b)], ["y"])[0], fast,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours("QuickGelu", [("x", x)], ["y"], {"alpha": 1.702})[0],
                               x / (1 + np.exp(-1.702 * x)), rtol=1e-5, atol=1e-6)


def test_bias_add_and_bias_split_gelu_numpy_formulas():
    """onnxruntime has CUDA kernels only for these two: NumPy is the oracle."""
    r = rng(2)
    x, bias, skip = randn(r, 2, 6, 8), randn(r, 8), randn(r, 2, 6, 8)
    np.testing.assert_allclose(ours("BiasAdd", [("x", x), ("b", bias), ("s", skip)], ["y"])[0],
                               x + bias + skip, rtol=1e-6)
    h = x + bias
    want = h[..., :4] * _erf_gelu(h[..., 4:])
    got = ours("BiasSplitGelu", [("x", x), ("b", bias)], ["y"])[0]
    assert got.shape == (2, 6, 4)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    with pytest.raises(KernelError, match="bias of shape"):
        ours("BiasAdd", [("x", x), ("b", randn(r, 7)), ("s", skip)], ["y"])


_CONV_ACTIVATIONS = [("", None), ("Relu", None), ("Tanh", None), ("Sigmoid", None),
                     ("LeakyRelu", [0.2]), ("Clip", [-0.5, 0.7]), ("HardSigmoid", [0.3, 0.4])]


@pytest.mark.parametrize("activation,params", _CONV_ACTIVATIONS,
                         ids=[a or "none" for a, _ in _CONV_ACTIVATIONS])
@pytest.mark.parametrize("geometry", ["3x3", "1x1-stride2", "depthwise", "grouped"])
@pytest.mark.parametrize("with_z", [False, True])
def test_fused_conv(activation, params, geometry, with_z):
    r = rng(3)
    c, m, k, group, strides, pads = 4, 6, 3, 1, [1, 1], [1, 1, 1, 1]
    if geometry == "1x1-stride2":
        k, strides, pads = 1, [2, 2], [0, 0, 0, 0]
    elif geometry == "depthwise":
        m, group = 4, 4
    elif geometry == "grouped":
        group = 2
    x = randn(r, 2, c, 9, 9)
    w = randn(r, m, c // group, k, k)
    oh = (9 + pads[0] + pads[2] - k) // strides[0] + 1
    z = randn(r, 2, m, oh, oh) if with_z else None
    attrs = {"strides": strides, "pads": pads, "group": group, "kernel_shape": [k, k]}
    if activation:
        attrs["activation"] = activation
    if params:
        attrs["activation_params"] = params
    check_against_peer("FusedConv", [("x", x), ("w", w), ("b", randn(r, m)), ("z", z)], ["y"],
                       attrs)


def test_fused_conv_1d_and_unknown_activation():
    r = rng(4)
    check_against_peer("FusedConv", [("x", randn(r, 1, 3, 10)), ("w", randn(r, 5, 3, 3)),
                                     ("b", randn(r, 5))], ["y"],
                       {"activation": "Relu", "pads": [1, 1]})
    with pytest.raises(KernelError, match="unknown activation"):
        ours("FusedConv", [("x", randn(r, 1, 3, 6, 6)), ("w", randn(r, 2, 3, 3, 3))], ["y"],
             {"activation": "Swoosh"})


@pytest.mark.parametrize("group", [1, 2])
def test_nhwc_conv_equals_nchw_conv(group):
    """NhwcConv has no onnxruntime CPU kernel: it must equal Conv on the transposed data."""
    from builders import run_op

    r = rng(5)
    x = randn(r, 2, 4, 7, 7)
    w = randn(r, 6, 4 // group, 3, 3)
    b = randn(r, 6)
    attrs = {"strides": [2, 1], "pads": [1, 0, 1, 2], "group": group}
    got = ours("NhwcConv", [("x", x.transpose(0, 2, 3, 1)), ("w", w.transpose(0, 2, 3, 1)),
                            ("b", b)], ["y"], attrs)[0]
    want = run_op("Conv", x, w, b, opset=17, **attrs)[0]
    np.testing.assert_allclose(got, want.transpose(0, 2, 3, 1), rtol=1e-5, atol=1e-5)
    assert got.shape == (2, want.shape[2], want.shape[3], 6)


_GEMM_ACTIVATIONS = [("Relu", {}), ("Tanh", {}), ("Sigmoid", {}),
                     ("LeakyRelu", {"activation_alpha": 0.1}),
                     ("HardSigmoid", {"activation_alpha": 0.3, "activation_beta": 0.6}),
                     ("Elu", {"activation_alpha": 0.8}), ("Softplus", {}), ("Softsign", {}),
                     ("Selu", {"activation_alpha": 1.6, "activation_gamma": 1.1}),
                     ("ThresholdedRelu", {"activation_alpha": 0.5}),
                     ("ScaledTanh", {"activation_alpha": 1.5, "activation_beta": 0.5}),
                     ("ParametricSoftplus", {"activation_alpha": 1.5, "activation_beta": 0.5})]


@pytest.mark.parametrize("activation,params", _GEMM_ACTIVATIONS,
                         ids=[a for a, _ in _GEMM_ACTIVATIONS])
def test_fused_gemm(activation, params):
    r = rng(6)
    attrs = dict(activation=activation, alpha=0.7, beta=0.5, transB=1, **params)
    check_against_peer("FusedGemm", [("a", randn(r, 5, 8)), ("b", randn(r, 6, 8)),
                                     ("c", randn(r, 6))], ["y"], attrs)


@pytest.mark.parametrize("shapes,attrs", [
    (((3, 4), (4, 5)), {"alpha": 0.5}),
    (((4, 3), (4, 5)), {"transA": 1}),
    (((2, 3, 4), (5, 4)), {"transB": 1, "alpha": 2.0}),
    (((2, 3, 4, 5), (2, 3, 6, 5)), {"transB": 1}),
    (((3, 2, 4), (2, 4, 5)), {"transBatchA": 1}),
    (((3, 2, 4), (4, 2, 5)), {"transBatchA": 1, "transBatchB": 1}),
    (((4, 2, 3), (2, 4, 5)), {"transBatchA": 1, "transA": 1}),
    (((3, 2, 6, 4), (2, 6, 4, 5)), {"transBatchA": 1, "alpha": 0.25}),
    (((2, 3, 4), (5, 2, 4)), {"transBatchB": 1, "transB": 1}),
], ids=["alpha", "transA", "transB-bcast", "4d", "batchA", "batchAB", "batchA-transA",
        "batchA-4d", "batchB-transB"])
def test_fused_matmul(shapes, attrs):
    r = rng(7)
    check_against_peer("FusedMatMul", [("a", randn(r, *shapes[0])), ("b", randn(r, *shapes[1]))],
                       ["y"], attrs)


def test_matmul_then_bias_gelu_runs_as_one_matmul_add():
    """ai-engine's optimizer folds BiasGelu(MatMul(x, W), b) into MatMulAdd(gelu); the result
    still equals onnxruntime's for the unfused pair, and at level 0 nothing is fused."""
    from builders import run_peer
    from onnx import helper, numpy_helper

    from ai_engine import InferenceSession, SessionOptions

    r = rng(8)
    w, b = randn(r, 16, 32), randn(r, 32)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["m"]),
             helper.make_node("BiasGelu", ["m", "b"], ["y"], domain="com.microsoft")]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", 1, [2, 5, 16])],
        [helper.make_tensor_value_info("y", 1, None)],
        initializer=[numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8
    feeds = {"x": randn(r, 2, 5, 16)}
    fused = InferenceSession(model)
    assert [(n.op_type, n.attrs.get("activation")) for n in fused.graph.nodes] == \
        [("MatMulAdd", "gelu")]
    plain_opts = SessionOptions()
    plain_opts.graph_optimization_level = 0
    plain = InferenceSession(model, plain_opts)
    assert [n.op_type for n in plain.graph.nodes] == ["MatMul", "BiasGelu"]
    want = run_peer(model, feeds)[0]
    for sess in (fused, plain):
        np.testing.assert_allclose(sess.run(None, feeds)[0], want, rtol=1e-5, atol=1e-5)
