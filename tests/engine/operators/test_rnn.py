"""RNN / GRU / LSTM kernels through InferenceSession (rnn.py).

The ONNX backend node cases (scripts/conformance.py) cover the defaults, one direction each,
batchwise layout and one sequence_lens case; these cross-check against onnxruntime what they
miss: bidirectional + sequence_lens (ragged, both directions), clip, non-default activations
with alpha/beta, linear_before_reset, peepholes with input_forget, initial states with
layout=1, all three outputs, float16 and float64, older opsets.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from ai_engine import InferenceSession
from ai_engine.errors import KernelError, ModelLoadError

ort = pytest.importorskip("onnxruntime")
rng = np.random.default_rng(0)

GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
OUTS = {"RNN": ["Y", "Y_h"], "GRU": ["Y", "Y_h"], "LSTM": ["Y", "Y_h", "Y_c"]}
IN_NAMES = ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"]


def _inputs(op, T=5, B=3, I=4, H=6, D=1, layout=0, dtype=np.float32, bias=True, lens=None,
            init=False, peep=False):
    G = GATES[op]
    x = rng.standard_normal((B, T, I) if layout else (T, B, I))
    ins = [x, rng.standard_normal((D, G * H, I)) * 0.5, rng.standard_normal((D, G * H, H)) * 0.5,
           rng.standard_normal((D, 2 * G * H)) * 0.3 if bias else None,
           None if lens is None else np.asarray(lens, np.int32)]
    hshape = (B, D, H) if layout else (D, B, H)
    ins.append(rng.standard_normal(hshape) if init else None)
    if op == "LSTM":
        ins.append(rng.standard_normal(hshape) if init else None)
        ins.append(rng.standard_normal((D, 3 * H)) * 0.5 if peep else None)
    ins = [a if a is None or a.dtype == np.int32 else a.astype(dtype) for a in ins]
    while ins[-1] is None:
        ins.pop()
    return ins


def _model(op, ins, opset, **attrs):
    attrs.setdefault("hidden_size", ins[2].shape[-1])     # onnxruntime requires it
    names = [IN_NAMES[i] if a is not None else "" for i, a in enumerate(ins)]
    node = helper.make_node(op, names, OUTS[op], **attrs)
    vi = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
          for n, a in zip(names, ins) if n]
    et = helper.np_dtype_to_tensor_dtype(ins[0].dtype)
    outs = [helper.make_tensor_value_info(o, et, None) for o in OUTS[op]]
    graph = helper.make_graph([node], op, vi, outs)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _run_both(op, ins, opset=14, **attrs):
    model = _model(op, ins, opset, **attrs)
    feeds = {IN_NAMES[i]: a for i, a in enumerate(ins) if a is not None}
    got = InferenceSession(model).run(None, feeds)
    want = ort.InferenceSession(model.SerializeToString(),
                                providers=["CPUExecutionProvider"]).run(None, feeds)
    return got, want


def _cast(ins, dtype):
    return [a if a is None or a.dtype == np.int32 else a.astype(dtype) for a in ins]


def _run(op, ins, opset=14, **attrs):
    feeds = {IN_NAMES[i]: a for i, a in enumerate(ins) if a is not None}
    return InferenceSession(_model(op, ins, opset, **attrs)).run(None, feeds)


def _check(got, want, tol=1e-5):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=tol,
                                   atol=tol)


@pytest.mark.parametrize("op", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
def test_ragged_sequence_lens_and_initial_state(op, direction):
    D = 2 if direction == "bidirectional" else 1
    ins = _inputs(op, T=5, B=4, D=D, lens=[5, 2, 3, 1], init=True)
    _check(*_run_both(op, ins, direction=direction, hidden_size=6))


@pytest.mark.parametrize("op", ["RNN", "GRU", "LSTM"])
def test_layout_1_bidirectional_with_initial_state(op):
    # onnxruntime's CPU kernels reject layout=1: compare with layout 0 on transposed data.
    ins = _inputs(op, D=2, layout=1, init=True, lens=[5, 3, 4])
    got = _run(op, ins, direction="bidirectional", layout=1)
    t = list(ins)
    t[0] = ins[0].transpose(1, 0, 2)
    for k in (5, 6):
        if k < len(t) and t[k] is not None:
            t[k] = np.ascontiguousarray(t[k].transpose(1, 0, 2))
    got0, want0 = _run_both(op, t, direction="bidirectional")
    _check(got0, want0)
    assert got[0].shape == (3, 5, 2, 6)
    _check([got[0].transpose(1, 2, 0, 3)] + [g.transpose(1, 0, 2) for g in got[1:]], want0)


@pytest.mark.parametrize("lbr", [0, 1])
@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
def test_gru_linear_before_reset(lbr, direction):
    D = 2 if direction == "bidirectional" else 1
    ins = _inputs("GRU", D=D, init=True)
    _check(*_run_both("GRU", ins, direction=direction, linear_before_reset=lbr))


def test_lstm_peepholes_input_forget_clip():
    ins = _inputs("LSTM", D=2, init=True, peep=True)
    for a in ins[:3]:
        a *= 3      # saturate so that clip matters
    _check(*_run_both("LSTM", ins, direction="bidirectional", input_forget=1, clip=1.5))


def test_lstm_peepholes_and_lens():
    ins = _inputs("LSTM", D=1, lens=[1, 5, 3], init=True, peep=True)
    _check(*_run_both("LSTM", ins, direction="reverse"))


@pytest.mark.parametrize("op,acts,alpha,beta", [
    ("RNN", ["LeakyRelu"], [0.3], []),
    ("RNN", ["ScaledTanh", "HardSigmoid"], [0.8, 0.3], [1.2, 0.4]),   # bidirectional
    ("GRU", ["HardSigmoid", "Softsign"], [0.3], [0.45]),
    ("GRU", ["Sigmoid", "Relu"], [], []),
    ("LSTM", ["HardSigmoid", "Tanh", "Softsign"], [], []),          # defaults alpha/beta
    ("LSTM", ["Sigmoid", "Elu", "Softplus"], [0.7], []),
    ("RNN", ["ThresholdedRelu"], [0.2], []),
    ("RNN", ["Affine"], [0.5], [0.1]),
])
def test_activation_lists(op, acts, alpha, beta):
    D = 2 if op == "RNN" and len(acts) == 2 else 1
    ins = _inputs(op, D=D, init=True)
    attrs = dict(activations=acts, direction="bidirectional" if D == 2 else "forward")
    if alpha:
        attrs["activation_alpha"] = alpha
    if beta:
        attrs["activation_beta"] = beta
    got, want = _run_both(op, ins, **attrs)
    _check(got, want)


@pytest.mark.parametrize("op", ["RNN", "GRU", "LSTM"])
def test_clip(op):
    ins = _inputs(op, D=1)
    for a in ins[:3]:
        a *= 3
    _check(*_run_both(op, ins, clip=0.7))


@pytest.mark.parametrize("op", ["RNN", "GRU", "LSTM"])
def test_float16_keeps_dtype_and_computes_in_float32(op):
    ins16 = _cast(_inputs(op, D=2, init=True), np.float16)
    got = _run(op, ins16, direction="bidirectional")
    ref = _run(op, _cast(ins16, np.float64), direction="bidirectional")
    for g, r in zip(got, ref, strict=True):
        assert g.dtype == np.float16
        # float32 compute: only the final rounding to float16 remains
        np.testing.assert_allclose(g.astype(np.float64), r, rtol=1e-3, atol=1e-3)


def test_float64_matches_onnxruntime_float32():
    # onnxruntime has no float64 LSTM: its float32 result bounds ours to float32 accuracy.
    ins = _inputs("LSTM", D=2, dtype=np.float64, init=True, peep=True)
    got = _run("LSTM", ins, direction="bidirectional")
    _, want = _run_both("LSTM", _cast(ins, np.float32), direction="bidirectional")
    for g, w in zip(got, want, strict=True):
        assert g.dtype == np.float64
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("op,opset", [("RNN", 7), ("GRU", 7), ("LSTM", 7), ("GRU", 3),
                                      ("RNN", 22), ("GRU", 22), ("LSTM", 22)])
def test_other_opsets(op, opset):
    ins = _inputs(op, D=1, lens=[5, 4, 2], init=True)
    attrs = {"linear_before_reset": 1} if op == "GRU" else {}
    got = InferenceSession(_model(op, ins, opset, **attrs)).run(
        None, {IN_NAMES[i]: a for i, a in enumerate(ins) if a is not None})
    _, want = _run_both(op, ins, 14, **attrs)
    _check(got, want)


def test_only_y_h_requested_and_bad_direction():
    ins = _inputs("GRU")
    names = [IN_NAMES[i] if a is not None else "" for i, a in enumerate(ins)]
    node = helper.make_node("GRU", names, ["", "Y_h"], hidden_size=6)
    vi = [helper.make_tensor_value_info(n, TensorProto.FLOAT, a.shape)
          for n, a in zip(names, ins) if n]
    model = helper.make_model(
        helper.make_graph([node], "g", vi, [helper.make_tensor_value_info("Y_h", 1, None)]),
        opset_imports=[helper.make_opsetid("", 14)])
    feeds = {IN_NAMES[i]: a for i, a in enumerate(ins) if a is not None}
    (yh,) = InferenceSession(model).run(None, feeds)
    assert yh.shape == (1, 3, 6)
    with pytest.raises(KernelError, match="GRU: unknown direction 'sideways'"):
        InferenceSession(_model("GRU", _inputs("GRU"), 14, direction="sideways")).run(
            None, {IN_NAMES[i]: a for i, a in enumerate(_inputs("GRU")) if a is not None})


@pytest.mark.parametrize("op,opset", [("RNN", 1), ("GRU", 1), ("GRU", 3), ("LSTM", 1)])
def test_opset1_forms_accept_output_sequence_and_reject_layout(op, opset):
    ins = _inputs(op, D=1, init=True)
    got = _run(op, ins, opset, output_sequence=1)
    _, want = _run_both(op, ins, 14)
    _check(got, want)
    with pytest.raises(ModelLoadError,
                       match=rf"{op} node .* \(opset {opset}\) has attribute\(s\) \['layout'\]"):
        _run(op, ins, opset, layout=0)
