"""Shared helpers of the property tests (test_properties_*.py): the strategies they draw
from, their data and check_if_ort (builders.check_op, skipping what onnxruntime lacks)."""

import os

import numpy as np
from hypothesis import assume, settings
from hypothesis import strategies as st

from builders import check_op

# PROP_EXAMPLES=500 when hunting; the default keeps the file fast
SETTINGS = settings(max_examples=int(os.environ.get("PROP_EXAMPLES", 30)), deadline=None)
DIM = st.integers(1, 4)
SHAPE = st.lists(DIM, min_size=1, max_size=4)


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
FLOATS = st.sampled_from([np.float32, np.float64, np.float16])


@st.composite
def broadcast_shapes(draw, n):
    rank = draw(st.integers(0, 4))
    shape = draw(st.lists(st.integers(1, 3), min_size=rank, max_size=rank))
    out = []
    for _ in range(n):
        s = [d if draw(st.booleans()) else 1 for d in shape]
        out.append(tuple(s[draw(st.integers(0, rank)):]))
    return out


def check_if_ort(op, *inputs, **kw):
    """check_op against onnxruntime, discarding the draws whose dtype onnxruntime has no
    kernel (or schema) for."""
    try:
        return check_op(op, *inputs, peer=True, **kw)
    except AssertionError:
        raise
    except Exception as exc:
        assume("NOT_IMPLEMENTED" not in str(exc) and "Type Error" not in str(exc))
        raise
