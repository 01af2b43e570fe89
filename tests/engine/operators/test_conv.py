"""Conv family (conv.py, conv_extra.py) through InferenceSession, against onnxruntime and
NumPy formulas: the attribute variants and dtypes the node cases leave out."""

from __future__ import annotations

import numpy as np
import pytest


from builders import check_op, run_op, run_op_peer

rng = np.random.default_rng(7)


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def naive_conv2d(x, w, stride=1, pad=0, dil=1, group=1):
    """Direct definition, for cross-checking the GEMM paths."""
    x = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    oh = (h - (kh - 1) * dil - 1) // stride + 1
    ow = (wd - (kw - 1) * dil - 1) // stride + 1
    y = np.zeros((n, m, oh, ow))
    mg = m // group
    for o in range(m):
        g = o // mg
        for i in range(kh):
            for j in range(kw):
                patch = x[:, g * cg:(g + 1) * cg, i * dil:i * dil + (oh - 1) * stride + 1:stride,
                          j * dil:j * dil + (ow - 1) * stride + 1:stride]
                y[:, o] += np.einsum("nchw,c->nhw", patch, w[o, :, i, j])
    return y


@pytest.mark.parametrize("cfg", [
    dict(stride=1, pad=1, dil=1, group=1),
    dict(stride=2, pad=1, dil=1, group=1),
    dict(stride=1, pad=2, dil=2, group=1),
    dict(stride=1, pad=1, dil=1, group=2),
    dict(stride=2, pad=0, dil=1, group=6),      # depthwise
])
def test_conv2d_variants_match_direct_formula(cfg):
    x, g = f32(2, 6, 9, 8), cfg["group"]
    w = f32(6, 6 // g, 3, 3)
    y = run_op("Conv", x, w, opset=17, strides=[cfg["stride"]] * 2, pads=[cfg["pad"]] * 4,
               dilations=[cfg["dil"]] * 2, group=g)[0]
    np.testing.assert_allclose(y, naive_conv2d(x, w, **cfg), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("xshape", [(3, 16, 80, 66), (1, 32, 100, 80)])
def test_conv_large_input_takes_blocked_path(xshape):
    # Above the im2col block size: blocks of samples (with a partial last block), then
    # blocks of output rows.
    x, w, b = f32(*xshape), f32(8, xshape[1], 3, 3), f32(8)
    y = run_op("Conv", x, w, b, opset=17, pads=[1, 1, 1, 1])[0]
    np.testing.assert_allclose(y, run_op_peer("Conv", x, w, b, opset=17, pads=[1, 1, 1, 1])[0],
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER", "VALID"])
@pytest.mark.parametrize("nd", [1, 3])
def test_conv_auto_pad_1d_3d(auto_pad, nd):
    x, w = f32(1, 3, *([7] * nd)), f32(4, 3, *([2] * nd))
    attrs = dict(auto_pad=auto_pad, strides=[2] * nd)
    check_op("Conv", x, w, peer=True, rtol=1e-4, atol=1e-5, opset=17, **attrs)


def test_conv_1x1_strided_with_bias():
    x, w, b = f32(2, 8, 9, 9), f32(5, 8, 1, 1), f32(5)
    attrs = dict(strides=[2, 2])
    check_op("Conv", x, w, b, peer=True, rtol=1e-4, atol=1e-5, opset=17, **attrs)


@pytest.mark.parametrize("dtype", [np.float16, np.float64])
def test_conv_keeps_dtype(dtype):
    x, w = f32(1, 4, 6, 6).astype(dtype), f32(3, 4, 3, 3).astype(dtype)
    y = run_op("Conv", x, w, opset=17, pads=[1, 1, 1, 1])[0]
    assert y.dtype == dtype
    ref = naive_conv2d(x.astype(np.float64), w.astype(np.float64), pad=1)
    np.testing.assert_allclose(y.astype(np.float64), ref, rtol=1e-2, atol=2e-2)


@pytest.mark.parametrize("attrs", [
    dict(strides=[2, 2]),
    dict(strides=[2, 2], output_padding=[1, 1], pads=[1, 0, 1, 0]),
    dict(strides=[3, 2], dilations=[2, 1], group=2),
    dict(strides=[2, 2], auto_pad="SAME_LOWER"),
    dict(strides=[2, 2], output_shape=[11, 12]),
])
def test_conv_transpose_against_ort(attrs):
    x, w, b = f32(2, 4, 5, 6), f32(4, 3, 3, 3), f32(3 * attrs.get("group", 1))
    if attrs.get("group") == 2:
        w = f32(4, 3, 3, 3)
    check_op("ConvTranspose", x, w, b, peer=True, rtol=1e-4, atol=1e-4, opset=17, **attrs)


def test_conv_integer_per_channel_zero_point():
    x = rng.integers(0, 255, (1, 3, 6, 6), dtype=np.uint8)
    w = rng.integers(-128, 127, (4, 3, 3, 3), dtype=np.int8)
    xz, wz = np.uint8(7), np.zeros(4, np.int8) + np.int8(3)
    y = run_op("ConvInteger", x, w, np.array(xz), wz, opset=10, pads=[1, 1, 1, 1])[0]
    ref = naive_conv2d(x.astype(np.float64) - 7, w.astype(np.float64) - 3, pad=1)
    assert y.dtype == np.int32
    np.testing.assert_array_equal(y, ref.astype(np.int32))


def test_qlinear_conv_per_channel_int8_against_ort():
    x = rng.integers(-128, 127, (1, 4, 7, 7), dtype=np.int8)
    w = rng.integers(-128, 127, (6, 4, 3, 3), dtype=np.int8)
    feeds = {"x": x, "xs": np.array(0.02, np.float32), "xz": np.array(3, np.int8),
             "w": w, "ws": (rng.random(6) * 0.01 + 0.001).astype(np.float32),
             "wz": np.zeros(6, np.int8), "ys": np.array(0.5, np.float32),
             "yz": np.array(-5, np.int8), "b": rng.integers(-500, 500, 6).astype(np.int32)}
    y = run_op("QLinearConv", *feeds.values(), opset=10, pads=[1, 1, 1, 1], strides=[2, 2])[0]
    ref = run_op_peer("QLinearConv", *feeds.values(), opset=10, pads=[1, 1, 1, 1],
                      strides=[2, 2])[0]
    assert y.dtype == np.int8
    assert np.abs(y.astype(int) - ref.astype(int)).max() <= 1


def test_deform_conv_zero_offset_is_conv():
    x, w, b = f32(2, 4, 7, 6), f32(6, 2, 3, 3), f32(6)
    offset = np.zeros((2, 2 * 9 * 2, 5, 4), np.float32)
    y = run_op("DeformConv", x, w, offset, b, opset=19, group=2, offset_group=2)[0]
    ref = run_op("Conv", x, w, b, opset=17, group=2)[0]
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


def test_col2im_inverts_im2col_sum():
    # Col2Im of all-ones columns counts how many blocks cover each pixel.
    cols = np.ones((1, 2 * 4, 9), np.float32)
    y = run_op("Col2Im", cols, np.array([4, 4], np.int64), np.array([2, 2], np.int64), opset=18)[0]
    cover = np.array([1, 2, 2, 1], np.float32)
    np.testing.assert_array_equal(y[0, 1], np.outer(cover, cover))
