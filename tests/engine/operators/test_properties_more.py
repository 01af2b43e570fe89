"""More property tests: ai-engine against onnxruntime on drawn shapes, attributes and dtypes.

Covers the shape/layout, indexing, selection, cast, linear-algebra and normalization families
(the first file, test_properties.py, covers broadcasting arithmetic, reductions, Slice, Conv,
pooling, Pad and Gather). Where onnxruntime departs from the ONNX spec the test follows the spec
and says so.
"""

import os

import numpy as np
import onnxruntime as ort
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ai_engine import InferenceSession
from builders import one_node_model

# PROP_EXAMPLES=500 when hunting; the default keeps the file fast
SETTINGS = settings(max_examples=int(os.environ.get("PROP_EXAMPLES", 30)), deadline=None)
DIM = st.integers(1, 4)
SHAPE = st.lists(DIM, min_size=1, max_size=4)


def _ort(model, feeds):
    return ort.InferenceSession(model.SerializeToString(),
                                providers=["CPUExecutionProvider"]).run(None, feeds)


def _both(op, feeds, n_out=1, opset=18, via_f64=(), **attrs):
    """Every output of a one-node model, from us and from onnxruntime.

    ``via_f64`` names data inputs of a data-movement op: where ORT has no kernel for their
    dtype, ORT runs on them cast to float64 (lossless for every dtype drawn here) and its
    outputs of that dtype are cast back.
    """
    outs = [f"y{i}" for i in range(n_out)]
    model = one_node_model(op, feeds, outs, opset, attrs)
    feeds = {k: v for k, v in feeds.items() if k}
    ours = InferenceSession(model).run(None, feeds)
    try:
        peer = _ort(model, feeds)
    except ort.capi.onnxruntime_pybind11_state.NotImplemented:
        if not via_f64:
            raise
        dtype = feeds[via_f64[0]].dtype
        for wide in (np.float64, np.float32):  # float32: where ORT lacks float64 too
            cast = {k: v.astype(wide) if k in via_f64 else v for k, v in feeds.items()}
            model = one_node_model(op, cast, outs, opset, attrs)
            try:
                peer = [p.astype(dtype) if p.dtype == wide else p for p in _ort(model, cast)]
                break
            except ort.capi.onnxruntime_pybind11_state.NotImplemented:
                if wide == np.float32:
                    raise
    return ours, peer


def _same(ours, peer, rtol=1e-5, atol=1e-6):
    assert len(ours) == len(peer)
    for a, b in zip(ours, peer):
        assert a.dtype == b.dtype, (a.dtype, b.dtype)
        assert a.shape == b.shape, (a.shape, b.shape)
        np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64),
                                   rtol=rtol, atol=atol)


def _check(op, feeds, n_out=1, opset=18, rtol=1e-5, atol=1e-6, **attrs):
    _same(*_both(op, feeds, n_out, opset, **attrs), rtol=rtol, atol=atol)


