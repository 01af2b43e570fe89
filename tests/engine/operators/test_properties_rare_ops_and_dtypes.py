"""Property tests: the less common operators, zero-size tensors, unary and reduction
dtypes, ai-engine against onnxruntime (see test_properties_shape_index_cast.py)."""

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from prop_helpers import DIM, DTYPES, FLOATS, SETTINGS, SHAPE, _check, _check_if_ort, _data


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
