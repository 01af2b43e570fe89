"""Property tests: convolution and pooling in 1-3 D with auto_pad, Pad with negative
pads, detection, quantized and rounding-sensitive operators, ai-engine against onnxruntime (see
test_properties_shape_index_cast.py)."""

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from ai_engine import InferenceSession
from prop_helpers import DIM, SETTINGS, SHAPE, _check_if_ort, _data, _ort


# ---------------------------------------------------------------------------------------------
# convolution and pooling beyond 2-D, auto_pad

@SETTINGS
@given(data=st.data(), nd=st.integers(1, 3), auto_pad=st.sampled_from(
    ["SAME_UPPER", "SAME_LOWER", "VALID", "NOTSET"]), dtype=st.sampled_from(
    [np.float32, np.float64]), group=st.sampled_from([1, 2]))
def test_conv_nd_auto_pad(data, nd, auto_pad, dtype, group):
    k = [data.draw(st.integers(1, 3)) for _ in range(nd)]
    strides = [data.draw(st.integers(1, 3)) for _ in range(nd)]
    # ORT has no dilated SAME convolution
    dil = [data.draw(st.integers(1, 2)) for _ in range(nd)] if auto_pad[:4] != "SAME" \
        else [1] * nd
    size = [data.draw(st.integers((kk - 1) * d + 1, 7)) for kk, d in zip(k, dil)]
    cin, cout = 2 * group, group * data.draw(st.integers(1, 2))
    feeds = {"x": _data([1, cin] + size, dtype), "w": _data([cout, 2] + k, dtype, 1)}
    attrs = dict(strides=strides, dilations=dil, group=group, auto_pad=auto_pad)
    if auto_pad == "NOTSET":
        attrs["pads"] = [data.draw(st.integers(0, 2)) for _ in range(2 * nd)]
    if data.draw(st.booleans()):
        feeds["b"] = _data([cout], dtype, 2)
    _check_if_ort("Conv", feeds, rtol=1e-4, atol=1e-4, **attrs)


@SETTINGS
@given(data=st.data(), nd=st.integers(1, 3), op=st.sampled_from(
    ["MaxPool", "AveragePool", "LpPool"]), auto_pad=st.sampled_from(
    ["SAME_UPPER", "SAME_LOWER", "VALID", "NOTSET"]), ceil_mode=st.integers(0, 1))