def _data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(max(info.min, -100), min(info.max, 100), shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


DTYPES = st.sampled_from([np.float32, np.float16, np.float64, np.int8, np.uint8, np.int32,
                          np.int64, np.bool_])


# ---------------------------------------------------------------------------------------------
# shape and layout

@SETTINGS
@given(shape=SHAPE, dtype=DTYPES, data=st.data())
def test_concat(shape, dtype, data):
    rank = len(shape)
    axis = data.draw(st.integers(-rank, rank - 1))
    n = data.draw(st.integers(1, 4))
    feeds = {}
    for i in range(n):
        s = list(shape)
        s[axis] = data.draw(st.integers(0 if n > 1 else 1, 3))
        feeds[f"x{i}"] = _data(s, dtype, i)
    _check("Concat", feeds, axis=axis, via_f64=list(feeds))


@SETTINGS
@given(shape=SHAPE, dtype=DTYPES, data=st.data())
def test_split(shape, dtype, data):
    rank = len(shape)
    axis = data.draw(st.integers(-rank, rank - 1))
    dim = shape[axis] = data.draw(st.integers(1, 7))
    x = _data(shape, dtype)
    if data.draw(st.booleans()):
        n = data.draw(st.integers(1, dim))
        # ORT rejects a split whose chunks run out before the last one (5 into 4: 2,2,1,0)
        assume(dim - (n - 1) * -(-dim // n) >= 0)
        _check("Split", {"x": x}, n, axis=axis, num_outputs=n, via_f64=["x"])
    else:
        cuts = sorted(data.draw(st.lists(st.integers(0, dim), max_size=3)))
        split = np.diff([0] + cuts + [dim]).astype(np.int64)
        _check("Split", {"x": x, "split": split}, len(split), axis=axis, via_f64=["x"])


@SETTINGS
@given(shape=st.lists(st.integers(1, 3), max_size=4), dtype=DTYPES, data=st.data())
def test_squeeze_unsqueeze_flatten(shape, dtype, data):
    x = _data(shape, dtype)
    rank = len(shape)
    ones = [i for i, d in enumerate(shape) if d == 1]
    axes = data.draw(st.lists(st.sampled_from(ones), unique=True)) if ones else []
    axes = [a - rank if data.draw(st.booleans()) else a for a in axes]
    if axes:
        _check("Squeeze", {"x": x, "axes": np.array(axes, np.int64)})
    else:
        _check("Squeeze", {"x": x})
    out_rank = rank + data.draw(st.integers(1, 3))
    uaxes = data.draw(st.lists(st.integers(-out_rank, out_rank - 1), min_size=out_rank - rank,
                               max_size=out_rank - rank, unique_by=lambda a: a % out_rank))
    _check("Unsqueeze", {"x": x, "axes": np.array(uaxes, np.int64)})
    _check("Unsqueeze", {"x": x}, opset=11, axes=uaxes)
    _check("Flatten", {"x": x}, axis=data.draw(st.integers(-rank, rank)))


@SETTINGS
@given(shape=st.lists(st.integers(0, 4), min_size=1, max_size=4), data=st.data())
def test_reshape(shape, data):
    x = _data(shape, np.float32)
    total = int(np.prod(shape))
    allowzero = data.draw(st.integers(0, 1))
    # a target: the input shape regrouped, then dims copied with 0 and one inferred with -1
    target = data.draw(st.permutations(shape))
    target = list(target)
    if len(target) > 1 and data.draw(st.booleans()):
        target = [target[0] * target[1]] + target[2:]
    if not allowzero:  # a real zero-size dimension reads as "copy" unless allowzero
        assume(all(i < len(shape) and shape[i] == 0 for i, d in enumerate(target) if d == 0))
        for i, d in enumerate(target):
            if i < len(shape) and shape[i] == d and data.draw(st.booleans()):
                target[i] = 0
    if total and data.draw(st.booleans()):
        target[data.draw(st.integers(0, len(target) - 1))] = -1
    if allowzero:
        assume(not (0 in target and -1 in target))
    assume(target.count(-1) <= 1)
    if not total:
        assume(-1 not in target)  # -1 beside a zero dimension is ambiguous
    _check("Reshape", {"x": x, "s": np.array(target, np.int64)}, allowzero=allowzero)


@SETTINGS
@given(shape=st.lists(st.integers(1, 3), max_size=4), dtype=DTYPES, data=st.data())
def test_expand_and_tile(shape, dtype, data):
    x = _data(shape, dtype)
    extra = data.draw(st.lists(st.integers(1, 3), max_size=2))
    target = extra + [data.draw(st.sampled_from([1, d])) if d != 1
                      else data.draw(st.integers(1, 3)) for d in shape]
    target = target[data.draw(st.integers(0, len(target))):]  # a shorter shape broadcasts too
    _check("Expand", {"x": x, "s": np.array(target, np.int64)}, via_f64=["x"])
    reps = data.draw(st.lists(st.integers(0, 3), min_size=len(shape), max_size=len(shape)))
    _check("Tile", {"x": x, "r": np.array(reps, np.int64)}, via_f64=["x"])


@st.composite
def broadcast_shapes(draw, n):
    rank = draw(st.integers(0, 4))
    shape = draw(st.lists(st.integers(1, 3), min_size=rank, max_size=rank))
    out = []
    for _ in range(n):
        s = [d if draw(st.booleans()) else 1 for d in shape]
        out.append(tuple(s[draw(st.integers(0, rank)):]))
    return out


@SETTINGS
@given(shapes=broadcast_shapes(3), dtype=DTYPES, seed=st.integers(0, 99))
def test_where(shapes, dtype, seed):
    feeds = {"c": _data(shapes[0], np.bool_, seed), "a": _data(shapes[1], dtype, seed + 1),
             "b": _data(shapes[2], dtype, seed + 2)}
    _check("Where", feeds, via_f64=["a", "b"])


@SETTINGS
@given(shape=st.lists(st.integers(1, 3), min_size=3, max_size=5),
       block=st.integers(1, 3), mode=st.sampled_from(["DCR", "CRD"]), dtype=DTYPES)
def test_depth_space(shape, block, mode, dtype):
    n, c, h, w = 1, shape[0] * block * block, shape[1], shape[2]
    x = _data((n, c, h, w), dtype)
    if dtype != np.bool_:
        _check("DepthToSpace", {"x": x}, blocksize=block, mode=mode, via_f64=["x"])
    y = _data((n, shape[0], h * block, w * block), dtype)
    _check("SpaceToDepth", {"x": y}, blocksize=block, via_f64=["x"])


@SETTINGS
@given(shape=st.lists(st.integers(1, 5), min_size=2, max_size=4), upper=st.integers(0, 1),
       k=st.integers(-6, 6), dtype=DTYPES)
def test_trilu(shape, upper, k, dtype):
    x = _data(shape, dtype)
    _check("Trilu", {"x": x, "k": np.array(k, np.int64)}, upper=upper, via_f64=["x"])
    _check("Trilu", {"x": x}, upper=upper, via_f64=["x"])


# ---------------------------------------------------------------------------------------------
# indexing

def _indices(data, dim, shape):
    """Valid indices into a dimension of size ``dim``, negative ones included."""
    n = int(np.prod(shape))
    return np.array(data.draw(st.lists(st.integers(-dim, dim - 1), min_size=n, max_size=n)),
                    np.int64).reshape(shape)


@SETTINGS
@given(shape=SHAPE, dtype=DTYPES, data=st.data())
def test_gather_elements(shape, dtype, data):
    rank = len(shape)
    axis = data.draw(st.integers(-rank, rank - 1))
    idx_shape = [data.draw(st.integers(1, d)) for d in shape]
    idx_shape[axis] = data.draw(st.integers(1, 4))
    feeds = {"x": _data(shape, dtype), "i": _indices(data, shape[axis], idx_shape)}
    _check("GatherElements", feeds, axis=axis, via_f64=["x"])


@SETTINGS
@given(shape=st.lists(DIM, min_size=1, max_size=4), dtype=DTYPES, data=st.data())
def test_gather_nd(shape, dtype, data):
    rank = len(shape)
    b = data.draw(st.integers(0, rank - 1))
    depth = data.draw(st.integers(1, rank - b))
    mid = data.draw(st.lists(DIM, max_size=2))
    idx = np.stack([_indices(data, shape[b + j], shape[:b] + mid) for j in range(depth)], -1)
    feeds = {"x": _data(shape, dtype), "i": idx}
    _check("GatherND", feeds, batch_dims=b, via_f64=["x"])


@SETTINGS
@given(shape=st.lists(DIM, min_size=1, max_size=4), data=st.data(),
       reduction=st.sampled_from(["none", "add", "mul", "max", "min"]),
       dtype=st.sampled_from([np.float32, np.float64, np.int32, np.int64]))
def test_scatter_nd(shape, data, reduction, dtype):
    rank = len(shape)
    depth = data.draw(st.integers(1, rank))
    n = data.draw(st.integers(1, 5))
    # every slot it could address, drawn without repeats when the reduction is "none"
    slots = np.stack(np.meshgrid(*[np.arange(d) for d in shape[:depth]], indexing="ij"),
                     -1).reshape(-1, depth)
    picks = data.draw(st.lists(st.integers(0, len(slots) - 1), min_size=1, max_size=n,
                               unique=reduction == "none"))
    idx = slots[picks]
    idx = np.where(data.draw(st.booleans()), idx - np.array(shape[:depth]), idx)
    upd = _data([len(picks)] + shape[depth:], dtype, 1)
    feeds = {"x": _data(shape, dtype), "i": idx.astype(np.int64), "u": upd}
    _check("ScatterND", feeds, reduction=reduction)


@SETTINGS
@given(shape=SHAPE, data=st.data(), reduction=st.sampled_from(["none", "add", "mul", "max",
                                                                 "min"]),
       dtype=st.sampled_from([np.float32, np.float64, np.int32, np.int64]))
def test_scatter_elements(shape, data, reduction, dtype):
    rank = len(shape)
    axis = data.draw(st.integers(-rank, rank - 1))
    dim = shape[axis]
    idx_shape = [data.draw(st.integers(1, d)) for d in shape]
    idx_shape[axis] = data.draw(st.integers(1, dim if reduction == "none" else 4))
    if reduction == "none":  # no two updates to one element: a permutation prefix per line
        lines = int(np.prod(idx_shape)) // idx_shape[axis]
        rows = [data.draw(st.permutations(range(dim)))[:idx_shape[axis]] for _ in range(lines)]
        idx = np.moveaxis(np.array(rows, np.int64).reshape(
            [d for i, d in enumerate(idx_shape) if i != axis % rank] + [idx_shape[axis]]),
            -1, axis)
    else:
        idx = _indices(data, dim, idx_shape)
    feeds = {"x": _data(shape, dtype), "i": idx, "u": _data(idx_shape, dtype, 1)}
    _check("ScatterElements", feeds, axis=axis, reduction=reduction)


@SETTINGS
@given(depth=st.integers(1, 6), shape=st.lists(DIM, min_size=1, max_size=3), data=st.data(),
       dtype=st.sampled_from([np.int64, np.int32, np.float32]))
def test_one_hot(depth, shape, data, dtype):  # ORT wants rank >= 1 indices
    rank = len(shape)
    axis = data.draw(st.integers(-rank - 1, rank))
    idx = np.array(data.draw(st.lists(st.integers(-depth - 2, depth + 2),
                                      min_size=int(np.prod(shape)),
                                      max_size=int(np.prod(shape))))).reshape(shape)
    feeds = {"i": idx.astype(dtype), "d": np.array([depth], dtype),
             "v": np.array([-2, 5], np.float32)}
    _check("OneHot", feeds, axis=axis)


@SETTINGS
@given(shape=st.lists(st.integers(0, 4), max_size=4), dtype=DTYPES, seed=st.integers(0, 99))
def test_nonzero(shape, dtype, seed):
    x = _data(shape, dtype, seed)
    if x.dtype.kind == "f":
        x = np.where(x > 0.3, x, 0).astype(dtype)
    _check("NonZero", {"x": x}, via_f64=["x"])


@SETTINGS
@given(start=st.integers(-10, 10), limit=st.integers(-10, 10),
       delta=st.integers(-4, 4).filter(bool),
       dtype=st.sampled_from([np.int32, np.int64, np.float32, np.float64, np.int16]))
def test_range(start, limit, delta, dtype):
    scale = 0.5 if np.dtype(dtype).kind == "f" else 1
    feeds = {"s": np.array(start * scale, dtype), "l": np.array(limit * scale, dtype),
             "d": np.array(delta * scale, dtype)}
    _check("Range", feeds)


# ---------------------------------------------------------------------------------------------
# selection

@SETTINGS
@given(shape=SHAPE, data=st.data(), largest=st.integers(0, 1),
       dtype=st.sampled_from([np.float32, np.float64, np.int32, np.int64, np.float16,
                              np.uint8, np.int8]))
def test_topk(shape, data, largest, dtype):
    rank = len(shape)
    axis = data.draw(st.integers(-rank, rank - 1))
    k = data.draw(st.integers(0, shape[axis]))
    x = np.random.default_rng(k).integers(0, 3, shape).astype(dtype)  # many ties
    feeds = {"x": x, "k": np.array([k], np.int64)}
    _check("TopK", feeds, 2, axis=axis, largest=largest, sorted=1, via_f64=["x"])


@SETTINGS
@given(shape=SHAPE, data=st.data(), op=st.sampled_from(["ArgMax", "ArgMin"]),
       last=st.integers(0, 1), keepdims=st.integers(0, 1),
       dtype=st.sampled_from([np.float32, np.float64, np.int32, np.int64, np.float16,
                              np.uint8, np.int8]))
def test_argmax_argmin(shape, data, op, last, keepdims, dtype):
    rank = len(shape)
    axis = data.draw(st.integers(-rank, rank - 1))
    x = np.random.default_rng(rank).integers(0, 3, shape).astype(dtype)
    _check(op, {"x": x}, axis=axis, keepdims=keepdims, select_last_index=last, via_f64=["x"])


@SETTINGS
@given(shape=SHAPE, data=st.data(), exclusive=st.integers(0, 1), reverse=st.integers(0, 1),
       dtype=st.sampled_from([np.float32, np.float64, np.int32, np.int64]),
       axis_dtype=st.sampled_from([np.int32, np.int64]))
def test_cumsum(shape, data, exclusive, reverse, dtype, axis_dtype):
    rank = len(shape)
    axis = np.array(data.draw(st.integers(-rank, rank - 1)), axis_dtype)
    _check("CumSum", {"x": _data(shape, dtype), "a": axis}, exclusive=exclusive,
           reverse=reverse, rtol=1e-5, atol=1e-5)


@SETTINGS
@given(shape=st.lists(DIM, max_size=3), data=st.data(),
       dtype=st.sampled_from([np.float32, np.float64, np.float16, np.int8, np.uint8, np.int32,
                              np.int64]))
def test_clip(shape, data, dtype):
    x = _data(shape, dtype)
    low = 0 if dtype == np.uint8 else -5
    lo = np.array(data.draw(st.integers(low, 5)), dtype) if data.draw(st.booleans()) else None
    hi = np.array(data.draw(st.integers(low, 5)), dtype) if data.draw(st.booleans()) else None
    feeds = {"x": x, "": None, "hi": hi} if lo is None else {"x": x, "lo": lo, "hi": hi}
    if hi is None:
        feeds.pop("hi")
    _check("Clip", feeds)


# ---------------------------------------------------------------------------------------------
# Cast

NUMERIC = [np.float32, np.float64, np.float16, np.int8, np.uint8, np.int16, np.uint16,
           np.int32, np.uint32, np.int64, np.uint64, np.bool_]


@SETTINGS
@given(src=st.sampled_from(NUMERIC), dst=st.sampled_from(NUMERIC), seed=st.integers(0, 999))
def test_cast_numeric(src, dst, seed):
    rng = np.random.default_rng(seed)
    src, dst = np.dtype(src), np.dtype(dst)
    if src.kind == "f":
        x = rng.standard_normal(16) * rng.choice([1, 100, 1e5], 16)
        x[:6] = [0.5, -0.5, 1.5, 2.5, -0.0, 65504]
        if dst.kind in "iu":  # out-of-range float -> int is undefined (a C cast in ORT)
            info = np.iinfo(dst)
            x = np.clip(x, max(info.min, -1e15), min(info.max, 1e15))
            if dst.kind == "u":
                x = np.abs(x)
        x = x.astype(src)
        if dst.kind in "iu":  # rounding to the edge after the clip may step outside
            x = np.where(np.abs(x.astype(np.float64)) < np.iinfo(dst).max // 2, x, 0).astype(src)
    elif src == np.bool_:
        x = rng.integers(0, 2, 16).astype(bool)
    else:
        info = np.iinfo(src)
        x = rng.integers(info.min, info.max, 16, dtype=src, endpoint=True)
        x[:3] = [info.min, info.max, 0]
    dst_onnx = __import__("onnx").helper.np_dtype_to_tensor_dtype(dst)
    _check("Cast", {"x": x}, opset=19, to=dst_onnx, rtol=0, atol=0)


@SETTINGS
@given(seed=st.integers(0, 999), saturate=st.integers(0, 1),
       to=st.sampled_from(["FLOAT8E4M3FN", "FLOAT8E5M2"]),
       src=st.sampled_from([np.float32, np.float16]))
def test_cast_float8(seed, saturate, to, src):
    from onnx import TensorProto
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(32) * rng.choice([0.001, 1, 100, 1e4], 32)).astype(src)
    from onnx import helper

    from builders import make_model, tensor_info
    # there and back: ORT's Python API cannot return a float8 array
    nodes = [helper.make_node("Cast", ["x"], ["f8"], to=getattr(TensorProto, to),
                              saturate=saturate),
             helper.make_node("Cast", ["f8"], ["y"], to=TensorProto.FLOAT)]
    model = make_model(nodes, [tensor_info("x", helper.np_dtype_to_tensor_dtype(x.dtype))],
                       [tensor_info("y")], opset=19)
    ours = InferenceSession(model).run(None, {"x": x})[0]
    peer = _ort(model, {"x": x})[0]
    # With saturate=0, ORT clamps E4M3FN values just past 448 (up to 512) to 448 where the
    # spec (and onnx.reference) round them to NaN: there, follow the reference.
    beyond = np.abs(x.astype(np.float32)) > (448 if to == "FLOAT8E4M3FN" else 57344)
    if not saturate and beyond.any():
        from onnx.reference import ReferenceEvaluator
        peer = np.where(beyond, ReferenceEvaluator(model).run(None, {"x": x})[0], peer)
    np.testing.assert_array_equal(ours, peer)


# ---------------------------------------------------------------------------------------------
# linear algebra

@SETTINGS
@given(batch=broadcast_shapes(2), m=DIM, k=DIM, n=DIM, a1=st.booleans(), b1=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64, np.int32, np.int64]))
def test_matmul(batch, m, k, n, a1, b1, dtype):
    a_shape = (k,) if a1 else batch[0] + (m, k)
    b_shape = (k,) if b1 else batch[1] + (k, n)
    feeds = {"a": _data(a_shape, dtype, 1), "b": _data(b_shape, dtype, 2)}
    _check("MatMul", feeds, rtol=1e-5, atol=1e-5)


@SETTINGS
@given(m=DIM, k=DIM, n=DIM, ta=st.integers(0, 1), tb=st.integers(0, 1),
       alpha=st.sampled_from([1.0, 0.5, -2.0]), beta=st.sampled_from([1.0, 0.0, 3.0]),
       c=st.sampled_from(["none", "scalar", "n", "1n", "m1", "mn"]),
       dtype=st.sampled_from([np.float32, np.float64]), opset=st.sampled_from([11, 13]))
def test_gemm(m, k, n, ta, tb, alpha, beta, c, dtype, opset):
    feeds = {"a": _data((k, m) if ta else (m, k), dtype, 1),
             "b": _data((n, k) if tb else (k, n), dtype, 2)}
    c_shape = {"scalar": (), "n": (n,), "1n": (1, n), "m1": (m, 1), "mn": (m, n)}.get(c)
    if c_shape is not None:
        feeds["c"] = _data(c_shape, dtype, 3)
    _check("Gemm", feeds, opset=opset, transA=ta, transB=tb, alpha=alpha, beta=beta,
           rtol=1e-5, atol=1e-5)


EINSUMS = ["ij,jk->ik", "bij,bjk->bik", "ii->i", "ij->ji", "ij->", "i,i->", "i,j->ij",
           "...ij,...jk->...ik", "bhqd,bhkd->bhqk", "ijk->kji", "ij,ij->ij", "ii", "ij,jk",
           "bn,anm,bm->ba", "i...->...", "abc,cd->abd", "ij,kj->ik", "ijk,ik->j"]


@SETTINGS
@given(eq=st.sampled_from(EINSUMS), data=st.data(),
       dtype=st.sampled_from([np.float32, np.float64, np.int32, np.int64]))
def test_einsum(eq, data, dtype):
    letters = {c: data.draw(DIM) for c in "abcdhijkmnq"}
    ell = data.draw(st.lists(DIM, max_size=2))
    feeds = {}
    for i, term in enumerate(eq.split("->")[0].split(",")):
        shape = []
        for c in term.replace("...", "."):
            shape += ell if c == "." else [letters[c]]
        feeds[f"x{i}"] = _data(shape, dtype, i)
    _check("Einsum", feeds, equation=eq, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# Resize

COORDS = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
          "half_pixel_symmetric"]


@SETTINGS
@given(h=st.integers(1, 6), w=st.integers(1, 6), data=st.data(),
       mode=st.sampled_from(["nearest", "linear", "cubic"]), coord=st.sampled_from(COORDS),
       nearest=st.sampled_from(["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]),
       by_sizes=st.booleans(), exclude_outside=st.integers(0, 1))
def test_resize(h, w, data, mode, coord, nearest, by_sizes, exclude_outside):
    x = _data((1, 2, h, w), np.float32)
    attrs = dict(mode=mode, coordinate_transformation_mode=coord, nearest_mode=nearest)
    if mode != "nearest":
        attrs["antialias"] = data.draw(st.integers(0, 1))
    if mode == "cubic" or attrs.get("antialias"):  # ORT allows exclude_outside only there
        attrs["exclude_outside"] = exclude_outside
    if by_sizes:
        sizes = [data.draw(st.integers(1, 9)), data.draw(st.integers(1, 9))]
        # align_corners to a size of 1 divides by zero in the spec's formula
        assume(coord != "align_corners" or min(sizes) > 1)
        # nearest flips at exact integer (floor/ceil) or .5 (round) source coordinates: with
        # a ratio like 3/5, ORT's float32 arithmetic lands either side of them
        assume(mode != "nearest" or all((n / d * 64).is_integer() for n, d in
                                         zip(sizes, (h, w))))
        policy = data.draw(st.sampled_from(["stretch", "not_larger", "not_smaller"]))
        feeds = {"x": x, "roi": np.array([], np.float32), "": None}
        if policy == "stretch" and data.draw(st.booleans()):
            feeds["sizes"] = np.array([1, 2] + sizes, np.int64)
        else:
            feeds["sizes"] = np.array(sizes, np.int64)
            attrs.update(axes=[2, 3], keep_aspect_ratio_policy=policy)
            # A kept aspect ratio rounds in * scale to the output size: the spec (and
            # onnx.reference) then map coordinates with that common scale, ORT with
            # out / in per axis. Compare only where the two agree.
            scale = (min if policy == "not_larger" else max)(sizes[0] / h, sizes[1] / w)
            assume(all(abs(d * scale - round(d * scale)) < 1e-9 for d in (h, w)))
    else:
        scales = [data.draw(st.sampled_from([0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0]))
                  for _ in range(2)]
        out = [int(np.floor(d * s)) for d, s in zip((h, w), scales)]
        assume(min(out) >= 1 and (coord != "align_corners" or min(out) > 1))
        # align_corners from a scale: the spec (and onnx.reference, and the node tests) divide
        # by the fractional length_resized - 1, ORT by the integer output length - 1
        assume(coord != "align_corners" or all(d * s == o for d, s, o in
                                                zip((h, w), scales, out)))
        feeds = {"x": x, "": None, "r": np.array([1, 1] + scales, np.float32)}
    _check("Resize", feeds, opset=19, rtol=1e-5, atol=1e-5, **attrs)


# ---------------------------------------------------------------------------------------------
# normalization

FLOATS = st.sampled_from([np.float32, np.float64, np.float16])


def _tol(dtype):
    return dict(rtol=1e-2, atol=1e-2) if dtype == np.float16 else dict(rtol=1e-4, atol=1e-5)


@SETTINGS
@given(shape=SHAPE, data=st.data(), dtype=FLOATS, eps=st.sampled_from([1e-5, 1e-2]))
def test_layer_normalization(shape, data, dtype, eps):
    rank = len(shape)
    axis = data.draw(st.integers(-rank, rank - 1))
    norm = shape[axis:]
    pshape = norm[data.draw(st.integers(0, len(norm) - 1)):]  # scale broadcasts from the right
    feeds = {"x": _data(shape, dtype), "s": _data(pshape, dtype, 1)}
    if data.draw(st.booleans()):
        feeds["b"] = _data(pshape, dtype, 2)
    n_out = 3 if dtype != np.float16 else 1  # ORT's float16 Mean/InvStdDev are float32
    _check("LayerNormalization", feeds, n_out, opset=17, axis=axis, epsilon=eps, **_tol(dtype))


@SETTINGS
@given(shape=st.lists(DIM, min_size=2, max_size=5), dtype=FLOATS, seed=st.integers(0, 99))
def test_batch_and_instance_normalization(shape, dtype, seed):
    c = shape[1]
    x = _data(shape, dtype, seed)
    feeds = {"x": x, "s": _data(c, dtype, 1), "b": _data(c, dtype, 2), "m": _data(c, dtype, 3),
             "v": (np.abs(_data(c, dtype, 4)) + 0.5).astype(dtype)}
    _check("BatchNormalization", feeds, opset=15, epsilon=1e-3, **_tol(dtype))
    if len(shape) >= 3 and dtype != np.float64:  # ORT has no float64 InstanceNormalization
        feeds = {"x": x, "s": _data(c, dtype, 1), "b": _data(c, dtype, 2)}
        _check("InstanceNormalization", feeds, epsilon=1e-3, **_tol(dtype))


# ---------------------------------------------------------------------------------------------
# recurrent

def _both_inputs(op, inputs, n_out, opset, peer=True, **attrs):
    """Like _both, with optional inputs (``None``) anywhere in ``inputs``' list of pairs."""
    from onnx import ValueInfoProto, helper

    given_ = [(n, a) for n, a in inputs if a is not None]
    node = helper.make_node(op, [n if a is not None else "" for n, a in inputs],
                            [f"y{i}" for i in range(n_out)], **attrs)
    graph = helper.make_graph(
        [node], op, [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype),
                                                   a.shape) for n, a in given_],
        [ValueInfoProto(name=f"y{i}") for i in range(n_out)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    feeds = dict(given_)
    return InferenceSession(model).run(None, feeds), _ort(model, feeds) if peer else None


def _check_rnn(op, inputs, n_out, **attrs):
    """Layout 0 against ORT; layout 1 (which ORT's CPU RNNs lack) against our layout 0."""
    ours, peer = _both_inputs(op, inputs, n_out, 14, **attrs)
    _same(ours, peer, rtol=1e-4, atol=1e-5)
    # batch-first: X (T,B,I) -> (B,T,I); states (D,B,H) -> (B,D,H); Y (T,D,B,H) -> (B,T,D,H)
    swapped = [(n, a if a is None or n in ("w", "r", "b", "lens", "p") else a.swapaxes(0, 1))
               for n, a in inputs]
    batch_first, _ = _both_inputs(op, swapped, n_out, 14, peer=False, layout=1, **attrs)
    _same(batch_first, [ours[0].transpose(2, 0, 1, 3)] + [y.swapaxes(0, 1) for y in ours[1:]],
          rtol=1e-6, atol=1e-7)


@st.composite
def rnn_case(draw, gates):
    t, b, i, h = (draw(st.integers(1, 4)) for _ in range(4))
    direction = draw(st.sampled_from(["forward", "reverse", "bidirectional"]))
    d = 2 if direction == "bidirectional" else 1
    rng = np.random.default_rng(draw(st.integers(0, 999)))

    def arr(*shape):
        return (rng.standard_normal(shape) * 0.5).astype(np.float32)

    def maybe(v):
        return v if draw(st.booleans()) else None

    lens = None
    if draw(st.booleans()):
        lens = rng.integers(1, t + 1, b).astype(np.int32)
    state = (d, b, h)
    inputs = [("x", arr(t, b, i)), ("w", arr(d, gates * h, i)),
              ("r", arr(d, gates * h, h)), ("b", maybe(arr(d, 2 * gates * h))),
              ("lens", lens), ("h0", maybe(arr(*state)))]
    attrs = dict(hidden_size=h, direction=direction)
    if draw(st.booleans()):
        attrs["clip"] = 0.7
    return inputs, attrs, state, maybe, arr, d, h


@SETTINGS
@given(case=rnn_case(4), data=st.data())
def test_lstm(case, data):
    inputs, attrs, state, maybe, arr, d, h = case
    inputs += [("c0", maybe(arr(*state))), ("p", maybe(arr(d, 3 * h)))]
    attrs["input_forget"] = data.draw(st.integers(0, 1))
    _check_rnn("LSTM", inputs, 3, **attrs)


@SETTINGS
@given(case=rnn_case(3), lbr=st.integers(0, 1))
def test_gru(case, lbr):
    inputs, attrs, *_ = case
    _check_rnn("GRU", inputs, 2, linear_before_reset=lbr, **attrs)


@SETTINGS
@given(case=rnn_case(1), act=st.sampled_from(["Tanh", "Relu", "Sigmoid"]))
def test_rnn(case, act):
    inputs, attrs, state, *_ = case
    attrs["activations"] = [act] * (2 if attrs["direction"] == "bidirectional" else 1)
    _check_rnn("RNN", inputs, 2, **attrs)


# ---------------------------------------------------------------------------------------------
# ConvTranspose

@SETTINGS
@given(data=st.data(), nd=st.integers(1, 3), group=st.sampled_from([1, 1, 2, 3]),
       bias=st.booleans(), seed=st.integers(0, 999))
def test_conv_transpose(data, nd, group, bias, seed):
    cin = group * data.draw(st.integers(1, 2))
    cout_g = data.draw(st.integers(1, 2))
    k = [data.draw(st.integers(1, 3)) for _ in range(nd)]
    strides = [data.draw(st.integers(1, 3)) for _ in range(nd)]
    dil = [data.draw(st.integers(1, 2)) for _ in range(nd)]
    opad = [data.draw(st.integers(0, s - 1)) for s in strides]  # ORT: below the stride
    size = [data.draw(st.integers(1, 5)) for _ in range(nd)]
    rng = np.random.default_rng(seed)
    feeds = {"x": rng.standard_normal([data.draw(st.integers(1, 2)), cin] + size)
             .astype(np.float32),
             "w": rng.standard_normal([cin, cout_g] + k).astype(np.float32)}
    if bias:
        feeds["b"] = rng.standard_normal(cout_g * group).astype(np.float32)
    attrs = dict(group=group, strides=strides, dilations=dil, output_padding=opad)
    how = data.draw(st.sampled_from(["pads", "auto", "output_shape"]))
    full = [s * (n - 1) + op + (kk - 1) * d + 1
            for s, n, op, kk, d in zip(strides, size, opad, k, dil)]
    if how == "pads":
        pads = [data.draw(st.integers(0, 2)) for _ in range(2 * nd)]
        assume(all(f - p0 - p1 >= 1 for f, p0, p1 in zip(full, pads[:nd], pads[nd:])))
        attrs["pads"] = pads
    elif how == "auto":
        attrs["auto_pad"] = data.draw(st.sampled_from(["SAME_UPPER", "SAME_LOWER", "VALID"]))
        # SAME where the kernel is shorter than the stride needs a negative total padding:
        # the spec (and onnx.reference) still give in * stride outputs, ORT clamps it to 0
        assume(attrs["auto_pad"] == "VALID" or all(
            f >= s * n for f, s, n in zip(full, strides, size)))
    else:
        attrs["output_shape"] = [data.draw(st.integers(max(1, f - 3), f)) for f in full]
    _check("ConvTranspose", feeds, rtol=1e-4, atol=1e-4, **attrs)
