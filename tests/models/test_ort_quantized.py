"""Models quantized by onnxruntime's own tools, as users get them, run in ai-engine and compared
with onnxruntime.

- a small CNN through ``quantize_static`` in QOperator format, and in QDQ format then
  onnxruntime's graph optimizer (``optimized_model_filepath`` at ORT_ENABLE_EXTENDED): both
  write QLinearConv plus the com.microsoft QLinearAdd/Mul/Sigmoid/LeakyRelu/AveragePool/
  Concat/GlobalAveragePool/Softmax and QGemm;
- a BERT-like block (com.microsoft Attention, MatMuls) through ``quantize_dynamic`` (QAttention,
  MatMulInteger) and then the optimizer (DynamicQuantizeMatMul, MatMulIntegerToFloat);
- an LSTM through ``quantize_dynamic`` (DynamicQuantizeLSTM);
- a tiny LM through the MatMulNBits quantizer (MatMulNBits, GatherBlockQuantized).

Int8 weights are quantized with ``reduce_range`` (7 bits), which onnxruntime recommends on x86
CPUs without VNNI: its u8 x s8 kernels there add products in saturating int16 and would not
be an oracle (tests/models/exact_reference.py); uint8 weights are exact on every CPU.
Quantized outputs agree within one quantization step (onnxruntime's float32 requantization
and approximate logistic move a value next to a rounding boundary); float outputs to float32
rounding, or for the LSTM within a step of its dynamically quantized hidden state.
"""

from __future__ import annotations

import collections

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from ai_engine import InferenceSession

ort = pytest.importorskip("onnxruntime")
quantization = pytest.importorskip("onnxruntime.quantization")

pytestmark = pytest.mark.slow
MS = "com.microsoft"


def _init(rng, name, shape, scale):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32),
                                   name)


def _model(nodes, inputs, outputs, inits, opset=17):
    g = helper.make_graph(nodes, "m", inputs, outputs, initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset),
                                            helper.make_opsetid(MS, 1)])
    m.ir_version = 8 if opset < 21 else 10
    return m


def _ops(model):
    return collections.Counter((n.domain or "", n.op_type) for n in model.graph.node)


def _ort(path_or_model, feeds, level=None, save_to=None):
    so = ort.SessionOptions()
    so.log_severity_level = 3
    if level is not None:
        so.graph_optimization_level = level
    if save_to is not None:
        so.optimized_model_filepath = str(save_to)
    src = path_or_model if isinstance(path_or_model, str) else path_or_model.SerializeToString()
    return ort.InferenceSession(src, so, providers=["CPUExecutionProvider"]).run(None, feeds)


# --------------------------------------------------------------------------- CNN, static

