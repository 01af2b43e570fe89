"""Image resampling kernels through InferenceSession (resize.py, image.py).

The ONNX backend node cases run separately (scripts/conformance.py); these cover what they
miss: integer and float16 inputs, opset 10/11/13 Resize and Upsample, antialiasing with sizes,
tf_crop_and_resize with axes, N-D GridSample with every padding mode, GridSample-16's mode
names, RoiAlign-10 and adaptive sampling, checked against onnxruntime or a NumPy formula.
"""

from __future__ import annotations

import itertools

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from ai_engine import InferenceSession
from ai_engine.errors import KernelError

rng = np.random.default_rng(0)


def _model(op, inputs, opset, n_out=1, out_type=TensorProto.UNDEFINED, **attrs):
    names = [f"x{i}" if a is not None else "" for i, a in enumerate(inputs)]
    outs = [f"y{i}" for i in range(n_out)]
    node = helper.make_node(op, names, outs, **attrs)
    vi = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
          for n, a in zip(names, inputs) if n]
    graph = helper.make_graph([node], op, vi, [
        helper.make_tensor_value_info(o, out_type, None) for o in outs])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def run(op, *inputs, opset=19, **attrs):
    feeds = {f"x{i}": a for i, a in enumerate(inputs) if a is not None}
    return InferenceSession(_model(op, inputs, opset, **attrs)).run(None, feeds)[0]


def run_ort(op, *inputs, opset=19, **attrs):
    feeds = {f"x{i}": a for i, a in enumerate(inputs) if a is not None}
    model = _model(op, inputs, opset,
                   out_type=helper.np_dtype_to_tensor_dtype(inputs[0].dtype), **attrs)
    model.ir_version = min(model.ir_version, 10)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)[0]


def both(op, *inputs, rtol=1e-5, atol=1e-5, **attrs):
    got, want = run(op, *inputs, **attrs), run_ort(op, *inputs, **attrs)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=rtol,
                               atol=atol)
    return got


X = rng.random((2, 3, 5, 7)).astype(np.float32)
NONE = np.zeros(0, np.float32)


@pytest.mark.parametrize("mode,ctm", [
    ("nearest", "asymmetric"), ("nearest", "half_pixel"), ("linear", "half_pixel"),
    ("linear", "asymmetric"), ("linear", "pytorch_half_pixel"), ("cubic", "half_pixel"),
    ("cubic", "asymmetric")])
@pytest.mark.parametrize("scales", [(1, 1, 2.0, 1.5), (1, 1, 0.6, 0.5), (1, 1, 1.7, 3.0)])
def test_resize_scales_vs_ort(mode, ctm, scales):
    s = np.array(scales, np.float32)
    both("Resize", X, NONE, s, mode=mode, coordinate_transformation_mode=ctm)


@pytest.mark.parametrize("mode", ["nearest", "linear", "cubic"])
def test_resize_align_corners_sizes_vs_ort(mode):
    # With scales whose scale * length is fractional, onnxruntime divides by the integer
    # output length and the ONNX reference (followed here) by the fractional one: use sizes.
    both("Resize", X, None, None, np.array([2, 3, 9, 4], np.int64), mode=mode,
         coordinate_transformation_mode="align_corners", opset=13)


@pytest.mark.parametrize("nearest_mode", ["round_prefer_floor", "round_prefer_ceil", "floor",
                                          "ceil"])
def test_resize_nearest_modes_sizes(nearest_mode):
    sizes = np.array([2, 3, 9, 4], np.int64)
    both("Resize", X, None, None, sizes, mode="nearest", nearest_mode=nearest_mode,
         coordinate_transformation_mode="half_pixel", opset=13)


@pytest.mark.parametrize("mode", ["linear", "cubic"])
def test_resize_antialias_sizes_vs_ort(mode):
    x = rng.random((1, 2, 17, 13)).astype(np.float32)
    both("Resize", x, None, None, np.array([5, 4], np.int64), mode=mode, antialias=1,
         axes=[2, 3])


