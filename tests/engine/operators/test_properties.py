"""Property tests: random shapes, axes and attribute values, ai-engine against onnxruntime.

Hypothesis draws the cases the hand-written tests do not think of: broadcasting between ranks,
negative axes, empty reductions, negative slice steps. One assertion each: same dtype, same
shape, same values.
"""

import numpy as np
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ai_engine import InferenceSession
from builders import one_node_model

SETTINGS = settings(max_examples=40, deadline=None)


def _both(op, feeds, opset=18, **attrs):
    model = one_node_model(op, feeds, ["y"], opset, attrs)
    ours = InferenceSession(model).run(None, feeds)[0]
    peer = ort.InferenceSession(model.SerializeToString(),
                                providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    return ours, peer


def _assert_same(ours, peer):
    assert ours.dtype == peer.dtype and ours.shape == peer.shape
    np.testing.assert_allclose(ours, peer, rtol=1e-5, atol=1e-6)


@st.composite
def broadcast_pair(draw):
    rank = draw(st.integers(0, 4))
    shape = draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank))
    other = [d if draw(st.booleans()) else 1 for d in shape]
    other = other[draw(st.integers(0, rank)):]  # a lower rank broadcasts from the right
    if draw(st.booleans()):
        shape, other = other, shape
    return tuple(shape), tuple(other)


@SETTINGS
@given(shapes=broadcast_pair(), op=st.sampled_from(["Add", "Sub", "Mul", "Div", "Max", "Min"]),
       seed=st.integers(0, 2**16))
def test_binary_broadcasting(shapes, op, seed):
    rng = np.random.default_rng(seed)
    a = np.asarray(rng.standard_normal(shapes[0]), np.float32)
    b = np.asarray(rng.standard_normal(shapes[1]) + 3, np.float32)
    _assert_same(*_both(op, {"a": a, "b": b}))


@SETTINGS
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4),
       op=st.sampled_from(["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
                           "ReduceL2", "ReduceLogSumExp"]),
       keepdims=st.integers(0, 1), data=st.data())
def test_reductions(shape, op, keepdims, data):
    rank = len(shape)
    axes = data.draw(st.lists(st.integers(-rank, rank - 1), unique_by=lambda a: a % rank,
                              max_size=rank))
    x = np.random.default_rng(len(axes)).standard_normal(shape).astype(np.float32)
    feeds = {"x": x, "axes": np.array(axes, np.int64)} if axes else {"x": x}
    _assert_same(*_both(op, feeds, keepdims=keepdims))


@SETTINGS
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=4), data=st.data())
def test_slice(shape, data):
    rank = len(shape)
    axes = data.draw(st.lists(st.integers(0, rank - 1), unique=True, min_size=1,
                              max_size=rank))
    starts, ends, steps = [], [], []
    for ax in axes:
        dim = shape[ax]
        starts.append(data.draw(st.integers(-dim - 2, dim + 2)))
        ends.append(data.draw(st.integers(-dim - 2, dim + 2)))
        steps.append(data.draw(st.sampled_from([-2, -1, 1, 2, 3])))
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    feeds = {"x": x, "starts": np.array(starts, np.int64), "ends": np.array(ends, np.int64),
             "axes": np.array(axes, np.int64), "steps": np.array(steps, np.int64)}
    _assert_same(*_both("Slice", feeds))


@SETTINGS
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=5), data=st.data())
def test_transpose_and_softmax(shape, data):
    perm = data.draw(st.permutations(range(len(shape))))
    x = np.random.default_rng(len(shape)).standard_normal(shape).astype(np.float32)
    _assert_same(*_both("Transpose", {"x": x}, perm=list(perm)))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    _assert_same(*_both("Softmax", {"x": x}, axis=axis))


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@SETTINGS
@given(shapes=broadcast_pair(), seed=st.integers(0, 2**16))
def test_integer_div_and_mod(dtype, shapes, seed):
    rng = np.random.default_rng(seed)
    a = np.asarray(rng.integers(-50, 50, shapes[0]), dtype)
    b = np.asarray(rng.integers(1, 9, shapes[1]) * rng.choice([-1, 1], shapes[1]), dtype)
    _assert_same(*_both("Div", {"a": a, "b": b}))
    _assert_same(*_both("Mod", {"a": a, "b": b}))
