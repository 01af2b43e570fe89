"""Pooling kernels (pooling.py) through InferenceSession, against onnxruntime and NumPy:
dtypes, Indices/storage_order, ceil_mode and padding variants beyond the node cases."""

from __future__ import annotations

import numpy as np
import pytest

from builders import check_op, run_op, run_op_peer

rng = np.random.default_rng(11)


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("storage_order", [0, 1])
@pytest.mark.parametrize("attrs", [
    dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
    dict(kernel_shape=[2, 3], strides=[2, 1], ceil_mode=1),
])
def test_maxpool_indices_against_ort(attrs, storage_order):
    x = f32(2, 3, 7, 8)
    y, i = run_op("MaxPool", x, outputs=("y", "i"), opset=19, storage_order=storage_order, **attrs)
    ry, ri = run_op_peer("MaxPool", x, outputs=("y", "i"), opset=19, storage_order=storage_order,
                         **attrs)
    np.testing.assert_array_equal(y, ry)
    assert i.dtype == np.int64
    np.testing.assert_array_equal(i, ri)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.float16, np.float64])
def test_maxpool_dtypes_pad_with_lowest(dtype):
    x = rng.integers(-100 if dtype == np.int8 else 0, 100, (1, 2, 5, 5)).astype(dtype)
    y = run_op("MaxPool", x, opset=19, kernel_shape=[3, 3], pads=[1, 1, 1, 1])[0]
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
    check_op("AveragePool", x, peer=True, rtol=1e-5, atol=1e-6, opset=19, **attrs)


def test_averagepool_float16_and_1x1_kernel_does_not_alias():
    x = f32(1, 2, 4, 4).astype(np.float16)
    y = run_op("AveragePool", x, opset=19, kernel_shape=[1, 1])[0]
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y, x)


@pytest.mark.parametrize("p", [1, 2, 3])
def test_lppool_p(p):
    x = f32(1, 2, 6, 6)
    y = run_op("LpPool", x, opset=19, kernel_shape=[2, 2], strides=[2, 2], p=p)[0]
    win = np.abs(x).reshape(1, 2, 3, 2, 3, 2).astype(np.float64) ** p
    np.testing.assert_allclose(y, win.sum(axis=(3, 5)) ** (1 / p), rtol=1e-5)


def test_global_pools():
    x = f32(2, 3, 4, 5, 2)
    np.testing.assert_allclose(run_op("GlobalAveragePool", x, opset=19)[0],
                               x.mean(axis=(2, 3, 4), keepdims=True), rtol=1e-5)
    np.testing.assert_array_equal(run_op("GlobalMaxPool", x, opset=19)[0],
                                  x.max(axis=(2, 3, 4), keepdims=True))
    np.testing.assert_allclose(run_op("GlobalLpPool", x, opset=19, p=2)[0],
                               np.sqrt((x.astype(np.float64) ** 2).sum(axis=(2, 3, 4),
                                                                        keepdims=True)),
                               rtol=1e-5)


def test_maxunpool_roundtrip():
    x = f32(1, 2, 4, 4)
    y, i = run_op("MaxPool", x, outputs=("y", "i"), opset=19, kernel_shape=[2, 2], strides=[2, 2])
    up = run_op("MaxUnpool", y, i, opset=19, kernel_shape=[2, 2], strides=[2, 2])[0]
    assert up.shape == x.shape
    np.testing.assert_array_equal(up.reshape(-1)[i.reshape(-1)], y.reshape(-1))
    assert np.count_nonzero(up) == y.size


def test_maxroipool_against_ort():
    x = f32(2, 3, 8, 8)
    rois = np.array([[0, 1, 1, 6, 5], [1, 0, 0, 7, 7], [0, 2.4, 3.6, 4, 4]], np.float32)
    attrs = dict(pooled_shape=[2, 3], spatial_scale=1.0)
    check_op("MaxRoiPool", x, rois, peer=True, opset=19, **attrs)