def test_pool_nd(data, nd, op, auto_pad, ceil_mode):
    k = [data.draw(st.integers(1, 3)) for _ in range(nd)]
    strides = [data.draw(st.integers(1, 3)) for _ in range(nd)]
    dil = [data.draw(st.integers(1, 2)) for _ in range(nd)]
    size = [data.draw(st.integers((kk - 1) * d + 1, 7)) for kk, d in zip(k, dil)]
    attrs = dict(kernel_shape=k, strides=strides, auto_pad=auto_pad)
    if op != "LpPool":
        attrs["ceil_mode"] = ceil_mode
    else:
        attrs["p"] = data.draw(st.integers(1, 3))
    if auto_pad[:4] == "SAME":
        # ORT sizes a dilated SAME MaxPool as if undilated (the spec: ceil(in / stride)); a
        # kernel shorter than the stride needs a negative total padding, which ORT rejects
        # (MaxPool) or applies (AveragePool) where we, like the reference's AveragePool,
        # clamp it to 0
        dil = [1] * nd
        assume(all((-(-n // s) - 1) * s + kk >= n for n, s, kk in zip(size, strides, k)))
    if op != "LpPool":
        attrs["dilations"] = dil
    if auto_pad == "NOTSET":
        attrs["pads"] = [data.draw(st.integers(0, kk - 1)) for kk in k] * 2
        if op == "AveragePool":
            attrs["count_include_pad"] = data.draw(st.integers(0, 1))
    x = _data([1, 2] + size, np.float32)
    _check_if_ort(op, {"x": x}, opset=19, rtol=1e-4, atol=1e-5, **attrs)


@SETTINGS
@given(shape=SHAPE, data=st.data(), mode=st.sampled_from(["constant", "edge", "reflect",
                                                           "wrap"]))
def test_pad_negative_and_axes(shape, data, mode):
    rank = len(shape)
    axes = data.draw(st.lists(st.integers(-rank, rank - 1), unique_by=lambda a: a % rank,
                              min_size=1, max_size=rank))
    pads = []
    for _side in ("begin", "end"):
        for a in axes:
            lo = -shape[a] // 2
            pads.append(data.draw(st.integers(lo, 2)))
    for i, a in enumerate(axes):  # what is left after cropping must be non-empty
        assume(shape[a] + pads[i] + pads[len(axes) + i] >= 1)
        # ORT (and we) crop first: edge/wrap/reflect then need something left to copy
        assume(mode == "constant" or shape[a] + min(0, pads[i]) + min(
            0, pads[len(axes) + i]) >= 1)
        if mode == "reflect":
            assume(max(pads[i], pads[len(axes) + i]) < shape[a] + min(
                0, pads[i]) + min(0, pads[len(axes) + i]))
    feeds = {"x": _data(shape, np.float32), "p": np.array(pads, np.int64),
             "v": np.array(1.5, np.float32), "a": np.array(axes, np.int64)}
    _check_if_ort("Pad", feeds, mode=mode)


@SETTINGS
@given(data=st.data(), eq=st.sampled_from(["...ij,...jk->...ik", "...i,...i->...",
                                           "b...,b...->b...", "ij...,jk...->ik..."]))
def test_einsum_broadcast(data, eq):
    ell = data.draw(st.lists(DIM, max_size=2))
    ell2 = [d if data.draw(st.booleans()) else 1 for d in ell]
    # (ORT wants every ellipsis of one rank, so only size-1 dims broadcast here)
    dims = {c: data.draw(DIM) for c in "bijk"}
    terms = eq.split("->")[0].split(",")
    feeds = {}
    for n, (term, e) in enumerate(zip(terms, [ell, ell2])):
        shape = []
        for c in term.replace("...", "."):
            shape += e if c == "." else [dims[c]]
        feeds[f"x{n}"] = _data(shape, np.float32, n)
    _check_if_ort("Einsum", feeds, equation=eq, rtol=1e-5, atol=1e-5)


@SETTINGS
@given(shapes=st.lists(st.integers(0, 3), min_size=3, max_size=3))
def test_matmul_empty(shapes):
    m, k, n = shapes
    _check_if_ort("MatMul", {"a": _data((2, m, k), np.float32), "b": _data((k, n), np.float32)})
    _check_if_ort("Gemm", {"a": _data((m, k), np.float32), "b": _data((k, n), np.float32)})


@SETTINGS
@given(shape=SHAPE, dtype=st.sampled_from([np.float32, np.float64, np.int32, np.int64,
                                            np.int8, np.float16]), fmod=st.integers(0, 1),
       seed=st.integers(0, 99))
def test_mod(shape, dtype, fmod, seed):
    rng = np.random.default_rng(seed)
    a = (rng.integers(-40, 40, shape) * (1.25 if np.dtype(dtype).kind == "f" else 1))
    b = rng.integers(1, 7, shape) * rng.choice([-1, 1], shape)
    assume(fmod or np.dtype(dtype).kind != "f")  # float Mod requires fmod=1
    _check_if_ort("Mod", {"a": a.astype(dtype), "b": b.astype(dtype)}, fmod=fmod)


@SETTINGS
@given(batch=st.lists(DIM, max_size=2), n=st.integers(1, 4), seed=st.integers(0, 99))
def test_det(batch, n, seed):
    x = _data(batch + [n, n], np.float32, seed)
    _check_if_ort("Det", {"x": x}, rtol=1e-4, atol=1e-4)


@SETTINGS
@given(c=st.integers(1, 6), size=st.sampled_from([1, 3, 5]), seed=st.integers(0, 99))  # ORT: odd
def test_lrn(c, size, seed):
    x = _data([2, c, 3, 2], np.float32, seed)
    _check_if_ort("LRN", {"x": x}, size=size, alpha=0.3, beta=0.6, bias=1.5, rtol=1e-5)


@SETTINGS
@given(n=st.integers(1, 8), classes=st.integers(1, 2), center=st.integers(0, 1),
       iou=st.sampled_from([0.0, 0.3, 0.5, 0.9]), score=st.sampled_from([0.0, 0.3]),
       max_out=st.integers(0, 5), seed=st.integers(0, 999))
def test_non_max_suppression(n, classes, center, iou, score, max_out, seed):
    rng = np.random.default_rng(seed)
    boxes = np.round(rng.uniform(0, 10, (1, n, 4)), 1).astype(np.float32)
    scores = np.round(rng.uniform(0, 1, (1, classes, n)), 3).astype(np.float32)
    assume(len(np.unique(scores)) == scores.size)  # tie order is unspecified
    feeds = {"b": boxes, "s": scores, "m": np.array([max_out], np.int64),
             "i": np.array([iou], np.float32), "t": np.array([score], np.float32)}
    _check_if_ort("NonMaxSuppression", feeds, center_point_box=center)


@SETTINGS
@given(h=st.integers(2, 6), w=st.integers(2, 6), n=st.integers(1, 4),
       ratio=st.integers(0, 2), half=st.sampled_from(["half_pixel", "output_half_pixel"]),
       scale=st.sampled_from([1.0, 0.5]), seed=st.integers(0, 999))
def test_roi_align_avg(h, w, n, ratio, half, scale, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3, h, w)).astype(np.float32)
    lo = rng.uniform(0, [w, h], (n, 2))
    rois = np.concatenate([lo, lo + rng.uniform(0.5, 3, (n, 2))], 1).astype(np.float32) / scale
    feeds = {"x": x, "r": rois, "b": rng.integers(0, 2, n).astype(np.int64)}
    _check_if_ort("RoiAlign", feeds, opset=16, output_height=2, output_width=3,
                  sampling_ratio=ratio, spatial_scale=scale,
                  coordinate_transformation_mode=half, rtol=1e-4, atol=1e-5)


@SETTINGS
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3), data=st.data())
def test_center_crop_pad(shape, data):
    target = [data.draw(st.integers(1, 6)) for _ in shape]
    _check_if_ort("CenterCropPad", {"x": _data(shape, np.float32),
                                    "s": np.array(target, np.int64)})


# ---------------------------------------------------------------------------------------------
# quantized and rounding-sensitive operators

@SETTINGS
@given(shape=SHAPE, seed=st.integers(0, 999), spread=st.sampled_from([0.01, 1, 100]))
def test_dynamic_quantize_linear(shape, seed, spread):
    x = (_data(shape, np.float32, seed) * spread).astype(np.float32)
    _check_if_ort("DynamicQuantizeLinear", {"x": x}, 3, opset=11, rtol=1e-6, atol=1)


@SETTINGS
@given(m=DIM, k=DIM, n=DIM, seed=st.integers(0, 999), a_dtype=st.sampled_from(
    [np.uint8, np.int8]), b_dtype=st.sampled_from([np.uint8, np.int8]))
def test_matmul_integer_and_qlinear(m, k, n, seed, a_dtype, b_dtype):
    a, b = _data((2, m, k), a_dtype, seed), _data((k, n), b_dtype, seed + 1)
    za, zb = np.array(3, a_dtype), np.array(2, b_dtype)
    _check_if_ort("MatMulInteger", {"a": a, "b": b, "za": za, "zb": zb}, opset=10)
    if a_dtype == b_dtype:
        feeds = {"a": a, "sa": np.array(0.05, np.float32), "za": za, "b": b,
                 "sb": np.array(0.1, np.float32), "zb": zb, "sy": np.array(0.3, np.float32),
                 "zy": np.array(5, a_dtype)}
        # ORT's integer requantization may differ by one step from exact rounding
        _check_if_ort("QLinearMatMul", feeds, opset=10, rtol=0, atol=1)


@SETTINGS
@given(seed=st.integers(0, 999), src=st.sampled_from([np.float32, np.float64]))
def test_cast_bfloat16(seed, src):
    from onnx import TensorProto, helper

    from builders import make_model, tensor_info

    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(64) * rng.choice([1e-3, 1, 1e3, 1e30], 64)).astype(src)
    nodes = [helper.make_node("Cast", ["x"], ["h"], to=TensorProto.BFLOAT16),
             helper.make_node("Cast", ["h"], ["y"], to=TensorProto.FLOAT)]
    model = make_model(nodes, [tensor_info("x", helper.np_dtype_to_tensor_dtype(x.dtype))],
                       [tensor_info("y")], opset=19)
    np.testing.assert_array_equal(InferenceSession(model).run(None, {"x": x})[0],
                                  _ort(model, {"x": x})[0])


@SETTINGS
@given(h=st.integers(2, 6), w=st.integers(2, 6), oh=st.integers(1, 6), ow=st.integers(1, 6),
       mode=st.sampled_from(["nearest", "linear"]), seed=st.integers(0, 999))
def test_resize_tf_crop_and_resize(h, w, oh, ow, mode, seed):
    rng = np.random.default_rng(seed)
    roi = np.concatenate([rng.uniform(-0.3, 0.6, 2), rng.uniform(0.5, 1.3, 2)])
    feeds = {"x": _data((1, 2, h, w), np.float32), "roi": roi.astype(np.float32), "": None,
             "s": np.array([oh, ow], np.int64)}
    attrs = dict(mode=mode, axes=[2, 3], coordinate_transformation_mode="tf_crop_and_resize",
                 extrapolation_value=-7.0, nearest_mode="round_prefer_ceil")
    # ORT copies an axis whose size does not change, ignoring its roi crop
    assume(oh != h and ow != w)
    _check_if_ort("Resize", feeds, opset=19, rtol=1e-4, atol=1e-4, **attrs)
