"""Loss kernels through InferenceSession (losses.py).

The ONNX backend node cases (scripts/conformance.py) cover float32 with int64 targets; these
add float16/float64/bfloat16 inputs, int32 targets, ignored elements whose log-probability is
-inf (must not turn the loss into NaN), extreme logits, invalid targets, and an onnxruntime
cross-check.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from onnx import TensorProto, helper

from ai_engine import InferenceSession
from ai_engine.errors import KernelError

rng = np.random.default_rng(0)
BF16 = np.dtype(ml_dtypes.bfloat16)


def _model(op, inputs, n_out, opset, out_type=TensorProto.UNDEFINED, **attrs):
    names = [f"x{i}" if a is not None else "" for i, a in enumerate(inputs)]
    outs = [f"y{i}" for i in range(n_out)]
    node = helper.make_node(op, names, outs, **attrs)
    vi = [helper.make_tensor_value_info(
        n, TensorProto.BFLOAT16 if a.dtype == BF16 else helper.np_dtype_to_tensor_dtype(a.dtype),
        a.shape) for n, a in zip(names, inputs) if n]
    graph = helper.make_graph([node], op, vi, [
        helper.make_tensor_value_info(o, out_type, None) for o in outs])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def run(op, *inputs, n_out=1, opset=22, **attrs):
    feeds = {f"x{i}": a for i, a in enumerate(inputs) if a is not None}
    return InferenceSession(_model(op, inputs, n_out, opset, **attrs)).run(None, feeds)


def ref_nll(logp, target, weight=None, ignore_index=None, reduction="mean"):
    """Element-by-element NLL in float64 (N, C, d...) -> loss."""
    n, c = logp.shape[:2]
    lp = logp.reshape(n, c, -1).astype(np.float64)
    t = target.reshape(n, -1)
    loss = np.zeros(t.shape)
    wsum = 0.0
    for i in range(n):
        for d in range(t.shape[1]):
            if ignore_index is not None and t[i, d] == ignore_index:
                continue
            w = 1.0 if weight is None else float(weight[t[i, d]])
            loss[i, d] = -lp[i, t[i, d], d] * w
            wsum += w
    if reduction == "none":
        return loss.reshape(target.shape)
    return loss.sum() if reduction == "sum" else loss.sum() / wsum


def _log_softmax(x):
    x = x.astype(np.float64)
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("dtype", [np.float16, np.float64, BF16])
def test_nll_dtypes_weights_ignore_index(reduction, dtype):
    x = rng.standard_normal((4, 5, 3)).astype(dtype)
    t = rng.integers(0, 5, (4, 3)).astype(np.int32)
    t[0, 0] = t[2, 1] = 3
    w = rng.random(5).astype(dtype)
    got, = run("NegativeLogLikelihoodLoss", x, t, w, reduction=reduction, ignore_index=3)
    want = ref_nll(x, t, w.astype(np.float64), 3, reduction)
    assert got.dtype == dtype and got.shape == np.shape(want)
    tol = {np.float64: 1e-12}.get(dtype, 1e-2)
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=tol, atol=tol)


def test_nll_ignored_minus_inf_stays_finite_and_mean_counts_only_kept():
    with np.errstate(divide="ignore"):
        x = np.log(np.array([[0.5, 0.5, 0.0], [0.2, 0.0, 0.8]], dtype=np.float32))  # -inf
    t = np.array([2, 0], dtype=np.int64)
    t_ignored = np.array([-1, 0], dtype=np.int64)
    got, = run("NegativeLogLikelihoodLoss", x, t_ignored, ignore_index=-1)
    np.testing.assert_allclose(got, -np.log(np.float32(0.2)), rtol=1e-6)
    none, = run("NegativeLogLikelihoodLoss", x, t, reduction="none", ignore_index=2)
    np.testing.assert_array_equal(none, np.array([0, -x[1, 0]], dtype=np.float32))


def test_nll_rejects_out_of_range_target():
    x = rng.standard_normal((2, 3)).astype(np.float32)
    with pytest.raises(KernelError, match=r"target values must lie in \[0, 3\)"):
        run("NegativeLogLikelihoodLoss", x, np.array([0, 3], dtype=np.int64))


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_sce_with_log_prob(reduction, dtype):
    x = (rng.standard_normal((3, 6, 2, 2)) * 4).astype(dtype)
    t = rng.integers(0, 6, (3, 2, 2)).astype(np.int64)
    t[1, 0, 1] = 0
    w = rng.random(6).astype(dtype)
    loss, log_prob = run("SoftmaxCrossEntropyLoss", x, t, w, n_out=2, opset=13,
                         reduction=reduction, ignore_index=0)
    lp = _log_softmax(x)
    tol = {np.float64: 1e-12, np.float32: 1e-5}.get(dtype, 5e-3)
    assert loss.dtype == dtype and log_prob.dtype == dtype and log_prob.shape == x.shape
    np.testing.assert_allclose(log_prob.astype(np.float64), lp, rtol=tol, atol=tol)
    want = ref_nll(lp, t, w.astype(np.float64), 0, reduction)
    np.testing.assert_allclose(loss.astype(np.float64), want, rtol=tol, atol=tol)


def test_sce_extreme_logits_are_stable():
    x = np.array([[1000.0, -1000.0, 0.0], [-1e4, 1e4, 3.0]], dtype=np.float32)
    loss, = run("SoftmaxCrossEntropyLoss", x, np.array([0, 1]), opset=13, reduction="none")
    np.testing.assert_allclose(loss, [0.0, 0.0], atol=1e-6)
    loss, = run("SoftmaxCrossEntropyLoss", x, np.array([1, 2]), opset=13, reduction="none")
    np.testing.assert_allclose(loss, [2000.0, 1e4 - 3.0], rtol=1e-6)


def test_losses_match_onnxruntime():
    ort = pytest.importorskip("onnxruntime")
    x = rng.standard_normal((4, 5, 3)).astype(np.float32)
    t = rng.integers(0, 5, (4, 3)).astype(np.int64)
    w = rng.random(5).astype(np.float32)
    for op, opset, n_out in [("NegativeLogLikelihoodLoss", 13, 1),
                             ("SoftmaxCrossEntropyLoss", 13, 2)]:
        model = _model(op, [x, t, w], n_out, opset, TensorProto.FLOAT, reduction="mean",
                       ignore_index=1)
        feeds = {"x0": x, "x1": t, "x2": w}
        want = ort.InferenceSession(model.SerializeToString(),
                                    providers=["CPUExecutionProvider"]).run(None, feeds)
        got = InferenceSession(model).run(None, feeds)
        for g, r in zip(got, want, strict=True):
            np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-6, err_msg=op)
