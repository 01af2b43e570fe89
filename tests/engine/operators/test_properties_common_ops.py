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


@st.composite
def conv_case(draw):
    group = draw(st.sampled_from([1, 1, 2, 4]))
    cin = group * draw(st.integers(1, 3))
    cout = group * draw(st.integers(1, 3))
    if draw(st.booleans()) and group == 1:
        group = cin = cout = draw(st.sampled_from([4, 8]))  # depthwise
    k = draw(st.lists(st.integers(1, 4), min_size=2, max_size=2))
    strides = draw(st.lists(st.integers(1, 3), min_size=2, max_size=2))
    dil = draw(st.lists(st.integers(1, 2), min_size=2, max_size=2))
    pads = draw(st.lists(st.integers(0, 2), min_size=4, max_size=4))
    size = [draw(st.integers(max(1, (kk - 1) * d + 1 - p0 - p1), 20))
            for kk, d, p0, p1 in zip(k, dil, pads[:2], pads[2:])]
    batch = draw(st.integers(1, 2))
    return dict(x=(batch, cin) + tuple(size), w=(cout, cin // group) + tuple(k), group=group,
                strides=strides, dilations=dil, pads=pads, bias=draw(st.booleans()),
                act=draw(st.sampled_from([None, "Relu", "LeakyRelu"])))


@SETTINGS
@given(case=conv_case(), seed=st.integers(0, 2**16))
def test_conv_with_fusion(case, seed):
    """Conv (+ bias, + activation: the optimizer turns it into FusedConv) against ORT."""
    from onnx import helper

    from builders import make_model, tensor_info

    rng = np.random.default_rng(seed)
    x = rng.standard_normal(case["x"]).astype(np.float32)
    inits = {"w": rng.standard_normal(case["w"]).astype(np.float32)}
    conv_in = ["x", "w"]
    if case["bias"]:
        inits["b"] = rng.standard_normal(case["w"][0]).astype(np.float32)
        conv_in.append("b")
    nodes = [helper.make_node("Conv", conv_in, ["c" if case["act"] else "y"],
                              group=case["group"], strides=case["strides"],
                              dilations=case["dilations"], pads=case["pads"])]
    if case["act"]:
        nodes.append(helper.make_node(case["act"], ["c"], ["y"]))
    model = make_model(nodes, [tensor_info("x", shape=list(case["x"]))], [tensor_info("y")],
                       initializers=inits)
    ours = InferenceSession(model).run(None, {"x": x})[0]
    peer = ort.InferenceSession(model.SerializeToString(),
                                providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    assert ours.shape == peer.shape
    np.testing.assert_allclose(ours, peer, rtol=1e-4, atol=1e-4)


@SETTINGS
@given(shape=st.lists(st.integers(3, 12), min_size=2, max_size=2),
       k=st.lists(st.integers(1, 3), min_size=2, max_size=2),
       strides=st.lists(st.integers(1, 3), min_size=2, max_size=2),
       pads=st.lists(st.integers(0, 1), min_size=4, max_size=4),
       ceil_mode=st.integers(0, 1), op=st.sampled_from(["MaxPool", "AveragePool"]),
       count_include_pad=st.integers(0, 1))
def test_pooling(shape, k, strides, pads, ceil_mode, op, count_include_pad):
    pads = [min(p, kk - 1) for p, kk in zip(pads, k + k)]  # pads must be < kernel
    x = np.random.default_rng(0).standard_normal([1, 2] + shape).astype(np.float32)
    attrs = dict(kernel_shape=k, strides=strides, pads=pads, ceil_mode=ceil_mode)
    if op == "AveragePool":
        attrs["count_include_pad"] = count_include_pad
    _assert_same(*_both(op, {"x": x}, **attrs))


@SETTINGS
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=4),
       mode=st.sampled_from(["constant", "reflect", "edge", "wrap"]), data=st.data())
def test_pad(shape, mode, data):
    rank = len(shape)
    limit = [d - 1 if mode == "reflect" else d for d in shape]  # reflect needs pad < dim
    before = [data.draw(st.integers(0, lim)) for lim in limit]
    after = [data.draw(st.integers(0, lim)) for lim in limit]
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    feeds = {"x": x, "pads": np.array(before + after, np.int64)}
    _assert_same(*_both("Pad", feeds, mode=mode))
    assert rank == x.ndim


@SETTINGS
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=4), data=st.data())
def test_gather(shape, data):
    rank = len(shape)
    axis = data.draw(st.integers(-rank, rank - 1))
    dim = shape[axis]
    idx_shape = data.draw(st.lists(st.integers(1, 3), max_size=2))
    idx = np.array(data.draw(st.lists(st.integers(-dim, dim - 1),
                                      min_size=int(np.prod(idx_shape)),
                                      max_size=int(np.prod(idx_shape)))),
                   np.int64).reshape(idx_shape)
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    _assert_same(*_both("Gather", {"x": x, "i": idx}, axis=axis))
