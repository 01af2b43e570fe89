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

from ai_engine.errors import KernelError, ModelLoadError

from builders import assert_outputs, check_op, run_op, run_op_peer

pytest.importorskip("onnxruntime")
rng = np.random.default_rng(0)

GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
OUTS = {"RNN": ["Y", "Y_h"], "GRU": ["Y", "Y_h"], "LSTM": ["Y", "Y_h", "Y_c"]}


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


def _cast(ins, dtype):
    return [a if a is None or a.dtype == np.int32 else a.astype(dtype) for a in ins]


@pytest.mark.parametrize("op", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
def test_ragged_sequence_lens_and_initial_state(op, direction):
    D = 2 if direction == "bidirectional" else 1
    ins = _inputs(op, T=5, B=4, D=D, lens=[5, 2, 3, 1], init=True)
    check_op(op, *ins, opset=14, peer=True, rtol=1e-5, atol=1e-5, outputs=OUTS[op],
             direction=direction, hidden_size=6)


@pytest.mark.parametrize("op", ["RNN", "GRU", "LSTM"])
def test_layout_1_bidirectional_with_initial_state(op):
    # onnxruntime's CPU kernels reject layout=1: compare with layout 0 on transposed data.
    ins = _inputs(op, D=2, layout=1, init=True, lens=[5, 3, 4])
    got = run_op(op, *ins, opset=14, outputs=OUTS[op], direction="bidirectional", layout=1,
                 hidden_size=6)
    t = list(ins)
    t[0] = ins[0].transpose(1, 0, 2)
    for k in (5, 6):
        if k < len(t) and t[k] is not None:
            t[k] = np.ascontiguousarray(t[k].transpose(1, 0, 2))
    want0 = run_op_peer(op, *t, outputs=OUTS[op], opset=14, hidden_size=6,
                        direction="bidirectional")
    check_op(op, *t, expected=want0, rtol=1e-5, atol=1e-5, outputs=OUTS[op], opset=14,
             hidden_size=6, direction="bidirectional")
    assert got[0].shape == (3, 5, 2, 6)
    assert_outputs([got[0].transpose(1, 2, 0, 3)] + [g.transpose(1, 0, 2) for g in got[1:]],
                   want0, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("lbr", [0, 1])
@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
def test_gru_linear_before_reset(lbr, direction):
    D = 2 if direction == "bidirectional" else 1
    ins = _inputs("GRU", D=D, init=True)
    check_op("GRU", *ins, opset=14, peer=True, rtol=1e-5, atol=1e-5, outputs=OUTS["GRU"],
             direction=direction, linear_before_reset=lbr, hidden_size=6)


def test_lstm_peepholes_input_forget_clip():
    ins = _inputs("LSTM", D=2, init=True, peep=True)
    for a in ins[:3]:
        a *= 3      # saturate so that clip matters
    check_op("LSTM", *ins, opset=14, peer=True, rtol=1e-5, atol=1e-5, outputs=OUTS["LSTM"],
             direction="bidirectional", input_forget=1, clip=1.5, hidden_size=6)


def test_lstm_peepholes_and_lens():
    ins = _inputs("LSTM", D=1, lens=[1, 5, 3], init=True, peep=True)
    check_op("LSTM", *ins, opset=14, peer=True, rtol=1e-5, atol=1e-5, outputs=OUTS["LSTM"],
             direction="reverse", hidden_size=6)


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
    check_op(op, *ins, peer=True, rtol=1e-5, atol=1e-5, outputs=OUTS[op], opset=14,
             hidden_size=6, **attrs)


@pytest.mark.parametrize("op", ["RNN", "GRU", "LSTM"])
def test_clip(op):
    ins = _inputs(op, D=1)
    for a in ins[:3]:
        a *= 3
    check_op(op, *ins, opset=14, peer=True, rtol=1e-5, atol=1e-5, outputs=OUTS[op], clip=0.7,
             hidden_size=6)


@pytest.mark.parametrize("op", ["RNN", "GRU", "LSTM"])
def test_float16_keeps_dtype_and_computes_in_float32(op):
    ins16 = _cast(_inputs(op, D=2, init=True), np.float16)
    got = run_op(op, *ins16, opset=14, outputs=OUTS[op], direction="bidirectional", hidden_size=6)
    ref = run_op(op, *_cast(ins16, np.float64), opset=14, outputs=OUTS[op],
                 direction="bidirectional", hidden_size=6)
    for g, r in zip(got, ref, strict=True):
        assert g.dtype == np.float16
        # float32 compute: only the final rounding to float16 remains
        np.testing.assert_allclose(g.astype(np.float64), r, rtol=1e-3, atol=1e-3)


def test_float64_matches_onnxruntime_float32():
    # onnxruntime has no float64 LSTM: its float32 result bounds ours to float32 accuracy.
    ins = _inputs("LSTM", D=2, dtype=np.float64, init=True, peep=True)
    got = run_op("LSTM", *ins, opset=14, outputs=OUTS["LSTM"], direction="bidirectional",
                 hidden_size=6)
    want = run_op_peer("LSTM", *_cast(ins, np.float32), outputs=OUTS["LSTM"], opset=14,
                       hidden_size=6, direction="bidirectional")
    for g, w in zip(got, want, strict=True):
        assert g.dtype == np.float64
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("op,opset", [("RNN", 7), ("GRU", 7), ("LSTM", 7), ("GRU", 3),
                                      ("RNN", 22), ("GRU", 22), ("LSTM", 22)])
def test_other_opsets(op, opset):
    ins = _inputs(op, D=1, lens=[5, 4, 2], init=True)
    attrs = {"linear_before_reset": 1} if op == "GRU" else {}
    got = run_op(op, *ins, outputs=OUTS[op], opset=opset, hidden_size=6, **attrs)
    want = run_op_peer(op, *ins, outputs=OUTS[op], opset=14, hidden_size=6, **attrs)
    assert_outputs(got, want, rtol=1e-5, atol=1e-5)


def test_only_y_h_requested_and_bad_direction():
    ins = _inputs("GRU")
    (yh,) = run_op("GRU", *ins, outputs=["", "Y_h"], opset=14, hidden_size=6)
    assert yh.shape == (1, 3, 6)
    with pytest.raises(KernelError, match="GRU: unknown direction 'sideways'"):
        run_op("GRU", *ins, outputs=OUTS["GRU"], opset=14, hidden_size=6, direction="sideways")


@pytest.mark.parametrize("op,opset", [("RNN", 1), ("GRU", 1), ("GRU", 3), ("LSTM", 1)])
def test_opset1_forms_accept_output_sequence_and_reject_layout(op, opset):
    ins = _inputs(op, D=1, init=True)
    got = run_op(op, *ins, opset=opset, outputs=OUTS[op], output_sequence=1, hidden_size=6)
    want = run_op_peer(op, *ins, outputs=OUTS[op], opset=14, hidden_size=6)
    assert_outputs(got, want, rtol=1e-5, atol=1e-5)
    with pytest.raises(ModelLoadError,
                       match=rf"{op} node .* \(opset {opset}\) has attribute\(s\) \['layout'\]"):
        run_op(op, *ins, opset=opset, outputs=OUTS[op], layout=0, hidden_size=6)