def test_resize_uint8_rounds_and_saturates():
    # Cubic overshoots near sharp edges: the result is rounded, then clipped to [0, 255].
    x = np.array([[[[0, 255, 255, 0], [255, 0, 0, 255]]]], np.uint8)
    s = np.array([1, 1, 2.5, 2.5], np.float32)
    got = run("Resize", x, None, s, mode="cubic")
    ref = run("Resize", x.astype(np.float32), None, s, mode="cubic")  # uint8 computes in float32
    assert got.dtype == np.uint8
    assert ref.min() < 0 and ref.max() > 255
    np.testing.assert_array_equal(got, np.clip(np.round(ref), 0, 255).astype(np.uint8))


def test_resize_float16_and_int32_nearest():
    x16 = X.astype(np.float16)
    got = run("Resize", x16, None, np.array([1, 1, 2, 2], np.float32), mode="linear")
    assert got.dtype == np.float16 and got.shape == (2, 3, 10, 14)
    want = run("Resize", X, None, np.array([1, 1, 2, 2], np.float32), mode="linear")
    np.testing.assert_allclose(got, want, atol=2e-3)
    xi = rng.integers(-5, 5, (1, 1, 3, 3)).astype(np.int32)
    got = run("Resize", xi, None, np.array([1, 1, 2, 2], np.float32), mode="nearest",
              coordinate_transformation_mode="asymmetric")
    np.testing.assert_array_equal(got, xi.repeat(2, 2).repeat(2, 3))


def test_resize_tf_crop_and_resize_axes_extrapolation():
    roi = np.array([0.2, -0.3, 0.9, 1.1], np.float32)
    got = run("Resize", X, roi, None, np.array([4, 6], np.int64), mode="linear",
              coordinate_transformation_mode="tf_crop_and_resize", axes=[2, 3],
              extrapolation_value=-7.0)
    full = np.array([0, 0, 0.2, -0.3, 1, 1, 0.9, 1.1], np.float32)
    want = run_ort("Resize", X, full, None, np.array([2, 3, 4, 6], np.int64), mode="linear",
                   coordinate_transformation_mode="tf_crop_and_resize",
                   extrapolation_value=-7.0, opset=13)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert (got == -7.0).any()


@pytest.mark.parametrize("policy", ["not_larger", "not_smaller"])
def test_resize_keep_aspect_ratio(policy):
    both("Resize", X, None, None, np.array([10, 10], np.int64), mode="nearest", axes=[2, 3],
         keep_aspect_ratio_policy=policy)


def test_resize_3d_volume_and_2d():
    v = rng.random((1, 1, 3, 4, 5)).astype(np.float32)
    both("Resize", v, None, np.array([1, 1, 2, 1.5, 0.8], np.float32), mode="linear")
    both("Resize", v, None, np.array([1, 1, 2, 1.5, 0.8], np.float32), mode="nearest")
    plane = rng.random((5, 6)).astype(np.float32)
    both("Resize", plane, None, np.array([1.6, 2.0], np.float32), mode="cubic")


@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_resize_10_and_upsample_vs_ort(mode):
    s = np.array([1, 1, 2, 3], np.float32)
    both("Resize", X, s, mode=mode, opset=10)
    both("Upsample", X, s, mode=mode, opset=9)
    got = run("Upsample", X, mode=mode, scales=[1.0, 1.0, 2.0, 3.0], opset=7)
    np.testing.assert_allclose(got, run("Upsample", X, s, mode=mode, opset=9))


def test_resize_rejects_both_scales_and_sizes():
    with pytest.raises(KernelError, match="exactly one of 'scales' and 'sizes'"):
        run("Resize", X, None, np.ones(4, np.float32), np.array([2, 3, 5, 7], np.int64))


@pytest.mark.parametrize("mode,padding,align", itertools.product(
    ["nearest", "linear", "cubic"], ["zeros", "border", "reflection"], [0, 1]))
