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

from builders import run_op
from ai_engine.errors import KernelError

rng = np.random.default_rng(0)
F = TensorProto.FLOAT


def i64(v):
    return np.array(v, np.int64)


A, B, C = (rng.random((2, k)).astype(np.float32) for k in (1, 2, 3))


def test_construct_at_length():
    seq = run_op("SequenceConstruct", A, B, C, opset=20)[0]
    assert isinstance(seq, list) and len(seq) == 3
    np.testing.assert_array_equal(run_op("SequenceAt", seq, i64(-1), opset=20)[0], C)
    assert run_op("SequenceLength", seq, opset=20)[0].dtype == np.int64
    assert run_op("SequenceLength", seq, opset=20)[0] == 3
    assert run_op("SequenceEmpty", opset=20, dtype=TensorProto.INT64)[0] == []


def test_insert_erase_positions_do_not_alias():
    seq = [A, B]
    out = run_op("SequenceInsert", seq, C, i64(-1), opset=20)[0]
    assert [s.shape for s in out] == [A.shape, C.shape, B.shape]
    assert len(seq) == 2  # the input list is untouched
    inserted = run_op("SequenceInsert", seq, C, opset=20)[0]
    assert [s.shape for s in inserted] == [A.shape, B.shape, C.shape]
    erased = run_op("SequenceErase", [A, B, C], i64(0), opset=20)[0]
    assert [s.shape for s in erased] == [B.shape, C.shape]
    assert [s.shape for s in run_op("SequenceErase", [A, B, C], opset=20)[0]] == [A.shape, B.shape]


@pytest.mark.parametrize("op,args", [("SequenceAt", (i64(3),)), ("SequenceErase", (i64(-4),)),
                                     ("SequenceInsert", (A, i64(4)))])
def test_positions_out_of_range(op, args):
    with pytest.raises(KernelError,
                       match=rf"{op}: position -?\d out of range for a sequence of length 3"):
        run_op(op, [A, B, C], *args, opset=20)


def test_concat_from_sequence():
    np.testing.assert_array_equal(run_op("ConcatFromSequence", [A, B, C], opset=20, axis=-1)[0],
                                  np.concatenate([A, B, C], axis=1))
    np.testing.assert_array_equal(run_op("ConcatFromSequence", [B, B], opset=20, axis=-1,
                                         new_axis=1)[0],
                                  np.stack([B, B], axis=-1))


def test_split_to_sequence_variants():
    x = np.arange(14, dtype=np.float32).reshape(2, 7)
    parts = run_op("SplitToSequence", x, i64(3), opset=20, axis=1)[0]
    assert [p.shape for p in parts] == [(2, 3), (2, 3), (2, 1)]
    np.testing.assert_array_equal(np.concatenate(parts, 1), x)
    parts = run_op("SplitToSequence", x, i64([2, 5]), opset=20, axis=-1)[0]
    assert [p.shape for p in parts] == [(2, 2), (2, 5)]
    parts = run_op("SplitToSequence", x, opset=20, axis=0, keepdims=0)[0]
    assert [p.shape for p in parts] == [(7,), (7,)]
    with pytest.raises(KernelError, match=r"split \[2, 2\] does not add up to 7"):
        run_op("SplitToSequence", x, i64([2, 2]), opset=20, axis=1)


def test_optional_ops():
    tp = helper.make_tensor_type_proto(F, None)
    assert run_op("Optional", opset=18, type=tp)[0] is None
    np.testing.assert_array_equal(run_op("Optional", A, opset=18)[0], A)
    assert bool(run_op("OptionalHasElement", A, opset=18)[0])
    assert not bool(run_op("OptionalHasElement", opset=18)[0])
    assert run_op("OptionalHasElement", opset=18)[0].dtype == np.bool_
    np.testing.assert_array_equal(run_op("OptionalGetElement", A, opset=18)[0], A)


def S(*items):
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def test_string_concat_broadcast():
    got = run_op("StringConcat", S("a", "bb").reshape(2, 1), S("x", "", "ü"), opset=20)[0]
    assert got.dtype == object and got.shape == (2, 3)
    assert got.tolist() == [["ax", "a", "aü"], ["bbx", "bb", "bbü"]]


def test_string_split():
    y, z = run_op("StringSplit", S("a,b,,c", "", "x"), outputs=2, opset=20, delimiter=",")
    assert y.tolist() == [["a", "b", "", "c"], ["", "", "", ""], ["x", "", "", ""]]
    assert z.dtype == np.int64 and z.tolist() == [4, 1, 1]
    y, z = run_op("StringSplit", S("  a  b c ", "   "), outputs=2, opset=20, maxsplit=1)
    assert y.tolist() == [["a", "b c "], ["", ""]] and z.tolist() == [2, 0]


def test_regex_full_match():
    got = run_op("RegexFullMatch", S("ab12", "ab", "12ab").reshape(1, 3), opset=20,
                 pattern=r"[a-z]+\d*")[0]
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
    got = run_op("StringNormalizer", x, opset=10, **attrs)[0]
    assert got.dtype == object and got.tolist() == want
    flat = run_op("StringNormalizer", x.reshape(5), opset=10, **attrs)[0]
    assert flat.tolist() == want[0]


def test_random_shapes_dtypes_and_seed():
    a = run_op("RandomNormal", opset=1, shape=[3, 4], seed=1.5, mean=5.0, scale=0.1)[0]
    b = run_op("RandomNormal", opset=1, shape=[3, 4], seed=1.5, mean=5.0, scale=0.1)[0]
    assert a.shape == (3, 4) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    u = run_op("RandomUniform", opset=1, shape=[10000], dtype=TensorProto.DOUBLE, low=-2.0,
               high=3.0)[0]
    assert u.dtype == np.float64 and -2 <= u.min() and u.max() < 3
    assert abs(u.mean() - 0.5) < 0.1
    like = run_op("RandomNormalLike", np.zeros((200, 50), np.float16), opset=1)[0]
    assert like.dtype == np.float16 and abs(float(like.astype(np.float32).std()) - 1) < 0.05
    ul = run_op("RandomUniformLike", np.zeros((5,), np.int32), opset=1, dtype=TensorProto.FLOAT)[0]
    assert ul.dtype == np.float32 and ul.shape == (5,)


def test_bernoulli_and_multinomial():
    p = np.full((4000,), 0.25, np.float32)
    y = run_op("Bernoulli", p, opset=15, seed=3.0)[0]
    assert y.dtype == np.float32 and set(np.unique(y)) <= {0.0, 1.0}
    assert abs(y.mean() - 0.25) < 0.05
    np.testing.assert_array_equal(y, run_op("Bernoulli", p, opset=15, seed=3.0)[0])
    assert run_op("Bernoulli", p, opset=15, dtype=TensorProto.BOOL)[0].dtype == np.bool_
    logits = np.log(np.array([[0.7, 0.2, 0.1], [0.0, 0.0, 1.0]], np.float32) + 1e-30)
    s = run_op("Multinomial", logits, opset=7, sample_size=3000, seed=0.0)[0]
    assert s.shape == (2, 3000) and s.dtype == np.int32
    np.testing.assert_allclose(np.bincount(s[0], minlength=3) / 3000, [0.7, 0.2, 0.1],
                               atol=0.04)
    assert (s[1] == 2).all()
    assert run_op("Multinomial", logits, opset=7, dtype=TensorProto.INT64)[0].dtype == np.int64
