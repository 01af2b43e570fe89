"""Selection / sorting / scan kernels (selection.py) and NonMaxSuppression (detection.py)
through InferenceSession, against NumPy formulas and onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest

from ai_engine.errors import EngineError

from builders import one_node_model, run_ours, run_peer

rng = np.random.default_rng(1)


_model = one_node_model


def run(op, feeds: dict, outputs=("y",), opset=18, **attrs):
    """Run a one-node model; a feed named "" is an omitted optional input."""
    res = run_ours(_model(op, feeds, outputs, opset, attrs), feeds)
    return res if len(outputs) > 1 else res[0]


def run_ort(op, feeds: dict, outputs=("y",), opset=18, **attrs):
    return run_peer(_model(op, feeds, outputs, opset, attrs), feeds)


# --------------------------------------------------------------------------- TopK

def _topk_ref(x, k, axis, largest):
    """Stable reference: best first, lower index first among ties."""
    m = np.moveaxis(x, axis, -1)
    n = m.shape[-1]
    key = np.argsort(m[..., ::-1], axis=-1, kind="stable")[..., ::-1] if largest else \
        np.argsort(m, axis=-1, kind="stable")
    idx = (n - 1 - key if largest else key)[..., :k]
    return (np.moveaxis(np.take_along_axis(m, idx, -1), -1, axis),
            np.moveaxis(idx, -1, axis))


@pytest.mark.parametrize("largest", [0, 1])
@pytest.mark.parametrize("k", [0, 3, 40, 64])
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.uint8])
def test_top_k_ties_partial_and_full_paths(largest, k, dtype):
    # Few distinct values so ties straddle the k-th position (argpartition alone would pick
    # tied elements arbitrarily); k=3 takes the partition path, k>=n/4 the full sort.
    x = rng.integers(0, 6, size=(3, 64, 2)).astype(dtype)
    vals, idx = run("TopK", {"x": x, "k": np.array([k], np.int64)}, ("v", "i"),
                    opset=11, axis=1, largest=largest)
    want_v, want_i = _topk_ref(x, k, 1, largest)
    assert vals.dtype == dtype and idx.dtype == np.int64
    np.testing.assert_array_equal(idx, want_i)
    np.testing.assert_array_equal(vals, want_v)


def test_top_k_opset1_attribute_and_opset10_input():
    x = rng.standard_normal((4, 7)).astype(np.float32)
    v1, i1 = run("TopK", {"x": x}, ("v", "i"), opset=1, k=2)
    v10, i10 = run("TopK", {"x": x, "k": np.array([2], np.int64)}, ("v", "i"), opset=10)
    want_v, want_i = _topk_ref(x, 2, -1, 1)
    for v, i in ((v1, i1), (v10, i10)):
        np.testing.assert_array_equal(i, want_i)
        np.testing.assert_array_equal(v, want_v)


def test_top_k_k_too_large():
    with pytest.raises(EngineError, match=r"k = 8 is out of range.*size 7"):
        run("TopK", {"x": np.zeros((2, 7), np.float32), "k": np.array([8], np.int64)},
            ("v", "i"), opset=11)


# --------------------------------------------------------------------------- ArgMax / ArgMin

@pytest.mark.parametrize("op", ["ArgMax", "ArgMin"])
@pytest.mark.parametrize("last", [0, 1])
@pytest.mark.parametrize("keepdims", [0, 1])
def test_arg_reduce_ties(op, last, keepdims):
    x = rng.integers(0, 3, size=(3, 5, 4)).astype(np.float32)
    got = run(op, {"x": x}, opset=13, axis=-2, keepdims=keepdims, select_last_index=last)
    np.testing.assert_array_equal(got, run_ort(op, {"x": x}, opset=13, axis=-2,
                                               keepdims=keepdims, select_last_index=last)[0])
    assert got.dtype == np.int64


def test_arg_max_opset11_default_axis():
    x = rng.standard_normal((3, 4)).astype(np.float64)
    np.testing.assert_array_equal(run("ArgMax", {"x": x}, opset=11), x.argmax(0)[None])


# --------------------------------------------------------------------------- CumSum / CumProd

@pytest.mark.parametrize("op", ["CumSum", "CumProd"])
@pytest.mark.parametrize("exclusive,reverse", [(0, 0), (1, 0), (0, 1), (1, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64])
def test_cumulative(op, exclusive, reverse, dtype):
    x = rng.integers(-3, 4, size=(2, 5, 3)).astype(dtype)
    axis = np.array(1, dtype=np.int32)
    opset = 26 if op == "CumProd" else 14
    got = run(op, {"x": x, "a": axis}, opset=opset, exclusive=exclusive, reverse=reverse)
    fn, ident = (np.cumsum, 0) if op == "CumSum" else (np.cumprod, 1)
    m = np.flip(x, 1) if reverse else x
    want = fn(m, axis=1, dtype=dtype)
    if exclusive:
        want = np.concatenate([np.full((2, 1, 3), ident, dtype), want[:, :-1]], axis=1)
    want = np.flip(want, 1) if reverse else want
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, want)


# --------------------------------------------------------------------------- Unique

@pytest.mark.parametrize("sorted_", [0, 1])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_unique_against_onnxruntime(sorted_, axis):
    x = rng.integers(0, 3, size=(6, 4, 2)).astype(np.float32)
    x[2] = x[0]
    x[:, 3] = x[:, 1]
    attrs = {"sorted": sorted_} if axis is None else {"sorted": sorted_, "axis": axis}
    outs = ("y", "idx", "inv", "cnt")
    got = run("Unique", {"x": x}, outs, opset=11, **attrs)
    want = run_ort("Unique", {"x": x}, outs, opset=11, **attrs)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)


def test_unique_single_output_and_int():
    x = np.array([5, 1, 5, -2, 1], dtype=np.int64)
    np.testing.assert_array_equal(run("Unique", {"x": x}, opset=11, sorted=0), [5, 1, -2])


# --------------------------------------------------------------------------- small selection ops

def test_nonzero_bool_and_scalar():
    x = rng.random((3, 4)) > 0.5
    np.testing.assert_array_equal(run("NonZero", {"x": x}, opset=13), np.array(np.nonzero(x)))
    assert run("NonZero", {"x": np.array(3.0, np.float32)}, opset=13).shape == (1, 1)


@pytest.mark.parametrize("axis", [0, 1, -1, -3])
@pytest.mark.parametrize("dtype", [np.float32, np.int64])  # (indices, depth, values) combos ORT has
def test_one_hot_depth_tensor_negative_and_out_of_range(axis, dtype):
    idx = np.array([[0, -1, 3], [7, -4, 2]], dtype=dtype)
    depth = np.array([4], dtype=dtype)
    values = np.array([-1, 9], dtype=dtype)
    got = run("OneHot", {"i": idx, "d": depth, "v": values}, opset=11, axis=axis)
    np.testing.assert_array_equal(got, run_ort("OneHot", {"i": idx, "d": depth, "v": values},
                                               opset=11, axis=axis)[0])
    assert got.dtype == dtype


def test_compress_short_condition_and_flatten():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    cond = np.array([True, False, True])
    np.testing.assert_array_equal(run("Compress", {"x": x, "c": cond}, axis=1),
                                  np.compress(cond, x, axis=1))
    np.testing.assert_array_equal(run("Compress", {"x": x, "c": cond}), [0, 2])


@pytest.mark.parametrize("batch_axis,time_axis", [(0, 1), (1, 0)])
def test_reverse_sequence(batch_axis, time_axis):
    x = rng.standard_normal((4, 5, 2)).astype(np.float32)
    if batch_axis == 1:
        x = x[:, :4].copy()  # (time=4, batch=4, 2)
    lens = np.array([1, 0, 3, 4], dtype=np.int64)
    got = run("ReverseSequence", {"x": x, "l": lens}, opset=10, batch_axis=batch_axis,
              time_axis=time_axis)
    np.testing.assert_array_equal(got, run_ort("ReverseSequence", {"x": x, "l": lens}, opset=10,
                                               batch_axis=batch_axis, time_axis=time_axis)[0])


# --------------------------------------------------------------------------- NonMaxSuppression

@pytest.mark.parametrize("center", [0, 1])
@pytest.mark.parametrize("score_threshold", [None, 0.3])
def test_nms_against_onnxruntime(center, score_threshold):
    b, n, c = 2, 60, 3
    xy = rng.random((b, n, 2)).astype(np.float32) * 10
    wh = rng.random((b, n, 2)).astype(np.float32) * 4 + 0.1
    boxes = np.concatenate([xy, wh], -1) if center else np.concatenate([xy, xy + wh], -1)
    scores = rng.random((b, c, n)).astype(np.float32)
    scores[0, 0, :5] = 0.5  # ties: lower box index wins
    feeds = {"b": boxes, "s": scores, "m": np.array([7], np.int64),
             "iou": np.array([0.4], np.float32)}
    if score_threshold is not None:
        feeds["st"] = np.array([score_threshold], np.float32)
    got = run("NonMaxSuppression", feeds, opset=11, center_point_box=center)
    want = run_ort("NonMaxSuppression", feeds, opset=11, center_point_box=center)[0]
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want)


def test_nms_without_max_output_selects_nothing():
    boxes = np.array([[[0, 0, 1, 1]]], np.float32)
    got = run("NonMaxSuppression", {"b": boxes, "s": np.ones((1, 1, 1), np.float32)}, opset=11)
    assert got.shape == (0, 3) and got.dtype == np.int64