def test_gridsample_2d_vs_ort(mode, padding, align):
    x = rng.standard_normal((2, 3, 5, 6)).astype(np.float32)
    grid = rng.uniform(-1.3, 1.3, (2, 4, 3, 2)).astype(np.float32)
    both("GridSample", x, grid, mode=mode, padding_mode=padding, align_corners=align,
         opset=20, atol=1e-4)


@pytest.mark.parametrize("mode,padding", [("linear", "zeros"), ("nearest", "reflection"),
                                          ("linear", "border")])
def test_gridsample_3d_vs_ort(mode, padding):
    x = rng.standard_normal((1, 2, 3, 4, 5)).astype(np.float32)
    grid = rng.uniform(-1.2, 1.2, (1, 2, 3, 2, 3)).astype(np.float32)
    both("GridSample", x, grid, mode=mode, padding_mode=padding, opset=20, atol=1e-4)


@pytest.mark.parametrize("old,new", [("bilinear", "linear"), ("bicubic", "cubic"),
                                     ("nearest", "nearest")])
def test_gridsample_16_mode_names(old, new):
    x = rng.standard_normal((1, 2, 4, 5)).astype(np.float32)
    grid = rng.uniform(-1, 1, (1, 3, 3, 2)).astype(np.float32)
    np.testing.assert_allclose(run("GridSample", x, grid, mode=old, opset=16),
                               run("GridSample", x, grid, mode=new, opset=20))


def test_gridsample_identity_grid_reproduces_input():
    x = rng.standard_normal((1, 1, 4, 5)).astype(np.float32)
    theta = np.array([[[1, 0, 0], [0, 1, 0]]], np.float32)
    grid = run("AffineGrid", theta, np.array([1, 1, 4, 5], np.int64), opset=20)
    np.testing.assert_allclose(run("GridSample", x, grid, opset=20), x, atol=1e-6)


@pytest.mark.parametrize("align", [0, 1])
def test_affine_grid_vs_ort(align):
    theta = rng.standard_normal((2, 3, 4)).astype(np.float32)
    both("AffineGrid", theta, np.array([2, 1, 3, 4, 5], np.int64), align_corners=align,
         opset=20)


@pytest.mark.parametrize("mode,ctm,ratio", itertools.product(
    ["avg", "max"], ["half_pixel", "output_half_pixel"], [0, 2]))
def test_roialign_vs_ort(mode, ctm, ratio):
    x = rng.standard_normal((2, 3, 12, 15)).astype(np.float32)
    p = rng.uniform(0, 10, (5, 2))
    rois = np.concatenate([p, p + rng.uniform(0.5, 8, (5, 2))], 1).astype(np.float32)
    idx = np.array([0, 1, 1, 0, 1], np.int64)
    both("RoiAlign", x, rois, idx, mode=mode, coordinate_transformation_mode=ctm,
         sampling_ratio=ratio, output_height=3, output_width=4, spatial_scale=0.8, opset=16,
         atol=1e-4)


def test_roialign_10_is_output_half_pixel():
    x = rng.standard_normal((1, 2, 8, 8)).astype(np.float32)
    rois = np.array([[1, 1, 6, 5], [0, 2, 3, 7]], np.float32)
    idx = np.zeros(2, np.int64)
    np.testing.assert_allclose(
        run("RoiAlign", x, rois, idx, output_height=2, output_width=2, opset=10),
        run("RoiAlign", x, rois, idx, output_height=2, output_width=2, opset=16,
            coordinate_transformation_mode="output_half_pixel"))


@pytest.mark.parametrize("mode", ["avg", "max"])
def test_roialign_small_rois_on_big_map_vs_ort(mode):
    # Few samples on a large map take the neighbour-gather path rather than the dense GEMMs.
    x = rng.standard_normal((2, 2, 64, 72)).astype(np.float32)
    p = rng.uniform(-2, 60, (6, 2))
    rois = np.concatenate([p, p + rng.uniform(1, 10, (6, 2))], 1).astype(np.float32)
    idx = rng.integers(0, 2, 6).astype(np.int64)
    both("RoiAlign", x, rois, idx, mode=mode, output_height=2, output_width=3, opset=16,
         atol=1e-4)