def small_cnn():
    rng = np.random.default_rng(0)
    inits = [_init(rng, "w1", (8, 3, 3, 3), 0.3), _init(rng, "b1", (8,), 0.1),
             _init(rng, "w2", (8, 8, 3, 3), 0.2), _init(rng, "b2", (8,), 0.1),
             _init(rng, "wf", (16, 10), 0.3), _init(rng, "bf", (10,), 0.1)]
    mk = helper.make_node
    nodes = [mk("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             mk("Relu", ["c1"], ["r1"]),
             mk("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1]),
             mk("LeakyRelu", ["c2"], ["l2"], alpha=0.1),
             mk("Add", ["l2", "r1"], ["a2"]),                        # residual
             mk("Sigmoid", ["a2"], ["s2"]),
             mk("Mul", ["s2", "a2"], ["m2"]),                        # swish
             mk("AveragePool", ["m2"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]),
             mk("MaxPool", ["m2"], ["q2"], kernel_shape=[2, 2], strides=[2, 2]),
             mk("Concat", ["p2", "q2"], ["cat"], axis=1),
             mk("GlobalAveragePool", ["cat"], ["g"]),
             mk("Flatten", ["g"], ["f"]),
             mk("Gemm", ["f", "wf", "bf"], ["logits"]),
             mk("Softmax", ["logits"], ["y"], axis=-1)]
    return _model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)


class _Calibration(quantization.CalibrationDataReader if hasattr(quantization,
                                                                 "CalibrationDataReader")
                   else object):
    def __init__(self, seed=1):
        rng = np.random.default_rng(seed)
        self.batches = iter([{"x": rng.standard_normal((1, 3, 16, 16)).astype(np.float32)}
                             for _ in range(8)])

    def get_next(self):
        return next(self.batches, None)


CNN_CONTRIB = {"QLinearAdd", "QLinearMul", "QLinearSigmoid", "QLinearLeakyRelu",
               "QLinearAveragePool", "QLinearConcat", "QLinearGlobalAveragePool", "QGemm",
               "QLinearSoftmax"}
WEIGHTS = [pytest.param((quantization.QuantType.QInt8, True), id="s8-reduce_range"),
           pytest.param((quantization.QuantType.QUInt8, False), id="u8")]


def _assert_within_a_step(ours, theirs, step):
    d = np.abs(ours - theirs)
    assert d.max() <= step * 1.01, f"max difference {d.max() / step:.2f} steps"


@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("per_channel", [False, True])
def test_static_qoperator_cnn(tmp_path, weights, per_channel):
    onnx.save(small_cnn(), tmp_path / "cnn.onnx")
    quantization.quantize_static(
        str(tmp_path / "cnn.onnx"), str(tmp_path / "q.onnx"), _Calibration(),
        quant_format=quantization.QuantFormat.QOperator, weight_type=weights[0],
        activation_type=quantization.QuantType.QUInt8, reduce_range=weights[1],
        per_channel=per_channel)
    q = onnx.load(tmp_path / "q.onnx")
    assert CNN_CONTRIB <= {op for dom, op in _ops(q) if dom == MS}
    sess = InferenceSession(str(tmp_path / "q.onnx"))
    rng = np.random.default_rng(2)
    for _ in range(4):
        feeds = {"x": rng.standard_normal((1, 3, 16, 16)).astype(np.float32)}
        _assert_within_a_step(sess.run(None, feeds)[0], _ort(str(tmp_path / "q.onnx"),
                                                             feeds)[0], 1 / 256)


@pytest.mark.parametrize("weights", WEIGHTS)
def test_static_qdq_cnn_after_ort_optimizer(tmp_path, weights):
    onnx.save(small_cnn(), tmp_path / "cnn.onnx")
    quantization.quantize_static(
        str(tmp_path / "cnn.onnx"), str(tmp_path / "qdq.onnx"), _Calibration(),
        quant_format=quantization.QuantFormat.QDQ, weight_type=weights[0],
        activation_type=quantization.QuantType.QUInt8, reduce_range=weights[1])
    rng = np.random.default_rng(3)
    feeds = {"x": rng.standard_normal((1, 3, 16, 16)).astype(np.float32)}
    _ort(str(tmp_path / "qdq.onnx"), feeds,
         level=ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED, save_to=tmp_path / "opt.onnx")
    opt = onnx.load(tmp_path / "opt.onnx")
    assert CNN_CONTRIB <= {op for dom, op in _ops(opt) if dom == MS}
    sess = InferenceSession(str(tmp_path / "opt.onnx"))
    for _ in range(4):
        feeds = {"x": rng.standard_normal((1, 3, 16, 16)).astype(np.float32)}
        _assert_within_a_step(sess.run(None, feeds)[0], _ort(str(tmp_path / "opt.onnx"),
                                                             feeds)[0], 1 / 256)


# --------------------------------------------------------------------------- BERT-like, dynamic

H = 32


def bert_like():
    rng = np.random.default_rng(4)
    mk = helper.make_node
    inits = [_init(rng, "qkv_w", (H, 3 * H), 0.2), _init(rng, "qkv_b", (3 * H,), 0.1),
             _init(rng, "o_w", (H, H), 0.2), _init(rng, "o_b", (H,), 0.1),
             numpy_helper.from_array(np.ones(H, np.float32), "ln_g"),
             numpy_helper.from_array(np.zeros(H, np.float32), "ln_b"),
             _init(rng, "gate_w", (H, 2 * H), 0.2), _init(rng, "up_w", (H, 2 * H), 0.2),
             _init(rng, "down_w", (2 * H, H), 0.2)]
    nodes = [mk("Attention", ["x", "qkv_w", "qkv_b", "mask"], ["att"], domain=MS, num_heads=4),
             mk("MatMul", ["att", "o_w"], ["o1"]), mk("Add", ["o1", "o_b"], ["o2"]),
             mk("LayerNormalization", ["o2", "ln_g", "ln_b"], ["ln"], axis=-1, epsilon=1e-5),
             mk("MatMul", ["ln", "gate_w"], ["gate"]), mk("MatMul", ["ln", "up_w"], ["up"]),
             mk("Relu", ["gate"], ["act"]), mk("Mul", ["act", "up"], ["ff"]),
             mk("MatMul", ["ff", "down_w"], ["y"])]
    return _model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 7, H]),
                          helper.make_tensor_value_info("mask", TensorProto.INT32, [2])],
                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 7, H])], inits)


def _bert_feeds(rng):
    return {"x": rng.standard_normal((2, 7, H)).astype(np.float32),
            "mask": np.array([7, 4], np.int32)}


@pytest.mark.parametrize("per_channel", [False, True])
def test_dynamic_bert_like_and_its_ort_optimized_form(tmp_path, per_channel):
    onnx.save(bert_like(), tmp_path / "bert.onnx")
    quantization.quantize_dynamic(
        str(tmp_path / "bert.onnx"), str(tmp_path / "q.onnx"),
        weight_type=quantization.QuantType.QInt8, reduce_range=True, per_channel=per_channel,
        extra_options={"DefaultTensorType": TensorProto.FLOAT})
    q = onnx.load(tmp_path / "q.onnx")
    assert (MS, "QAttention") in _ops(q) and ("", "MatMulInteger") in _ops(q)
    rng = np.random.default_rng(5)
    feeds = _bert_feeds(rng)
    _ort(str(tmp_path / "q.onnx"), feeds, level=ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
         save_to=tmp_path / "opt.onnx")
    opt = onnx.load(tmp_path / "opt.onnx")
    fused = {op for dom, op in _ops(opt) if dom == MS}
    assert {"QAttention", "DynamicQuantizeMatMul", "MatMulIntegerToFloat"} <= fused, fused
    for path in ("q.onnx", "opt.onnx"):
        sess = InferenceSession(str(tmp_path / path))
        for _ in range(3):
            feeds = _bert_feeds(rng)
            ours, theirs = sess.run(None, feeds)[0], _ort(str(tmp_path / path), feeds)[0]
            np.testing.assert_allclose(ours, theirs, rtol=1e-4,
                                       atol=1e-4 * np.abs(theirs).max())


