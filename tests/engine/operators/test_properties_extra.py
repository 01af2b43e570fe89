"""Property tests, part 3: ai-engine against onnxruntime on the less common operators."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from test_properties_more import DIM, DTYPES, SETTINGS, SHAPE, _check, _data, _same, _both

FLOATS = st.sampled_from([np.float32, np.float64, np.float16])


def _check_if_ort(op, feeds, n_out=1, opset=18, rtol=1e-5, atol=1e-6, **attrs):
    """_check, skipping the draws whose dtype ORT has no kernel (or schema) for."""
    try:
        ours, peer = _both(op, feeds, n_out, opset, **attrs)
    except Exception as exc:
        assume("NOT_IMPLEMENTED" not in str(exc) and "Type Error" not in str(exc))
        raise
    _same(ours, peer, rtol=rtol, atol=atol)


@SETTINGS
@given(shape=SHAPE, data=st.data(), sorted_=st.integers(0, 1),
       dtype=st.sampled_from([np.float32, np.int64, np.int8]))
def test_unique(shape, data, sorted_, dtype):
    x = np.random.default_rng(len(shape)).integers(0, 3, shape).astype(dtype)
    rank = len(shape)
    attrs = dict(sorted=1)
    if data.draw(st.booleans()):
        attrs["axis"] = data.draw(st.integers(-rank, rank - 1))
    _check("Unique", {"x": x}, 4, opset=11, **attrs)


@SETTINGS
@given(shape=SHAPE, data=st.data(), dtype=DTYPES)
def test_compress(shape, data, dtype):
    rank = len(shape)
    axis = data.draw(st.one_of(st.none(), st.integers(-rank, rank - 1)))
    n = int(np.prod(shape)) if axis is None else shape[axis]
    cond = np.array(data.draw(st.lists(st.booleans(), min_size=1, max_size=n)))
    attrs = {} if axis is None else {"axis": axis}
    _check("Compress", {"x": _data(shape, dtype), "c": cond}, via_f64=["x"], **attrs)


@SETTINGS
@given(t=st.integers(1, 5), b=st.integers(1, 4), rest=st.lists(DIM, max_size=2),
       data=st.data(), time_axis=st.integers(0, 1))
def test_reverse_sequence(t, b, rest, data, time_axis):
    shape = ([t, b] if time_axis == 0 else [b, t]) + rest
    lens = np.array([data.draw(st.integers(1, t)) for _ in range(b)], np.int64)
    _check("ReverseSequence", {"x": _data(shape, np.float32), "l": lens},
           time_axis=time_axis, batch_axis=1 - time_axis)


@SETTINGS
@given(n=st.integers(1, 4), data=st.data(), op=st.sampled_from(["Mean", "Sum", "Max", "Min"]),
       dtype=st.sampled_from([np.float32, np.float64, np.float16]))
def test_variadic(n, data, op, dtype):
    rank = data.draw(st.integers(0, 3))
    full = data.draw(st.lists(DIM, min_size=rank, max_size=rank))
    feeds = {}
    for i in range(n):
        s = [d if data.draw(st.booleans()) else 1 for d in full]
        feeds[f"x{i}"] = _data(s[data.draw(st.integers(0, rank)):], dtype, i)
    _check_if_ort(op, feeds, rtol=1e-3, atol=1e-3)


@SETTINGS
@given(shape=st.lists(st.integers(3, 8), min_size=1, max_size=3), data=st.data(),
       ceil_mode=st.integers(0, 1), storage=st.integers(0, 1))
def test_maxpool_indices(shape, data, ceil_mode, storage):
    nd = len(shape)
    k = [data.draw(st.integers(1, 3)) for _ in range(nd)]
    dil = [data.draw(st.integers(1, 2)) for _ in range(nd)]
    strides = [data.draw(st.integers(1, 3)) for _ in range(nd)]
    pads = [data.draw(st.integers(0, kk - 1)) for kk in k] * 2
    assume(all((kk - 1) * d + 1 <= s + 2 * p for kk, d, s, p in zip(k, dil, shape, pads)))
    x = np.random.default_rng(0).permutation(2 * 3 * int(np.prod(shape))).astype(
        np.float32).reshape([2, 3] + shape)
    _check("MaxPool", {"x": x}, 2, kernel_shape=k, dilations=dil, strides=strides, pads=pads,
           ceil_mode=ceil_mode, storage_order=storage if nd == 2 else 0)


@SETTINGS
@given(shape=SHAPE, data=st.data(), p=st.integers(1, 2), dtype=st.sampled_from([np.float32,
                                                                                  np.float64]))
def test_lp_normalization(shape, data, p, dtype):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    _check("LpNormalization", {"x": _data(shape, dtype)}, axis=axis, p=p, rtol=1e-5)


@SETTINGS
@given(shape=st.lists(DIM, min_size=1, max_size=3), groups=st.integers(1, 3),
       per_group=st.integers(1, 2), dtype=st.sampled_from([np.float32]))
def test_group_normalization(shape, groups, per_group, dtype):
    c = groups * per_group
    x = _data([2, c] + shape, dtype)
    feeds = {"x": x, "s": _data(c, dtype, 1), "b": _data(c, dtype, 2)}
    _check("GroupNormalization", feeds, opset=21, num_groups=groups, epsilon=1e-3, rtol=1e-4,
           atol=1e-5)


@SETTINGS
@given(shape=SHAPE, data=st.data(), op=st.sampled_from(["Hardmax", "LogSoftmax", "Softmax"]),
       opset=st.sampled_from([11, 13]), dtype=FLOATS)
def test_softmax_family(shape, data, op, opset, dtype):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = np.random.default_rng(0).integers(-3, 3, shape).astype(dtype)  # ties for Hardmax
    tol = dict(rtol=1e-2, atol=1e-2) if dtype == np.float16 else dict(rtol=1e-5, atol=1e-6)
    _check_if_ort(op, {"x": x}, opset=opset, axis=axis, **tol)


@SETTINGS
@given(shape=st.lists(DIM, min_size=1, max_size=4), data=st.data(),
       to=st.sampled_from([np.uint8, np.int8, np.int32, np.uint16, np.int16]),
       saturate_range=st.booleans())
def test_quantize_dequantize(shape, data, to, saturate_range):
    rank = len(shape)
    axis = data.draw(st.integers(-rank, rank - 1))
    per_axis = data.draw(st.booleans())
    n = shape[axis] if per_axis else 1
    scale = (np.abs(_data([n], np.float32, 3)) + 0.05).astype(np.float32)
    info = np.iinfo(to)
    zp = np.random.default_rng(1).integers(info.min // 2, info.max // 2 + 1, n).astype(to)
    if not per_axis:
        scale, zp = scale.reshape(()), zp.reshape(())
    x = _data(shape, np.float32) * (300 if saturate_range else 3)
    x = np.round(x * 8) / 8 + 1 / 16  # off the .5 ties a float32 division would blur
    _check_if_ort("QuantizeLinear", {"x": x, "s": scale, "z": zp}, opset=21, axis=axis)
    q = _data(shape, to)
    _check_if_ort("DequantizeLinear", {"x": q, "s": scale, "z": zp}, opset=21, axis=axis)


@SETTINGS
@given(shape=SHAPE, op=st.sampled_from(["Elu", "Selu", "HardSigmoid", "Gelu", "Mish",
                                         "Softplus", "Softsign", "Celu", "HardSwish", "Round",
                                         "Sign", "Erf", "Sigmoid", "Tanh", "Relu", "Shrink",
                                         "ThresholdedRelu", "LeakyRelu", "Neg", "Abs",
                                         "Reciprocal", "Floor", "Ceil", "Exp", "Sqrt", "Log"]),
       dtype=FLOATS, scale=st.sampled_from([1, 30, 1000]))
def test_unary(shape, op, dtype, scale):
    x = (_data(shape, np.float64) * scale)
    x[..., 0] = np.round(x[..., 0]) + 0.5  # halves for Round
    if op in ("Sqrt", "Log"):
        x = np.abs(x) + 0.1
    if op == "Softplus" and dtype != np.float32:
        x = np.clip(x, -10, 10)  # ORT's float16/64 log(1 + exp(x)) overflows to inf
    x = x.astype(dtype)
    opset = {"Gelu": 20, "Celu": 12}.get(op, 18)
    tol = dict(rtol=2e-3, atol=2e-3) if dtype == np.float16 else dict(rtol=1e-5, atol=1e-6)
    _check_if_ort(op, {"x": x}, opset=opset, **tol)


@SETTINGS
@given(shape=st.lists(DIM, min_size=1, max_size=3), data=st.data(),
       op=st.sampled_from(["ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceMean",
                           "ReduceSumSquare", "ReduceL1", "ReduceLogSum"]),
       dtype=st.sampled_from([np.int32, np.int64, np.float16, np.float64, np.uint8, np.int8]),
       keepdims=st.integers(0, 1), noop=st.integers(0, 1))
def test_reductions_dtypes(shape, data, op, dtype, keepdims, noop):
    rank = len(shape)
    axes = data.draw(st.lists(st.integers(-rank, rank - 1), unique_by=lambda a: a % rank,
                              max_size=rank))
    x = np.random.default_rng(3).integers(1, 4, shape).astype(dtype)
    if op == "ReduceProd":  # no overflow: ORT saturates where NumPy wraps
        x = np.where(x == 2, -1, 1).astype(dtype) if dtype != np.uint8 else x // x
    feeds = {"x": x, "a": np.array(axes, np.int64)} if axes else {"x": x}
    tol = dict(rtol=2e-3, atol=2e-3) if dtype == np.float16 else dict(rtol=1e-6, atol=1e-6)
    _check_if_ort(op, feeds, keepdims=keepdims, noop_with_empty_axes=noop, **tol)


@SETTINGS
@given(shapes=st.lists(DIM, min_size=2, max_size=2), data=st.data(),
       dtype=st.sampled_from([np.int32, np.int64, np.float32, np.float64]),
       edtype=st.sampled_from([np.int32, np.int64, np.float32, np.float64]))
def test_pow(shapes, data, dtype, edtype):
    x = np.random.default_rng(0).integers(-3, 4, shapes).astype(dtype)
    e = np.random.default_rng(1).integers(0, 4, shapes[data.draw(st.integers(0, 2)):]).astype(
        edtype)
    _check("Pow", {"x": x, "e": e}, rtol=1e-5)


@SETTINGS
@given(shape=SHAPE, dtype=st.sampled_from([np.uint8, np.uint32, np.uint64, np.uint16]),
       direction=st.sampled_from(["LEFT", "RIGHT"]), seed=st.integers(0, 99))
def test_bitshift(shape, dtype, direction, seed):
    bits = np.iinfo(dtype).bits
    rng = np.random.default_rng(seed)
    x = rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)
    s = rng.integers(0, bits, shape).astype(dtype)
    _check("BitShift", {"x": x, "s": s}, direction=direction, rtol=0, atol=0)


@SETTINGS
@given(h=st.integers(1, 5), w=st.integers(1, 5), oh=st.integers(1, 5), ow=st.integers(1, 5),
       mode=st.sampled_from(["linear", "nearest", "cubic"]),
       padding=st.sampled_from(["zeros", "border", "reflection"]),
       align=st.integers(0, 1), seed=st.integers(0, 999))
def test_grid_sample(h, w, oh, ow, mode, padding, align, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, 2, h, w)).astype(np.float32)
    grid = (rng.uniform(-1.3, 1.3, (1, oh, ow, 2))).astype(np.float32)
    if mode == "nearest":  # keep samples off the rounding ties
        grid = (np.round(grid * 16) / 16 + 1 / 64).astype(np.float32)
    _check("GridSample", {"x": x, "g": grid}, opset=20, mode=mode, padding_mode=padding,
           align_corners=align, rtol=1e-4, atol=1e-4)


@SETTINGS
@given(shape=st.lists(st.integers(1, 5), min_size=3, max_size=5), data=st.data(),
       mode=st.sampled_from(["nearest"]),
       dtype=st.sampled_from([np.float32, np.uint8, np.int8, np.int32]))
def test_resize_nd(shape, data, mode, dtype):
    """Nearest Resize on any rank and any axes."""
    rank = len(shape)
    scales = [data.draw(st.sampled_from([0.5, 1.0, 2.0, 3.0])) for _ in range(rank)]
    assume(all(int(d * s) >= 1 for d, s in zip(shape, scales)))
    coord = data.draw(st.sampled_from(["half_pixel", "asymmetric", "pytorch_half_pixel"]))
    nearest = data.draw(st.sampled_from(["round_prefer_floor", "round_prefer_ceil", "floor",
                                         "ceil"]))
    feeds = {"x": _data(shape, dtype), "": None, "r": np.array(scales, np.float32)}
    _check("Resize", feeds, opset=19, mode=mode, coordinate_transformation_mode=coord,
           nearest_mode=nearest)


# ---------------------------------------------------------------------------------------------
# zero-size dimensions

SHAPE0 = st.lists(st.integers(0, 3), min_size=1, max_size=4).filter(lambda s: 0 in s)


@SETTINGS
@given(shape=SHAPE0, data=st.data(), dtype=st.sampled_from([np.float32, np.int64]))
def test_empty_tensors(shape, data, dtype):
    x = _data(shape, dtype)
    rank = len(shape)
    axis = data.draw(st.integers(-rank, rank - 1))
    _check_if_ort("Transpose", {"x": x}, perm=list(data.draw(st.permutations(range(rank)))))
    _check_if_ort("Softmax", {"x": x.astype(np.float32)}, axis=axis)
    _check_if_ort("CumSum", {"x": x, "a": np.array(axis, np.int64)},
                  reverse=data.draw(st.integers(0, 1)))
    _check_if_ort("Tile", {"x": x, "r": np.array([data.draw(st.integers(0, 2))
                                                  for _ in shape], np.int64)})
    _check_if_ort("Flatten", {"x": x}, axis=data.draw(st.integers(-rank, rank)))
    _check_if_ort("Where", {"c": _data(shape[1:], np.bool_), "a": x, "b": x[..., :1] if
                            shape[-1] else x})
    _check_if_ort("ReduceSum", {"x": x, "a": np.array([axis], np.int64)},
                  keepdims=data.draw(st.integers(0, 1)))
    # (ReduceMean of nothing is undefined in the spec; the rest have defined values)
    for op in ["ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
               "ReduceLogSumExp", "ReduceSumSquare"]:
        _check_if_ort(op, {"x": x, "a": np.array([axis], np.int64)})
    if shape[axis]:
        _check_if_ort("ArgMax", {"x": x}, axis=axis)
    k = data.draw(st.integers(0, shape[axis]))
    _check_if_ort("TopK", {"x": x, "k": np.array([k], np.int64)}, 2, axis=axis)
    _check_if_ort("Pad", {"x": x, "p": np.array([1] * rank + [0] * rank, np.int64)})
    _check_if_ort("Gather", {"x": x, "i": np.zeros([0, 2], np.int64)}, axis=axis)
    _check_if_ort("Concat", {"x": x, "y": x}, axis=axis)
    _check_if_ort("NonZero", {"x": x})
    _check_if_ort("Resize", {"x": x.astype(np.float32), "": None,
                             "r": np.full(rank, 2, np.float32)}, opset=19)


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
    for half in range(2):
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
    rank = len(shape)
    target = [data.draw(st.integers(1, 6)) for _ in shape]
    _check_if_ort("CenterCropPad", {"x": _data(shape, np.float32),
                                    "s": np.array(target, np.int64)})
