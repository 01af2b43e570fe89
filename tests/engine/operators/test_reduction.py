"""Reduce* kernels (reduction.py) through InferenceSession, against NumPy formulas and
onnxruntime: axes as attribute and as input, keepdims, noop_with_empty_axes, empty-set
identities, integer/bool dtypes and numerically delicate cases."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from builders import const, run_op, run_op_peer
from ai_engine.errors import EngineError

rng = np.random.default_rng(7)


def _with_axes(op, x, axes, opset, attrs):
    """``x`` and ``axes`` as ``opset`` wants them: axes as a constant input from opset 18
    (ReduceSum: 13), as an attribute before."""
    if axes is None:
        return [x], attrs
    if opset >= 18 or (op == "ReduceSum" and opset >= 13):
        return [x, const(np.asarray(axes, np.int64))], attrs
    return [x], {**attrs, "axes": list(axes)}


def run(op, x, axes=None, opset=18, **attrs):
    """Reduce ``x`` with ai-engine."""
    inputs, attrs = _with_axes(op, x, axes, opset, attrs)
    return run_op(op, *inputs, opset=opset, **attrs)[0]


def run_ort(op, x, axes=None, opset=18, **attrs):
    inputs, attrs = _with_axes(op, x, axes, opset, attrs)
    return run_op_peer(op, *inputs, opset=opset, **attrs)[0]


def _np_reduce(op, x, axes, keepdims):
    ax = None if axes is None else tuple(axes)
    x64 = x.astype(np.float64)
    f = {
        "ReduceSum": lambda: np.sum(x64, axis=ax, keepdims=keepdims),
        "ReduceMean": lambda: np.mean(x64, axis=ax, keepdims=keepdims),
        "ReduceMax": lambda: np.max(x64, axis=ax, keepdims=keepdims),
        "ReduceMin": lambda: np.min(x64, axis=ax, keepdims=keepdims),
        "ReduceProd": lambda: np.prod(x64, axis=ax, keepdims=keepdims),
        "ReduceL1": lambda: np.sum(np.abs(x64), axis=ax, keepdims=keepdims),
        "ReduceL2": lambda: np.sqrt(np.sum(x64 * x64, axis=ax, keepdims=keepdims)),
        "ReduceSumSquare": lambda: np.sum(x64 * x64, axis=ax, keepdims=keepdims),
        "ReduceLogSum": lambda: np.log(np.sum(x64, axis=ax, keepdims=keepdims)),
        "ReduceLogSumExp": lambda: np.log(np.sum(np.exp(x64), axis=ax, keepdims=keepdims)),
    }[op]
    return f()


ALL = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
       "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp"]


@pytest.mark.parametrize("op", ALL)
@pytest.mark.parametrize("opset", [11, 13, 18])
@pytest.mark.parametrize("axes,keepdims", [(None, 1), ([1], 0), ([-1, 0], 1), ([2, 0], 0)])
def test_float32_against_numpy(op, opset, axes, keepdims):
    x = rng.uniform(0.5, 1.5, size=(3, 4, 5)).astype(np.float32)
    got = run(op, x, axes, opset=opset, keepdims=keepdims)
    want = _np_reduce(op, x, None if axes is None else [a % 3 for a in axes], bool(keepdims))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd",
                                "ReduceL1", "ReduceSumSquare", "ReduceMean"])
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.float16, np.float64])
def test_dtypes_match_onnxruntime(op, dtype):
    x = rng.integers(-3, 4, size=(2, 3, 4)).astype(dtype)
    got = run(op, x, [1], opset=18, keepdims=0)
    want = run_ort(op, x, [1], opset=18, keepdims=0)
    assert got.dtype == want.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=1e-3)


def test_int32_sum_keeps_int32_exactly():
    # Beyond float32's 24-bit mantissa, so an accumulation through floats would show.
    x = np.array([2 ** 29 + 1, 2 ** 29 + 1, 3], np.int32)
    got = run("ReduceSum", x, [0], keepdims=0)
    assert got.dtype == np.int32 and got == 2 ** 30 + 5


def test_float16_sum_accumulates_in_float32():
    # A sequential float16 accumulator stalls at 2048 (2048 + 1 rounds back to 2048).
    x = np.ones((3000, 2), np.float16)
    got = run("ReduceSum", x, [0], keepdims=0)
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, [3000, 3000])


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceProd",
                                "ReduceL2", "ReduceLogSumExp"])
def test_bfloat16_is_computed_in_float32_and_rounded_once(op):
    x = rng.uniform(0.5, 1.5, size=(4, 6)).astype(ml_dtypes.bfloat16)
    got = run(op, x, [1], keepdims=0)
    assert got.dtype == ml_dtypes.bfloat16
    want = _np_reduce(op, x.astype(np.float32), [1], False).astype(ml_dtypes.bfloat16)
    np.testing.assert_array_equal(got.astype(np.float32), want.astype(np.float32))


@pytest.mark.parametrize("op", ["ReduceMax", "ReduceMin"])
def test_bool_max_min_opset20(op):
    x = np.array([[True, False], [False, False]])
    got = run(op, x, [1], opset=20, keepdims=0)
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got, [True, False] if op == "ReduceMax" else [False, False])


@pytest.mark.parametrize("op,dtype,want", [
    ("ReduceSum", np.float32, 0.0), ("ReduceProd", np.float32, 1.0),
    ("ReduceL1", np.float32, 0.0), ("ReduceL2", np.float32, 0.0),
    ("ReduceSumSquare", np.float32, 0.0), ("ReduceLogSum", np.float32, -np.inf),
    ("ReduceLogSumExp", np.float32, -np.inf), ("ReduceMax", np.float32, -np.inf),
    ("ReduceMin", np.float32, np.inf), ("ReduceMax", np.int32, np.iinfo(np.int32).min),
    ("ReduceMin", np.uint8, 255), ("ReduceMax", np.bool_, False), ("ReduceMin", np.bool_, True),
    ("ReduceProd", np.int64, 1),
])
def test_empty_set_gives_identity(op, dtype, want):
    x = np.zeros((2, 0, 3), dtype)
    got = run(op, x, [1], opset=20 if dtype == np.bool_ else 18, keepdims=1)
    assert got.shape == (2, 1, 3) and got.dtype == dtype
    np.testing.assert_array_equal(got, np.full((2, 1, 3), want, dtype))


def test_empty_non_reduced_axis_gives_empty_output():
    x = np.zeros((2, 0, 4), np.float32)
    assert run("ReduceMax", x, [2], keepdims=0).shape == (2, 0)


@pytest.mark.parametrize("op,fn", [
    ("ReduceSum", lambda x: x), ("ReduceMax", lambda x: x), ("ReduceMean", lambda x: x),
    ("ReduceSumSquare", np.square), ("ReduceL1", np.abs), ("ReduceL2", np.abs),
    ("ReduceLogSum", np.log), ("ReduceLogSumExp", lambda x: x),
])
@pytest.mark.parametrize("how", ["omitted", "empty"])
def test_noop_with_empty_axes_keeps_the_elementwise_step(op, fn, how):
    x = rng.uniform(0.5, 2.0, size=(2, 3)).astype(np.float32)
    axes = None if how == "omitted" else np.zeros((0,), np.int64)
    got = run(op, x, axes, opset=18, noop_with_empty_axes=1)
    np.testing.assert_allclose(got, fn(x), rtol=1e-6)


def test_empty_axes_input_without_noop_reduces_everything():
    x = rng.standard_normal((2, 3)).astype(np.float32)
    got = run("ReduceSum", x, np.zeros((0,), np.int64), opset=13, keepdims=0)
    np.testing.assert_allclose(got, x.sum(), rtol=1e-5)


def test_log_sum_exp_is_stable_and_handles_infinities():
    x = np.array([[1000.0, 1000.0], [-np.inf, -np.inf], [np.inf, 0.0], [-np.inf, 1.0]],
                 np.float32)
    got = run("ReduceLogSumExp", x, [1], keepdims=0)
    np.testing.assert_allclose(got, [1000 + np.log(2), -np.inf, np.inf, 1.0], rtol=1e-6)


def test_rank0_input():
    x = np.array(3.0, np.float32)
    assert run("ReduceSum", x, None, opset=13, keepdims=1) == 3.0


@pytest.mark.parametrize("axes", [[3], [0, 0], [-4]])
def test_bad_axes_raise(axes):
    x = np.zeros((2, 3, 4), np.float32)
    with pytest.raises(EngineError):
        run("ReduceMean", x, axes, opset=18)
