"""com.microsoft QLinearGlobalAveragePool and QLinearAveragePool (contrib/quantized_pool.py):
exact against the NumPy formula, within one step of onnxruntime (it requantizes in float32)."""

from __future__ import annotations

import numpy as np
import pytest

from ms_quant_helpers import (
    assert_within_one_step, both, dequantize32, quantize_exact, random_q)

rng = np.random.default_rng(3)


@pytest.mark.parametrize("dt", [np.uint8, np.int8])
@pytest.mark.parametrize("channels_last", [0, 1])
def test_qlinear_global_average_pool(dt, channels_last):
    x = random_q(rng, (2, 6, 7, 5) if not channels_last else (2, 7, 5, 6), dt)
    zx = np.array(128 if dt == np.uint8 else 3, dt)
    zy = np.array(120 if dt == np.uint8 else -5, dt)
    consts = {"sx": np.float32(0.07), "zx": zx, "sy": np.float32(0.03), "zy": zy}
    ours, theirs = both("QLinearGlobalAveragePool", {"x": x}, consts,
                        channels_last=channels_last)
    axes = (1, 2) if channels_last else (2, 3)
    mean = (x.astype(np.float64) - int(zx)).mean(axis=axes, keepdims=True) * np.float64(
        np.float32(0.07))
    want = quantize_exact(mean, 0.03, int(zy), dt)
    assert ours[0].shape == want.shape == theirs[0].shape
    np.testing.assert_array_equal(ours[0], want)
    assert_within_one_step(ours[0], theirs[0])


@pytest.mark.parametrize("dt", [np.uint8, np.int8])
@pytest.mark.parametrize("attrs", [
    dict(kernel_shape=[3, 3]),
    dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
    dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1),
    dict(kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
    dict(kernel_shape=[3, 2], auto_pad="SAME_UPPER"),
])
def test_qlinear_average_pool(dt, attrs):
    x = random_q(rng, (1, 4, 7, 9), dt)
    zx = np.array(128 if dt == np.uint8 else 0, dt)
    zy = np.array(128 if dt == np.uint8 else 0, dt)
    consts = {"sx": np.float32(0.05), "zx": zx, "sy": np.float32(0.04), "zy": zy}
    ours, theirs = both("QLinearAveragePool", {"x": x}, consts, **attrs)
    # the float reference: ONNX AveragePool on the dequantized input, in float64
    import onnx.reference
    from onnx import helper
    node = helper.make_node("AveragePool", ["x"], ["y"], **attrs)
    ref = onnx.reference.ReferenceEvaluator(helper.make_model(helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", 11, None)],
        [helper.make_tensor_value_info("y", 11, None)]),
        opset_imports=[helper.make_opsetid("", 19)]))
    pooled = ref.run(None, {"x": dequantize32(x, 0.05, zx).astype(np.float64)})[0]
    np.testing.assert_array_equal(ours[0], quantize_exact(pooled, 0.04, int(zy), dt))
    assert_within_one_step(ours[0], theirs[0])


def test_qlinear_average_pool_channels_last():
    x = random_q(rng, (1, 6, 8, 3), np.uint8)
    # y_scale != x_scale: with equal scales a 2x2 mean is often an exact .5 tie, which this
    # engine rounds to even and onnxruntime's NHWC kernel does not always.
    consts = {"sx": np.float32(0.05), "zx": np.array(128, np.uint8), "sy": np.float32(0.045),
              "zy": np.array(128, np.uint8)}
    ours, theirs = both("QLinearAveragePool", {"x": x}, consts, kernel_shape=[2, 2],
                        strides=[2, 2], channels_last=1)
    assert ours[0].shape == (1, 3, 4, 3)
    nchw, _ = both("QLinearAveragePool", {"x": np.ascontiguousarray(x.transpose(0, 3, 1, 2))},
                   consts, kernel_shape=[2, 2], strides=[2, 2])
    np.testing.assert_array_equal(ours[0], nchw[0].transpose(0, 2, 3, 1))
    assert_within_one_step(ours[0], theirs[0])
