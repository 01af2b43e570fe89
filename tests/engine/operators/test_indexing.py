"""Gather / scatter kernels through InferenceSession (indexing.py).

The ONNX backend node cases run separately (scripts/conformance.py); these cover what they
miss: negative and out-of-range indices, duplicate indices under every reduction, batch_dims,
older opsets and TensorScatter modes.
"""

from __future__ import annotations

import numpy as np
import pytest

from builders import run_op
from ai_engine.errors import EngineError

rng = np.random.default_rng(0)


# --------------------------------------------------------------------------- Gather

@pytest.mark.parametrize("idx_dtype", [np.int32, np.int64])
def test_gather_negative_and_scalar_indices(idx_dtype):
    data = rng.standard_normal((4, 5, 3)).astype(np.float32)
    idx = np.array([[-1, 0], [2, -5]], dtype=idx_dtype)
    got = run_op("Gather", data, idx, opset=18, axis=1)[0]
    np.testing.assert_array_equal(got, np.take(data, idx.astype(np.int64) % 5, axis=1))
    scalar = run_op("Gather", data, np.array(-2, dtype=idx_dtype), opset=18, axis=0)[0]
    np.testing.assert_array_equal(scalar, data[-2])


@pytest.mark.parametrize("bad", [5, -6])
def test_gather_out_of_range_names_index_and_bound(bad):
    data = np.arange(10, dtype=np.float32).reshape(2, 5)
    with pytest.raises(EngineError, match=rf"index {bad} is out of range.*size 5"):
        run_op("Gather", data, np.array([0, bad], dtype=np.int64), opset=18, axis=1)


def test_gather_elements_smaller_indices_and_negative():
    data = rng.standard_normal((3, 4)).astype(np.float32)
    idx = np.array([[-1, 0, 1], [2, -4, 3]], dtype=np.int64)  # smaller than data off the axis
    got = run_op("GatherElements", data, idx, opset=18, axis=1)[0]
    np.testing.assert_array_equal(got, np.take_along_axis(data[:2, :], idx % 4, axis=1))
    with pytest.raises(EngineError, match="index 4 is out of range"):
        run_op("GatherElements", data, np.array([[4]], dtype=np.int64), opset=18, axis=1)


def test_gather_nd_batch_dims_against_loop():
    data = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    idx = rng.integers(-4, 4, size=(2, 3, 6, 1)).astype(np.int64)
    got = run_op("GatherND", data, idx, opset=18, batch_dims=2)[0]
    want = np.stack([np.stack([data[a, b][idx[a, b, :, 0]] for b in range(3)]) for a in range(2)])
    np.testing.assert_array_equal(got, want)
    with pytest.raises(EngineError, match=r"index 4 is out of range.*data axis 2"):
        run_op("GatherND", data, np.full((2, 3, 1, 1), 4, np.int64), opset=18, batch_dims=2)


def test_gather_nd_opset11_full_index():
    data = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    idx = np.array([[0, 2, 3], [-1, -1, -1]], dtype=np.int64)
    np.testing.assert_array_equal(run_op("GatherND", data, idx, opset=11)[0], [11, 23])


# --------------------------------------------------------------------------- ScatterND

@pytest.mark.parametrize("reduction,ufunc", [("add", np.add), ("mul", np.multiply),
                                             ("max", np.maximum), ("min", np.minimum)])
def test_scatter_nd_duplicate_indices_reduce(reduction, ufunc):
    data = rng.standard_normal((5, 3)).astype(np.float32)
    idx = np.array([[1], [3], [1], [-1], [1]], dtype=np.int64)
    upd = rng.standard_normal((5, 3)).astype(np.float32)
    got = run_op("ScatterND", data, idx, upd, opset=18, reduction=reduction)[0]
    want = data.copy()
    ufunc.at(want, idx[:, 0] % 5, upd)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert not np.shares_memory(got, data)


def test_scatter_nd_element_indices_and_errors():
    data = np.zeros((2, 3), dtype=np.int64)
    idx = np.array([[0, 2], [1, -3]], dtype=np.int64)
    got = run_op("ScatterND", data, idx, np.array([7, 9]), opset=11)[0]
    np.testing.assert_array_equal(got, [[0, 0, 7], [9, 0, 0]])
    with pytest.raises(EngineError, match=r"index 3 is out of range.*data axis 1"):
        run_op("ScatterND", data, np.array([[0, 3]]), np.array([1]), opset=18)
    with pytest.raises(EngineError, match="unsupported reduction"):
        run_op("ScatterND", data, idx, np.array([7, 9]), opset=16, reduction="max")


# --------------------------------------------------------------------------- ScatterElements

@pytest.mark.parametrize("reduction,ufunc", [("add", np.add), ("mul", np.multiply),
                                             ("max", np.maximum), ("min", np.minimum)])
def test_scatter_elements_duplicates_negative_int32(reduction, ufunc):
    data = rng.integers(-5, 5, size=(3, 4)).astype(np.int32)
    idx = np.array([[0, -1, 0], [3, 3, -4]], dtype=np.int32)
    upd = rng.integers(-5, 5, size=(2, 3)).astype(np.int32)
    got = run_op("ScatterElements", data, idx, upd, opset=18, axis=1, reduction=reduction)[0]
    want = data.copy()
    rows = np.array([[0], [1]]).repeat(3, axis=1)
    ufunc.at(want, (rows, idx % 4), upd)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, want)


def test_scatter_elements_out_of_range_and_opset10_scatter():
    data = np.zeros((2, 2), dtype=np.float32)
    with pytest.raises(EngineError, match=r"index -3 is out of range.*size 2"):
        run_op("ScatterElements", data, np.array([[-3]]), np.ones((1, 1), np.float32), opset=18)
    got = run_op("Scatter", data, np.array([[1, 0]]), np.array([[5, 6]], np.float32), opset=10,
                 axis=0)[0]
    np.testing.assert_array_equal(got, [[0, 6], [5, 0]])


# --------------------------------------------------------------------------- TensorScatter

def _tensor_scatter_ref(past, upd, wi, axis, circular):
    out = past.copy()
    axis %= past.ndim
    for prefix in np.ndindex(past.shape[:axis]):
        for s in range(upd.shape[axis]):
            t = wi[prefix[0]] + s
            out[(*prefix, t % past.shape[axis] if circular else t)] = upd[(*prefix, s)]
    return out


@pytest.mark.parametrize("axis,mode", [(-2, "linear"), (1, "circular"), (2, "circular")])
def test_tensor_scatter_modes(axis, mode):
    past = rng.standard_normal((2, 3, 6, 4)).astype(np.float32)
    ushape = list(past.shape)
    ushape[axis] = 3
    upd = rng.standard_normal(ushape).astype(np.float32)
    wi = np.array([1, 3] if mode == "linear" else [2, 5], dtype=np.int64)
    got = run_op("TensorScatter", past, upd, wi, opset=24, axis=axis, mode=mode)[0]
    np.testing.assert_array_equal(got, _tensor_scatter_ref(past, upd, wi, axis, mode == "circular"))


def test_tensor_scatter_default_write_index_and_overflow():
    past = np.zeros((2, 5, 2), dtype=np.float16)
    upd = np.ones((2, 2, 2), dtype=np.float16)
    got = run_op("TensorScatter", past, upd, opset=24, axis=1)[0]
    np.testing.assert_array_equal(got[:, :2], 1)
    np.testing.assert_array_equal(got[:, 2:], 0)
    with pytest.raises(EngineError, match="exceeds max_sequence_length 5"):
        run_op("TensorScatter", past, upd, np.array([0, 4]), opset=24, axis=1)
