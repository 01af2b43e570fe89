"""MatMul, Gemm, Einsum and Det kernels (linalg.py) through InferenceSession, against NumPy
formulas and onnxruntime."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from ai_engine import InferenceSession
from builders import const, one_node_model, run_op, run_op_peer
from ai_engine.errors import EngineError

rng = np.random.default_rng(3)


def _r(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


# --------------------------------------------------------------------------- MatMul

@pytest.mark.parametrize("sa,sb", [
    ((3,), (3,)), ((3,), (2, 3, 4)), ((2, 3, 4), (4,)), ((5, 3), (3, 4)),
    ((2, 1, 5, 3), (4, 3, 2)), ((1, 5, 3), (6, 3, 2)), ((2, 3, 0), (0, 4)),
])
def test_matmul_shapes(sa, sb):
    a, b = _r(*sa), _r(*sb)
    got = run_op("MatMul", a, b, opset=13)[0]
    assert got.dtype == np.float32 and got.shape == np.matmul(a, b).shape
    np.testing.assert_allclose(got, np.matmul(a, b), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float16, np.float64, np.int32, np.int64, np.uint32])
def test_matmul_dtypes_match_onnxruntime(dtype):
    a = rng.integers(-3, 4, size=(2, 3, 5)).astype(dtype) if dtype != np.uint32 else \
        rng.integers(0, 4, size=(2, 3, 5)).astype(dtype)
    b = a.swapaxes(1, 2).copy()
    got = run_op("MatMul", a, b, opset=13)[0]
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, run_op_peer("MatMul", a, b, opset=13)[0])


def test_matmul_bfloat16_rounds_once_from_float32():
    a = _r(4, 8).astype(ml_dtypes.bfloat16)
    b = _r(8, 3).astype(ml_dtypes.bfloat16)
    got = run_op("MatMul", a, b, opset=13)[0]
    assert got.dtype == ml_dtypes.bfloat16
    want = (a.astype(np.float32) @ b.astype(np.float32)).astype(ml_dtypes.bfloat16)
    np.testing.assert_array_equal(got.astype(np.float32), want.astype(np.float32))


def test_matmul_rejects_mismatched_inner_dims():
    with pytest.raises(EngineError):
        run_op("MatMul", _r(2, 3), _r(4, 2), opset=13)


# --------------------------------------------------------------------------- Gemm

@pytest.mark.parametrize("trans_a", [0, 1])
@pytest.mark.parametrize("trans_b", [0, 1])
@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (0.5, 1.0), (1.0, -2.0), (2.0, 0.0)])
@pytest.mark.parametrize("c_shape", [None, (), (1,), (4,), (1, 4), (3, 1), (3, 4)])
def test_gemm_against_numpy(trans_a, trans_b, alpha, beta, c_shape):
    a = _r(5, 3) if trans_a else _r(3, 5)
    b = _r(4, 5) if trans_b else _r(5, 4)
    feeds = {"a": a, "b": b}
    c = None
    if c_shape is not None:
        c = _r(*c_shape)
        feeds["c"] = c
    c_before = None if c is None else c.copy()
    got = run_op("Gemm", *feeds.values(), opset=13, alpha=alpha, beta=beta, transA=trans_a,
                 transB=trans_b)[0]
    want = alpha * ((a.T if trans_a else a) @ (b.T if trans_b else b))
    if c is not None:
        want = want + beta * c
    assert got.dtype == np.float32 and got.shape == (3, 4)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    if c is not None:  # the in-place bias add must write into the product, never into C
        np.testing.assert_array_equal(c, c_before)


def test_gemm_bias_initializer_is_not_modified_across_runs():
    a, b = _r(2, 3), _r(3, 4)
    c = _r(4)
    model, feeds = one_node_model("Gemm", a, b, const(c), opset=13)
    sess = InferenceSession(model)
    first = sess.run(None, feeds)[0]
    second = sess.run(None, feeds)[0]
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, a @ b + c, rtol=1e-5, atol=1e-6)


def test_gemm_opset6_broadcast_attribute():
    a, b, c = _r(3, 5), _r(5, 4), _r(4)
    got = run_op("Gemm", a, b, c, opset=6, broadcast=1)[0]
    np.testing.assert_allclose(got, a @ b + c, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float16, np.float64, np.int32, np.int64, np.uint64])
@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (2.0, 3.0)])
def test_gemm_dtypes(dtype, alpha, beta):
    a = rng.integers(0, 4, size=(3, 5)).astype(dtype)
    b = rng.integers(0, 4, size=(4, 5)).astype(dtype)
    c = rng.integers(0, 4, size=(4,)).astype(dtype)
    feeds = {"a": a, "b": b, "c": c}
    got = run_op("Gemm", *feeds.values(), opset=13, transB=1, alpha=alpha, beta=beta)[0]
    assert got.dtype == dtype
    want = alpha * (a.astype(np.int64) @ b.T.astype(np.int64)) + beta * c.astype(np.int64)
    np.testing.assert_array_equal(got, want.astype(dtype))
    if dtype in (np.float16, np.float64):  # onnxruntime has no integer Gemm
        np.testing.assert_array_equal(
            got, run_op_peer("Gemm", *feeds.values(), opset=13, transB=1, alpha=alpha,
                             beta=beta)[0])


def test_gemm_rejects_bad_bias():
    with pytest.raises(EngineError):
        run_op("Gemm", _r(3, 5), _r(5, 4), _r(2, 4), opset=13)


# --------------------------------------------------------------------------- Einsum

@pytest.mark.parametrize("equation,shapes", [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 8), (2, 3, 5, 8)]),
    ("ii->i", [(4, 4)]),
    ("ii", [(4, 4)]),
    ("ij->", [(3, 4)]),
    ("i,i", [(5,), (5,)]),
    ("ij", [(3, 4)]),
    ("ji", [(3, 4)]),
    ("...ij->...ji", [(2, 3, 4)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("ab,bc,cd->ad", [(2, 3), (3, 4), (4, 5)]),
    (" i j , j k -> i k ", [(3, 4), (4, 5)]),
    ("Ab,bc", [(3, 4), (4, 5)]),
    ("i,j->ij", [(3,), (4,)]),
    ("...,...->...", [(), ()]),
])
def test_einsum_against_numpy(equation, shapes):
    ops = [_r(*s) for s in shapes]
    feeds = {f"x{i}": x for i, x in enumerate(ops)}
    got = run_op("Einsum", *feeds.values(), opset=12, equation=equation)[0]
    want = np.einsum(equation.replace(" ", ""), *[x.astype(np.float64) for x in ops])
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_einsum_implicit_output_orders_upper_case_first():
    x = _r(2, 3)
    # Implicit output: letters seen once in ASCII order, "B" < "a", so the result is x.T.
    got = run_op("Einsum", x, opset=12, equation="aB")[0]
    np.testing.assert_array_equal(got, x.T)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.float16, np.float64])
def test_einsum_keeps_dtype(dtype):
    a = rng.integers(-3, 4, size=(2, 3)).astype(dtype)
    b = rng.integers(-3, 4, size=(3, 4)).astype(dtype)
    got = run_op("Einsum", a, b, opset=12, equation="ij,jk->ik")[0]
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, (a.astype(np.int64) @ b.astype(np.int64)).astype(dtype))


@pytest.mark.parametrize("equation,shapes", [
    ("ij,jk->ik", [(3, 4)]),             # fewer operands than terms
    ("ij->ik", [(3, 4)]),                # output index not in the inputs
    ("ijk->i", [(3, 4)]),                # rank mismatch
    ("i1->i", [(3, 4)]),                 # invalid character
    ("ij,jk->ik", [(3, 4), (5, 2)]),     # inconsistent sizes for j
    ("ij->ii", [(3, 4)]),                # repeated output index
    ("ij->i->j", [(3, 4)]),              # two arrows
])
def test_einsum_rejects_bad_equations(equation, shapes):
    feeds = {f"x{i}": _r(*s) for i, s in enumerate(shapes)}
    with pytest.raises(EngineError):
        run_op("Einsum", *feeds.values(), opset=12, equation=equation)


# --------------------------------------------------------------------------- Det

@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (2, 1, 2, 2), (1, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_det(shape, dtype):
    x = _r(*shape, dtype=dtype)
    got = run_op("Det", x, opset=11)[0]
    assert got.dtype == dtype and got.shape == shape[:-2]
    np.testing.assert_allclose(got.astype(np.float64), np.linalg.det(x.astype(np.float64)),
                               rtol=2e-3 if dtype == np.float16 else 1e-5, atol=1e-3)


def test_det_rejects_non_square():
    with pytest.raises(EngineError):
        run_op("Det", _r(2, 3), opset=11)
