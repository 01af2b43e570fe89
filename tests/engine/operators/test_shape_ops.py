"""Shape, layout and generator kernels (shape_ops.py, layout.py, generators.py) through
InferenceSession, against NumPy formulas and onnxruntime. The ONNX backend node cases run
separately (tests/conformance); these cover variants those cases miss."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from ai_engine.errors import EngineError

from builders import check_op, run_op, run_op_peer

rng = np.random.default_rng(7)
I64 = np.int64
INT64_MAX, INT64_MIN = np.iinfo(np.int64).max, np.iinfo(np.int64).min


def i64(*v):
    return np.array(v, dtype=I64)


# --------------------------------------------------------------------------- Reshape & co

@pytest.mark.parametrize("shape,allowzero,expected", [
    ((0, -1), 0, (2, 12)), ((-1,), 0, (24,)), ((2, 0, 4), 0, (2, 3, 4)),
    ((4, 0, 2, 3), 1, None),  # allowzero keeps a literal 0 only when the input has one
])
def test_reshape(shape, allowzero, expected):
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    if expected is None:
        with pytest.raises(EngineError):
            run_op("Reshape", x, i64(*shape), opset=21, allowzero=allowzero)
        return
    y = run_op("Reshape", x, i64(*shape), opset=21, allowzero=allowzero)[0]
    np.testing.assert_array_equal(y, x.reshape(expected))


def test_reshape_allowzero_empty_and_opset5():
    x = np.zeros((0, 3), np.float32)
    assert run_op("Reshape", x, i64(3, 0), opset=21, allowzero=1)[0].shape == (3, 0)
    y = run_op("Reshape", np.arange(6, dtype=np.int32).reshape(2, 3), i64(0, 3), opset=5)[0]
    np.testing.assert_array_equal(y, np.arange(6).reshape(2, 3))


def test_reshape_returns_view_and_does_not_touch_input():
    from ai_engine.engine.operators.shape_ops import reshape
    x = np.arange(12, dtype=np.float32)
    y = reshape(np, x, i64(3, -1))
    assert np.shares_memory(x, y) and y.shape == (3, 4)


@pytest.mark.parametrize("axis", [0, 1, 2, 3, -1, -3])
def test_flatten(axis):
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    check_op("Flatten", x, peer=True, opset=21, axis=axis)


def test_flatten_zero_sized():
    assert run_op("Flatten", np.zeros((0, 3, 4), np.float32), opset=21, axis=2)[0].shape == (0, 4)


def test_squeeze_unsqueeze_attribute_and_input_forms():
    x = rng.standard_normal((1, 3, 1, 2)).astype(np.float32)
    assert run_op("Squeeze", x, opset=11, axes=[0, -2])[0].shape == (3, 2)
    assert run_op("Squeeze", x, i64(2), opset=13)[0].shape == (1, 3, 2)
    assert run_op("Squeeze", x, opset=13)[0].shape == (3, 2)
    with pytest.raises(EngineError):
        run_op("Squeeze", x, i64(1), opset=13)
    y = rng.standard_normal((3, 2)).astype(np.float32)
    assert run_op("Unsqueeze", y, opset=11, axes=[0, 3])[0].shape == (1, 3, 2, 1)
    assert run_op("Unsqueeze", y, i64(-1, 1), opset=13)[0].shape == (3, 1, 2, 1)


@pytest.mark.parametrize("perm", [None, (0, 2, 1), (2, 0, 1)])
def test_transpose(perm):
    x = rng.standard_normal((2, 3, 4)).astype(np.float16)
    attrs = {} if perm is None else {"perm": list(perm)}
    np.testing.assert_array_equal(run_op("Transpose", x, opset=21, **attrs)[0],
                                  np.transpose(x, perm))


def test_expand_bidirectional_and_shape_size():
    x = rng.standard_normal((3, 1)).astype(np.float32)
    y = run_op("Expand", x, i64(2, 1, 4), opset=21)[0]
    np.testing.assert_array_equal(y, np.broadcast_to(x, (2, 3, 4)))
    y = run_op("Expand", x, i64(1, 1), opset=21)[0]  # smaller target keeps the input's dims
    assert y.shape == (3, 1)
    z = np.zeros((2, 3, 4, 5), np.int8)
    np.testing.assert_array_equal(run_op("Shape", z, opset=21, start=-3, end=-1)[0], i64(3, 4))
    np.testing.assert_array_equal(run_op("Shape", z, opset=21, start=10)[0], i64())
    np.testing.assert_array_equal(run_op("Shape", z, opset=13)[0], i64(2, 3, 4, 5))
    s = run_op("Size", z, opset=21)[0]
    assert s.dtype == I64 and s.shape == () and s == 120


def test_identity_tensor():
    x = np.array(["a", "b"], dtype=object)
    np.testing.assert_array_equal(run_op("Identity", x, opset=21)[0], x)


# --------------------------------------------------------------------------- Dropout

def test_dropout_inference_and_mask():
    x = rng.standard_normal((3, 4)).astype(np.float32)
    y, mask = run_op("Dropout", x, np.array(0.3, np.float32), outputs=("y", "m"), opset=21)
    np.testing.assert_array_equal(y, x)
    assert mask.dtype == np.bool_ and mask.all()
    y = run_op("Dropout", x, opset=7, ratio=0.2)[0]
    np.testing.assert_array_equal(y, x)


def test_dropout_training_scales_kept_values():
    x = np.ones((64, 64), np.float32)
    feeds = {"x": x, "r": np.array(0.25, np.float32), "t": np.array(True)}
    y, mask = run_op("Dropout", *feeds.values(), outputs=("y", "m"), opset=21, seed=3)
    np.testing.assert_allclose(y[mask], 1 / 0.75, rtol=1e-6)
    assert (y[~mask] == 0).all() and 0.6 < mask.mean() < 0.9
    y2, mask2 = run_op("Dropout", *feeds.values(), outputs=("y", "m"), opset=21, seed=3)
    np.testing.assert_array_equal(mask, mask2)  # a seed reproduces the mask


# --------------------------------------------------------------------------- Concat / Split

def test_concat():
    a, b = np.ones((2, 3), np.int32), np.zeros((2, 1), np.int32)
    np.testing.assert_array_equal(run_op("Concat", a, b, opset=21, axis=-1)[0],
                                  np.concatenate([a, b], 1))


def test_split_versions():
    x = np.arange(14, dtype=np.float32).reshape(7, 2)
    outs = ("a", "b", "c")
    got = run_op("Split", x, outputs=outs, opset=18, num_outputs=3)
    assert [g.shape[0] for g in got] == [3, 3, 1]
    got = run_op("Split", x, outputs=outs, opset=11, split=[1, 2, 4])
    assert [g.shape[0] for g in got] == [1, 2, 4]
    got = run_op("Split", x, i64(0, 5, 2), outputs=outs, opset=13)
    assert [g.shape[0] for g in got] == [0, 5, 2]
    np.testing.assert_array_equal(np.concatenate(got), x)
    got = run_op("Split", x[:6], outputs=outs, opset=13)
    assert [g.shape[0] for g in got] == [2, 2, 2]


# --------------------------------------------------------------------------- Slice

@pytest.mark.parametrize("starts,ends,axes,steps", [
    ((INT64_MAX,), (INT64_MIN,), (1,), (-1,)),          # full reverse with sentinels
    ((-1, 2), (INT64_MIN, -100), (0, 2), (-2, -1)),
    ((1, 0), (1000, -1), (-1, 0), (2, 1)),
    ((5,), (2,), (1,), (1,)),                           # empty
    ((-100,), (100,), (2,), (3,)),
])
def test_slice_against_ort(starts, ends, axes, steps):
    x = rng.standard_normal((4, 5, 6)).astype(np.float32)
    feeds = {"x": x, "s": i64(*starts), "e": i64(*ends), "a": i64(*axes), "t": i64(*steps)}
    check_op("Slice", *feeds.values(), peer=True, opset=21)


def test_slice_opset1_attributes():
    x = np.arange(20, dtype=np.int64).reshape(4, 5)
    y = run_op("Slice", x, opset=9, starts=[1, -3], ends=[3, 1000], axes=[0, 1])[0]
    np.testing.assert_array_equal(y, x[1:3, -3:])


# --------------------------------------------------------------------------- Pad / Tile / crop

@pytest.mark.parametrize("mode", ["constant", "reflect", "edge", "wrap"])
def test_pad_modes(mode):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    feeds = {"x": x, "p": i64(1, 2, 2, 0), "v": np.array(1.5, np.float32)}
    if mode != "constant":
        feeds.pop("v")
    check_op("Pad", *feeds.values(), peer=True, opset=21, mode=mode)


def test_pad_negative_axes_and_opset2():
    x = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    y = run_op("Pad", x, i64(1, -1), None, i64(-1), opset=18)[0]
    np.testing.assert_array_equal(y, np.pad(x[:, :, :3], [(0, 0), (0, 0), (1, 0)]))
    y = run_op("Pad", x.astype(np.float32), opset=2, pads=[0, 0, 1, 0, 0, 1], value=2.0)[0]
    np.testing.assert_array_equal(y, np.pad(x, [(0, 0), (0, 0), (1, 1)], constant_values=2))


def test_tile_and_center_crop_pad():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(run_op("Tile", x, i64(2, 1), opset=21)[0], np.tile(x, (2, 1)))
    img = np.arange(5 * 6, dtype=np.float32).reshape(5, 6)
    y = run_op("CenterCropPad", img, i64(8, 3), opset=18)[0]
    ref = np.pad(img[:, 1:4], [(1, 2), (0, 0)])
    np.testing.assert_array_equal(y, ref)


# --------------------------------------------------------------------------- depth <-> space

@pytest.mark.parametrize("mode", ["DCR", "CRD"])
def test_depth_space_round_trip(mode):
    x = rng.standard_normal((2, 8, 3, 5)).astype(np.float32)
    y = run_op("DepthToSpace", x, opset=13, blocksize=2, mode=mode)[0]
    np.testing.assert_array_equal(y, run_op_peer("DepthToSpace", x, opset=13, blocksize=2,
                                                 mode=mode)[0])
    back = run_op("SpaceToDepth", y, opset=28, blocksize=2, mode=mode)[0]
    np.testing.assert_array_equal(back, x)


# --------------------------------------------------------------------------- generators

def test_constant_attribute_forms():
    def const(**attrs):
        return run_op("Constant", opset=21, **attrs)[0]

    y = const(value_float=1.5)
    assert y.dtype == np.float32 and y.shape == () and y == 1.5
    np.testing.assert_array_equal(const(value_ints=[1, 2]), i64(1, 2))
    assert const(value_int=3).dtype == I64
    assert const(value_floats=[1.0]).dtype == np.float32
    assert const(value_string="hi").tolist() == "hi"
    assert const(value_strings=["a", "b"]).tolist() == ["a", "b"]
    t = numpy_helper.from_array(np.arange(4, dtype=np.uint16).reshape(2, 2))
    np.testing.assert_array_equal(const(value=t), np.arange(4).reshape(2, 2))
    sparse = helper.make_sparse_tensor(
        numpy_helper.from_array(np.array([5.0, 6.0], np.float32), "v"),
        numpy_helper.from_array(i64(1, 3), "i"), [4])
    np.testing.assert_array_equal(const(sparse_value=sparse), [0, 5, 0, 6])


def test_constant_of_shape():
    y = run_op("ConstantOfShape", i64(2, 3), opset=21,
               value=helper.make_tensor("v", TensorProto.INT32, [1], [7]))[0]
    assert y.dtype == np.int32 and (y == 7).all() and y.shape == (2, 3)
    y = run_op("ConstantOfShape", i64(0), opset=21)[0]
    assert y.dtype == np.float32 and y.shape == (0,)


@pytest.mark.parametrize("start,limit,delta,dtype", [
    (1, 10, 3, np.int64), (10, -3, -4, np.int32), (5, 5, 1, np.int16),
    (0.5, 2.0, 0.25, np.float32), (1.0, -1.0, -0.3, np.float64),
])
def test_range(start, limit, delta, dtype):
    feeds = {k: np.array(v, dtype) for k, v in zip("sld", (start, limit, delta))}
    y = run_op("Range", *feeds.values(), opset=11)[0]
    assert y.dtype == dtype
    np.testing.assert_allclose(y, np.arange(start, limit, delta, dtype=dtype), rtol=1e-6)


@pytest.mark.parametrize("k", [-1, 0, 2])
def test_eyelike_and_trilu(k):
    x = np.zeros((3, 4), np.int32)
    y = run_op("EyeLike", x, opset=21, k=k, dtype=TensorProto.DOUBLE)[0]
    np.testing.assert_array_equal(y, np.eye(3, 4, k))
    assert y.dtype == np.float64
    z = rng.standard_normal((2, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(run_op("Trilu", z, np.array(k, I64), opset=21, upper=0)[0],
                                  np.tril(z, k))
    np.testing.assert_array_equal(run_op("Trilu", z, np.array(k, I64), opset=21)[0], np.triu(z, k))