# --------------------------------------------------------------------------- LSTM, dynamic

def test_dynamic_lstm(tmp_path):
    rng = np.random.default_rng(6)
    i_size, hid = 8, 16
    inits = [_init(rng, "W", (1, 4 * hid, i_size), 0.3), _init(rng, "R", (1, 4 * hid, hid), 0.3),
             _init(rng, "B", (1, 8 * hid), 0.1)]
    node = helper.make_node("LSTM", ["x", "W", "R", "B"], ["Y", "Y_h", "Y_c"], hidden_size=hid)
    model = _model([node], [helper.make_tensor_value_info("x", TensorProto.FLOAT, [6, 2, i_size])],
                   [helper.make_tensor_value_info(n, TensorProto.FLOAT, None)
                    for n in ("Y", "Y_h", "Y_c")], inits)
    onnx.save(model, tmp_path / "lstm.onnx")
    quantization.quantize_dynamic(str(tmp_path / "lstm.onnx"), str(tmp_path / "q.onnx"),
                                  weight_type=quantization.QuantType.QInt8, reduce_range=True)
    assert _ops(onnx.load(tmp_path / "q.onnx")) == {(MS, "DynamicQuantizeLSTM"): 1}
    sess = InferenceSession(str(tmp_path / "q.onnx"))
    for _ in range(3):
        feeds = {"x": rng.standard_normal((6, 2, i_size)).astype(np.float32)}
        for ours, theirs in zip(sess.run(None, feeds), _ort(str(tmp_path / "q.onnx"), feeds)):
            np.testing.assert_allclose(ours, theirs, atol=4e-3)   # one step of h is ~1/128


# --------------------------------------------------------------------------- int4 LM

V, D = 50, 64


def tiny_lm():
    rng = np.random.default_rng(7)
    mk = helper.make_node
    inits = [_init(rng, "emb", (V, D), 0.5), _init(rng, "w1", (D, 128), 0.2),
             _init(rng, "w2", (128, D), 0.2), _init(rng, "b2", (D,), 0.1),
             _init(rng, "head", (D, V), 0.2)]
    nodes = [mk("Gather", ["emb", "ids"], ["e"]), mk("MatMul", ["e", "w1"], ["h1"]),
             mk("Relu", ["h1"], ["h2"]), mk("MatMul", ["h2", "w2"], ["h3"]),
             mk("Add", ["h3", "b2"], ["h4"]), mk("MatMul", ["h4", "head"], ["y"])]
    return _model(nodes, [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 5])],
                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5, V])], inits,
                  opset=21)


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("block_size", [16, 32, 64])
@pytest.mark.parametrize("symmetric", [False, True])
def test_matmul_nbits_quantizer_lm(bits, block_size, symmetric):
    nbits = pytest.importorskip("onnxruntime.quantization.matmul_nbits_quantizer")
    axes = (("MatMul", 0), ("Gather", 1))
    ops = ("MatMul", "Gather") if bits == 4 else ("MatMul",)   # Gather: 4 bits only
    config = nbits.DefaultWeightOnlyQuantConfig(
        block_size=block_size, is_symmetric=symmetric, bits=bits, op_types_to_quantize=ops,
        quant_axes=axes)
    quantizer = nbits.MatMulNBitsQuantizer(tiny_lm(), bits=bits, block_size=block_size,
                                           is_symmetric=symmetric, op_types_to_quantize=ops,
                                           quant_axes=axes, algo_config=config)
    quantizer.process()
    model = quantizer.model.model
    found = _ops(model)
    assert found[(MS, "MatMulNBits")] == 3
    if bits == 4:
        assert found[(MS, "GatherBlockQuantized")] == 1
    sess = InferenceSession(model)
    # The weights stay packed: each MatMulNBits B is uint8, bits/8 bytes a weight.
    for node in sess.graph.nodes:
        if node.op_type == "MatMulNBits":
            b = node.inputs[1].const
            assert b.dtype == np.uint8
            assert b.nbytes == node.attrs["N"] * node.attrs["K"] * bits // 8
    rng = np.random.default_rng(8)
    for _ in range(3):
        feeds = {"ids": rng.integers(0, V, (1, 5)).astype(np.int64)}
        ours, theirs = sess.run(None, feeds)[0], _ort(model, feeds)[0]
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4 * np.abs(theirs).max())
