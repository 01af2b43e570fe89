"""Gather / scatter kernels through InferenceSession (indexing.py).

The ONNX backend node cases run separately (scripts/conformance.py); these cover what they
miss: negative and out-of-range indices, duplicate indices under every reduction, batch_dims,
older opsets and TensorScatter modes.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from ai_engine import InferenceSession
from ai_engine.errors import EngineError

rng = np.random.default_rng(0)


def _type(a: np.ndarray) -> int:
    return helper.np_dtype_to_tensor_dtype(a.dtype)


def run(op, feeds: dict, outputs=("y",), opset=18, **attrs):
    """Run a one-node model over ``feeds`` (an ordered dict name -> array; "" skips an input)."""
    names = list(feeds)
    node = helper.make_node(op, names, list(outputs), **attrs)
    graph = helper.make_graph(
        [node], op,
        [helper.make_tensor_value_info(n, _type(a), a.shape) for n, a in feeds.items() if n],
        [helper.make_tensor_value_info(o, TensorProto.UNDEFINED, None) for o in outputs])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    res = InferenceSession(model).run(None, {n: a for n, a in feeds.items() if n})
    return res if len(outputs) > 1 else res[0]


# --------------------------------------------------------------------------- Gather

@pytest.mark.parametrize("idx_dtype", [np.int32, np.int64])
def test_gather_negative_and_scalar_indices(idx_dtype):
    data = rng.standard_normal((4, 5, 3)).astype(np.float32)
    idx = np.array([[-1, 0], [2, -5]], dtype=idx_dtype)
    got = run("Gather", {"x": data, "i": idx}, axis=1)
    np.testing.assert_array_equal(got, np.take(data, idx.astype(np.int64) % 5, axis=1))
    scalar = run("Gather", {"x": data, "i": np.array(-2, dtype=idx_dtype)}, axis=0)
    np.testing.assert_array_equal(scalar, data[-2])


@pytest.mark.parametrize("bad", [5, -6])
def test_gather_out_of_range_names_index_and_bound(bad):
    data = np.arange(10, dtype=np.float32).reshape(2, 5)
    with pytest.raises(EngineError, match=rf"index {bad} is out of range.*size 5"):
        run("Gather", {"x": data, "i": np.array([0, bad], dtype=np.int64)}, axis=1)


def test_gather_elements_smaller_indices_and_negative():
    data = rng.standard_normal((3, 4)).astype(np.float32)
    idx = np.array([[-1, 0, 1], [2, -4, 3]], dtype=np.int64)  # smaller than data off the axis
    got = run("GatherElements", {"x": data, "i": idx}, axis=1)
    np.testing.assert_array_equal(got, np.take_along_axis(data[:2, :], idx % 4, axis=1))
    with pytest.raises(EngineError, match="index 4 is out of range"):
        run("GatherElements", {"x": data, "i": np.array([[4]], dtype=np.int64)}, axis=1)


def test_gather_nd_batch_dims_against_loop():
    data = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    idx = rng.integers(-4, 4, size=(2, 3, 6, 1)).astype(np.int64)
    got = run("GatherND", {"x": data, "i": idx}, batch_dims=2)
    want = np.stack([np.stack([data[a, b][idx[a, b, :, 0]] for b in range(3)]) for a in range(2)])
    np.testing.assert_array_equal(got, want)
    with pytest.raises(EngineError, match=r"index 4 is out of range.*data axis 2"):
        run("GatherND", {"x": data, "i": np.full((2, 3, 1, 1), 4, np.int64)}, batch_dims=2)


def test_gather_nd_opset11_full_index():
    data = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    idx = np.array([[0, 2, 3], [-1, -1, -1]], dtype=np.int64)
    np.testing.assert_array_equal(run("GatherND", {"x": data, "i": idx}, opset=11), [11, 23])


# --------------------------------------------------------------------------- ScatterND

@pytest.mark.parametrize("reduction,ufunc", [("add", np.add), ("mul", np.multiply),
                                             ("max", np.maximum), ("min", np.minimum)])
def test_scatter_nd_duplicate_indices_reduce(reduction, ufunc):
    data = rng.standard_normal((5, 3)).astype(np.float32)
    idx = np.array([[1], [3], [1], [-1], [1]], dtype=np.int64)
    upd = rng.standard_normal((5, 3)).astype(np.float32)
    got = run("ScatterND", {"x": data, "i": idx, "u": upd}, reduction=reduction)
    want = data.copy()
    ufunc.at(want, idx[:, 0] % 5, upd)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert not np.shares_memory(got, data)


def test_scatter_nd_element_indices_and_errors():
    data = np.zeros((2, 3), dtype=np.int64)
    idx = np.array([[0, 2], [1, -3]], dtype=np.int64)
    got = run("ScatterND", {"x": data, "i": idx, "u": np.array([7, 9])}, opset=11)
    np.testing.assert_array_equal(got, [[0, 0, 7], [9, 0, 0]])
    with pytest.raises(EngineError, match=r"index 3 is out of range.*data axis 1"):
        run("ScatterND", {"x": data, "i": np.array([[0, 3]]), "u": np.array([1])})
    with pytest.raises(EngineError, match="unsupported reduction"):
        run("ScatterND", {"x": data, "i": idx, "u": np.array([7, 9])}, opset=16,
            reduction="max")


# --------------------------------------------------------------------------- ScatterElements

@pytest.mark.parametrize("reduction,ufunc", [("add", np.add), ("mul", np.multiply),
                                             ("max", np.maximum), ("min", np.minimum)])
def test_scatter_elements_duplicates_negative_int32(reduction, ufunc):
    data = rng.integers(-5, 5, size=(3, 4)).astype(np.int32)
    idx = np.array([[0, -1, 0], [3, 3, -4]], dtype=np.int32)
    upd = rng.integers(-5, 5, size=(2, 3)).astype(np.int32)
    got = run("ScatterElements", {"x": data, "i": idx, "u": upd}, axis=1, reduction=reduction)
    want = data.copy()
    rows = np.array([[0], [1]]).repeat(3, axis=1)
    ufunc.at(want, (rows, idx % 4), upd)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, want)


def test_scatter_elements_out_of_range_and_opset10_scatter():
    data = np.zeros((2, 2), dtype=np.float32)
    with pytest.raises(EngineError, match=r"index -3 is out of range.*size 2"):
        run("ScatterElements", {"x": data, "i": np.array([[-3]]), "u": np.ones((1, 1), np.float32)})
    got = run("Scatter", {"x": data, "i": np.array([[1, 0]]), "u": np.array([[5, 6]], np.float32)},
              opset=10, axis=0)
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
    got = run("TensorScatter", {"p": past, "u": upd, "w": wi}, opset=24, axis=axis, mode=mode)
    np.testing.assert_array_equal(got, _tensor_scatter_ref(past, upd, wi, axis, mode == "circular"))


def test_tensor_scatter_default_write_index_and_overflow():
    past = np.zeros((2, 5, 2), dtype=np.float16)
    upd = np.ones((2, 2, 2), dtype=np.float16)
    got = run("TensorScatter", {"p": past, "u": upd}, opset=24, axis=1)
    np.testing.assert_array_equal(got[:, :2], 1)
    np.testing.assert_array_equal(got[:, 2:], 0)
    with pytest.raises(EngineError, match="exceeds max_sequence_length 5"):
        run("TensorScatter", {"p": past, "u": upd, "w": np.array([0, 4])}, opset=24, axis=1)
