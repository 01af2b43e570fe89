"""Pooling kernels (pooling.py) through InferenceSession, against onnxruntime and NumPy:
dtypes, Indices/storage_order, ceil_mode and padding variants beyond the node cases."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import ValueInfoProto, helper

from ai_engine import InferenceSession

rng = np.random.default_rng(11)


def _model(op, feeds, outputs, opset, attrs):
    node = helper.make_node(op, list(feeds), list(outputs), **attrs)
    graph = helper.make_graph(
        [node], op,
        [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
         for n, a in feeds.items()],
        [ValueInfoProto(name=o) for o in outputs])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def run(op, feeds, outputs=("y",), opset=19, **attrs):
    res = InferenceSession(_model(op, feeds, outputs, opset, attrs)).run(None, feeds)
    return res if len(outputs) > 1 else res[0]


def run_ort(op, feeds, outputs=("y",), opset=19, **attrs):
    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(_model(op, feeds, outputs, opset, attrs).SerializeToString(),
                                providers=["CPUExecutionProvider"])
    res = sess.run(None, feeds)
    return res if len(outputs) > 1 else res[0]


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("storage_order", [0, 1])
@pytest.mark.parametrize("attrs", [
    dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
    dict(kernel_shape=[2, 3], strides=[2, 1], ceil_mode=1),
])
def test_maxpool_indices_against_ort(attrs, storage_order):
    x = f32(2, 3, 7, 8)
    y, i = run("MaxPool", {"x": x}, ("y", "i"), storage_order=storage_order, **attrs)
    ry, ri = run_ort("MaxPool", {"x": x}, ("y", "i"), storage_order=storage_order, **attrs)
    np.testing.assert_array_equal(y, ry)
    assert i.dtype == np.int64
    np.testing.assert_array_equal(i, ri)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.float16, np.float64])
def test_maxpool_dtypes_pad_with_lowest(dtype):
    x = rng.integers(-100 if dtype == np.int8 else 0, 100, (1, 2, 5, 5)).astype(dtype)
    y = run("MaxPool", {"x": x}, kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    ref = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3)).max(axis=(4, 5))
    assert y.dtype == dtype
    np.testing.assert_array_equal(y.astype(np.float64), ref)


@pytest.mark.parametrize("attrs", [
    dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1),
    dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1),
    dict(kernel_shape=[2, 2], dilations=[2, 2], pads=[1, 0, 1, 1]),
    dict(kernel_shape=[3, 2], strides=[2, 2], auto_pad="SAME_LOWER", count_include_pad=1),
])
def test_averagepool_against_ort(attrs):
    x = f32(1, 3, 8, 9)
    np.testing.assert_allclose(run("AveragePool", {"x": x}, **attrs),
                               run_ort("AveragePool", {"x": x}, **attrs), rtol=1e-5, atol=1e-6)


def test_averagepool_float16_and_1x1_kernel_does_not_alias():
    x = f32(1, 2, 4, 4).astype(np.float16)
    y = run("AveragePool", {"x": x}, kernel_shape=[1, 1])
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y, x)


@pytest.mark.parametrize("p", [1, 2, 3])
def test_lppool_p(p):
    x = f32(1, 2, 6, 6)
    y = run("LpPool", {"x": x}, kernel_shape=[2, 2], strides=[2, 2], p=p)
    win = np.abs(x).reshape(1, 2, 3, 2, 3, 2).astype(np.float64) ** p
    np.testing.assert_allclose(y, win.sum(axis=(3, 5)) ** (1 / p), rtol=1e-5)


def test_global_pools():
    x = f32(2, 3, 4, 5, 2)
    np.testing.assert_allclose(run("GlobalAveragePool", {"x": x}),
                               x.mean(axis=(2, 3, 4), keepdims=True), rtol=1e-5)
    np.testing.assert_array_equal(run("GlobalMaxPool", {"x": x}),
                                  x.max(axis=(2, 3, 4), keepdims=True))
    np.testing.assert_allclose(run("GlobalLpPool", {"x": x}, p=2),
                               np.sqrt((x.astype(np.float64) ** 2).sum(axis=(2, 3, 4),
                                                                        keepdims=True)),
                               rtol=1e-5)


def test_maxunpool_roundtrip():
    x = f32(1, 2, 4, 4)
    y, i = run("MaxPool", {"x": x}, ("y", "i"), kernel_shape=[2, 2], strides=[2, 2])
    up = run("MaxUnpool", {"v": y, "i": i}, kernel_shape=[2, 2], strides=[2, 2])
    assert up.shape == x.shape
    np.testing.assert_array_equal(up.reshape(-1)[i.reshape(-1)], y.reshape(-1))
    assert np.count_nonzero(up) == y.size


def test_maxroipool_against_ort():
    x = f32(2, 3, 8, 8)
    rois = np.array([[0, 1, 1, 6, 5], [1, 0, 0, 7, 7], [0, 2.4, 3.6, 4, 4]], np.float32)
    attrs = dict(pooled_shape=[2, 3], spatial_scale=1.0)
    np.testing.assert_array_equal(run("MaxRoiPool", {"x": x, "rois": rois}, **attrs),
                                  run_ort("MaxRoiPool", {"x": x, "rois": rois}, **attrs))
