"""Sequence, Optional, string and random kernels through InferenceSession (sequence.py,
strings.py, random_ops.py).

The ONNX backend node/model cases run separately (scripts/conformance.py); these add negative
positions, out-of-range errors, SplitToSequence with a scalar split, ConcatFromSequence with
new_axis, empty optionals, string broadcasting/whitespace/maxsplit cases, StringNormalizer
checked against onnxruntime, and the shape/dtype/distribution/seed behaviour of the random ops.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from ai_engine import InferenceSession
from ai_engine.errors import KernelError

rng = np.random.default_rng(0)
F = TensorProto.FLOAT


def _vi(name, value):
    if isinstance(value, list):
        return helper.make_tensor_sequence_value_info(name, F, None)
    return helper.make_tensor_value_info(
        name, helper.np_dtype_to_tensor_dtype(value.dtype), value.shape)


def _model(op, inputs, opset, n_out=1, **attrs):
    names = [f"x{i}" if a is not None else "" for i, a in enumerate(inputs)]
    outs = [f"y{i}" for i in range(n_out)]
    node = helper.make_node(op, names, outs, **attrs)
    graph = helper.make_graph(
        [node], op, [_vi(n, a) for n, a in zip(names, inputs) if n],
        [helper.make_value_info(o, helper.TypeProto()) for o in outs])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def run(op, *inputs, opset=20, n_out=1, **attrs):
    feeds = {f"x{i}": a for i, a in enumerate(inputs) if a is not None}
    out = InferenceSession(_model(op, inputs, opset, n_out, **attrs)).run(None, feeds)
    return out if n_out > 1 else out[0]


def i64(v):
    return np.array(v, np.int64)


A, B, C = (rng.random((2, k)).astype(np.float32) for k in (1, 2, 3))


def test_construct_at_length():
    seq = run("SequenceConstruct", A, B, C)
    assert isinstance(seq, list) and len(seq) == 3
    np.testing.assert_array_equal(run("SequenceAt", seq, i64(-1)), C)
    assert run("SequenceLength", seq).dtype == np.int64
    assert run("SequenceLength", seq) == 3
    assert run("SequenceEmpty", dtype=TensorProto.INT64) == []


def test_insert_erase_positions_do_not_alias():
    seq = [A, B]
    out = run("SequenceInsert", seq, C, i64(-1))
    assert [s.shape for s in out] == [A.shape, C.shape, B.shape]
    assert len(seq) == 2  # the input list is untouched
    assert [s.shape for s in run("SequenceInsert", seq, C)] == [A.shape, B.shape, C.shape]
    assert [s.shape for s in run("SequenceErase", [A, B, C], i64(0))] == [B.shape, C.shape]
    assert [s.shape for s in run("SequenceErase", [A, B, C])] == [A.shape, B.shape]


@pytest.mark.parametrize("op,args", [("SequenceAt", (i64(3),)), ("SequenceErase", (i64(-4),)),
                                     ("SequenceInsert", (A, i64(4)))])
def test_positions_out_of_range(op, args):
    with pytest.raises(KernelError,
                       match=rf"{op}: position -?\d out of range for a sequence of length 3"):
        run(op, [A, B, C], *args)


def test_concat_from_sequence():
    np.testing.assert_array_equal(run("ConcatFromSequence", [A, B, C], axis=-1),
                                  np.concatenate([A, B, C], axis=1))
    np.testing.assert_array_equal(run("ConcatFromSequence", [B, B], axis=-1, new_axis=1),
                                  np.stack([B, B], axis=-1))


def test_split_to_sequence_variants():
    x = np.arange(14, dtype=np.float32).reshape(2, 7)
    parts = run("SplitToSequence", x, i64(3), axis=1)
    assert [p.shape for p in parts] == [(2, 3), (2, 3), (2, 1)]
    np.testing.assert_array_equal(np.concatenate(parts, 1), x)
    parts = run("SplitToSequence", x, i64([2, 5]), axis=-1)
    assert [p.shape for p in parts] == [(2, 2), (2, 5)]
    parts = run("SplitToSequence", x, axis=0, keepdims=0)
    assert [p.shape for p in parts] == [(7,), (7,)]
    with pytest.raises(KernelError, match=r"split \[2, 2\] does not add up to 7"):
        run("SplitToSequence", x, i64([2, 2]), axis=1)


def test_optional_ops():
    tp = helper.make_tensor_type_proto(F, None)
    assert run("Optional", opset=18, type=tp) is None
    np.testing.assert_array_equal(run("Optional", A, opset=18), A)
    assert bool(run("OptionalHasElement", A, opset=18))
    assert not bool(run("OptionalHasElement", opset=18))
    assert run("OptionalHasElement", opset=18).dtype == np.bool_
    np.testing.assert_array_equal(run("OptionalGetElement", A, opset=18), A)


def S(*items):
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def test_string_concat_broadcast():
    got = run("StringConcat", S("a", "bb").reshape(2, 1), S("x", "", "ü"))
    assert got.dtype == object and got.shape == (2, 3)
    assert got.tolist() == [["ax", "a", "aü"], ["bbx", "bb", "bbü"]]


def test_string_split():
    y, z = run("StringSplit", S("a,b,,c", "", "x"), delimiter=",", n_out=2)
    assert y.tolist() == [["a", "b", "", "c"], ["", "", "", ""], ["x", "", "", ""]]
    assert z.dtype == np.int64 and z.tolist() == [4, 1, 1]
    y, z = run("StringSplit", S("  a  b c ", "   "), maxsplit=1, n_out=2)
    assert y.tolist() == [["a", "b c "], ["", ""]] and z.tolist() == [2, 0]


def test_regex_full_match():
    got = run("RegexFullMatch", S("ab12", "ab", "12ab").reshape(1, 3), pattern=r"[a-z]+\d*")
    assert got.dtype == np.bool_ and got.tolist() == [[True, True, False]]


@pytest.mark.parametrize("attrs,want", [
    (dict(case_change_action="LOWER", stopwords=["THE", "a"]), [["cat", "ünïcode"]]),
    (dict(case_change_action="UPPER", is_case_sensitive=1, stopwords=["The"]),
     [["CAT", "THE", "A", "ÜNÏCODE"]]),
    (dict(stopwords=["x"]), [["The", "Cat", "the", "A", "ünïcode"]]),
    (dict(stopwords=["the", "cat", "a", "ünïcode"]), [[""]])])
def test_string_normalizer(attrs, want):
    # Stop words drop whole elements (case-insensitively by default); [1, C] stays 2-D and
    # an all-dropped input gives one empty string, as in onnxruntime.
    x = S("The", "Cat", "the", "A", "ünïcode").reshape(1, 5)
    got = run("StringNormalizer", x, opset=10, **attrs)
    assert got.dtype == object and got.tolist() == want
    flat = run("StringNormalizer", x.reshape(5), opset=10, **attrs)
    assert flat.tolist() == want[0]


def test_random_shapes_dtypes_and_seed():
    a = run("RandomNormal", opset=1, shape=[3, 4], seed=1.5, mean=5.0, scale=0.1)
    b = run("RandomNormal", opset=1, shape=[3, 4], seed=1.5, mean=5.0, scale=0.1)
    assert a.shape == (3, 4) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    u = run("RandomUniform", opset=1, shape=[10000], dtype=TensorProto.DOUBLE, low=-2.0,
            high=3.0)
    assert u.dtype == np.float64 and -2 <= u.min() and u.max() < 3
    assert abs(u.mean() - 0.5) < 0.1
    like = run("RandomNormalLike", np.zeros((200, 50), np.float16), opset=1)
    assert like.dtype == np.float16 and abs(float(like.astype(np.float32).std()) - 1) < 0.05
    ul = run("RandomUniformLike", np.zeros((5,), np.int32), opset=1, dtype=TensorProto.FLOAT)
    assert ul.dtype == np.float32 and ul.shape == (5,)


def test_bernoulli_and_multinomial():
    p = np.full((4000,), 0.25, np.float32)
    y = run("Bernoulli", p, opset=15, seed=3.0)
    assert y.dtype == np.float32 and set(np.unique(y)) <= {0.0, 1.0}
    assert abs(y.mean() - 0.25) < 0.05
    np.testing.assert_array_equal(y, run("Bernoulli", p, opset=15, seed=3.0))
    assert run("Bernoulli", p, opset=15, dtype=TensorProto.BOOL).dtype == np.bool_
    logits = np.log(np.array([[0.7, 0.2, 0.1], [0.0, 0.0, 1.0]], np.float32) + 1e-30)
    s = run("Multinomial", logits, opset=7, sample_size=3000, seed=0.0)
    assert s.shape == (2, 3000) and s.dtype == np.int32
    np.testing.assert_allclose(np.bincount(s[0], minlength=3) / 3000, [0.7, 0.2, 0.1],
                               atol=0.04)
    assert (s[1] == 2).all()
    assert run("Multinomial", logits, opset=7, dtype=TensorProto.INT64).dtype == np.int64
